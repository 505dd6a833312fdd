package httpmw_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/webauthn"
)

var (
	yubiKey5 = webauthn.AAGUID{0x2f, 0xc0, 0x57, 0x9f, 0x81, 0x13, 0x47, 0xea, 0xb1, 0x16, 0xbb, 0x5a, 0x8d, 0xb9, 0x20, 0x2a}
	inHouse  = webauthn.AAGUID{0x0b, 0xad, 0xc0, 0xde, 1}
)

// testRules are key rules a test changes between steps.
type testRules struct {
	mu sync.Mutex
	r  webauthn.KeyRules
}

func (t *testRules) get(context.Context, string) (webauthn.KeyRules, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r, nil
}

func (t *testRules) set(r webauthn.KeyRules) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.r = r
}

func modelKey(a webauthn.AAGUID, synced bool) *virtualkey.Device {
	d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{BackupEligible: synced, BackupState: synced})
	d.Auth.Aaguid = a
	return d
}

type apiKey struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	AAGUID   string `json:"aaguid"`
	Provider string `json:"provider"`
	Synced   bool   `json:"synced"`
	Refused  string `json:"refused"`
}

// The JSON API: a key's provider and whether it is synced; a key the
// rules refuse, at registration (key-not-allowed, nothing stored) and at
// the second step after the rule changed (the account view says why).
func TestAPIKeyRules(t *testing.T) {
	var rules testRules
	a := newApp(t, func(tc *twofa.Config, _ *httpmw.Config) {
		tc.WebAuthn.Rules = rules.get
		tc.WebAuthn.Providers = map[webauthn.AAGUID]string{inHouse: "Acme key"}
	})
	b := a.browser()
	b.login("alice")
	var begin struct {
		Ceremony string          `json:"ceremony"`
		Options  json.RawMessage `json:"options"`
	}
	var d struct {
		Key     apiKey `json:"key"`
		Account struct {
			Keys []apiKey `json:"keys"`
		} `json:"account"`
	}
	add := func(name string, key *virtualkey.Device) answer {
		t.Helper()
		b.call("POST", "keys/begin", map[string]string{"name": name}).ok(t, "keys/begin", &begin)
		return b.call("POST", "keys/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(key.Attest(t, virtualkey.RP, begin.Options))})
	}

	rules.set(webauthn.KeyRules{DeviceBound: true})
	p := add("Phone", modelKey(inHouse, true)).problem(t, "synced passkey", httpmw.ProblemKeyNotAllowed, http.StatusForbidden)
	if !strings.Contains(p.Detail, "bound to one device") {
		t.Fatalf("detail %q", p.Detail)
	}
	rules.set(webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey5}})
	p = add("Acme", modelKey(inHouse, false)).problem(t, "model not allowed", httpmw.ProblemKeyNotAllowed, http.StatusForbidden)
	if !strings.Contains(p.Detail, "approved models") {
		t.Fatalf("detail %q", p.Detail)
	}
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Keys) != 0 {
		t.Fatalf("a refused key was stored: %+v", acc.Keys)
	}
	b.call("POST", "keys/begin", map[string]any{}).problem(t, "no name member", httpmw.ProblemBadRequest, http.StatusBadRequest)

	yubi := modelKey(yubiKey5, false)
	add("", yubi).ok(t, "no name, allowed model", &d)
	if d.Key.Name != "YubiKey 5 Series with NFC" || d.Key.Provider != d.Key.Name || d.Key.AAGUID != yubiKey5.String() || d.Key.Synced || d.Key.Refused != "" {
		t.Fatalf("key %+v", d.Key)
	}
	rules.set(webauthn.KeyRules{})
	acme := modelKey(inHouse, true)
	add("Work laptop", acme).ok(t, "synced, no rules", &d)
	if d.Key.Name != "Work laptop" || d.Key.Provider != "Acme key" || !d.Key.Synced {
		t.Fatalf("key %+v", d.Key)
	}

	// The YubiKeys are denied now: the second step with one is refused,
	// and the account view says why.
	rules.set(webauthn.KeyRules{Deny: []webauthn.AAGUID{yubiKey5}})
	var acc struct {
		Keys []apiKey `json:"keys"`
	}
	b.call("GET", "account", nil).ok(t, "account", &acc)
	if len(acc.Keys) != 2 {
		t.Fatalf("account keys %+v", acc.Keys)
	}
	for _, k := range acc.Keys {
		if (k.Refused != "") != (k.Provider == "YubiKey 5 Series with NFC") {
			t.Fatalf("account keys %+v", acc.Keys)
		}
	}
	other := a.browser()
	other.login("alice")
	other.call("POST", "key/begin", nil).ok(t, "key/begin", &begin)
	other.call("POST", "key/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(yubi.Assert(t, virtualkey.RP, begin.Options))}).
		problem(t, "denied key at the second step", httpmw.ProblemKeyNotAllowed, http.StatusForbidden)
	other.call("POST", "key/begin", nil).ok(t, "key/begin", &begin)
	other.call("POST", "key/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(acme.Assert(t, virtualkey.RP, begin.Options))}).
		ok(t, "allowed key at the second step", nil)
}

// The settings page: the user's name for a key, the model beside it when
// they differ, and why the rules now refuse a key.
func TestSettingsKeyNames(t *testing.T) {
	var rules testRules
	a := newApp(t, func(tc *twofa.Config, _ *httpmw.Config) {
		tc.WebAuthn.Rules = rules.get
		tc.WebAuthn.Providers = map[webauthn.AAGUID]string{inHouse: "Acme <key>"}
	})
	b := a.browser()
	b.login("alice")
	for _, k := range []struct {
		name  string
		model webauthn.AAGUID
	}{{"", yubiKey5}, {"Work laptop", inHouse}} {
		status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": k.name})
		if status != http.StatusOK {
			t.Fatalf("keys/begin: %d %s", status, begin["error"])
		}
		var ceremony string
		json.Unmarshal(begin["ceremony"], &ceremony)
		if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(modelKey(k.model, false).Attest(t, virtualkey.RP, begin["options"]))}); status != http.StatusOK {
			t.Fatalf("keys/finish: %d %s", status, answer["error"])
		}
	}
	rules.set(webauthn.KeyRules{Deny: []webauthn.AAGUID{inHouse}})
	page := b.passes("/2fa/settings").body
	providers := strings.Count(page, `class="provider"`)
	if providers != 1 || !strings.Contains(page, `value="Work laptop"`) || !strings.Contains(page, html.EscapeString("Acme <key>")+"</span>") {
		t.Fatalf("the model beside the user's name (%d shown):\n%s", providers, page)
	}
	if !strings.Contains(page, `value="YubiKey 5 Series with NFC"`) {
		t.Fatal("a key without a name is not named after its model")
	}
	if strings.Count(page, `class="refused"`) != 1 || !strings.Contains(page, "on the deny list") {
		t.Fatal("the refused key does not say why")
	}

	// The pages' registration answers a refused key with the rule.
	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": "Another"})
	if status != http.StatusOK {
		t.Fatalf("keys/begin: %d", status)
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(modelKey(inHouse, false).Attest(t, virtualkey.RP, begin["options"]))})
	var msg string
	json.Unmarshal(answer["error"], &msg)
	if status != http.StatusForbidden || !strings.Contains(msg, "deny list") {
		t.Fatalf("a denied key: %d %q", status, msg)
	}
}
