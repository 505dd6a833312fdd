package backup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkVerifyWrong measures a wrong code against a set of 10 unused
// codes on the memory store, with the default argon2id parameters, beside
// one raw argon2id evaluation at the same parameters: the whole check
// should cost one KDF and little else.
func BenchmarkVerifyWrong(b *testing.B) {
	b.Run("verify", func(b *testing.B) {
		store := memory.New()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		svc, err := backup.New(backup.Config{Store: store, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Generate(context.Background(), "u"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := svc.Verify(context.Background(), "u", "zzzzz-zzzzz"); !errors.Is(err, backup.ErrInvalidCode) {
				b.Fatal(err)
			}
			// Each wrong code counts against the user; clear the count so
			// the next iteration is not refused before its KDF. This is a
			// store call, as a success would make.
			if err := store.ResetThrottle(context.Background(), "u"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("argon2id", func(b *testing.B) {
		salt := make([]byte, 16)
		for b.Loop() {
			argon2.IDKey([]byte("zzzzzzzzzz"), salt, 2, 19*1024, 1, 32)
		}
	})
}
