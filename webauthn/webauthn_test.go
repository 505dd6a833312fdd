package webauthn_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

var ctx = context.Background()

var rp = virtualkey.RP

type fixture struct {
	svc    *webauthn.Service
	store  webauthn.Store
	now    time.Time
	events fake.Events
}

func (f *fixture) clock() time.Time { return f.now }

func newFixture(t testing.TB, store webauthn.Store, mod ...func(*webauthn.Config)) *fixture {
	t.Helper()
	f := &fixture{store: store, now: time.Now()}
	cfg := webauthn.Config{RPID: rp.ID, RPDisplayName: rp.Name, Origins: []string{rp.Origin}, Store: store, Now: f.clock,
		Events: f.events.Hook}
	for _, m := range mod {
		m(&cfg)
	}
	svc, err := webauthn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// device is a software security key.
type device struct{ *virtualkey.Device }

func newDevice(opts virtualwebauthn.AuthenticatorOptions) *device {
	return &device{virtualkey.New(opts)}
}

func (d *device) attest(t testing.TB, r virtualwebauthn.RelyingParty, options []byte) []byte {
	return d.Attest(t, r, options)
}

func (d *device) assert(t testing.TB, r virtualwebauthn.RelyingParty, options []byte) []byte {
	return d.Assert(t, r, options)
}

func (f *fixture) register(t testing.TB, user, name string, d *device) (webauthn.Key, error) {
	t.Helper()
	id, options, err := f.svc.BeginRegistration(ctx, user, user+"@example.com", name)
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	return f.svc.FinishRegistration(ctx, id, user, d.attest(t, rp, options))
}

func (f *fixture) mustRegister(t testing.TB, user, name string, d *device) webauthn.Key {
	t.Helper()
	k, err := f.register(t, user, name, d)
	if err != nil {
		t.Fatalf("register %q: %v", name, err)
	}
	return k
}

// registerPasskey adds a passkey for user: a device holding the user
// handle the options name, as a discoverable credential does.
func (f *fixture) registerPasskey(t testing.TB, user string) (*device, webauthn.Key) {
	t.Helper()
	id, options, err := f.svc.BeginRegistration(ctx, user, user, "Passkey")
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(opts.UserID)})
	k, err := f.svc.FinishRegistration(ctx, id, user, d.attest(t, rp, options))
	if err != nil {
		t.Fatalf("register passkey: %v", err)
	}
	return d, k
}

func (f *fixture) login(t testing.TB, user string, d *device) (webauthn.Result, error) {
	t.Helper()
	id, options, err := f.svc.BeginLogin(ctx, user)
	if err != nil {
		return webauthn.Result{}, err
	}
	return f.svc.FinishLogin(ctx, id, user, d.assert(t, rp, options))
}

func TestTwoKeysRenameRemove(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		yubi, phone := newDevice(virtualwebauthn.AuthenticatorOptions{}), newDevice(virtualwebauthn.AuthenticatorOptions{})
		k1 := f.mustRegister(t, "u", "YubiKey", yubi)
		f.now = f.now.Add(time.Second)
		k2 := f.mustRegister(t, "u", "Phone", phone)
		keys, err := f.svc.Keys(ctx, "u")
		if err != nil || len(keys) != 2 || keys[0].Name != "YubiKey" || keys[1].Name != "Phone" || keys[0].ID != k1.ID || keys[1].ID != k2.ID {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
		for _, d := range []*device{yubi, phone} {
			res, err := f.login(t, "u", d)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if !res.UserVerified || res.CloneWarning {
				t.Fatalf("result %+v", res)
			}
		}
		if keys, _ := f.svc.Keys(ctx, "u"); keys[0].LastUsed.IsZero() {
			t.Fatal("last used not recorded")
		}
		if err := f.svc.Rename(ctx, "u", k1.ID, "  Keyring YubiKey "); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Remove(ctx, "u", k2.ID); err != nil {
			t.Fatal(err)
		}
		keys, _ = f.svc.Keys(ctx, "u")
		if len(keys) != 1 || keys[0].Name != "Keyring YubiKey" {
			t.Fatalf("after rename and remove: %+v", keys)
		}
		if _, err := f.login(t, "u", phone); !errors.Is(err, webauthn.ErrResponse) {
			t.Fatalf("login with the removed key: %v, want ErrResponse", err)
		}
		if _, err := f.login(t, "u", yubi); err != nil {
			t.Fatalf("login with the kept key: %v", err)
		}
		for _, name := range []string{"", "   ", strings.Repeat("x", 65), "a\nb", "\xff"} {
			if err := f.svc.Rename(ctx, "u", k1.ID, name); !errors.Is(err, webauthn.ErrBadName) {
				t.Errorf("rename to %q: %v", name, err)
			}
		}
		if err := f.svc.Rename(ctx, "other", k1.ID, "mine now"); !errors.Is(err, webauthn.ErrNotFound) {
			t.Fatalf("renaming another user's key: %v", err)
		}
	})
}

func TestSameKeyOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "u", "Key", d)
		// The options exclude it, so a browser would refuse; the server
		// refuses anyway.
		_, options, _ := f.svc.BeginRegistration(ctx, "u", "u", "Again")
		if !strings.Contains(string(options), base64.RawURLEncoding.EncodeToString(d.Cred.ID)) {
			t.Fatal("the user's key is not in the exclusions")
		}
		if _, err := f.register(t, "u", "Again", d); !errors.Is(err, webauthn.ErrDuplicateKey) {
			t.Fatalf("same key, same user: %v", err)
		}
		if _, err := f.register(t, "v", "Stolen", d); !errors.Is(err, webauthn.ErrDuplicateKey) {
			t.Fatalf("same key, other user: %v", err)
		}
		if keys, _ := f.svc.Keys(ctx, "v"); len(keys) != 0 {
			t.Fatal("the other user got the key")
		}
	})
}

func TestLoginResponseOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "u", "Key", d)
		id, options, err := f.svc.BeginLogin(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		resp := d.assert(t, rp, options)
		if _, err := f.svc.FinishLogin(ctx, id, "u", resp); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishLogin(ctx, id, "u", resp); !errors.Is(err, webauthn.ErrCeremony) {
			t.Fatalf("the same response again: %v, want ErrCeremony", err)
		}
	})
}

func TestConcurrentFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		d := newDevice(virtualwebauthn.AuthenticatorOptions{})
		f.mustRegister(t, "u", "Key", d)
		id, options, _ := f.svc.BeginLogin(ctx, "u")
		resp := d.assert(t, rp, options)
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				switch _, err := f.svc.FinishLogin(ctx, id, "u", resp); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, webauthn.ErrCeremony):
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of 20 concurrent finishes succeeded, want exactly 1", ok.Load())
		}
	})
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*webauthn.Config)
		dev  virtualwebauthn.AuthenticatorOptions
		run  func(t *testing.T, f *fixture, d *device) error
		want error
	}{
		{"wrong origin", nil, virtualwebauthn.AuthenticatorOptions{}, func(t *testing.T, f *fixture, d *device) error {
			id, options, _ := f.svc.BeginLogin(ctx, "u")
			evil := rp
			evil.Origin = "https://examp1e.com"
			_, err := f.svc.FinishLogin(ctx, id, "u", d.assert(t, evil, options))
			return err
		}, webauthn.ErrResponse},
		{"wrong RP ID", nil, virtualwebauthn.AuthenticatorOptions{}, func(t *testing.T, f *fixture, d *device) error {
			id, options, _ := f.svc.BeginLogin(ctx, "u")
			evil := rp
			evil.ID = "evil.com"
			_, err := f.svc.FinishLogin(ctx, id, "u", d.assert(t, evil, options))
			return err
		}, webauthn.ErrResponse},
		{"expired ceremony", nil, virtualwebauthn.AuthenticatorOptions{}, func(t *testing.T, f *fixture, d *device) error {
			id, options, _ := f.svc.BeginLogin(ctx, "u")
			f.now = f.now.Add(5*time.Minute + time.Second)
			_, err := f.svc.FinishLogin(ctx, id, "u", d.assert(t, rp, options))
			return err
		}, webauthn.ErrCeremony},
		{"another user's ceremony", nil, virtualwebauthn.AuthenticatorOptions{}, func(t *testing.T, f *fixture, d *device) error {
			other := newDevice(virtualwebauthn.AuthenticatorOptions{})
			f.mustRegister(t, "v", "V's key", other)
			id, options, _ := f.svc.BeginLogin(ctx, "v")
			_, err := f.svc.FinishLogin(ctx, id, "u", other.assert(t, rp, options))
			return err
		}, webauthn.ErrCeremony},
		{"user verification required, missing", func(c *webauthn.Config) { c.RequireUserVerification = true },
			virtualwebauthn.AuthenticatorOptions{UserNotVerified: true}, func(t *testing.T, f *fixture, d *device) error {
				_, err := f.login(t, "u", d)
				return err
			}, webauthn.ErrResponse},
		{"sign count backwards", nil, virtualwebauthn.AuthenticatorOptions{}, func(t *testing.T, f *fixture, d *device) error {
			d.Cred.Counter = 10
			if _, err := f.login(t, "u", d); err != nil { // counter 11
				t.Fatal(err)
			}
			d.Cred.Counter = 3 // a clone that lags behind
			_, err := f.login(t, "u", d)
			return err
		}, webauthn.ErrCloned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*webauthn.Config)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			f := newFixture(t, memory.New(), mods...)
			d := newDevice(tc.dev)
			if tc.name == "user verification required, missing" {
				// Register with a verifying twin of the key, so only the
				// login lacks verification.
				good := newDevice(virtualwebauthn.AuthenticatorOptions{})
				good.Cred = d.Cred
				good.Auth.AddCredential(d.Cred)
				f.mustRegister(t, "u", "Key", good)
			} else {
				f.mustRegister(t, "u", "Key", d)
			}
			err := tc.run(t, f, d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && err.Error() == "" {
				t.Fatal("empty error message")
			}
		})
	}
}

func TestCloneWarningAllowed(t *testing.T) {
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.AllowCloneWarning = true })
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(t, "u", "Key", d)
	d.Cred.Counter = 10
	f.login(t, "u", d)
	d.Cred.Counter = 3
	res, err := f.login(t, "u", d)
	if err != nil || !res.CloneWarning {
		t.Fatalf("allowed clone warning: %+v, %v", res, err)
	}
	if f.events.Count(event.CloneWarning) != 1 {
		t.Fatal("no clone_warning event")
	}
}

func TestPasskeySignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		f := newFixture(t, store)
		devices := map[string]*device{}
		for _, user := range []string{"alice", "bob"} {
			id, options, err := f.svc.BeginRegistration(ctx, user, user, "Passkey")
			if err != nil {
				t.Fatal(err)
			}
			opts, _ := virtualwebauthn.ParseAttestationOptions(string(options))
			handle := []byte(opts.UserID) // decoded by the parser
			if len(handle) != 32 || strings.Contains(string(handle), user) {
				t.Fatalf("user handle %q is not 32 random bytes", handle)
			}
			d := newDevice(virtualwebauthn.AuthenticatorOptions{UserHandle: handle})
			if _, err := f.svc.FinishRegistration(ctx, id, user, d.attest(t, rp, options)); err != nil {
				t.Fatal(err)
			}
			devices[user] = d
		}
		for _, user := range []string{"bob", "alice"} {
			id, options, err := f.svc.BeginPasskeyLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := f.svc.FinishPasskeyLogin(ctx, id, devices[user].assert(t, rp, options))
			if err != nil || got != user {
				t.Fatalf("passkey of %s resolved to %q, %v", user, got, err)
			}
		}
	})
}

func TestGarbageResponses(t *testing.T) {
	f := newFixture(t, memory.New())
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(t, "u", "Key", d)
	_, options, _ := f.svc.BeginLogin(ctx, "u")
	good := string(d.assert(t, rp, options))
	for name, body := range map[string]string{
		"empty":            "",
		"not JSON":         "{{{",
		"wrong JSON":       `{"id": 5}`,
		"truncated base64": good[:len(good)/2] + `"}`,
		"null":             "null",
		"1 MB":             `{"id":"` + strings.Repeat("A", 1<<20) + `"}`,
		"not UTF-8":        "\xff\xfe",
	} {
		id, _, _ := f.svc.BeginLogin(ctx, "u")
		if _, err := f.svc.FinishLogin(ctx, id, "u", []byte(body)); !errors.Is(err, webauthn.ErrResponse) {
			t.Errorf("%s: %v, want ErrResponse", name, err)
		}
		rid, _, _ := f.svc.BeginRegistration(ctx, "u", "u", "Key 2")
		if _, err := f.svc.FinishRegistration(ctx, rid, "u", []byte(body)); !errors.Is(err, webauthn.ErrResponse) {
			t.Errorf("registration, %s: %v, want ErrResponse", name, err)
		}
	}
}

func TestOrigins(t *testing.T) {
	for origin, ok := range map[string]bool{
		"https://example.com":      true,
		"https://example.com:8443": true,
		"http://localhost":         true,
		"http://localhost:8080":    true,
		"http://example.com":       false,
		"http://127.0.0.1:8080":    false,
		"https://example.com/path": false,
		"example.com":              false,
		"":                         false,
	} {
		_, err := webauthn.New(webauthn.Config{RPID: "example.com", Origins: []string{origin}, Store: memory.New()})
		if ok != (err == nil) {
			t.Errorf("origin %q: %v, want ok=%v", origin, err, ok)
		}
	}
}

// forEachStore runs f on every backend.
func forEachStore(t *testing.T, f func(t *testing.T, s webauthn.Store)) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		s, _ := b.Open(t)
		f(t, s)
	})
}

func TestDisableEnable(t *testing.T) {
	f := newFixture(t, memory.New())
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	if err := f.svc.Disable(ctx, "u"); !errors.Is(err, webauthn.ErrNoKeys) {
		t.Fatalf("disable without keys: %v", err)
	}
	f.mustRegister(t, "u", "Key", d)
	// A ceremony begun before the keys were turned off does not finish.
	id, options, _ := f.svc.BeginLogin(ctx, "u")
	if err := f.svc.Disable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, id, "u", d.assert(t, rp, options)); !errors.Is(err, webauthn.ErrNotEnabled) {
		t.Fatalf("finish after disable: %v", err)
	}
	if _, err := f.login(t, "u", d); !errors.Is(err, webauthn.ErrNotEnabled) {
		t.Fatalf("login while disabled: %v", err)
	}
	if st, _ := f.svc.State(ctx, "u"); !st.Disabled || len(st.Keys) != 1 {
		t.Fatalf("state %+v", st)
	}
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(t, "u", d); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
}

// The options ask for user verification as "preferred" and carry the
// enforced timeout; with RequireUserVerification, as "required".
func TestOptionsAskForVerification(t *testing.T) {
	for _, tc := range []struct {
		require bool
		want    string
	}{{false, `"userVerification":"preferred"`}, {true, `"userVerification":"required"`}} {
		f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.RequireUserVerification = tc.require })
		_, reg, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
		if err != nil {
			t.Fatal(err)
		}
		f.mustRegister(t, "u", "Key", newDevice(virtualwebauthn.AuthenticatorOptions{}))
		_, login, err := f.svc.BeginLogin(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		for name, opts := range map[string][]byte{"registration": reg, "login": login} {
			if !strings.Contains(string(opts), tc.want) || !strings.Contains(string(opts), `"timeout":300000`) {
				t.Errorf("require=%v, %s options lack %s or the 5-minute timeout:\n%s", tc.require, name, tc.want, opts)
			}
		}
	}
}

// Key names are 1 to 64 characters, whatever their width in bytes, of
// text on one line; the same rule holds when adding a key and renaming it.
func TestKeyNames(t *testing.T) {
	wide := strings.Repeat("\U0001F511", 64) // 64 four-byte characters, 256 bytes
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"one character", "K", true},
		{"64 four-byte characters", wide, true},
		{"64 of mixed width", strings.Repeat("aé€\U0001F511", 16), true},
		{"64 with spaces around", "  " + wide + " \t", true},
		{"joined emoji", "\U0001F468\u200D\U0001F469\u200D\U0001F467 family key", true},
		{"65 four-byte characters", wide + "\U0001F511", false},
		{"65 ASCII", strings.Repeat("x", 65), false},
		// Empty at the start: the key is named after its model (see
		// TestDefaultName); a rename to it is refused.
		{"empty", "", false},
		{"spaces only", " \t ", false},
		{"invalid UTF-8", "Key \xff", false},
		{"truncated four-byte character", "Key \xf0\x9f\x94", false},
		{"NUL", "Key\x00", false},
		{"line feed", "a\nb", false},
		{"carriage return", "a\rb", false},
		{"tab inside", "a\tb", false},
		{"escape", "a\x1b[31mb", false},
		{"DEL", "a\x7fb", false},
		{"C1 control", "a\u0085b", false},
		{"line separator", "a\u2028b", false},
		{"paragraph separator", "a\u2029b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.TrimSpace(tc.key)
			f := newFixture(t, memory.New())
			d := newDevice(virtualwebauthn.AuthenticatorOptions{})
			id, options, err := f.svc.BeginRegistration(ctx, "u", "u", tc.key)
			if want == "" {
				if err != nil {
					t.Fatalf("begin with no name: %v", err)
				}
			} else if !tc.ok {
				if !errors.Is(err, webauthn.ErrBadName) {
					t.Fatalf("register %q: %v, want ErrBadName", tc.key, err)
				}
			} else {
				if err != nil {
					t.Fatalf("register %q: %v", tc.key, err)
				}
				k, err := f.svc.FinishRegistration(ctx, id, "u", d.attest(t, rp, options))
				if err != nil || k.Name != want {
					t.Fatalf("registered %q as %q, %v", tc.key, k.Name, err)
				}
			}

			// Rename a key that has another name to this one.
			other := f.mustRegister(t, "v", "Old name", newDevice(virtualwebauthn.AuthenticatorOptions{}))
			err = f.svc.Rename(ctx, "v", other.ID, tc.key)
			keys, kerr := f.svc.Keys(ctx, "v")
			if kerr != nil || len(keys) != 1 {
				t.Fatalf("keys %+v, %v", keys, kerr)
			}
			if !tc.ok {
				if !errors.Is(err, webauthn.ErrBadName) || keys[0].Name != "Old name" {
					t.Fatalf("rename to %q: %v, name now %q", tc.key, err, keys[0].Name)
				}
				return
			}
			if err != nil || keys[0].Name != want {
				t.Fatalf("rename to %q: %v, name now %q", tc.key, err, keys[0].Name)
			}
		})
	}
}

// A response the user was not present for (the UP flag clear: nobody
// touched the key) is refused in every ceremony, by our own check, and
// the key is neither added nor marked used.
func TestUserNotPresent(t *testing.T) {
	notPresent := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, webauthn.ErrResponse) || !strings.Contains(err.Error(), "present") {
			t.Fatalf("%v, want ErrResponse saying the user was not present", err)
		}
	}
	for name, run := range map[string]func(t *testing.T, f *fixture, d *device){
		"registration": func(t *testing.T, f *fixture, d *device) {
			absent := newDevice(virtualwebauthn.AuthenticatorOptions{UserNotPresent: true})
			_, err := f.register(t, "u", "Absent", absent)
			notPresent(t, err)
		},
		"login": func(t *testing.T, f *fixture, d *device) {
			d.Auth.Options.UserNotPresent = true
			_, err := f.login(t, "u", d)
			notPresent(t, err)
		},
		"passkey login": func(t *testing.T, f *fixture, d *device) {
			d.Auth.Options.UserNotPresent = true
			id, options, err := f.svc.BeginPasskeyLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			user, _, err := f.svc.FinishPasskeyLogin(ctx, id, d.assert(t, rp, options))
			notPresent(t, err)
			if user != "" {
				t.Fatalf("user %q returned with the error", user)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			d, k := f.registerPasskey(t, "u")
			run(t, f, d)
			keys, err := f.svc.Keys(ctx, "u")
			if err != nil || len(keys) != 1 || keys[0].ID != k.ID || !keys[0].LastUsed.IsZero() {
				t.Fatalf("keys %+v, %v: want the one key, never used", keys, err)
			}
			// The same key, present, still passes.
			d.Auth.Options.UserNotPresent = false
			if _, err := f.login(t, "u", d); err != nil {
				t.Fatalf("login with the user present: %v", err)
			}
		})
	}
}

// On the configured clock a ceremony is good until just before its
// timeout and refused from the moment it ends, in every flow; a passkey
// sign-in has its own, shorter timeout.
func TestCeremonyTimeout(t *testing.T) {
	const timeout, passkeyTimeout = 3 * time.Minute, time.Minute
	for _, tc := range []struct {
		name string
		late time.Duration // after the timeout
		want error
	}{
		{"just in time", -time.Nanosecond, nil},
		{"at the timeout", 0, webauthn.ErrCeremony},
		{"an hour late", time.Hour, webauthn.ErrCeremony},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.Timeout, c.PasskeyTimeout = timeout, passkeyTimeout })
			d, _ := f.registerPasskey(t, "u")
			start := f.now
			check := func(flow string, err error) {
				t.Helper()
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("%s: %v, want %v", flow, err, tc.want)
				}
			}

			id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Second")
			if err != nil {
				t.Fatal(err)
			}
			f.now = start.Add(timeout + tc.late)
			_, err = f.svc.FinishRegistration(ctx, id, "u", newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, options))
			check("registration", err)

			f.now = start
			id, options, err = f.svc.BeginLogin(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			f.now = start.Add(timeout + tc.late)
			_, err = f.svc.FinishLogin(ctx, id, "u", d.assert(t, rp, options))
			check("login", err)

			f.now = start
			id, options, err = f.svc.BeginPasskeyLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(options), `"timeout":60000`) {
				t.Errorf("passkey options lack the 1-minute timeout:\n%s", options)
			}
			f.now = start.Add(passkeyTimeout + tc.late)
			_, _, err = f.svc.FinishPasskeyLogin(ctx, id, d.assert(t, rp, options))
			check("passkey login", err)
		})
	}
}
