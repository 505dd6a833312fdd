package httpmw_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

// policies is the per-user policy of a test application, changed as a
// test goes.
type policies struct {
	mu   sync.Mutex
	by   map[string]twofa.Policy
	errs map[string]error
}

func (p *policies) set(user string, pol twofa.Policy, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.by[user], p.errs[user] = pol, err
}

func (p *policies) get(_ context.Context, user string) (twofa.Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[user], p.errs[user]
}

// newPolicyApp is newApp with Config.Policy answering from the returned
// policies.
func newPolicyApp(t *testing.T, opts ...option) (*app, *policies) {
	pol := &policies{by: map[string]twofa.Policy{}, errs: map[string]error{}}
	opts = append([]option{func(c *twofa.Config, _ *httpmw.Config) { c.Policy = pol.get }}, opts...)
	return newApp(t, opts...), pol
}

type policyView struct {
	SetUpRequired     bool           `json:"setUpRequired"`
	DaysLeft          int            `json:"daysLeft"`
	PhishingResistant bool           `json:"phishingResistant"`
	BelowStrength     bool           `json:"belowStrength"`
	Offered           []twofa.Method `json:"offered"`
	OfferRemember     bool           `json:"offerRemember"`
	Passed            bool           `json:"passed"`
}

// A user without a method, by policy: optional passes; required within
// the grace period passes, and the settings, the challenge's API and the
// account's API say how many days remain; past the deadline (the clock
// moving past it, or one already past) the user is sent to set a method
// up before anything else, and an API client is answered set-up-required.
func TestPolicyGraceAndDeadline(t *testing.T) {
	a, pol := newPolicyApp(t, func(_ *twofa.Config, c *httpmw.Config) { c.OfferRemember = false })
	now := a.clock.Now()
	pol.set("opt", twofa.Policy{}, nil)
	pol.set("grace", twofa.Policy{Required: true, Deadline: now.Add(3*24*time.Hour - time.Minute)}, nil)
	pol.set("late", twofa.Policy{Required: true, Deadline: now.Add(-time.Hour)}, nil)
	pol.set("now", twofa.Policy{Required: true}, nil)

	for _, c := range []struct {
		user string
		sent bool // to the set-up
		days int
	}{{"opt", false, 0}, {"grace", false, 3}, {"late", true, 0}, {"now", true, 0}} {
		t.Run(c.user, func(t *testing.T) {
			b := a.browser()
			b.login(c.user)
			got := b.get("/account")
			switch {
			case c.sent && (got.status != http.StatusSeeOther || got.location != "/2fa/settings"):
				t.Fatalf("/account: %d %q, want the set-up", got.status, got.location)
			case !c.sent && got.status != http.StatusOK:
				t.Fatalf("/account: %d %q, want it to pass", got.status, got.location)
			}
			api := b.request(route{"GET", "/api/data", true}, nil)
			if c.sent {
				guardProblem(t, api, httpmw.ProblemSetUpRequired)
			} else if api.status != http.StatusOK {
				t.Fatalf("API: %d", api.status)
			}
			// The challenge sends them on: to the set-up, or where they
			// were going.
			if ch := b.get("/2fa/?next=/account"); ch.status != http.StatusSeeOther || (ch.location == "/2fa/settings") != c.sent {
				t.Fatalf("challenge: %d %q", ch.status, ch.location)
			}
			settings := b.passes("/2fa/settings")
			notice := strings.Contains(settings.body, `id="policy-notice"`)
			if notice != (c.user != "opt") {
				t.Fatalf("settings' policy notice shown %v: %s", notice, settings.body)
			}
			if c.days > 0 && !strings.Contains(settings.body, "within 3 days") {
				t.Fatalf("settings do not say how many days remain: %s", settings.body)
			}
			if c.sent && !strings.Contains(settings.body, `role="alert" id="policy-notice"`) {
				t.Fatalf("settings of an overdue user: no alert: %s", settings.body)
			}
			var ch, acc policyView
			b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
			b.call("GET", "account", nil).ok(t, "account", &acc)
			for _, v := range []policyView{ch, acc} {
				if v.DaysLeft != c.days || v.SetUpRequired != c.sent {
					t.Fatalf("API: %+v, want %d days, set-up required %v", v, c.days, c.sent)
				}
			}
		})
	}

	// The grace ends with the clock: the same session is now sent to the
	// set-up.
	b := a.browser()
	b.login("grace")
	b.passes("/account")
	a.clock.Add(3*24*time.Hour - time.Minute)
	if got := b.get("/account"); got.status != http.StatusSeeOther || got.location != "/2fa/settings" {
		t.Fatalf("at the deadline: %d %q, want the set-up", got.status, got.location)
	}
	// A method set up, the user passes again.
	code := a.enroll("grace")
	b.asked("/account")
	b.pass(code)
	b.passes("/account")
}

// register adds a virtual key to b's user through the settings' JSON
// endpoints, as twofa.js does, and returns it.
func (b *browser) register(t *testing.T) *virtualkey.Device {
	t.Helper()
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": "YubiKey"})
	if status != http.StatusOK {
		t.Fatalf("keys/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Attest(t, virtualkey.RP, begin["options"])
	if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		t.Fatalf("keys/finish: %d %s", status, answer["error"])
	}
	return key
}

// useKey passes the challenge with key.
func (b *browser) useKey(t *testing.T, key *virtualkey.Device, query string) {
	t.Helper()
	status, begin := b.postJSON("/2fa/key/begin", nil)
	if status != http.StatusOK {
		t.Fatalf("key/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Assert(t, virtualkey.RP, begin["options"])
	if status, answer := b.postJSON("/2fa/key/finish"+query, map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		t.Fatalf("key/finish: %d %s", status, answer["error"])
	}
}

// A user whose policy admits only security keys, past its deadline, with
// an authenticator app: the app passes the second step, which then leads
// only to adding a key; once a key is added, the app's mark no longer
// counts, the challenge offers only the key (no code, no "remember this
// browser"), a code is refused without being used up, a remembered
// browser does not skip the step, and the key passes.
func TestPolicyPhishingResistant(t *testing.T) {
	a, pol := newPolicyApp(t)
	code := a.enroll("admin")
	pol.set("admin", twofa.Policy{PhishingResistant: true, Deadline: a.clock.Now().Add(-time.Hour)}, nil)
	// A browser remembered before the policy.
	token, err := a.tf.Browsers.Remember(ctx, "admin", "Firefox")
	if err != nil {
		t.Fatal(err)
	}
	b := a.browser()
	u, _ := url.Parse(a.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "twofa-remember", Value: token, Path: "/"}})
	b.login("admin")
	b.asked("/account")
	page := b.passes("/2fa/?next=/account")
	if !strings.Contains(page.body, `id="verify"`) || strings.Contains(page.body, `id="remember"`) {
		t.Fatalf("challenge below strength: the app must be offered, remembering not: %s", page.body)
	}
	var ch policyView
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.PhishingResistant || !ch.BelowStrength || !ch.SetUpRequired || ch.OfferRemember {
		t.Fatalf("API challenge below strength: %+v", ch)
	}
	b.pass(code, "remember", "1")
	if acc, _ := a.tf.Account(ctx, "admin"); len(acc.Browsers) != 1 {
		t.Fatalf("a browser was remembered for a phishing-resistant policy: %+v", acc.Browsers)
	}
	if got := b.get("/account"); got.status != http.StatusSeeOther || got.location != "/2fa/settings" {
		t.Fatalf("below strength after the app: %d %q, want the set-up", got.status, got.location)
	}
	guardProblem(t, b.request(route{"GET", "/api/data", true}, nil), httpmw.ProblemSetUpRequired)
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.Passed || !ch.SetUpRequired || !ch.BelowStrength {
		t.Fatalf("API challenge below strength, the app passed: %+v", ch)
	}
	settings := b.passes("/2fa/settings")
	if !strings.Contains(settings.body, "Your organisation requires a security key or passkey") {
		t.Fatalf("settings do not say why: %s", settings.body)
	}
	key := b.register(t)

	// The app's mark no longer counts: the key is asked for.
	b.asked("/account")
	page = b.passes("/2fa/?next=/account")
	if strings.Contains(page.body, `id="verify"`) || !strings.Contains(page.body, `id="use-key"`) || strings.Contains(page.body, `id="remember"`) {
		t.Fatalf("challenge with a key: only the key must be offered: %s", page.body)
	}
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if len(ch.Offered) != 1 || ch.Offered[0] != twofa.WebAuthn || ch.SetUpRequired || ch.BelowStrength || ch.Passed {
		t.Fatalf("API challenge with a key: %+v", ch)
	}
	c := code()
	if got := b.post("/2fa/verify", url.Values{"code": {c}, "next": {"/account"}}); got.status != http.StatusConflict ||
		!strings.Contains(got.body, "requires a security key or passkey") {
		t.Fatalf("app code with a key: %d %s", got.status, got.body)
	}
	b.call("POST", "verify", map[string]any{"code": c}).problem(t, "API verify with a key", httpmw.ProblemMethodOff, http.StatusConflict)
	if st, _ := a.store.Throttle(ctx, "admin"); st.Failures != 0 {
		t.Fatalf("refused codes counted %d failures", st.Failures)
	}
	b.asked("/account")
	b.useKey(t, key, "?remember=1")
	if got := b.passes("/account"); got.body != `account for admin by "webauthn"` {
		t.Fatalf("after the key: %q", got.body)
	}
	if acc, _ := a.tf.Account(ctx, "admin"); len(acc.Browsers) != 1 {
		t.Fatalf("a key login remembered the browser for a phishing-resistant policy: %+v", acc.Browsers)
	}
	// The refused app code was not used up: with the policy lifted it
	// passes in another browser.
	pol.set("admin", twofa.Policy{}, nil)
	other := a.browser()
	other.login("admin")
	if got := other.post("/2fa/verify", url.Values{"code": {c}, "next": {"/account"}}); got.status != http.StatusSeeOther {
		t.Fatalf("the refused code, policy lifted: %d %s", got.status, got.body)
	}
}

// A policy that cannot be read denies at every entry point: the guard and
// StepUp, Check, the challenge and the settings pages, a code, and the
// API; for a user with a method and for one without.
func TestPolicyErrorDeniesEverywhere(t *testing.T) {
	a, pol := newPolicyApp(t)
	code := a.enroll("alice")
	for _, user := range []string{"alice", "bob"} {
		t.Run(user, func(t *testing.T) {
			b := a.browser()
			b.login(user)
			if user == "alice" {
				b.pass(code)
			}
			pol.set(user, twofa.Policy{}, errors.New("directory down"))
			for _, r := range append(protected, route{"GET", "/2fa/", false}) {
				if got := b.request(r, nil); got.status < 300 || got.status == http.StatusNotFound {
					t.Errorf("%s %s with the policy down: %d, want a denial", r.method, r.path, got.status)
				}
			}
			req, _ := http.NewRequest("GET", a.srv.URL+"/account", nil)
			for _, c := range b.c.Jar.Cookies(req.URL) {
				req.AddCookie(c)
			}
			if err := a.mw.Check(req); !errors.Is(err, twofa.ErrPolicy) {
				t.Errorf("Check: %v", err)
			}
			if got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}}); got.status != http.StatusInternalServerError {
				t.Errorf("verify with the policy down: %d", got.status)
			}
			b.call("GET", "challenge", nil).problem(t, "API challenge", httpmw.ProblemUnavailable, http.StatusInternalServerError)
			b.call("GET", "account", nil).problem(t, "API account", httpmw.ProblemUnavailable, http.StatusInternalServerError)
			b.call("POST", "verify", map[string]any{"code": code()}).problem(t, "API verify", httpmw.ProblemUnavailable, http.StatusInternalServerError)
			// With the policy back, the session is as it was.
			pol.set(user, twofa.Policy{}, nil)
			if got := b.get("/account"); got.status != http.StatusOK {
				t.Fatalf("with the policy back: %d %q", got.status, got.location)
			}
		})
	}
}

// Fifty parallel requests of a user past the deadline, each a protected
// page or the API, are all refused: none slips through while another
// reads the policy.
func TestPolicyPastDeadlineParallel(t *testing.T) {
	a, pol := newPolicyApp(t)
	pol.set("late", twofa.Policy{Required: true, Deadline: a.clock.Now().Add(-time.Second)}, nil)
	b := a.browser()
	b.login("late")
	var wg sync.WaitGroup
	results := make(chan answer, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := route{"GET", "/account", false}
			if i%2 == 1 {
				r = route{"GET", "/api/data", true}
			}
			results <- b.request(r, nil)
		}()
	}
	wg.Wait()
	close(results)
	for got := range results {
		if got.status == http.StatusOK {
			t.Fatalf("a past-deadline user passed: %s", got.body)
		}
		if got.status != http.StatusSeeOther && got.status != http.StatusUnauthorized {
			t.Fatalf("refusal %d %s", got.status, got.body)
		}
	}
}

// A clock that cannot be right denies a user with a policy, even one whose
// session passed: the standing cannot be judged.
func TestPolicyBrokenClockDenies(t *testing.T) {
	a, pol := newPolicyApp(t)
	code := a.enroll("alice")
	pol.set("alice", twofa.Policy{Required: true, Deadline: a.clock.Now().Add(time.Hour)}, nil)
	b := a.browser()
	b.login("alice")
	b.pass(code)
	b.passes("/account")
	a.clock.Add(-70 * 365 * 24 * time.Hour) // before 1970
	for _, r := range []route{{"GET", "/account", false}, {"GET", "/api/data", true}, {"GET", "/2fa/settings", false}} {
		if got := b.request(r, nil); got.status < 500 {
			t.Errorf("%s %s on a clock before 1970: %d, want a denial", r.method, r.path, got.status)
		}
	}
	a.clock.Add(70 * 365 * 24 * time.Hour)
	b.passes("/account")
}
