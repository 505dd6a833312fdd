package twofa_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage/memory"
)

// addKey registers a security key for user.
func (f *fixture) addKey(t testing.TB, user, name string) {
	t.Helper()
	d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	id, options, err := f.tf.WebAuthn.BeginRegistration(ctx, user, user, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tf.WebAuthn.FinishRegistration(ctx, id, user, d.Attest(t, virtualkey.RP, options)); err != nil {
		t.Fatal(err)
	}
}

// Backup codes are a recovery method: without a primary method they are
// not offered, do not make the second step required, and do not pass.
func TestBackupCodesAloneDoNotCount(t *testing.T) {
	f := newFixture(t, memory.New())
	codes, err := f.tf.Backup.Generate(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.tf.Account(ctx, "u")
	if err != nil || a.Status(twofa.Backup) != twofa.Enabled || len(a.Offered) != 0 || a.Requires() {
		t.Fatalf("backup codes only: %+v, %v", a, err)
	}
	if r, err := f.tf.Requires(ctx, "u"); r || err != nil {
		t.Fatalf("Requires with backup codes only: %v, %v", r, err)
	}
	if _, err := f.tf.Verify(ctx, "u", login, codes[0]); !errors.Is(err, twofa.ErrNoMethod) {
		t.Fatalf("a backup code with no primary method: %v, want ErrNoMethod", err)
	}
	if a, _ := f.tf.Account(ctx, "u"); a.BackupRemaining != 10 {
		t.Fatalf("the refused code was used: %d left", a.BackupRemaining)
	}
	// With a primary method, they count and pass.
	if err := f.tf.Email.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.tf.Account(ctx, "u"); fmt.Sprint(a.Offered) != "[email backup]" || !a.Requires() {
		t.Fatalf("with e-mail codes: %+v", a)
	}
	if m, err := f.tf.Verify(ctx, "u", login, codes[0]); err != nil || m != twofa.Backup {
		t.Fatalf("a backup code with e-mail codes on: %v, %v", m, err)
	}
}

// Taking away the last primary method tells the user: backup codes alone
// no longer protect the login (event.BackupOnly), or nothing does
// (event.NoMethodLeft). Taking away one of two primary methods, or backup
// codes, leaves a protected account and tells nothing of the kind.
func TestLastPrimaryMethodGone(t *testing.T) {
	type setup struct {
		primaries []twofa.Method
		backup    bool
	}
	for _, c := range []struct {
		name   string
		setup  setup
		change func(*fixture, *testing.T) error
		want   event.Kind // "" for neither event
	}{
		{"disable the app, backup codes left", setup{[]twofa.Method{twofa.TOTP}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Disable(ctx, "u", twofa.TOTP) }, event.BackupOnly},
		{"remove the app, backup codes left", setup{[]twofa.Method{twofa.TOTP}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Remove(ctx, "u", twofa.TOTP) }, event.BackupOnly},
		{"disable e-mail, backup codes left", setup{[]twofa.Method{twofa.Email}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Disable(ctx, "u", twofa.Email) }, event.BackupOnly},
		{"remove the only key, backup codes left", setup{[]twofa.Method{twofa.WebAuthn}, true},
			func(f *fixture, t *testing.T) error {
				a, _ := f.tf.Account(ctx, "u")
				return f.tf.RemoveKey(ctx, "u", a.Keys[0].ID)
			}, event.BackupOnly},
		{"disable the keys, backup codes left", setup{[]twofa.Method{twofa.WebAuthn}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Disable(ctx, "u", twofa.WebAuthn) }, event.BackupOnly},
		{"remove the app, no backup codes", setup{[]twofa.Method{twofa.TOTP}, false},
			func(f *fixture, _ *testing.T) error { return f.tf.Remove(ctx, "u", twofa.TOTP) }, event.NoMethodLeft},
		{"remove the app, backup codes turned off", setup{[]twofa.Method{twofa.TOTP}, true},
			func(f *fixture, t *testing.T) error {
				if err := f.tf.Disable(ctx, "u", twofa.Backup); err != nil {
					t.Fatal(err)
				}
				return f.tf.Remove(ctx, "u", twofa.TOTP)
			}, event.NoMethodLeft},
		{"disable the app, e-mail left", setup{[]twofa.Method{twofa.TOTP, twofa.Email}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Disable(ctx, "u", twofa.TOTP) }, ""},
		{"remove backup codes", setup{[]twofa.Method{twofa.TOTP}, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Remove(ctx, "u", twofa.Backup) }, ""},
		{"remove backup codes of an unprotected account", setup{nil, true},
			func(f *fixture, _ *testing.T) error { return f.tf.Remove(ctx, "u", twofa.Backup) }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			for _, m := range c.setup.primaries {
				switch m {
				case twofa.TOTP:
					e, err := f.tf.TOTP.Begin(ctx, "u", "u", "test-session")
					if err != nil {
						t.Fatal(err)
					}
					f.secret = e
					if err := f.tf.TOTP.Confirm(ctx, "u", "test-session", f.appCode(t)); err != nil {
						t.Fatal(err)
					}
				case twofa.Email:
					if err := f.tf.Email.Enable(ctx, "u"); err != nil {
						t.Fatal(err)
					}
				case twofa.WebAuthn:
					f.addKey(t, "u", "YubiKey")
				}
			}
			if c.setup.backup {
				var err error
				if f.codes, err = f.tf.Backup.Generate(ctx, "u"); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.change(f, t); err != nil {
				t.Fatal(err)
			}
			got := f.events.Count(event.BackupOnly) + f.events.Count(event.NoMethodLeft)
			switch {
			case c.want == "" && got != 0:
				t.Fatalf("events %v, want neither", f.events.Kinds())
			case c.want != "" && (got != 1 || f.events.Count(c.want) != 1):
				t.Fatalf("events %v, want one %s", f.events.Kinds(), c.want)
			}
			a, err := f.tf.Account(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			if r, err := f.tf.Requires(ctx, "u"); r != a.Requires() || err != nil {
				t.Fatalf("Requires = %v, %v; the account view says %v", r, err, a.Requires())
			}
			if c.want != "" {
				if a.Requires() || len(a.Offered) != 0 {
					t.Fatalf("after the change: %+v", a)
				}
				if c.setup.backup {
					if _, err := f.tf.Verify(ctx, "u", login, f.codes[0]); !errors.Is(err, twofa.ErrNoMethod) {
						t.Fatalf("a backup code after the change: %v, want ErrNoMethod", err)
					}
				}
			}
		})
	}
}

// Service.Requires, which reads no more than it must, agrees with the
// account view in every combination of methods, states and addresses.
func TestRequiresAgreesWithAccount(t *testing.T) {
	for _, app := range []string{"none", "pending", "on", "off"} {
		for _, keys := range []string{"none", "on", "off"} {
			for _, mail := range []string{"none", "on", "off"} {
				for _, addr := range []string{"u@example.com", "not an address"} {
					for _, codes := range []bool{false, true} {
						name := fmt.Sprintf("app %s, keys %s, e-mail %s to %q, backup %v", app, keys, mail, addr, codes)
						t.Run(name, func(t *testing.T) {
							f := newFixture(t, memory.New())
							f.addrs["u"] = addr
							if app != "none" {
								e, err := f.tf.TOTP.Begin(ctx, "u", "u", "test-session")
								must(t, err)
								f.secret = e
								if app != "pending" {
									must(t, f.tf.TOTP.Confirm(ctx, "u", "test-session", f.appCode(t)))
								}
								if app == "off" {
									must(t, f.tf.Disable(ctx, "u", twofa.TOTP))
								}
							}
							if keys != "none" {
								f.addKey(t, "u", "YubiKey")
								if keys == "off" {
									must(t, f.tf.Disable(ctx, "u", twofa.WebAuthn))
								}
							}
							if mail != "none" {
								must(t, f.tf.Email.Enable(ctx, "u"))
								if mail == "off" {
									must(t, f.tf.Email.Disable(ctx, "u"))
								}
							}
							if codes {
								must(t, gen(f))
							}
							a, err := f.tf.Account(ctx, "u")
							must(t, err)
							r, err := f.tf.Requires(ctx, "u")
							if err != nil || r != a.Requires() {
								t.Fatalf("Requires = %v, %v; account view %v (offered %v)", r, err, a.Requires(), a.Offered)
							}
							primary := app == "on" || keys == "on" || mail == "on" && addr == "u@example.com"
							if r != primary {
								t.Fatalf("Requires = %v, want %v", r, primary)
							}
						})
					}
				}
			}
		}
	}
}
