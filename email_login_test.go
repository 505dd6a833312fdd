package twofa_test

import (
	"errors"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/storage/memory"
)

// Through the one Verify of a login page, an e-mailed code passes only in
// the login it was sent for; in another session of the user it is as if
// no code had been sent, and the app's code still passes there.
func TestEmailCodeBoundToLogin(t *testing.T) {
	const other = "login-2"
	t.Run("app and e-mail", func(t *testing.T) {
		f := newFixture(t, memory.New())
		f.setUp(t, "u")
		code := f.mailCode(t, "u")
		if m, err := f.tf.Verify(ctx, "u", other, code); !errors.Is(err, twofa.ErrInvalidCode) || m != "" {
			t.Fatalf("the e-mailed code in another login: %q, %v", m, err)
		}
		if m, err := f.tf.Verify(ctx, "u", other, f.appCode(t)); err != nil || m != twofa.TOTP {
			t.Fatalf("the app's code in another login: %q, %v", m, err)
		}
		if m, err := f.tf.Verify(ctx, "u", login, code); err != nil || m != twofa.Email {
			t.Fatalf("the e-mailed code in its login: %q, %v", m, err)
		}
	})
	t.Run("e-mail only", func(t *testing.T) {
		f := newFixture(t, memory.New())
		for _, u := range []string{"u", "other"} {
			if err := f.tf.Email.Enable(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		_, none := f.tf.Verify(ctx, "other", other, "123456") // no code sent
		code := f.mailCode(t, "u")
		for range 30 { // past MaxFailures and the throttle's lock
			_, err := f.tf.Verify(ctx, "u", other, code)
			if !errors.Is(err, twofa.ErrInvalidCode) || err.Error() != none.Error() {
				t.Fatalf("the e-mailed code in another login: %v, want %v as with no code", err, none)
			}
		}
		if err := f.tf.SendCode(ctx, "u", other); !errors.Is(err, emailotp.ErrCooldown) {
			t.Fatalf("a send from another login inside the cooldown: %v", err)
		}
		if m, err := f.tf.Verify(ctx, "u", login, code); err != nil || m != twofa.Email {
			t.Fatalf("the e-mailed code in its login: %q, %v", m, err)
		}
	})
}
