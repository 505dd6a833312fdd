package webauthn

// This test is inside the package because go-webauthn's expiry lives in the
// stored session data, which only the package can decode: it moves that
// expiry, as go-webauthn's wall clock passing it would, while the
// configured clock stays within the ceremony's time.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage/memory"
)

// expireSession rewrites the stored ceremony id so that go-webauthn's
// session expired a second ago by the wall clock, after checking that
// go-webauthn set an expiry (its timeouts are enforced) of Config.Timeout
// from the time the ceremony began.
func expireSession(t *testing.T, store *memory.Store, id string, began, ended time.Time, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	c, err := store.TakeCeremony(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var d ceremonyData
	if err := d.unmarshal(c.Data); err != nil {
		t.Fatal(err)
	}
	exp := d.Session.Expires
	if exp.Before(began.Add(timeout).Truncate(time.Millisecond)) || exp.After(ended.Add(timeout)) {
		t.Fatalf("go-webauthn's session expires at %v, want %v after the begin (%v to %v): its timeout is not enforced",
			exp, timeout, began, ended)
	}
	d.Session.Expires = time.Now().Add(-time.Second)
	if c.Data, err = d.marshal(); err != nil {
		t.Fatal(err)
	}
	if err := store.PutCeremony(ctx, c, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
}

// go-webauthn refuses a session past its own expiry, on its own (wall)
// clock, even while the configured clock says the ceremony is current;
// the same ceremony untouched passes.
func TestGoWebAuthnTimeoutEnforced(t *testing.T) {
	ctx := context.Background()
	rp := virtualkey.RP
	for _, expire := range []bool{false, true} {
		store := memory.New()
		fixed := time.Now() // the configured clock never moves
		svc, err := New(Config{RPID: rp.ID, Origins: []string{rp.Origin}, Store: store,
			Timeout: 2 * time.Minute, PasskeyTimeout: time.Minute, Now: func() time.Time { return fixed }})
		if err != nil {
			t.Fatal(err)
		}
		// run begins a ceremony, lets go-webauthn's expiry pass if
		// expire, and finishes it.
		run := func(timeout time.Duration, begin func() (string, []byte, error), finish func(id string, options []byte) error) error {
			t.Helper()
			began := time.Now()
			id, options, err := begin()
			if err != nil {
				t.Fatal(err)
			}
			if expire {
				expireSession(t, store, id, began, time.Now(), timeout)
			}
			return finish(id, options)
		}

		var d *virtualkey.Device
		regErr := run(2*time.Minute, func() (string, []byte, error) { return svc.BeginRegistration(ctx, "u", "u", "Key") },
			func(id string, options []byte) error {
				opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
				if err != nil {
					t.Fatal(err)
				}
				d = virtualkey.New(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(opts.UserID)})
				_, err = svc.FinishRegistration(ctx, id, "u", d.Attest(t, rp, options))
				return err
			})
		if expire {
			if !errors.Is(regErr, ErrResponse) {
				t.Fatalf("registration past go-webauthn's expiry: %v, want ErrResponse", regErr)
			}
			// A key to log in with, registered in time.
			id, options, err := svc.BeginRegistration(ctx, "u", "u", "Key")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.FinishRegistration(ctx, id, "u", d.Attest(t, rp, options)); err != nil {
				t.Fatal(err)
			}
		} else if regErr != nil {
			t.Fatalf("registration in time: %v", regErr)
		}

		loginErr := run(2*time.Minute, func() (string, []byte, error) { return svc.BeginLogin(ctx, "u") },
			func(id string, options []byte) error {
				_, err := svc.FinishLogin(ctx, id, "u", d.Assert(t, rp, options))
				return err
			})
		passkeyErr := run(time.Minute, func() (string, []byte, error) { return svc.BeginPasskeyLogin(ctx) },
			func(id string, options []byte) error {
				_, _, err := svc.FinishPasskeyLogin(ctx, id, d.Assert(t, rp, options))
				return err
			})
		for name, err := range map[string]error{"login": loginErr, "passkey login": passkeyErr} {
			switch {
			case expire && !errors.Is(err, ErrResponse):
				t.Errorf("%s past go-webauthn's expiry: %v, want ErrResponse", name, err)
			case !expire && err != nil:
				t.Errorf("%s in time: %v", name, err)
			}
		}
	}
}
