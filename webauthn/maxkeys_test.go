package webauthn_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// A user has at most MaxKeys keys: a registration begun at the bound is
// refused, and one begun below it is refused when it finishes if the keys
// reached the bound meanwhile. Removing a key makes room again. On every
// store.
func TestMaxKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store, func(c *webauthn.Config) { c.MaxKeys = 3 })
		// Begun while there is room; finished after the bound is reached.
		late, lateOptions, err := f.svc.BeginRegistration(ctx, "u", "u", "Late")
		if err != nil {
			t.Fatal(err)
		}
		var keys []webauthn.Key
		for _, name := range []string{"A", "B", "C"} {
			keys = append(keys, f.mustRegister(t, "u", name, newDevice(virtualwebauthn.AuthenticatorOptions{})))
		}
		if _, _, err := f.svc.BeginRegistration(ctx, "u", "u", "D"); !errors.Is(err, webauthn.ErrTooManyKeys) {
			t.Fatalf("begin at the bound: %v, want ErrTooManyKeys", err)
		}
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		if _, err := f.svc.FinishRegistration(ctx, late, "u", d.attest(t, rp, lateOptions)); !errors.Is(err, webauthn.ErrTooManyKeys) {
			t.Fatalf("finish at the bound: %v, want ErrTooManyKeys", err)
		}
		if got, _ := f.svc.Keys(ctx, "u"); len(got) != 3 {
			t.Fatalf("%d keys, want 3", len(got))
		}
		// Another user is not counted with u.
		f.mustRegister(t, "v", "V", newDevice(virtualwebauthn.AuthenticatorOptions{}))
		if err := f.svc.Remove(ctx, "u", keys[0].ID); err != nil {
			t.Fatal(err)
		}
		f.mustRegister(t, "u", "D", d)
	})
}

// 50 registrations of one user begun while they had no key and finished
// at once leave exactly MaxKeys keys: every other finish is refused with
// ErrTooManyKeys, none with anything else.
func TestMaxKeysParallel(t *testing.T) {
	const racers, max = 50, 3
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		// Room for every ceremony, so that only MaxKeys bounds the keys.
		f := newFixture(t, store, func(c *webauthn.Config) { c.MaxKeys, c.MaxCeremonies = max, racers })
		ids, responses := make([]string, racers), make([][]byte, racers)
		for i := range racers {
			id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
			if err != nil {
				t.Fatal(err)
			}
			ids[i], responses[i] = id, newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, options)
		}
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { _, errs[i] = f.svc.FinishRegistration(ctx, ids[i], "u", responses[i]) })
		}
		wg.Wait()
		added := 0
		for _, err := range errs {
			switch {
			case err == nil:
				added++
			case !errors.Is(err, webauthn.ErrTooManyKeys):
				t.Fatalf("a parallel finish: %v", err)
			}
		}
		if keys, err := f.svc.Keys(ctx, "u"); err != nil || added != max || len(keys) != max {
			t.Fatalf("%d finishes passed, %d keys stored (%v); want %d", added, len(keys), err, max)
		}
	})
}

// The handlers answer ErrTooManyKeys with 409 and its message.
func TestHandlersMaxKeys(t *testing.T) {
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.MaxKeys = 1 })
	h := &webauthn.Handlers{Service: f.svc, User: sessionUser}
	late := begin(t, h.BeginRegistration(), "u", `{"name": "Late"}`)
	f.mustRegister(t, "u", "A", newDevice(virtualwebauthn.AuthenticatorOptions{}))
	rec := serve(t, h.BeginRegistration(), http.MethodPost, "u", []byte(`{"name": "B"}`))
	wantError(t, rec, http.StatusConflict, "B")
	if !strings.Contains(rec.Body.String(), "remove one first") {
		t.Fatalf("begin at the bound: %s", rec.Body)
	}
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	wantError(t, serve(t, h.FinishRegistration(), http.MethodPost, "u", finishBody(late.Ceremony, d.attest(t, rp, late.Options))), http.StatusConflict)
}

// New refuses a negative MaxKeys and one past the ceiling of 1000.
func TestMaxKeysConfig(t *testing.T) {
	for _, c := range []struct {
		max int
		ok  bool
	}{{-1, false}, {1001, false}, {1000, true}, {0, true}, {1, true}} {
		cfg := webauthn.Config{RPID: rp.ID, Origins: []string{rp.Origin}, Store: memory.New(), MaxKeys: c.max}
		if _, err := webauthn.New(cfg); (err == nil) != c.ok {
			t.Errorf("MaxKeys %d: %v", c.max, err)
		}
	}
}
