package webauthn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// badTimes are clock readings storage.CheckTime refuses.
var badTimes = map[string]time.Time{
	"zero time":  {},
	"1969":       time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
	"year 1 BC":  time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	"past 2262":  time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
	"year 10000": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
}

// A broken clock denies: no ceremony begins on it, before any store call,
// and none begun on a good clock finishes on it.
func TestBrokenClock(t *testing.T) {
	for name, bad := range badTimes {
		t.Run(name+"/begin", func(t *testing.T) {
			f := newFixture(t, untouchable{t})
			f.now = bad
			for flow, begin := range map[string]func() error{
				"registration": func() error { _, _, err := f.svc.BeginRegistration(ctx, "u", "u", "Key"); return err },
				"login":        func() error { _, _, err := f.svc.BeginLogin(ctx, "u"); return err },
				"passkey":      func() error { _, _, err := f.svc.BeginPasskeyLogin(ctx); return err },
			} {
				if err := begin(); !errors.Is(err, storage.ErrInvalidTime) {
					t.Errorf("%s begun at %v: %v, want storage.ErrInvalidTime", flow, bad, err)
				}
			}
		})

		t.Run(name+"/finish", func(t *testing.T) {
			good := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			f := newFixture(t, memory.New())
			f.now = good
			d, before := f.registerPasskey(t, "u")

			// Registration: a second key is not added.
			id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Second")
			if err != nil {
				t.Fatal(err)
			}
			resp := newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, options)
			f.now = bad
			if _, err := f.svc.FinishRegistration(ctx, id, "u", resp); !errors.Is(err, storage.ErrInvalidTime) {
				t.Errorf("registration finished at %v: %v, want storage.ErrInvalidTime", bad, err)
			}

			// Login and passkey login: the key does not pass.
			f.now = good
			lid, loptions, err := f.svc.BeginLogin(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			lresp := d.assert(t, rp, loptions)
			pid, poptions, err := f.svc.BeginPasskeyLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			presp := d.assert(t, rp, poptions)
			f.now = bad
			if _, err := f.svc.FinishLogin(ctx, lid, "u", lresp); !errors.Is(err, storage.ErrInvalidTime) {
				t.Errorf("login finished at %v: %v, want storage.ErrInvalidTime", bad, err)
			}
			if user, _, err := f.svc.FinishPasskeyLogin(ctx, pid, presp); !errors.Is(err, storage.ErrInvalidTime) || user != "" {
				t.Errorf("passkey login finished at %v: %q, %v, want storage.ErrInvalidTime", bad, user, err)
			}

			f.now = good
			keys, err := f.svc.Keys(ctx, "u")
			if err != nil || len(keys) != 1 || keys[0].ID != before.ID || !keys[0].LastUsed.IsZero() {
				t.Fatalf("after the broken clock: keys %+v, %v; want only the first, never used", keys, err)
			}
		})
	}
}
