package twofa_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkVerify is the login page's check of an app code on the memory
// store, right and wrong: the method look-up that refuses a user with no
// primary method, the throttle, the code.
func BenchmarkVerify(b *testing.B) {
	b.Run("right", func(b *testing.B) {
		f := newFixture(b, memory.New())
		f.setUp(b, "u")
		for b.Loop() {
			f.now = f.now.Add(30 * time.Second)
			if _, err := f.tf.Verify(ctx, "u", login, f.appCode(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrong", func(b *testing.B) {
		f := newFixture(b, memory.New())
		f.setUp(b, "u")
		for b.Loop() {
			if _, err := f.tf.Verify(ctx, "u", login, f.wrongCode(b)); !errors.Is(err, twofa.ErrInvalidCode) {
				b.Fatal(err)
			}
			if err := f.tf.Unlock(ctx, "u"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAccount is the account view every settings and challenge page
// reads, on the memory store, of a user with every method: the methods,
// the throttle's state and the wrong codes left before a lock (LockIn),
// and the remembered browsers.
func BenchmarkAccount(b *testing.B) {
	f := newFixture(b, memory.New())
	f.setUp(b, "u")
	b.ReportAllocs()
	for b.Loop() {
		acc, err := f.tf.Account(ctx, "u")
		if err != nil || acc.LockIn == 0 {
			b.Fatal(acc.LockIn, err)
		}
	}
}
