package httpmw_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/apitest"
	"github.com/twofa-go/twofa/internal/fake"
)

// call sends body to the API as a single-page application's fetch does:
// a string or []byte as it is, anything else but nil as JSON. Every
// exchange is checked against the API's document by the app's transport.
func (b *browser) call(method, path string, body any, header ...string) answer {
	b.a.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = strings.NewReader(string(v))
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			b.a.t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, b.a.srv.URL+"/2fa/api/"+path, rd)
	if err != nil {
		b.a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: string(raw), header: res.Header}
}

// ok asserts a 200 and decodes its body into v.
func (a answer) ok(t *testing.T, what string, v any) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, a.status, a.body)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(a.body), v); err != nil {
			t.Fatalf("%s: %v in %s", what, err, a.body)
		}
	}
}

// problem asserts a problem of type typ and status, and returns it.
func (a answer) problem(t *testing.T, what, typ string, status int) httpmw.Problem {
	t.Helper()
	var p httpmw.Problem
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: %d %q %s, want a problem", what, a.status, ct, a.body)
	}
	if err := json.Unmarshal([]byte(a.body), &p); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if p.Type != typ || a.status != status || p.Status != status {
		t.Fatalf("%s: %d %s, want %d %s", what, a.status, a.body, status, typ)
	}
	return p
}

type challengeView struct {
	Account       string         `json:"account"`
	Passed        bool           `json:"passed"`
	Fresh         bool           `json:"fresh"`
	Required      bool           `json:"required"`
	Offered       []twofa.Method `json:"offered"`
	EmailWaiting  bool           `json:"emailWaiting"`
	OfferRemember bool           `json:"offerRemember"`
	LockIn        int            `json:"lockIn"`
}

type passedView struct {
	Method     twofa.Method `json:"method"`
	Remembered bool         `json:"remembered"`
}

type accountView struct {
	Methods []struct {
		Method twofa.Method `json:"method"`
		Status string       `json:"status"`
	} `json:"methods"`
	BackupRemaining int `json:"backupRemaining"`
	Keys            []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"keys"`
	Browsers []struct {
		ID string `json:"id"`
	} `json:"browsers"`
	ThisBrowser string `json:"thisBrowser"`
	MovingPhone bool   `json:"movingPhone"`
	Activity    []struct {
		Kind string `json:"kind"`
	} `json:"activity"`
}

func (v accountView) status(m twofa.Method) string {
	for _, s := range v.Methods {
		if s.Method == m {
			return s.Status
		}
	}
	return ""
}

type doneView struct {
	Notice  string      `json:"notice"`
	Codes   []string    `json:"codes"`
	Account accountView `json:"account"`
}

// The second step through the API: the challenge says what is offered, a
// wrong code is a problem with the page's words, a right one passes and
// renews the session, and the same code again is refused as used.
func TestAPIChallengeAndVerify(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")

	var ch challengeView
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if ch.Passed || ch.Fresh || !ch.Required || ch.Account != "alice@example.com" || !slices.Contains(ch.Offered, twofa.TOTP) || !ch.OfferRemember || ch.LockIn <= 0 {
		t.Fatalf("challenge before the step: %+v", ch)
	}
	// The application's routes still ask.
	if got := b.do("GET", "/api/data", nil, "Accept", "application/json"); got.status != http.StatusUnauthorized {
		t.Fatalf("data before the step: %d", got.status)
	}

	p := b.call("POST", "verify", map[string]any{"code": "000000"}).problem(t, "wrong code", httpmw.ProblemInvalidCode, http.StatusUnauthorized)
	if p.Detail != "That code did not work. Check it and try again." || p.LockIn == nil || *p.LockIn != ch.LockIn-1 {
		t.Fatalf("wrong code: %+v", p)
	}
	p = b.call("POST", "verify", map[string]any{"code": "12ab"}).problem(t, "malformed code", httpmw.ProblemInvalidCode, http.StatusUnauthorized)
	if !strings.HasPrefix(p.Detail, "That is not a code. A code from your authenticator app is digits only") {
		t.Fatalf("malformed code: %q", p.Detail)
	}

	renews := a.renewCount()
	c := code()
	var passed passedView
	b.call("POST", "verify", map[string]any{"code": c}).ok(t, "verify", &passed)
	if passed.Method != twofa.TOTP || passed.Remembered {
		t.Fatalf("verify: %+v", passed)
	}
	if a.renewCount() != renews+1 {
		t.Fatalf("the session was renewed %d times by the step, want once", a.renewCount()-renews)
	}
	if got := b.passes("/account"); got.body != `account for alice by "totp"` {
		t.Fatalf("after the step: %q", got.body)
	}
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.Passed || !ch.Fresh || ch.OfferRemember {
		t.Fatalf("challenge after the step: %+v", ch)
	}

	// The same code, in another login of alice: a replay.
	other := a.browser()
	other.login("alice")
	p = other.call("POST", "verify", map[string]any{"code": c}).problem(t, "replay", httpmw.ProblemCodeUsed, http.StatusUnauthorized)
	if p.Detail != "That code was already used. Wait for the app to show the next code, or use another method." {
		t.Fatalf("replay: %q", p.Detail)
	}
	other.asked("/account")

	// Not logged in.
	a.browser().call("GET", "challenge", nil).problem(t, "no login", httpmw.ProblemNotLoggedIn, http.StatusUnauthorized)
	a.browser().call("POST", "verify", map[string]any{"code": "123456"}).problem(t, "no login", httpmw.ProblemNotLoggedIn, http.StatusUnauthorized)
}

// "Remember this browser" through the API, on the first step only.
func TestAPIRemember(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	var passed passedView
	got := b.call("POST", "verify", map[string]any{"code": code(), "remember": true})
	got.ok(t, "verify", &passed)
	if !passed.Remembered || !strings.Contains(strings.Join(got.header.Values("Set-Cookie"), "\n"), "twofa-remember=") {
		t.Fatalf("remember: %+v %v", passed, got.header.Values("Set-Cookie"))
	}
	a.clock.Add(30 * time.Second)
	// A step-up in the same session remembers nothing more.
	b.call("POST", "verify", map[string]any{"code": code(), "remember": true}).ok(t, "step-up", &passed)
	if passed.Remembered {
		t.Fatal("a step-up remembered the browser again")
	}
	acc, _ := a.tf.Account(ctx, "alice")
	if len(acc.Browsers) != 1 {
		t.Fatalf("%d remembered browsers, want 1", len(acc.Browsers))
	}
}

// Wrong codes until the throttle answers: a problem with the time to retry
// at, in the member and in Retry-After, and the page's words.
func TestAPIThrottled(t *testing.T) {
	a := newApp(t)
	a.enroll("alice")
	b := a.browser()
	b.login("alice")
	var got answer
	for i := 0; i < 20; i++ {
		if got = b.call("POST", "verify", map[string]any{"code": "000000"}); got.status == http.StatusTooManyRequests {
			break
		}
	}
	p := got.problem(t, "throttled", httpmw.ProblemThrottled, http.StatusTooManyRequests)
	if p.RetryAt.IsZero() || p.Locked || !strings.HasPrefix(p.Detail, "Too many failed attempts") {
		t.Fatalf("throttled: %+v", p)
	}
	secs, err := strconv.Atoi(got.header.Get("Retry-After"))
	want := int(p.RetryAt.Sub(a.clock.Now()).Seconds())
	if err != nil || secs < want || secs > want+1 {
		t.Fatalf("Retry-After %q, want the %d seconds to %s", got.header.Get("Retry-After"), want, p.RetryAt)
	}
	var ch struct {
		Throttle struct {
			RetryAt time.Time `json:"retryAt"`
		} `json:"throttle"`
		Detail string `json:"detail"`
	}
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.Throttle.RetryAt.Equal(p.RetryAt) || ch.Detail != p.Detail {
		t.Fatalf("challenge while throttled: %+v, problem %+v", ch, p)
	}
}

// The settings need a recent second step, as the pages do: never passed,
// passed too long ago, and passed again.
func TestAPIStepUp(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	p := b.call("GET", "account", nil).problem(t, "before the step", httpmw.ProblemSecondStepNeeded, http.StatusUnauthorized)
	if p.Challenge != "/2fa/api/challenge" {
		t.Fatalf("second step: %+v", p)
	}
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "verify", nil)
	a.clock.Add(30 * time.Second)
	b.call("GET", "account", nil).ok(t, "account", nil)

	a.clock.Add(httpmw.DefaultStepUpAge)
	p = b.call("POST", "backup", nil).problem(t, "stale step", httpmw.ProblemStepUpNeeded, http.StatusUnauthorized)
	if p.Challenge != "/2fa/api/challenge" {
		t.Fatalf("step-up: %+v", p)
	}
	var ch challengeView
	b.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.Passed || ch.Fresh {
		t.Fatalf("challenge with a stale step: %+v", ch)
	}
	if acc, _ := a.tf.Account(ctx, "alice"); acc.Status(twofa.Backup) != twofa.NotSetUp {
		t.Fatal("a refused step-up made backup codes")
	}
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "verify again", nil)
	var d doneView
	b.call("POST", "backup", nil).ok(t, "backup", &d)
	if len(d.Codes) != 10 || d.Account.BackupRemaining != 10 {
		t.Fatalf("backup: %d codes, %d remaining", len(d.Codes), d.Account.BackupRemaining)
	}
}

// A POST from another site is refused with a problem, and changes
// nothing: the code it carried still works afterwards.
func TestAPICrossOrigin(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	c := code()
	b.call("POST", "verify", map[string]any{"code": c}, "Sec-Fetch-Site", "cross-site").
		problem(t, "cross-site", httpmw.ProblemCrossOrigin, http.StatusForbidden)
	b.call("POST", "verify", map[string]any{"code": c}, "Sec-Fetch-Site", "", "Origin", "https://evil.example").
		problem(t, "other origin", httpmw.ProblemCrossOrigin, http.StatusForbidden)
	b.asked("/account")
	b.call("POST", "verify", map[string]any{"code": c}).ok(t, "same origin", nil)
	// Every method that changes something: DELETE and PATCH too.
	b.call("POST", "methods/totp/disable", nil, "Sec-Fetch-Site", "cross-site").
		problem(t, "cross-site disable", httpmw.ProblemCrossOrigin, http.StatusForbidden)
	b.call("DELETE", "methods/totp", nil, "Sec-Fetch-Site", "cross-site").
		problem(t, "cross-site remove", httpmw.ProblemCrossOrigin, http.StatusForbidden)
	b.call("PATCH", "keys/x", map[string]string{"name": "x"}, "Sec-Fetch-Site", "cross-site").
		problem(t, "cross-site rename", httpmw.ProblemCrossOrigin, http.StatusForbidden)
	if acc, _ := a.tf.Account(ctx, "alice"); acc.Status(twofa.TOTP) != twofa.Enabled {
		t.Fatalf("a cross-site request changed the app: %v", acc.Status(twofa.TOTP))
	}
}

// The document is served under the mount, with its server there, and it
// lists exactly the routes the API serves.
func TestAPIDocument(t *testing.T) {
	for _, path := range []string{"", "/mfa/"} {
		a := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) { mc.Path = path })
		mount := path
		if mount == "" {
			mount = "/2fa/"
		}
		w := httptest.NewRecorder()
		a.mw.Pages().ServeHTTP(w, httptest.NewRequest("GET", mount+"api/openapi.json", nil))
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("GET %sapi/openapi.json: %d %q", mount, w.Code, w.Header().Get("Content-Type"))
		}
		v, err := apitest.New(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if s := v.Doc().Servers[0].URL; s != mount+"api" {
			t.Fatalf("server %q, want %q", s, mount+"api")
		}
		var inDoc, served []string
		for p, item := range v.Doc().Paths.Map() {
			for m := range item.Operations() {
				inDoc = append(inDoc, m+" "+mount+"api"+p)
			}
		}
		for _, r := range httpmw.APIRoutes(a.mw) {
			served = append(served, r.Method+" "+r.Path)
		}
		slices.Sort(inDoc)
		slices.Sort(served)
		if !slices.Equal(inDoc, served) {
			t.Fatalf("the document lists\n%v\nthe API serves\n%v", inDoc, served)
		}
	}
}

// No code reaches a problem or the log: not the code of a refused verify,
// nor one an application's failing renewal quotes in its error, which the
// log writes with every string of the JSON body blanked out.
func TestAPINoSecretLeaks(t *testing.T) {
	var log fake.Log
	var quoted string
	a := newApp(t, withLog(&log), func(_ *twofa.Config, mc *httpmw.Config) {
		mc.RenewSession = func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			return r, fmt.Errorf("renewal refused after code %s", quoted)
		}
	})
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	wrong := "135791"
	got := b.call("POST", "verify", map[string]any{"code": wrong})
	got.problem(t, "wrong", httpmw.ProblemInvalidCode, http.StatusUnauthorized)
	quoted = code()
	failed := b.call("POST", "verify", map[string]any{"code": quoted})
	failed.problem(t, "renewal failed", httpmw.ProblemUnavailable, http.StatusInternalServerError)
	if !strings.Contains(log.String(), "renewal refused after code [redacted]") {
		t.Fatalf("the failure was not logged, scrubbed: %s", log.String())
	}
	for _, s := range []string{got.body, failed.body, log.String()} {
		if strings.Contains(s, wrong) || strings.Contains(s, quoted) {
			t.Fatalf("a code leaked: %s", s)
		}
	}
}

// A session that passed only the password reaches the second step's own
// endpoints and nothing of the settings: every settings route of the API
// answers second-step-needed, and the account is as it was.
func TestAPIPasswordOnly(t *testing.T) {
	a := newApp(t)
	a.enroll("alice")
	b := a.browser()
	b.login("alice")
	before, err := a.tf.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rt := range httpmw.APIRoutes(a.mw) {
		if !rt.Settings {
			continue
		}
		n++
		path := strings.NewReplacer("{method}", "totp", "{id}", "x").Replace(strings.TrimPrefix(rt.Path, "/2fa/api/"))
		var body any
		if rt.Input {
			body = map[string]any{}
		}
		b.call(rt.Method, path, body).problem(t, rt.Method+" "+rt.Path, httpmw.ProblemSecondStepNeeded, http.StatusUnauthorized)
	}
	if n < 10 {
		t.Fatalf("%d settings routes, want the whole settings", n)
	}
	after, err := a.tf.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after.Offered) != fmt.Sprint(before.Offered) || after.Status(twofa.TOTP) != before.Status(twofa.TOTP) ||
		after.Status(twofa.Backup) != before.Status(twofa.Backup) || after.MovingPhone {
		t.Fatalf("a password-only session changed the account: %+v, was %+v", after, before)
	}
}
