package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
)

// The passwords the test gives the demo users.
const (
	demoPassword  = "demo password"
	adminPassword = "admin password"
)

// startApp runs the application in-process on db (a SQLite file or a
// PostgreSQL DSN) with the development mailer, as `go run ./examples/webapp`
// does. Pages load at the returned URL; it names localhost, the origin of
// security keys.
func startApp(t *testing.T, db string) string {
	t.Helper()
	_, base := serve(t, config{DB: db})
	return base
}

// serve runs the application of cfg in-process, filling in what cfg leaves
// out as startApp does: the origin http://localhost:PORT of the server, the
// demo passwords, the test's log. It returns the application, for its
// routes, and the URL its pages load at.
func serve(t *testing.T, cfg config) (*app, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	base := "http://localhost:" + port
	if cfg.DB == "" {
		cfg.DB = filepath.Join(t.TempDir(), "webapp.db")
	}
	if cfg.Origin == "" {
		cfg.Origin = base
	}
	cfg.DemoPassword, cfg.AdminPassword = demoPassword, adminPassword
	cfg.PasswordCost = bcrypt.MinCost
	if cfg.Log == nil {
		cfg.Log = testLog{t}
	}
	a, cleanup, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	srv.Config.Handler = a.routes()
	srv.Start()
	t.Cleanup(srv.Close)
	return a, base
}

// TestWebapp goes through the application as a person would, over HTTP: a
// user sets up an authenticator app and logs in with it, with a code by
// e-mail and a remembered browser; an administrator resets the user.
func TestWebapp(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		testWebapp(t, startApp(t, filepath.Join(t.TempDir(), "webapp.db")))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		_, dsn := testdb.Postgres(t)
		testWebapp(t, startApp(t, dsn))
	})
	t.Run("MariaDB", func(t *testing.T) {
		_, dsn := testdb.MySQL(t)
		testWebapp(t, startApp(t, "mysql://"+dsn))
	})
}

func testWebapp(t *testing.T, srv string) {

	demo := newClient(t, srv)
	if got := demo.get("/"); got.path != "/login" || !strings.Contains(got.body, `id="email"`) {
		t.Fatalf("before login, / went to %s", got.path)
	}
	// A wrong password keeps the address typed, and the focus goes to the
	// password.
	if got := demo.login("demo@example.com", "wrong"); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "Wrong e-mail address or password") ||
		!strings.Contains(got.body, `value="demo@example.com">`) || !strings.Contains(got.body, `autocomplete="current-password" required autofocus>`) {
		t.Fatalf("a wrong password: %d at %s: %s", got.status, got.path, got.body)
	}
	if got := demo.login("demo@example.com", demoPassword); got.path != "/" || !strings.Contains(got.body, `id="twofa-status">off`) {
		t.Fatalf("login went to %s: %s", got.path, got.body)
	}

	// Set up an authenticator app, then log out and in: the code is asked.
	secret, now := demo.setUpTOTP()
	if got := demo.get("/dev/mail"); !strings.Contains(got.body, `class="card mail"`) || !strings.Contains(got.body, "demo@example.com") {
		t.Fatalf("no notice of the new method at /dev/mail: %s", got.body)
	}
	if got := demo.post("/logout", nil); got.path != "/login" || !strings.Contains(got.body, "You are logged out") {
		t.Fatalf("logout went to %s", got.path)
	}
	if got := demo.get("/"); got.path != "/login" {
		t.Fatalf("after logout, / went to %s", got.path)
	}
	if got := demo.login("demo@example.com", demoPassword); got.path != "/2fa/" || !strings.Contains(got.body, `id="code"`) {
		t.Fatalf("after the password, login went to %s: %s", got.path, got.body)
	}
	// With the password alone: no settings, and the API answers 401 JSON.
	if got := demo.get("/2fa/settings"); got.path != "/2fa/" {
		t.Fatalf("the settings with the password alone: %s", got.path)
	}
	if got := demo.api("/api/me"); got.status != http.StatusUnauthorized || !strings.Contains(got.body, `"second factor required"`) {
		t.Fatalf("the API with the password alone: %d %s", got.status, got.body)
	}
	// The code just confirmed is used up: the app's next one passes.
	if got := demo.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, now.Add(30*time.Second))}, "next": {"/"}}); got.path != "/" || !strings.Contains(got.body, `id="twofa-status">on`) {
		t.Fatalf("the code went to %s: %s", got.path, got.body)
	}
	var me struct {
		Email      string `json:"email"`
		SecondStep string `json:"second_step"`
	}
	if got := demo.api("/api/me"); got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &me) != nil || me.Email != "demo@example.com" || me.SecondStep != "totp" {
		t.Fatalf("the API after the second step: %d %s", got.status, got.body)
	}

	// Codes by e-mail, read from the development mailer's page, and
	// "remember this browser".
	if got := demo.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}}); !strings.Contains(got.body, "Codes by e-mail are turned on") {
		t.Fatalf("turning e-mail codes on went to %s: %s", got.path, got.body)
	}
	demo.post("/logout", nil)
	demo.login("demo@example.com", demoPassword)
	if got := demo.post("/2fa/email", url.Values{"next": {"/"}}); !strings.Contains(got.body, "We sent a code") {
		t.Fatalf("asking for a code went to %s: %s", got.path, got.body)
	}
	m := regexp.MustCompile(`(?s)<article class="card mail">.*?is:\s+(\d{6})\s`).FindStringSubmatch(demo.get("/dev/mail").body)
	if m == nil {
		t.Fatal("no code at /dev/mail")
	}
	if got := demo.post("/2fa/verify", url.Values{"code": {m[1]}, "remember": {"1"}, "next": {"/"}}); got.path != "/" {
		t.Fatalf("the e-mailed code went to %s: %s", got.path, got.body)
	}
	demo.post("/logout", nil)
	if got := demo.login("demo@example.com", demoPassword); got.path != "/" {
		t.Fatalf("a remembered browser went to %s", got.path)
	}
	demo.post("/logout", url.Values{"forget": {"1"}})
	if got := demo.login("demo@example.com", demoPassword); got.path != "/2fa/" {
		t.Fatalf("a forgotten browser went to %s", got.path)
	}

	// The administrator needs a second factor of their own for the
	// administrator page, then resets the demo user.
	admin := newClient(t, srv)
	admin.login("admin@example.com", adminPassword)
	if got := admin.get("/admin"); got.status != http.StatusForbidden || !strings.Contains(got.body, "Set up two-factor authentication") {
		t.Fatalf("the admin page without a second factor: %d %s", got.status, got.body)
	}
	if got := demo.get("/admin"); got.path != "/2fa/" {
		t.Fatalf("the admin page for a user with the password alone went to %s: %d %s", got.path, got.status, got.body)
	}
	admin.setUpTOTP()
	page := admin.get("/admin")
	m = regexp.MustCompile(`name="user" value="([^"]+)">\s*<button class="danger" id="reset-demo-example-com"`).FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("the admin page: %d %s", page.status, page.body)
	}
	// The reset asks first, and resets nothing until confirmed.
	user := html.UnescapeString(m[1])
	if got := admin.post("/admin/reset", url.Values{"user": {user}}); !strings.Contains(got.body, "Reset two-factor authentication of demo@example.com?") ||
		!strings.Contains(got.body, `<input type="hidden" name="confirm" value="1">`) || strings.Contains(got.body, "is reset") {
		t.Fatalf("the reset did not ask first: %s %s", got.path, got.body)
	}
	if got := demo.get("/"); got.path != "/2fa/" {
		t.Fatalf("the demo user was reset before it was confirmed: %s", got.path)
	}
	if got := admin.post("/admin/reset", url.Values{"user": {user}, "confirm": {"1"}}); !strings.Contains(got.body, "Two-factor authentication of demo@example.com is reset") {
		t.Fatalf("the reset went to %s: %s", got.path, got.body)
	}
	// The user's security log, newest first: the reset, then what the
	// user did, each with its date; the log outlives the reset.
	if !strings.Contains(page.body, `href="/admin/log?user=`+url.QueryEscape(user)+`" id="log-demo-example-com"`) {
		t.Fatalf("no link to the demo user's security log: %s", page.body)
	}
	log := admin.get("/admin/log?user=" + url.QueryEscape(user))
	order := []string{"Two-factor authentication reset by an administrator", "Forgot a remembered browser", "Remembered a browser",
		"Signed in with a code by e-mail", "Added codes by e-mail", "Signed in with the authenticator app", "Added the authenticator app"}
	last := 0
	for _, want := range order {
		i := strings.Index(log.body, "<td data-label=\"What happened\">"+want+"</td>")
		if i < last {
			t.Fatalf("the security log lacks %q, or not newest first: %d %s", want, log.status, log.body)
		}
		last = i
	}
	if log.status != http.StatusOK || !strings.Contains(log.body, "Security log of demo@example.com") || !strings.Contains(log.body, "<code>reset</code>") {
		t.Fatalf("the security log page: %d %s", log.status, log.body)
	}
	if got := admin.get("/admin/log?user=nobody"); got.status != http.StatusNotFound {
		t.Fatalf("the security log of no user: %d", got.status)
	}

	// The user logs in with the password alone and sees 2FA off.
	again := newClient(t, srv)
	if got := again.login("demo@example.com", demoPassword); got.path != "/" || !strings.Contains(got.body, `id="twofa-status">off`) {
		t.Fatalf("after the reset, login went to %s: %s", got.path, got.body)
	}
	// A GET of a form's target lands on a page: the home page, or the
	// administrator page, which refuses a user.
	for path, want := range map[string]string{"/logout": "/", "/admin/reset": "/admin", "/admin/unlock": "/admin"} {
		if got := again.get(path); got.path != want || got.status == http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d at %s, want %s", path, got.status, got.path, want)
		}
	}
	if got := again.get("/"); !strings.Contains(got.body, `id="twofa-status"`) {
		t.Fatal("a GET of /logout logged out")
	}
	// And a user who is not an administrator does not see the page.
	if got := again.get("/admin"); got.status != http.StatusForbidden {
		t.Fatalf("the admin page for a user: %d", got.status)
	}
	if got := again.get("/admin/log?user=" + url.QueryEscape(user)); got.status != http.StatusForbidden || strings.Contains(got.body, "Security log of") {
		t.Fatalf("the security log page for a user: %d", got.status)
	}
	// The user's settings list the reset as their recent activity.
	if got := again.get("/2fa/settings"); !strings.Contains(got.body, "Recent security activity") || !strings.Contains(got.body, "<td>Two-factor authentication reset by an administrator</td>") {
		t.Fatalf("the settings after the reset: %s", got.body)
	}
}

// TestRestart restarts the application on its database: sessions, the
// "second step passed" mark and the sealed authenticator secrets still work,
// as the keys that sign and seal them are kept.
func TestRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "webapp.db")
	var (
		demo   *client
		secret string
		now    time.Time
	)
	t.Run("before", func(t *testing.T) {
		demo = newClient(t, startApp(t, db))
		demo.login("demo@example.com", demoPassword)
		secret, now = demo.setUpTOTP()
	})
	t.Run("after", func(t *testing.T) {
		base := startApp(t, db)
		// Cookies are per host, not per port: the same browser comes back.
		demo.t, demo.url = t, base
		if got := demo.get("/"); got.path != "/" || !strings.Contains(got.body, `id="twofa-status">on`) {
			t.Fatalf("after a restart, the session went to %s: %s", got.path, got.body)
		}
		other := newClient(t, base)
		if got := other.login("demo@example.com", demoPassword); got.path != "/2fa/" {
			t.Fatalf("after a restart, login went to %s", got.path)
		}
		if got := other.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, now.Add(30*time.Second))}, "next": {"/"}}); got.path != "/" {
			t.Fatalf("after a restart, the code went to %s: %s", got.path, got.body)
		}
	})
}

// TestConsole: the first start prints the demo passwords, a later one how
// to log in and which file to delete to start over; an administrator's
// reset is logged with the administrator's name.
func TestConsole(t *testing.T) {
	db := filepath.Join(t.TempDir(), "webapp.db")
	var first, second fake.Log
	serve(t, config{DB: db, Log: &first})
	_, base := serve(t, config{DB: db, Log: &second})
	for _, want := range []string{"Created user   demo@example.com with password " + demoPassword, "Created admin  admin@example.com with password " + adminPassword} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("first start: no %q in\n%s", want, first.String())
		}
	}
	for _, want := range []string{
		"Log in as demo@example.com or admin@example.com with the passwords printed on the first start.",
		"delete the database file " + db,
	} {
		if !strings.Contains(second.String(), want) {
			t.Errorf("second start: no %q in\n%s", want, second.String())
		}
	}
	if strings.Contains(second.String(), demoPassword) {
		t.Errorf("second start printed a password:\n%s", second.String())
	}

	admin := newClient(t, base)
	admin.login("admin@example.com", adminPassword)
	admin.setUpTOTP()
	demo := newClient(t, base)
	demo.login("demo@example.com", demoPassword)
	m := regexp.MustCompile(`name="user" value="([^"]+)">\s*<button class="danger" id="reset-demo-example-com"`).FindStringSubmatch(admin.get("/admin").body)
	if m == nil {
		t.Fatal("no reset button")
	}
	admin.post("/admin/reset", url.Values{"user": {html.UnescapeString(m[1])}, "confirm": {"1"}})
	reset := regexp.MustCompile(`(?m)^.*event=reset.*$`).FindString(second.String())
	if !strings.Contains(reset, "by=admin@example.com") {
		t.Fatalf("the reset event does not name the administrator: %q\n%s", reset, second.String())
	}
	// Events of the user's own doing name nobody.
	if line := regexp.MustCompile(`(?m)^.*event=enrolled.*$`).FindString(second.String()); line == "" || strings.Contains(line, "by=") {
		t.Fatalf("the enrolled event: %q", line)
	}
}

// setUpTOTP sets up an authenticator app through the settings, reading the
// secret from the page as a person types it into the app, and returns it
// with the time of the code that confirmed it.
func (b *client) setUpTOTP() (string, time.Time) {
	b.t.Helper()
	if got := b.get("/2fa/settings"); !strings.Contains(got.body, `id="totp-setup"`) {
		b.t.Fatalf("no set-up button at %s: %s", got.path, got.body)
	}
	page := b.post("/2fa/totp/begin", nil)
	secret := fake.PageSecret(b.t, page.body)
	now := time.Now()
	if b.clock != nil {
		now = b.clock.Now()
	}
	// The set-up goes on to the first backup codes, then to the settings.
	if got := b.post("/2fa/totp/confirm", url.Values{"code": {fake.AppCode(b.t, secret, now)}}); !strings.Contains(got.body, "is set up") || !strings.Contains(got.body, `id="codes-saved"`) {
		b.t.Fatalf("confirming went to %s: %s", got.path, got.body)
	}
	if got := b.get("/2fa/settings?done=saved"); !strings.Contains(got.body, "10 unused codes left") {
		b.t.Fatalf("after the backup codes: %s", got.body)
	}
	return secret, now
}

// client is an HTTP client with cookies that follows redirects and asks
// for HTML, as a browser does.
type client struct {
	t   *testing.T
	url string
	c   *http.Client
	// clock is the application's clock, if it has a fake one.
	clock *fake.Clock
	// ua is the User-Agent it sends, if set.
	ua string
}

type page struct {
	status int
	path   string
	body   string
}

func newClient(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, url: base, c: &http.Client{Jar: jar, CheckRedirect: stayOnSite}}
}

// stayOnSite follows a redirect only to the site it came from, as a
// browser reads the Location: every test fails on an open redirect.
func stayOnSite(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	from := via[len(via)-1].URL
	loc := req.Response.Header.Get("Location")
	if to := browserURL(from, loc); to == nil || to.Host != from.Host || to.Scheme != from.Scheme {
		return fmt.Errorf("redirected off the site: from %s to %q", from, loc)
	}
	return nil
}

// browserURL resolves a Location against the page as a browser does (the
// WHATWG URL standard): leading and trailing spaces and controls go, tabs
// and newlines anywhere go, and a backslash is a slash in http(s) URLs.
// Nil for one it cannot read.
func browserURL(base *url.URL, loc string) *url.URL {
	loc = strings.TrimFunc(loc, func(c rune) bool { return c <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return base.ResolveReference(u)
}

func (b *client) login(email, password string) page {
	b.t.Helper()
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func (b *client) get(path string) page {
	b.t.Helper()
	return b.do("GET", path, nil, "text/html")
}

// api asks for JSON, as an API client does.
func (b *client) api(path string) page {
	b.t.Helper()
	return b.do("GET", path, nil, "application/json")
}

func (b *client) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do("POST", path, form, "text/html")
}

func (b *client) do(method, path string, form url.Values, accept string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", accept)
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, path: res.Request.URL.Path, body: string(got)}
}

// testLog sends the application's console to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
