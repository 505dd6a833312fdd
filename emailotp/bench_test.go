package emailotp_test

import (
	"context"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkVerify measures a right code on the memory store: shape check,
// read, throttle attempt and reset, the HMAC and the single-use consume.
// Mailing a new code for each iteration is outside the timer; the mailer
// keeps only the last message, as an inbox of every one would make the
// untimed part grow with the iterations.
func BenchmarkVerify(b *testing.B) {
	var last emailotp.Message
	f := newFixture(b, memory.New(), func(c *emailotp.Config) {
		c.Mailer = mailerFunc(func(_ context.Context, m emailotp.Message) error { last = m; return nil })
	})
	if err := f.svc.Enable(ctx, "u"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		f.now = f.now.Add(time.Hour)
		if err := f.svc.Send(ctx, "u", addr, login); err != nil {
			b.Fatal(err)
		}
		code := readCode(b, last.Text)
		b.StartTimer()
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend measures a send on the memory store with a mailer that
// costs nothing: the read, the code, its hash and binding, the rendered
// message and the compare-and-set that claims the cooldown.
func BenchmarkSend(b *testing.B) {
	f := newFixture(b, memory.New(), func(c *emailotp.Config) {
		c.Mailer = mailerFunc(func(context.Context, emailotp.Message) error { return nil })
	})
	if err := f.svc.Enable(ctx, "u"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f.now = f.now.Add(2 * time.Minute) // past the cooldown
		if err := f.svc.Send(ctx, "u", addr, login); err != nil {
			b.Fatal(err)
		}
	}
}
