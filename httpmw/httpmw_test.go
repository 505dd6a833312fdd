package httpmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/storage"
)

// route is one protected route of the test application.
type route struct {
	method, path string
	api          bool // an API client's request: JSON, no redirect
}

// protected are the routes a session past only the password step must not
// reach: the application's pages, its JSON API, and the 2FA settings and
// set-up pages.
var protected = []route{
	{"GET", "/", false},
	{"GET", "/account", false},
	{"GET", "/settings/password", false},
	{"GET", "/api/data", true},
	{"POST", "/api/data", true},
	{"GET", "/2fa/settings", false},
	{"GET", "/2fa/totp", false},
	{"GET", "/2fa/totp/paper.pdf", false},
	{"POST", "/2fa/totp/begin", false},
	{"POST", "/2fa/totp/confirm", false},
	{"POST", "/2fa/totp/cancel", false},
	{"POST", "/2fa/backup", false},
	{"POST", "/2fa/method", false},
	{"POST", "/2fa/browsers/revoke", false},
	{"POST", "/2fa/keys/begin", true},
	{"POST", "/2fa/keys/finish", true},
	{"POST", "/2fa/keys/rename", false},
	{"POST", "/2fa/keys/remove", false},
}

func (b *browser) request(r route, form url.Values) answer {
	accept := "text/html"
	if r.api {
		accept = "application/json"
	}
	if r.method == "POST" && form == nil {
		form = url.Values{}
	}
	return b.do(r.method, r.path, form, "Accept", accept)
}

func TestEveryProtectedRouteNeedsTheSecondStep(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	for _, r := range protected {
		got := b.request(r, nil)
		switch {
		case r.api:
			if got.status != http.StatusUnauthorized || jsonBody(t, got)["error"] != "second factor required" {
				t.Errorf("%s %s with the password only: %d %q, want 401 JSON", r.method, r.path, got.status, got.body)
			}
			guardProblem(t, got, httpmw.ProblemSecondStepNeeded)
		case got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/2fa/"):
			t.Errorf("%s %s with the password only: %d %q, want a redirect to the challenge", r.method, r.path, got.status, got.location)
		}
	}
	// Nothing changed behind the refusals: the app is still the only method.
	if acc, _ := a.tf.Account(ctx, "alice"); acc.Status(twofa.Backup) != twofa.NotSetUp || acc.Status(twofa.TOTP) != twofa.Enabled {
		t.Fatalf("a refused request changed the account: %+v", acc)
	}

	b.pass(code)
	for _, r := range protected {
		got := b.request(r, nil)
		if got.status == http.StatusForbidden || strings.Contains(got.body, "second factor required") ||
			got.status == http.StatusSeeOther && strings.HasPrefix(got.location, "/2fa/?") {
			t.Errorf("%s %s after the second step: %d %q, want it to pass", r.method, r.path, got.status, got.location)
		}
	}
	if got := b.passes("/account"); got.body != `account for alice by "totp"` {
		t.Fatalf("the handler saw %q", got.body)
	}
}

func TestNotLoggedIn(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	if got := b.get("/account"); got.status != http.StatusSeeOther || got.location != "/login?next=%2Faccount" {
		t.Fatalf("anonymous page: %d %q, want a redirect to the login", got.status, got.location)
	}
	if got := b.request(route{"GET", "/api/data", true}, nil); got.status != http.StatusUnauthorized {
		t.Fatalf("anonymous API: %d", got.status)
	} else {
		guardProblem(t, got, httpmw.ProblemNotLoggedIn)
	}
	for _, p := range []string{"/2fa/", "/2fa/settings"} {
		if got := b.get(p); got.status != http.StatusSeeOther || got.location != "/login?next="+url.QueryEscape(p) {
			t.Fatalf("anonymous %s: %d %q", p, got.status, got.location)
		}
	}
	if got := b.post("/2fa/verify", url.Values{"code": {"123456"}}); got.status != http.StatusSeeOther || got.location != "/login" {
		t.Fatalf("anonymous verify: %d %q", got.status, got.location)
	}
}

func TestUserWithoutMethod(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("bob")
	if got := b.passes("/account"); got.body != `account for bob by ""` {
		t.Fatalf("no method: %q", got.body)
	}
	b.passes("/2fa/settings")

	// With the policy on, the user is sent to set one up, and the set-up
	// pages stay reachable.
	a = newApp(t, func(_ *twofa.Config, c *httpmw.Config) { c.RequireSetUp = true })
	b = a.browser()
	b.login("bob")
	if got := b.get("/account"); got.status != http.StatusSeeOther || got.location != "/2fa/settings" {
		t.Fatalf("required set-up: %d %q", got.status, got.location)
	}
	if got := b.request(route{"GET", "/api/data", true}, nil); got.status != http.StatusUnauthorized || jsonBody(t, got)["error"] != "second factor set-up required" {
		t.Fatalf("required set-up, API: %d %q", got.status, got.body)
	} else {
		guardProblem(t, got, httpmw.ProblemSetUpRequired)
	}
	b.passes("/2fa/settings")
}

// The set-up through the pages: begin, read the secret from the page,
// confirm with the app's code; the confirming code counts as the second
// step of this session.
func TestSetUpThroughPages(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("carol")
	if got := b.post("/2fa/totp/begin", nil); got.status != http.StatusSeeOther || got.location != "/2fa/totp" {
		t.Fatalf("begin: %d %q", got.status, got.location)
	}
	page := b.passes("/2fa/totp")
	secret := fake.PageSecret(t, page.body)
	if !strings.Contains(page.body, `src="data:image/png;base64,`) {
		t.Fatalf("set-up page without a QR code: %s", page.body)
	}
	if pdf := b.passes("/2fa/totp/paper.pdf"); !strings.HasPrefix(pdf.body, "%PDF-") || pdf.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("paper backup: %q", pdf.header)
	}
	code := func() string { return fake.AppCode(t, secret, a.clock.Now()) }
	if got := b.post("/2fa/totp/confirm", url.Values{"code": {"000000"}}); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "did not work") {
		t.Fatalf("wrong confirming code: %d %.200q", got.status, got.body)
	}
	renews := a.renewCount()
	// The set-up goes on to a first set of backup codes, shown once.
	got := b.post("/2fa/totp/confirm", url.Values{"code": {code()}})
	if got.status != http.StatusOK || strings.Count(got.body, "</code></li>") != 10 ||
		!strings.Contains(got.body, "Your authenticator app is set up.") || !strings.Contains(got.body, "Last step: save your backup codes") ||
		!strings.Contains(got.body, `href="data:application/pdf;base64,`) || got.header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(got.body, `href="/2fa/settings?done=saved" class="button primary" id="codes-saved">I have saved them</a>`) {
		t.Fatalf("confirm: %d %q %.300s", got.status, got.location, got.body)
	}
	if a.renewCount() != renews+1 {
		t.Fatalf("session renewed %d times on set-up, want once", a.renewCount()-renews)
	}
	if got := b.passes("/account"); got.body != `account for carol by "totp"` {
		t.Fatalf("after set-up: %q", got.body)
	}
	if got := b.passes("/2fa/settings?done=saved"); !strings.Contains(got.body, "10 unused codes left.") || !strings.Contains(got.body, "You are all set.") {
		t.Fatal("settings do not count the unused codes")
	}

	// A new set is asked about first: the old codes stop working.
	a.clock.Add(time.Minute)
	got = b.post("/2fa/backup", nil)
	if got.status != http.StatusOK || strings.Contains(got.body, "</code></li>") || !strings.Contains(got.body, "Your 10 unused backup codes stop working") {
		t.Fatalf("new backup codes unasked: %d %.300s", got.status, got.body)
	}
	got = b.post("/2fa/backup", url.Values{"confirm": {"1"}})
	if got.status != http.StatusOK || strings.Count(got.body, "</code></li>") != 10 || strings.Contains(got.body, "Last step") {
		t.Fatalf("backup codes page: %d %.300s", got.status, got.body)
	}
}

// Setting up a first method other than the app keeps the session past the
// step (the app's set-up is a step of its own); a later method does not
// count as a step. (Backup codes are never a first method:
// TestBackupCodesAfterPrimary.)
func TestFirstMethodKeepsSession(t *testing.T) {
	for _, c := range []struct {
		method twofa.Method
		path   string
		form   url.Values
	}{
		{twofa.Email, "/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}}},
	} {
		t.Run(string(c.method), func(t *testing.T) {
			a := newApp(t)
			b := a.browser()
			b.login("dave")
			if got := b.post(c.path, c.form); got.status >= 400 {
				t.Fatalf("set up: %d", got.status)
			}
			if got := b.passes("/account"); got.body != `account for dave by "`+string(c.method)+`"` {
				t.Fatalf("after the first method: %q", got.body)
			}
			b.passes("/2fa/settings")
			if a.renewCount() != 1 {
				t.Fatalf("renewed %d times, want once", a.renewCount())
			}

			// Another user, with a method, in a session past only the
			// password, can't get there this way.
			a.enroll("erin")
			e := a.browser()
			e.login("erin")
			if got := e.post(c.path, c.form); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/2fa/") {
				t.Fatalf("set-up with the password only: %d %q", got.status, got.location)
			}
			e.asked("/account")
		})
	}
}

func TestLogoutAndRememberedBrowser(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()

	// Logout, then login: asked again.
	b.login("alice")
	b.pass(code)
	b.post("/logout", nil)
	b.login("alice")
	b.asked("/account")

	// Remembered: not asked after logout and login.
	b.pass(code, "remember", "1")
	b.post("/logout", nil)
	b.login("alice")
	if got := b.passes("/account"); got.body != `account for alice by "browser"` {
		t.Fatalf("remembered browser: %q", got.body)
	}
	settings := b.get("/2fa/settings")
	if settings.status != http.StatusSeeOther || !strings.Contains(settings.location, "stepup=1") {
		t.Fatalf("a remembered browser is not a fresh step: %d %q", settings.status, settings.location)
	}
	acc, _ := a.tf.Account(ctx, "alice")
	if len(acc.Browsers) != 1 || acc.Browsers[0].Label != "Unknown browser" {
		t.Fatalf("account view: %+v", acc.Browsers)
	}

	// Revoked from the list: asked again.
	b.pass(code)
	if got := b.post("/2fa/browsers/revoke", url.Values{"id": {acc.Browsers[0].ID}}); got.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", got.status)
	}
	b.post("/logout", nil)
	b.login("alice")
	b.asked("/account")

	// Logout that forgets the browser.
	b.pass(code, "remember", "1")
	b.post("/logout", url.Values{"forget": {"1"}})
	b.login("alice")
	b.asked("/account")
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Browsers) != 0 {
		t.Fatalf("forgotten browser still listed: %+v", acc.Browsers)
	}
}

// Remembering is the application's choice: without OfferRemember the
// challenge shows no checkbox, and a posted one remembers nothing.
func TestRememberIsOptIn(t *testing.T) {
	a := newApp(t, func(_ *twofa.Config, c *httpmw.Config) { c.OfferRemember = false })
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	if page := b.passes("/2fa/"); strings.Contains(page.body, `name="remember"`) {
		t.Fatal("the challenge offers to remember the browser")
	}
	if got := b.pass(code, "remember", "1"); strings.Contains(strings.Join(got.header.Values("Set-Cookie"), "\n"), "twofa-remember") {
		t.Fatal("a remember cookie was set")
	}
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Browsers) != 0 {
		t.Fatalf("remembered without the offer: %+v", acc.Browsers)
	}
	b.post("/logout", nil)
	b.login("alice")
	b.asked("/account")
}

func TestRememberedWindowSlides(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code, "remember", "1")

	for range 3 {
		a.clock.Add(27 * 24 * time.Hour)
		b.post("/logout", nil)
		b.login("alice")
		b.passes("/account") // day 27 since the last use: passes, and slides
	}
	a.clock.Add(28 * 24 * time.Hour)
	b.post("/logout", nil)
	b.login("alice")
	b.asked("/account")
}

func TestRememberedTokenOfAnotherUser(t *testing.T) {
	a := newApp(t)
	alice := a.enroll("alice")
	a.enroll("bob")
	b := a.browser()
	b.login("alice")
	b.pass(alice, "remember", "1")
	b.post("/logout", nil)

	// Bob logs in on alice's remembered browser: her token is no use to him.
	b.login("bob")
	b.asked("/account")
	b.post("/logout", nil)
	b.login("alice")
	b.passes("/account")
}

func TestMarkIsBoundToUserAndSession(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	a.enroll("mallory")
	b := a.browser()
	b.login("alice")
	b.pass(code)
	// The application's session changes hands without a logout (the session
	// now names another user): the mark does not follow.
	a.mu.Lock()
	for sid := range a.users {
		a.users[sid] = "mallory"
	}
	a.mu.Unlock()
	b.asked("/account")
}

func TestStepUp(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code)
	b.passes("/settings/password")
	b.passes("/2fa/settings")

	a.clock.Add(11 * time.Minute)
	b.passes("/account") // the session is still past the second step
	for _, p := range []string{"/settings/password", "/2fa/settings"} {
		got := b.get(p)
		if got.status != http.StatusSeeOther || got.location != "/2fa/?next="+url.QueryEscape(p)+"&stepup=1" {
			t.Fatalf("GET %s 11 minutes after: %d %q, want the step-up challenge", p, got.status, got.location)
		}
	}
	if got := b.request(route{"POST", "/2fa/keys/begin", true}, nil); got.status != http.StatusUnauthorized ||
		jsonBody(t, got)["error"] != "recent second factor required" {
		t.Fatalf("key registration 11 minutes after: %d %q", got.status, got.body)
	} else {
		guardProblem(t, got, httpmw.ProblemStepUpNeeded)
	}
	page := b.passes("/2fa/?next=%2Fsettings%2Fpassword&stepup=1")
	if !strings.Contains(page.body, "Confirm it") || strings.Contains(page.body, `name="remember"`) {
		t.Fatal("the step-up challenge offers to remember the browser")
	}
	got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/settings/password"}, "stepup": {"1"}})
	if got.status != http.StatusSeeOther || got.location != "/settings/password" {
		t.Fatalf("step-up verify: %d %q", got.status, got.location)
	}
	b.passes("/settings/password")
}

func TestSessionRenewedOncePerStep(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	if a.renewCount() != 0 {
		t.Fatal("renewed before the second step")
	}
	b.post("/2fa/verify", url.Values{"code": {"000000"}})
	if a.renewCount() != 0 {
		t.Fatal("renewed on a wrong code")
	}
	b.pass(code)
	if a.renewCount() != 1 {
		t.Fatalf("renewed %d times on one step, want once", a.renewCount())
	}
	for range 3 {
		b.passes("/account")
	}
	if a.renewCount() != 1 {
		t.Fatalf("renewed %d times after requests with the mark, want still once", a.renewCount())
	}
	// The step-up is a step too.
	a.clock.Add(11 * time.Minute)
	b.post("/2fa/verify", url.Values{"code": {code()}, "stepup": {"1"}})
	if a.renewCount() != 2 {
		t.Fatalf("renewed %d times after a step-up, want 2", a.renewCount())
	}
}

func TestEmailCodeThroughPages(t *testing.T) {
	a := newApp(t)
	if err := a.tf.Email.Enable(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	b := a.browser()
	b.login("alice")
	page := b.passes("/2fa/")
	if !strings.Contains(page.body, `id="send-email"`) || strings.Contains(page.body, `id="use-key"`) {
		t.Fatalf("challenge for e-mail only: %.600s", page.body)
	}
	got := b.post("/2fa/email", url.Values{"next": {"/account"}})
	if got.status != http.StatusSeeOther || got.location != "/2fa/?next=%2Faccount&sent=1" {
		t.Fatalf("send: %d %q", got.status, got.location)
	}
	if got := b.post("/2fa/email", url.Values{"next": {"/account"}}); got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "moments ago") {
		t.Fatalf("second send inside the cooldown: %d", got.status)
	}
	c := mailtest.ReadCode(t, a.mail.Last(t).Text)
	if got := b.post("/2fa/verify", url.Values{"code": {c}, "next": {"/account"}}); got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("e-mailed code: %d %q", got.status, got.location)
	}
	if got := b.passes("/account"); got.body != `account for alice by "email"` {
		t.Fatalf("after the e-mailed code: %q", got.body)
	}
}

func TestWrongCodeAndThrottle(t *testing.T) {
	a := newApp(t)
	a.enroll("alice")
	b := a.browser()
	b.login("alice")
	for i := range 5 {
		got := b.post("/2fa/verify", url.Values{"code": {"000000"}})
		if got.status != http.StatusUnauthorized || !strings.Contains(got.body, "did not work") {
			t.Fatalf("wrong code %d: %d", i, got.status)
		}
		if strings.Contains(got.body, "000000") {
			t.Fatal("the page repeats the typed code")
		}
	}
	got := b.post("/2fa/verify", url.Values{"code": {"000000"}})
	if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "Try again in a second.") {
		t.Fatalf("throttled: %d %.300s", got.status, got.body)
	}
	b.asked("/account")
}

func TestOpenRedirectRefused(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"} {
		got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {next}})
		if got.status != http.StatusSeeOther || got.location != "/" {
			t.Fatalf("next=%q: %d %q, want /", next, got.status, got.location)
		}
		a.clock.Add(30 * time.Second)
		b.post("/logout", nil)
		b.login("alice")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		// The security-key endpoints the pages' script calls, too.
		for _, path := range []string{"/2fa/key/begin", "/2fa/keys/begin"} {
			if got := b.do("POST", path, url.Values{}, append([]string{"Accept", "application/json"}, h...)...); got.status != http.StatusForbidden {
				t.Fatalf("cross-origin POST %s (%s): %d, want 403", path, h, got.status)
			}
		}
		got := b.do("POST", "/2fa/verify", url.Values{"code": {code()}}, h...)
		if got.status != http.StatusForbidden {
			t.Fatalf("cross-origin POST (%s): %d, want 403", h, got.status)
		}
		got = b.do("POST", "/2fa/browsers/revoke", url.Values{"all": {"1"}}, h...)
		if got.status != http.StatusForbidden {
			t.Fatalf("cross-origin settings POST (%s): %d, want 403", h, got.status)
		}
	}
	b.asked("/account") // the refused POST did not pass the step
	got := b.do("POST", "/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}}, "Sec-Fetch-Site", "same-origin")
	if got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("same-origin POST: %d %q", got.status, got.location)
	}
}

// failing fails every call of the store.
type failing struct{ storage.Store }

var errDown = errors.New("store down")

func (failing) TOTP(context.Context, string) (storage.TOTPRecord, error) {
	return storage.TOTPRecord{}, errDown
}
func (failing) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, errDown
}
func (failing) BackupSet(context.Context, string) (storage.BackupSet, error) {
	return storage.BackupSet{}, errDown
}
func (failing) Email(context.Context, string) (storage.EmailState, error) {
	return storage.EmailState{}, errDown
}
func (failing) WebAuthnHandle(context.Context, string) ([]byte, error) { return nil, errDown }
func (failing) WebAuthnDisabled(context.Context, string) (bool, error) { return false, errDown }
func (failing) WebAuthnCredentials(context.Context, string) ([]storage.WebAuthnCredential, error) {
	return nil, errDown
}
func (failing) PutCeremony(context.Context, storage.Ceremony, time.Time, int) error { return errDown }
func (failing) BrowserByHash(context.Context, []byte) (storage.Browser, error) {
	return storage.Browser{}, errDown
}
func (failing) Browsers(context.Context, string) ([]storage.Browser, error) { return nil, errDown }
func (failing) AddBrowser(context.Context, storage.Browser, int) error      { return errDown }
func (failing) TouchBrowser(context.Context, string, string, time.Time) error {
	return errDown
}

// With a store that fails every read, every protected route is denied, for
// a user who has a method and for one who may have none: the store can't
// tell.
func TestStoreFailureDeniesEveryRoute(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	working := a.store
	// The same application, its store now failing.
	f := newApp(t, func(c *twofa.Config, _ *httpmw.Config) { c.Store = failing{working} })
	for _, user := range []string{"alice", "nobody"} {
		b := f.browser()
		b.login(user)
		// A remembered browser's token, good in the working store, does
		// not help either.
		token, err := a.tf.Browsers.Remember(ctx, user, "x")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(f.srv.URL)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "twofa-remember", Value: token, Path: "/"}})
		for _, r := range protected {
			got := b.request(r, nil)
			if got.status < 300 || got.status == http.StatusNotFound {
				t.Errorf("%s %s for %s with the store down: %d, want a denial", r.method, r.path, user, got.status)
			}
		}
		if got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}}); got.status != http.StatusInternalServerError {
			t.Errorf("verify with the store down: %d", got.status)
		}
		if got := b.request(route{"GET", "/account", false}, nil); got.status == http.StatusOK {
			t.Error("passed after a verify with the store down")
		}
	}
}

func TestCheckAndContext(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	a.users["s1"] = "alice"
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	if err := a.mw.Check(r); !errors.Is(err, httpmw.ErrSecondStep) {
		t.Fatalf("Check before the step: %v", err)
	}
	if _, ok := httpmw.FromContext(r.Context()); ok {
		t.Fatal("a mark in a request that never passed")
	}

	// The deny handler is the application's to replace.
	var denied error
	f := newApp(t, func(_ *twofa.Config, c *httpmw.Config) {
		c.Deny = func(w http.ResponseWriter, r *http.Request, err error) {
			denied = err
			w.WriteHeader(http.StatusTeapot)
		}
	})
	f.enroll("alice")
	b := f.browser()
	b.login("alice")
	if got := b.get("/account"); got.status != http.StatusTeapot || !errors.Is(denied, httpmw.ErrSecondStep) {
		t.Fatalf("own deny handler: %d, %v", got.status, denied)
	}

	// Handler does not change the request it was given.
	b = a.browser()
	b.login("alice")
	b.pass(code)
	var seen *http.Request
	h := a.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
	req, _ := http.NewRequest("GET", a.srv.URL+"/account", nil)
	for _, c := range b.c.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	before := req.Context()
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen == nil || seen == req || req.Context() != before {
		t.Fatal("Handler mutated the request or did not pass it on")
	}
	m, ok := httpmw.FromContext(seen.Context())
	if !ok || m.UserID != "alice" || m.Method != twofa.TOTP || m.At.IsZero() {
		t.Fatalf("mark in context: %+v, %v", m, ok)
	}
	if err := a.mw.Check(req); err != nil {
		t.Fatalf("Check after the step: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	a := newApp(t)
	sess := &httpmw.CookieSession{Key: make([]byte, 32), SessionID: func(*http.Request) string { return "" }}
	user := func(*http.Request) (string, string, bool) { return "", "", false }
	for name, c := range map[string]httpmw.Config{
		"no service":  {User: user, Session: sess},
		"no origin":   {Service: a.tf, User: user, Session: sess},
		"no user":     {Service: a.tf, Session: sess},
		"no session":  {Service: a.tf, User: user},
		"short key":   {Service: a.tf, User: user, Session: &httpmw.CookieSession{Key: make([]byte, 16), SessionID: sess.SessionID}},
		"no sid":      {Service: a.tf, User: user, Session: &httpmw.CookieSession{Key: make([]byte, 32)}},
		"bad path":    {Service: a.tf, User: user, Session: sess, Path: "2fa"},
		"negative up": {Service: a.tf, User: user, Session: sess, StepUpAge: -time.Second},
	} {
		if c.Origin == "" && name != "no origin" {
			c.Origin = "https://example.com"
		}
		if _, err := httpmw.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// guardProblem checks that the middleware refused a client that does not
// ask for HTML with a problem (RFC 9457) of type typ, whose status is the
// answer's, with the API's challenge to pass when the second step is what
// is missing.
func guardProblem(t *testing.T, got answer, typ string) {
	t.Helper()
	body := jsonBody(t, got)
	if ct := got.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("the guard's refusal is %q, want application/problem+json", ct)
	}
	if body["type"] != typ || body["status"] != float64(got.status) || body["title"] == "" || body["detail"] == "" {
		t.Errorf("the guard's refusal %v, want a problem of type %s and status %d", body, typ, got.status)
	}
	wantChallenge := typ == httpmw.ProblemSecondStepNeeded || typ == httpmw.ProblemStepUpNeeded
	if _, has := body["challenge"]; has != wantChallenge {
		t.Errorf("the guard's refusal %v: challenge present %v, want %v", body, has, wantChallenge)
	}
}
