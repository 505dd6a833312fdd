package twofa_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

// A factor tells (an event, and so a notice by mail) only what changed:
// removing a method the user never had, turning off one already off or
// turning on one already on says nothing; the real change, done twice in a
// row, is told once. On every store.
func TestNoNewsNoNotice(t *testing.T) {
	setUp := map[twofa.Method]func(t *testing.T, f *fixture){
		twofa.TOTP: func(t *testing.T, f *fixture) {
			e, err := f.tf.TOTP.Begin(ctx, "u", "u", "s")
			if err != nil {
				t.Fatal(err)
			}
			f.secret = e
			if err := f.tf.TOTP.Confirm(ctx, "u", "s", f.appCode(t)); err != nil {
				t.Fatal(err)
			}
		},
		twofa.Backup: func(t *testing.T, f *fixture) {
			if _, err := f.tf.Backup.Generate(ctx, "u"); err != nil {
				t.Fatal(err)
			}
		},
		twofa.Email: func(t *testing.T, f *fixture) {
			if err := f.tf.Email.Enable(ctx, "u"); err != nil {
				t.Fatal(err)
			}
		},
		twofa.WebAuthn: func(t *testing.T, f *fixture) {
			d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
			id, options, err := f.tf.WebAuthn.BeginRegistration(ctx, "u", "u", "YubiKey")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.tf.WebAuthn.FinishRegistration(ctx, id, "u", d.Attest(t, virtualkey.RP, options)); err != nil {
				t.Fatal(err)
			}
		},
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for _, m := range []twofa.Method{twofa.TOTP, twofa.Backup, twofa.Email, twofa.WebAuthn} {
			t.Run(string(m), func(t *testing.T) {
				store, _ := b.Open(t)
				f := newFixture(t, store)
				// news runs step and returns the events and mails it caused.
				news := func(step func() error) (kinds []event.Kind, mails int) {
					t.Helper()
					events, sent := len(f.events.All()), len(f.mail.Messages())
					if err := step(); err != nil {
						t.Fatal(err)
					}
					f.now = f.now.Add(time.Minute)
					return f.events.Kinds()[events:], len(f.mail.Messages()) - sent
				}
				remove := func() error { return f.tf.Remove(ctx, "u", m) }
				if kinds, mails := news(remove); len(kinds) != 0 || mails != 0 {
					t.Fatalf("removing %s never set up: events %v, %d mails", m, kinds, mails)
				}
				// Another method on: still nothing to tell of this one.
				if m != twofa.TOTP {
					setUp[twofa.TOTP](t, f)
				} else {
					setUp[twofa.WebAuthn](t, f)
				}
				if kinds, mails := news(remove); len(kinds) != 0 || mails != 0 {
					t.Fatalf("removing %s never set up, with another method on: events %v, %d mails", m, kinds, mails)
				}

				setUp[m](t, f)
				for _, c := range []struct {
					name string
					step func() error
					kind event.Kind
					mail int
				}{
					{"disable", func() error { return f.tf.Disable(ctx, "u", m) }, event.Disabled, 1},
					{"enable", func() error { return f.tf.Enable(ctx, "u", m) }, event.EnabledAgain, 0},
					{"remove", remove, event.Removed, 1},
				} {
					kinds, mails := news(c.step)
					if fmt.Sprint(kinds) != fmt.Sprint([]event.Kind{c.kind}) || mails != c.mail {
						t.Fatalf("%s %s: events %v, %d mails; want [%s], %d", c.name, m, kinds, mails, c.kind, c.mail)
					}
					if c.kind == event.Removed {
						break
					}
					if kinds, mails := news(c.step); len(kinds) != 0 || mails != 0 {
						t.Fatalf("%s %s again: events %v, %d mails", c.name, m, kinds, mails)
					}
				}
				if kinds, mails := news(remove); len(kinds) != 0 || mails != 0 {
					t.Fatalf("removing %s again: events %v, %d mails", m, kinds, mails)
				}
			})
		}
	})
}
