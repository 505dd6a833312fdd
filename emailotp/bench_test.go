package emailotp_test

import (
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkVerify measures a right code on the memory store: shape check,
// read, throttle attempt and reset, the HMAC and the single-use consume.
// Mailing a new code for each iteration is outside the timer.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, memory.New())
	if err := f.svc.Enable(ctx, "u"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		f.now = f.now.Add(time.Hour)
		code := f.sendCode(b, "u")
		b.StartTimer()
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			b.Fatal(err)
		}
	}
}
