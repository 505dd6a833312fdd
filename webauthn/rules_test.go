package webauthn_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// Models the tests name: two from the shipped table, one it lacks.
var (
	yubiKey5 = mustAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a") // YubiKey 5 Series with NFC
	googlePM = mustAAGUID("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4") // Google Password Manager
	inHouse  = mustAAGUID("0badc0de-0000-4000-8000-000000000001") // in no table
)

func mustAAGUID(s string) webauthn.AAGUID {
	a, err := webauthn.ParseAAGUID(s)
	if err != nil {
		panic(err)
	}
	return a
}

// modelDevice is an authenticator of model a; synced sets the
// backup-eligible and backup-state flags, as a synced passkey's provider
// does.
func modelDevice(a webauthn.AAGUID, synced bool) *device {
	d := newDevice(virtualwebauthn.AuthenticatorOptions{BackupEligible: synced, BackupState: synced})
	d.Auth.Aaguid = a
	return d
}

// rulesOf serves the rules of a test: they can be changed between steps,
// and fail with err when it is set.
type rulesOf struct {
	mu    sync.Mutex
	rules webauthn.KeyRules
	err   error
	users []string
}

func (r *rulesOf) get(_ context.Context, userID string) (webauthn.KeyRules, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, userID)
	return r.rules, r.err
}

func (r *rulesOf) set(k webauthn.KeyRules, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules, r.err = k, err
}

func TestProviderNames(t *testing.T) {
	f := newFixture(t, memory.New(), func(c *webauthn.Config) {
		c.Providers = map[webauthn.AAGUID]string{inHouse: "Example Corp key", googlePM: "Phone (Google)"}
	})
	unknown := mustAAGUID("0badc0de-0000-4000-8000-0000000000ff")
	for _, tc := range []struct {
		name   string
		model  webauthn.AAGUID
		synced bool
		want   string
	}{
		{"shipped", yubiKey5, false, "YubiKey 5 Series with NFC"},
		{"the application's over the shipped", googlePM, true, "Phone (Google)"},
		{"the application's only", inHouse, false, "Example Corp key"},
		{"unknown", unknown, false, ""},
		{"no model said", webauthn.AAGUID{}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "u-" + strings.ReplaceAll(tc.name, " ", "-")
			d := modelDevice(tc.model, tc.synced)
			k := f.mustRegister(t, user, "Mine", d)
			if k.AAGUID != tc.model || k.Provider != tc.want || k.Synced != tc.synced || k.Name != "Mine" || k.Refused != "" {
				t.Fatalf("registered %+v, want model %v, provider %q, synced %v", k, tc.model, tc.want, tc.synced)
			}
			keys, err := f.svc.Keys(ctx, user)
			if err != nil || len(keys) != 1 || keys[0] != k {
				t.Fatalf("keys %+v, %v; registered %+v", keys, err, k)
			}
			res, err := f.login(t, user, d)
			if err != nil || res.Key.Provider != tc.want || res.Key.AAGUID != tc.model {
				t.Fatalf("login %+v, %v", res, err)
			}
		})
	}
	// The shipped names do not depend on a Service.
	if webauthn.Provider(yubiKey5) != "YubiKey 5 Series with NFC" || webauthn.Provider(googlePM) != "Google Password Manager" || webauthn.Provider(inHouse) != "" {
		t.Fatal("Provider does not read the shipped table")
	}
}

func TestShippedNames(t *testing.T) {
	for id, want := range map[string]string{
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
		"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "Apple Passwords", // iCloud Keychain, as Apple now calls it
		"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
		"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC",
		"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
		"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
		"00000000-0000-0000-0000-000000000000": "",
	} {
		if got := webauthn.Provider(mustAAGUID(id)); got != want {
			t.Errorf("Provider(%s) = %q, want %q", id, got, want)
		}
	}
}

func TestRulesAtRegistration(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rules   webauthn.KeyRules
		model   webauthn.AAGUID
		synced  bool
		refused error // the rule's error; nil for a key that is added
	}{
		{"no rules", webauthn.KeyRules{}, googlePM, true, nil},
		{"denied model", webauthn.KeyRules{Deny: []webauthn.AAGUID{inHouse, googlePM}}, googlePM, true, webauthn.ErrModelDenied},
		{"model not denied", webauthn.KeyRules{Deny: []webauthn.AAGUID{googlePM}}, yubiKey5, false, nil},
		{"allowed model", webauthn.KeyRules{Allow: []webauthn.AAGUID{inHouse, yubiKey5}}, yubiKey5, false, nil},
		{"model not on the allow list", webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}}, inHouse, false, webauthn.ErrModelNotAllowed},
		{"no model said, with an allow list", webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}}, webauthn.AAGUID{}, false, webauthn.ErrModelNotAllowed},
		{"allowed but denied", webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}, Deny: []webauthn.AAGUID{yubiKey5}}, yubiKey5, false, webauthn.ErrModelDenied},
		{"device bound, key bound", webauthn.KeyRules{DeviceBound: true}, yubiKey5, false, nil},
		{"device bound, passkey synced", webauthn.KeyRules{DeviceBound: true}, googlePM, true, webauthn.ErrSyncedRefused},
		{"device bound, allowed model synced", webauthn.KeyRules{DeviceBound: true, Allow: []webauthn.AAGUID{googlePM}}, googlePM, true, webauthn.ErrSyncedRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rulesOf
			r.set(tc.rules, nil)
			f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.Rules = r.get })
			k, err := f.register(t, "u", "Key", modelDevice(tc.model, tc.synced))
			keys, kerr := f.svc.Keys(ctx, "u")
			if kerr != nil {
				t.Fatal(kerr)
			}
			if tc.refused == nil {
				if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
					t.Fatalf("refused: %v (keys %+v)", err, keys)
				}
				return
			}
			if !errors.Is(err, webauthn.ErrKeyRefused) || !errors.Is(err, tc.refused) {
				t.Fatalf("err = %v, want %v", err, tc.refused)
			}
			if len(keys) != 0 {
				t.Fatalf("a refused key was stored: %+v", keys)
			}
			for _, u := range r.users {
				if u != "u" {
					t.Fatalf("rules asked for %q", u)
				}
			}
		})
	}
}

// TestRulesReadAtFinish: the rules are read again when the registration
// finishes, so a rule made while the browser was busy applies; rules that
// cannot be read refuse at either end, and store nothing.
func TestRulesReadAtFinish(t *testing.T) {
	var r rulesOf
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.Rules = r.get })
	fault := errors.New("policy store down")

	r.set(webauthn.KeyRules{}, fault)
	if _, _, err := f.svc.BeginRegistration(ctx, "u", "u", "Key"); !errors.Is(err, fault) || errors.Is(err, webauthn.ErrKeyRefused) {
		t.Fatalf("begin with failing rules: %v", err)
	}
	if _, err := f.store.WebAuthnHandle(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a begin refused by failing rules made a user handle: %v", err)
	}

	for _, tc := range []struct {
		name  string
		rules webauthn.KeyRules
		err   error
		want  error
	}{
		{"denied meanwhile", webauthn.KeyRules{Deny: []webauthn.AAGUID{yubiKey5}}, nil, webauthn.ErrKeyRefused},
		{"rules failing meanwhile", webauthn.KeyRules{}, fault, fault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.set(webauthn.KeyRules{}, nil)
			id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
			if err != nil {
				t.Fatal(err)
			}
			r.set(tc.rules, tc.err)
			resp := modelDevice(yubiKey5, false).attest(t, rp, options)
			if _, err := f.svc.FinishRegistration(ctx, id, "u", resp); !errors.Is(err, tc.want) {
				t.Fatalf("finish: %v, want %v", err, tc.want)
			}
			r.set(webauthn.KeyRules{}, nil)
			if keys, _ := f.svc.Keys(ctx, "u"); len(keys) != 0 {
				t.Fatalf("stored %+v", keys)
			}
			// The ceremony is used up: the same answer cannot be sent
			// again once the rule is lifted.
			if _, err := f.svc.FinishRegistration(ctx, id, "u", resp); !errors.Is(err, webauthn.ErrCeremony) {
				t.Fatalf("finish again: %v", err)
			}
		})
	}
}

// TestRulesAtLogin: a key registered before a rule changed no longer
// passes, by second factor or as a passkey, and Keys says why; lifting the
// rule lets it pass again. Rules that fail deny.
func TestRulesAtLogin(t *testing.T) {
	var r rulesOf
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.Rules = r.get })
	yubi := modelDevice(yubiKey5, false)
	f.mustRegister(t, "u", "Keyring", yubi)
	pk, _ := f.registerPasskey(t, "u") // a random model, not synced
	synced := modelDevice(googlePM, true)
	f.mustRegister(t, "u", "Phone", synced)

	passkeyLogin := func() error {
		id, options, err := f.svc.BeginPasskeyLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.FinishPasskeyLogin(ctx, id, pk.assert(t, rp, options))
		return err
	}
	fault := errors.New("policy store down")
	for _, tc := range []struct {
		name    string
		rules   webauthn.KeyRules
		err     error
		refused map[string]bool // by key name, for the second-factor keys and the passkey
	}{
		{"none", webauthn.KeyRules{}, nil, map[string]bool{}},
		{"YubiKeys denied", webauthn.KeyRules{Deny: []webauthn.AAGUID{yubiKey5}}, nil, map[string]bool{"Keyring": true}},
		{"only YubiKeys", webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}}, nil, map[string]bool{"Passkey": true, "Phone": true}},
		{"device bound", webauthn.KeyRules{DeviceBound: true}, nil, map[string]bool{"Phone": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.set(tc.rules, tc.err)
			keys, err := f.svc.Keys(ctx, "u")
			if err != nil || len(keys) != 3 {
				t.Fatalf("keys %+v, %v", keys, err)
			}
			for _, k := range keys {
				if (k.Refused != "") != tc.refused[k.Name] {
					t.Errorf("key %q: Refused = %q", k.Name, k.Refused)
				}
			}
			for name, login := range map[string]func() error{
				"Keyring": func() error { _, err := f.login(t, "u", yubi); return err },
				"Phone":   func() error { _, err := f.login(t, "u", synced); return err },
				"Passkey": passkeyLogin,
			} {
				err := login()
				if tc.refused[name] != errors.Is(err, webauthn.ErrKeyRefused) || (!tc.refused[name] && err != nil) {
					t.Errorf("login with %q: %v, refused %v", name, err, tc.refused[name])
				}
			}
		})
	}
	t.Run("rules failing", func(t *testing.T) {
		r.set(webauthn.KeyRules{}, fault)
		if _, err := f.login(t, "u", yubi); !errors.Is(err, fault) {
			t.Fatalf("login: %v", err)
		}
		if err := passkeyLogin(); !errors.Is(err, fault) {
			t.Fatalf("passkey login: %v", err)
		}
		if _, err := f.svc.Keys(ctx, "u"); !errors.Is(err, fault) {
			t.Fatalf("keys: %v", err)
		}
	})
}

// TestRulesConcurrentFinish: 50 finishes of one registration at once,
// with rules that allow the key, add it once.
func TestRulesConcurrentFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, store webauthn.Store) {
		var r rulesOf
		r.set(webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}, DeviceBound: true}, nil)
		f := newFixture(t, store, func(c *webauthn.Config) { c.Rules = r.get })
		id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
		if err != nil {
			t.Fatal(err)
		}
		resp := modelDevice(yubiKey5, false).attest(t, rp, options)
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				switch _, err := f.svc.FinishRegistration(ctx, id, "u", resp); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, webauthn.ErrCeremony):
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		keys, err := f.svc.Keys(ctx, "u")
		if ok.Load() != 1 || err != nil || len(keys) != 1 {
			t.Fatalf("%d of 50 finishes passed, keys %+v, %v; want exactly 1", ok.Load(), keys, err)
		}
	})
}

func TestParseAAGUID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for refused
	}{
		{"2fc0579f-8113-47ea-b116-bb5a8db9202a", "2fc0579f-8113-47ea-b116-bb5a8db9202a"},
		{"2FC0579F-8113-47EA-B116-BB5A8DB9202A", "2fc0579f-8113-47ea-b116-bb5a8db9202a"},
		{"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
		{"", ""},
		{"2fc0579f811347eab116bb5a8db9202a", ""}, // no dashes
		{"{2fc0579f-8113-47ea-b116-bb5a8db9202a}", ""},        // braces
		{"urn:uuid:2fc0579f-8113-47ea-b116-bb5a8db9202a", ""}, // URN
		{"2fc0579f-8113-47ea-b116-bb5a8db9202", ""},           // short
		{"2fc0579f-8113-47ea-b116-bb5a8db9202aa", ""},         // long
		{"2fc0579f-8113-47ea-b116bb5a8db9202aa", ""},          // dash moved
		{"2fc0579f-8113-47ea-b116-bb5a8db9202g", ""},          // not hex
		{"2fc0579f-8113-47ea-b116-bb5a8db9202\u00e9", ""},     // not ASCII, 36 bytes
		{"+fc0579f-8113-47ea-b116-bb5a8db9202a", ""},          // a sign
		{" 2fc0579f-8113-47ea-b116-bb5a8db9202a", ""},         // space
		{"2fc0579f-8113-47ea-b116-bb5a8db9202a\n", ""},        // line end
		{"2fc0579f-8113-47ea-b116-bb5a-db9202a", ""},          // dash in the last group
		{"2fc0579f-8113-47ea-b116-bb5a8db9202a" + strings.Repeat("0", 1000), ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := webauthn.ParseAAGUID(tc.in)
			if tc.want == "" {
				if !errors.Is(err, webauthn.ErrAAGUID) || a != (webauthn.AAGUID{}) {
					t.Fatalf("ParseAAGUID(%q) = %v, %v; want ErrAAGUID", tc.in, a, err)
				}
				return
			}
			if err != nil || a.String() != tc.want {
				t.Fatalf("ParseAAGUID(%q) = %v, %v", tc.in, a, err)
			}
			var back webauthn.AAGUID
			if err := back.UnmarshalText([]byte(a.String())); err != nil || back != a {
				t.Fatalf("text round trip: %v, %v", back, err)
			}
		})
	}
}

func FuzzParseAAGUID(f *testing.F) {
	f.Add("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	f.Add("2FC0579F-8113-47EA-B116-BB5A8DB9202A")
	f.Add("2fc0579f-8113-47ea-b116-bb5a8db9202g")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := webauthn.ParseAAGUID(s)
		if err != nil {
			if !errors.Is(err, webauthn.ErrAAGUID) || a != (webauthn.AAGUID{}) {
				t.Fatalf("ParseAAGUID(%q) = %v, %v", s, a, err)
			}
			return
		}
		// Accepted: it is the canonical form, in either case, and reads
		// back to the same bytes.
		if a.String() != strings.ToLower(s) {
			t.Fatalf("ParseAAGUID(%q).String() = %q", s, a.String())
		}
		if b, err := webauthn.ParseAAGUID(a.String()); err != nil || b != a {
			t.Fatalf("round trip of %q: %v, %v", s, b, err)
		}
	})
}

// TestDefaultName: a key registered without a name is named after its
// model; the user's own name always wins, and stays theirs beside the
// provider.
func TestDefaultName(t *testing.T) {
	long := strings.Repeat("Ω", 70) + " key"
	f := newFixture(t, memory.New(), func(c *webauthn.Config) {
		c.Providers = map[webauthn.AAGUID]string{inHouse: long}
	})
	unknown := mustAAGUID("0badc0de-0000-4000-8000-0000000000ff")
	for _, tc := range []struct {
		name, given string
		model       webauthn.AAGUID
		synced      bool
		want        string
	}{
		{"shipped model", "", yubiKey5, false, "YubiKey 5 Series with NFC"},
		{"spaces only", "   ", googlePM, true, "Google Password Manager"},
		{"the user's name wins", "Work laptop", googlePM, true, "Work laptop"},
		{"a long name cut to 64", "", inHouse, false, strings.Repeat("Ω", 64)},
		{"unknown model, bound", "", unknown, false, "Security key"},
		{"unknown model, synced", "", unknown, true, "Passkey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "u-" + strings.ReplaceAll(tc.name, " ", "-")
			k := f.mustRegister(t, user, tc.given, modelDevice(tc.model, tc.synced))
			if k.Name != tc.want {
				t.Fatalf("name %q, want %q", k.Name, tc.want)
			}
			if keys, _ := f.svc.Keys(ctx, user); len(keys) != 1 || keys[0].Name != tc.want || keys[0].Provider != k.Provider {
				t.Fatalf("stored %+v", keys)
			}
		})
	}
}

// TestHandlersRules: the handlers answer a refused key 403 with the
// rule's message, and a key's JSON carries its model and provider.
func TestHandlersRules(t *testing.T) {
	var r rulesOf
	f := newFixture(t, memory.New(), func(c *webauthn.Config) { c.Rules = r.get })
	h := &webauthn.Handlers{Service: f.svc, User: sessionUser}
	br, fr := h.BeginRegistration(), h.FinishRegistration()

	r.set(webauthn.KeyRules{DeviceBound: true}, nil)
	a := begin(t, br, "u", `{"name": "Phone"}`)
	rec := serve(t, fr, "POST", "u", finishBody(a.Ceremony, modelDevice(googlePM, true).attest(t, rp, a.Options)))
	wantError(t, rec, 403)
	if !strings.Contains(rec.Body.String(), "synced passkeys are not allowed") {
		t.Fatalf("answer %s", rec.Body)
	}

	a = begin(t, br, "u", `{}`) // no name: named after the model
	var k struct {
		Key map[string]any `json:"key"`
	}
	postOK(t, fr, "u", finishBody(a.Ceremony, modelDevice(yubiKey5, false).attest(t, rp, a.Options)), &k)
	if k.Key["name"] != "YubiKey 5 Series with NFC" || k.Key["provider"] != "YubiKey 5 Series with NFC" ||
		k.Key["aaguid"] != yubiKey5.String() || k.Key["synced"] != false {
		t.Fatalf("key %v", k.Key)
	}
	if _, ok := k.Key["refused"]; ok {
		t.Fatalf("an allowed key says refused: %v", k.Key)
	}
}

func TestProvidersChecked(t *testing.T) {
	for name, p := range map[string]map[webauthn.AAGUID]string{
		"the zero AAGUID":      {{}: "Nothing"},
		"empty":                {inHouse: ""},
		"spaces around":        {inHouse: " Acme "},
		"a line break":         {inHouse: "Acme\nkey"},
		"a right-to-left mark": {inHouse: "Acme \u202ekey"},
		"not UTF-8":            {inHouse: "Acme \xff"},
		"too long":             {inHouse: strings.Repeat("x", 129)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := webauthn.New(webauthn.Config{RPID: rp.ID, Origins: []string{rp.Origin}, Store: memory.New(), Providers: p})
			if err == nil || !strings.Contains(err.Error(), "Providers") {
				t.Fatalf("New = %v", err)
			}
		})
	}
	if _, err := webauthn.New(webauthn.Config{RPID: rp.ID, Origins: []string{rp.Origin}, Store: memory.New(),
		Providers: map[webauthn.AAGUID]string{inHouse: strings.Repeat("é", 128)}}); err != nil {
		t.Fatal(err)
	}
}
