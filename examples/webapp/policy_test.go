package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

// The demonstration policy and the administrator page's "Out of policy"
// list: during the grace period it names the administrator below the
// required strength (an app, no key) and says how long the others have;
// past the deadline it names every user without a second factor too, and
// the administrator, who added a key, is not named. A user past the
// deadline is sent to set a method up.
func TestAdminOutOfPolicy(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := fake.NewClock(start)
	// Within a session's 12 hours, so that one login sees both sides.
	deadline := start.Add(6 * time.Hour)
	a, base := serve(t, config{Now: clock.Now, Policy: policyConfig{Require: true, Deadline: deadline, AdminKeys: true}})
	ctx := context.Background()
	for _, u := range []struct {
		email string
		admin bool
	}{{"late@example.com", false}, {"weak@example.com", true}} {
		if _, err := a.createUser(ctx, u.email, "pw", u.admin); err != nil {
			t.Fatal(err)
		}
	}
	users, err := a.users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var weak user
	for _, u := range users {
		if u.Email == "weak@example.com" {
			weak = u
		}
	}
	e, err := a.tf.TOTP.Begin(ctx, weak.ID, weak.Email, "s")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.tf.TOTP.Confirm(ctx, weak.ID, "s", fake.AppCode(t, e.Secret, clock.Now())); err != nil {
		t.Fatal(err)
	}

	// The administrator, in the grace period, with nothing set up, passes
	// to the settings and adds a key.
	admin := newClient(t, base)
	if got := admin.login("admin@example.com", adminPassword); got.status != http.StatusOK || got.path != "/" ||
		!strings.Contains(got.body, `id="policy-grace">Your organisation requires a security key or passkey: set it up within 1 day`) {
		t.Fatalf("admin login in the grace period: %d at %s: %s", got.status, got.path, got.body)
	}
	if got := admin.get("/2fa/settings"); !strings.Contains(got.body, `id="policy-notice"`) || !strings.Contains(got.body, "within 1 day") {
		t.Fatalf("settings in the grace period: %s", got.body)
	}
	key := admin.addKeyDevice("YubiKey")

	page := admin.get("/admin")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="out-of-policy"`) {
		t.Fatalf("admin page: %d %s", page.status, page.body)
	}
	oop := section(t, page.body, `id="out-of-policy"`)
	for _, want := range []string{`id="oop-weak-example-com"`, "Below the required strength: no security key or passkey (1 day left)"} {
		if !strings.Contains(oop, want) {
			t.Errorf("out of policy in the grace period lacks %q: %s", want, oop)
		}
	}
	for _, not := range []string{"oop-late-example-com", "oop-demo-example-com", "oop-admin-example-com"} {
		if strings.Contains(oop, not) {
			t.Errorf("out of policy in the grace period names %s: %s", not, oop)
		}
	}
	if !strings.Contains(page.body, `id="grace-late-example-com">1 day left to set up`) {
		t.Errorf("the users table does not say how long late@ has: %s", page.body)
	}

	// Past the deadline.
	clock.Add(6 * time.Hour)
	// The administrator page asks for a recent second step: the key.
	if got := admin.get("/admin"); got.path != "/2fa/" || strings.Contains(got.body, `id="code"`) {
		t.Fatalf("admin page, an old step: at %s: %s", got.path, got.body)
	}
	admin.useKey(key)
	page = admin.get("/admin")
	if page.status != http.StatusOK {
		t.Fatalf("admin page past the deadline: %d at %s: %s", page.status, page.path, page.body)
	}
	oop = section(t, page.body, `id="out-of-policy"`)
	for _, want := range []string{
		`id="oop-late-example-com"><td>late@example.com</td><td data-label="Why">Past the deadline: no second factor`,
		`id="oop-demo-example-com"><td>demo@example.com</td><td data-label="Why">Past the deadline: no second factor`,
		"Below the required strength, past the deadline: no security key or passkey",
	} {
		if !strings.Contains(oop, want) {
			t.Errorf("out of policy past the deadline lacks %q: %s", want, oop)
		}
	}
	if strings.Contains(oop, "oop-admin-example-com") {
		t.Errorf("the administrator with a key is out of policy: %s", oop)
	}

	// late@ is sent to the set-up before anything else.
	late := newClient(t, base)
	if got := late.login("late@example.com", "pw"); got.path != "/2fa/settings" || !strings.Contains(got.body, `role="alert" id="policy-notice"`) {
		t.Fatalf("late@ past the deadline went to %s: %s", got.path, got.body)
	}
	if got := late.api("/api/me"); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "set-up-required") {
		t.Fatalf("late@'s API past the deadline: %d %s", got.status, got.body)
	}
}

// Without flags there is no policy: no "Out of policy" section, and the
// users table says nothing of deadlines.
func TestAdminNoPolicy(t *testing.T) {
	_, base := serve(t, config{})
	admin := newClient(t, base)
	admin.login("admin@example.com", adminPassword)
	admin.setUpTOTP()
	page := admin.get("/admin")
	if page.status != http.StatusOK || strings.Contains(page.body, "out-of-policy") || strings.Contains(page.body, "left to set up") {
		t.Fatalf("admin page without a policy: %d %s", page.status, page.body)
	}
}

func TestParsePolicy(t *testing.T) {
	for _, c := range []struct {
		by    string
		keys  bool
		want  policyConfig
		fails bool
	}{
		{"", false, policyConfig{}, false},
		{"", true, policyConfig{AdminKeys: true}, false},
		{"now", false, policyConfig{Require: true}, false},
		{"2027-01-31", true, policyConfig{Require: true, Deadline: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), AdminKeys: true}, false},
		{"1969-12-31", false, policyConfig{}, true},
		{"tomorrow", false, policyConfig{}, true},
		{"2027-02-30", false, policyConfig{}, true},
	} {
		got, err := parsePolicy(c.by, c.keys)
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("parsePolicy(%q, %v) = %+v, %v", c.by, c.keys, got, err)
		}
	}
}

// section returns the HTML of the element whose start tag holds attr, up
// to the end of its section.
func section(t *testing.T, body, attr string) string {
	t.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		t.Fatalf("no %s in %s", attr, body)
	}
	j := strings.Index(body[i:], "</section>")
	if j < 0 {
		t.Fatalf("no end of %s", attr)
	}
	return body[i : i+j]
}

// addKeyDevice is addKey, returning the key for useKey.
func (b *client) addKeyDevice(name string) *virtualkey.Device {
	b.t.Helper()
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": name})
	if status != http.StatusOK {
		b.t.Fatalf("keys/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Attest(b.t, b.rp(), begin["options"])
	if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		b.t.Fatalf("keys/finish: %d %s", status, answer["error"])
	}
	return key
}

// useKey passes the second step with key, as twofa.js does.
func (b *client) useKey(key *virtualkey.Device) {
	b.t.Helper()
	status, begin := b.postJSON("/2fa/key/begin", nil)
	if status != http.StatusOK {
		b.t.Fatalf("key/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Assert(b.t, b.rp(), begin["options"])
	if status, answer := b.postJSON("/2fa/key/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		b.t.Fatalf("key/finish: %d %s", status, answer["error"])
	}
}

func (b *client) rp() virtualwebauthn.RelyingParty {
	return virtualwebauthn.RelyingParty{ID: "localhost", Name: issuer, Origin: b.url}
}
