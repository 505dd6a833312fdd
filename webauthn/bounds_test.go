package webauthn_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// rows counts the ceremonies a SQL store holds, of every user; -1 for the
// memory store, whose rows the tests see only through the service.
func rows(t testing.TB, s webauthn.Store) int {
	t.Helper()
	st, ok := s.(storage.Store)
	if !ok {
		return -1
	}
	db := testdb.DBOf(st)
	if db == nil {
		return -1
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM twofa_webauthn_ceremonies`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// live reports whether a ceremony is still stored, using it up: a garbage
// response gets ErrResponse from a ceremony that was there and ErrCeremony
// from one that is gone.
func live(t testing.TB, err error) bool {
	t.Helper()
	switch {
	case errors.Is(err, webauthn.ErrResponse):
		return true
	case errors.Is(err, webauthn.ErrCeremony):
		return false
	}
	t.Fatalf("probing a ceremony: %v", err)
	return false
}

// 2000 begins of one user leave only the newest MaxCeremonies (5 by
// default), logins and registrations together; those finish, and the
// dropped ones fail with ErrCeremony.
func TestCeremoniesPerUser(t *testing.T) {
	const begins, limit = 2000, 5
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "u", "Key", d)
		type begun struct {
			id, kind string
			options  []byte
		}
		var all []begun
		for i := range begins {
			f.now = f.now.Add(time.Millisecond)
			var b begun
			var err error
			if i%7 == 0 {
				b.kind = "registration"
				b.id, b.options, err = f.svc.BeginRegistration(ctx, "u", "u", "Another")
			} else {
				b.kind = "login"
				b.id, b.options, err = f.svc.BeginLogin(ctx, "u")
			}
			if err != nil {
				t.Fatalf("begin %d: %v", i, err)
			}
			all = append(all, b)
		}
		if n := rows(t, store); n > limit {
			t.Fatalf("%d begins left %d ceremonies, want at most %d", begins, n, limit)
		}
		// The newest finish; every one of them is a login but for
		// i%7 == 0.
		for _, b := range all[begins-limit:] {
			var err error
			if b.kind == "login" {
				_, err = f.svc.FinishLogin(ctx, b.id, "u", d.assert(t, rp, b.options))
			} else {
				_, err = f.svc.FinishRegistration(ctx, b.id, "u", newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, b.options))
			}
			if err != nil {
				t.Fatalf("finishing one of the newest %d %ss: %v", limit, b.kind, err)
			}
		}
		// The dropped ones fail, with the error that says so.
		for i, b := range all[:begins-limit] {
			var err error
			if b.kind == "login" {
				_, err = f.svc.FinishLogin(ctx, b.id, "u", []byte(`{}`))
			} else {
				_, err = f.svc.FinishRegistration(ctx, b.id, "u", []byte(`{}`))
			}
			if live(t, err) {
				t.Fatalf("ceremony %d of %d is still there", i, begins)
			}
		}
		if n := rows(t, store); n > 0 {
			t.Fatalf("%d ceremonies left after every one was finished or dropped", n)
		}
	})
}

// One user's begins never drop another user's ceremonies.
func TestCeremoniesOfOtherUsersKept(t *testing.T) {
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.MaxCeremonies = 2 })
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(t, "v", "Key", d)
	id, options, err := f.svc.BeginLogin(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		f.now = f.now.Add(time.Millisecond)
		if _, _, err := f.svc.BeginRegistration(ctx, "u", "u", "Key"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.FinishLogin(ctx, id, "v", d.assert(t, rp, options)); err != nil {
		t.Fatalf("v's login after u's begins: %v", err)
	}
}

// The passkey sign-ins of all visitors share one bounded pool.
func TestPasskeyPoolBounded(t *testing.T) {
	const begins, limit = 100, 20
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store, func(c *webauthn.Config) { c.MaxPasskeyCeremonies = limit })
		d, _ := f.registerPasskey(t, "u")
		// A user's own ceremony is not in the pool.
		lid, loptions, err := f.svc.BeginLogin(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		var newest []byte
		for range begins {
			f.now = f.now.Add(time.Millisecond)
			id, options, err := f.svc.BeginPasskeyLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ids, newest = append(ids, id), options
		}
		if n := rows(t, store); n > limit+1 {
			t.Fatalf("%d passkey begins left %d ceremonies, want at most %d and the login", begins, n, limit)
		}
		if user, _, err := f.svc.FinishPasskeyLogin(ctx, ids[begins-1], d.assert(t, rp, newest)); err != nil || user != "u" {
			t.Fatalf("the newest passkey sign-in: %q, %v", user, err)
		}
		kept := 0
		for _, id := range ids[:begins-1] {
			_, _, err := f.svc.FinishPasskeyLogin(ctx, id, []byte(`{}`))
			if live(t, err) {
				kept++
			}
		}
		if kept != limit-1 {
			t.Fatalf("%d older passkey sign-ins kept, want %d", kept, limit-1)
		}
		if _, err := f.svc.FinishLogin(ctx, lid, "u", d.assert(t, rp, loptions)); err != nil {
			t.Fatalf("the user's login after the passkey begins: %v", err)
		}
	})
}

// By default a user keeps 5 ceremonies and the passkey pool 1000.
func TestCeremonyLimitDefaults(t *testing.T) {
	f := newFixture(t, memory.New())
	var ids []string
	for range 6 {
		f.now = f.now.Add(time.Millisecond)
		id, _, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := f.svc.FinishRegistration(ctx, ids[0], "u", []byte(`{}`)); live(t, err) {
		t.Fatal("6 begins kept the first of a user's ceremonies")
	}
	if _, err := f.svc.FinishRegistration(ctx, ids[1], "u", []byte(`{}`)); !live(t, err) {
		t.Fatal("6 begins dropped the second of a user's ceremonies")
	}

	_, options, err := f.svc.BeginPasskeyLogin(ctx)
	if err != nil || !strings.Contains(string(options), `"timeout":120000`) {
		t.Fatalf("passkey options lack the default 2-minute timeout: %v\n%s", err, options)
	}
	ids = ids[:0]
	for range 1001 {
		f.now = f.now.Add(time.Millisecond)
		id, _, err := f.svc.BeginPasskeyLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, _, err := f.svc.FinishPasskeyLogin(ctx, ids[0], []byte(`{}`)); live(t, err) {
		t.Fatal("1001 passkey begins kept the first")
	}
	if _, _, err := f.svc.FinishPasskeyLogin(ctx, ids[1], []byte(`{}`)); !live(t, err) {
		t.Fatal("1001 passkey begins dropped the second")
	}

	for _, bad := range []func(*webauthn.Config){
		func(c *webauthn.Config) { c.MaxCeremonies = -1 },
		func(c *webauthn.Config) { c.MaxPasskeyCeremonies = -1 },
		func(c *webauthn.Config) { c.PasskeyTimeout = -time.Second },
		func(c *webauthn.Config) { c.Timeout = -time.Second },
	} {
		cfg := webauthn.Config{RPID: rp.ID, Origins: []string{rp.Origin}, Store: memory.New()}
		bad(&cfg)
		if _, err := webauthn.New(cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}

// Expired ceremonies of every user, and of the passkey pool, are gone
// from the store after the next begin, whoever begins it.
func TestExpiredCeremoniesRemoved(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		f.mustRegister(t, "a", "Key", newDevice(virtualwebauthn.AuthenticatorOptions{}))
		login, _, err := f.svc.BeginLogin(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		reg, _, err := f.svc.BeginRegistration(ctx, "b", "b", "Key")
		if err != nil {
			t.Fatal(err)
		}
		passkey, _, err := f.svc.BeginPasskeyLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(5 * time.Minute)
		if _, _, err := f.svc.BeginRegistration(ctx, "c", "c", "Key"); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{"a's login": login, "b's registration": reg, "a passkey sign-in": passkey} {
			if _, err := store.TakeCeremony(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s, expired, is still stored after the next begin: %v", name, err)
			}
		}
		if n := rows(t, store); n > 1 {
			t.Fatalf("%d ceremonies stored, want only c's", n)
		}
	})
}

// 50 parallel begins of one new user all succeed and give the user one
// handle; afterwards the user holds no more than the limit, and the newest
// ceremony finishes.
func TestParallelBegins(t *testing.T) {
	const racers, limit = 50, 5
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		ids := make([]string, racers)
		handles := make([]string, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
				if err != nil {
					t.Errorf("parallel begin: %v", err)
					return
				}
				opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
				if err != nil {
					t.Errorf("options: %v", err)
					return
				}
				ids[i], handles[i] = id, opts.UserID
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, h := range handles {
			if h != handles[0] {
				t.Fatalf("parallel begins gave the user two handles, %x and %x", handles[0], h)
			}
		}
		f.now = f.now.Add(time.Millisecond)
		id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Newest")
		if err != nil {
			t.Fatal(err)
		}
		if n := rows(t, store); n > limit {
			t.Fatalf("%d parallel begins and one more left %d ceremonies, want at most %d", racers, n, limit)
		}
		kept := 0
		for _, id := range ids {
			if _, err := f.svc.FinishRegistration(ctx, id, "u", []byte(`{}`)); live(t, err) {
				kept++
			}
		}
		if kept > limit-1 {
			t.Fatalf("%d of the parallel ceremonies kept beside the newest, want at most %d", kept, limit-1)
		}
		k, err := f.svc.FinishRegistration(ctx, id, "u", newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, options))
		if err != nil || k.Name != "Newest" {
			t.Fatalf("the newest ceremony: %+v, %v", k, err)
		}
	})
}

// RemoveAll ends the user's unfinished ceremonies with their keys: a
// registration begun before cannot add a key after, and no other user's
// ceremony is touched.
func TestRemoveAllEndsCeremonies(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "u", "Key", d)
		other := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "v", "Key", other)
		reg, _, err := f.svc.BeginRegistration(ctx, "u", "u", "Late")
		if err != nil {
			t.Fatal(err)
		}
		login, _, err := f.svc.BeginLogin(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		vLogin, vOptions, err := f.svc.BeginLogin(ctx, "v")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RemoveAll(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{"registration": reg, "login": login} {
			if _, err := store.TakeCeremony(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("u's %s is still stored after RemoveAll: %v", name, err)
			}
		}
		if _, err := f.svc.FinishLogin(ctx, vLogin, "v", other.assert(t, rp, vOptions)); err != nil {
			t.Fatalf("v's login after u's RemoveAll: %v", err)
		}
	})
}
