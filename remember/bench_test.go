package remember_test

import (
	"testing"
	"time"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkCheck measures one remembered browser's check on the memory
// store (decode, digest, look-up, touch), the cost a remembered browser
// adds to each request that needs the second step; and one with a
// malformed token, which must stop before the store.
func BenchmarkCheck(b *testing.B) {
	clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc, err := remember.New(remember.Config{Store: memory.New(), Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	token, err := svc.Remember(ctx, "alice", "x")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("valid", func(b *testing.B) {
		for b.Loop() {
			if err := svc.Check(ctx, "alice", token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("malformed", func(b *testing.B) {
		bad := token + "\n"
		for b.Loop() {
			if err := svc.Check(ctx, "alice", bad); err == nil {
				b.Fatal("a malformed token passed")
			}
		}
	})
}
