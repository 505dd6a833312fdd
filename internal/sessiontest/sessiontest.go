// Package sessiontest walks a whole login over HTTP through an application
// whose sessions come from a session library, with httpmw's second step
// kept by that library's adapter. Each adapter's tests run it with the
// stores they support.
package sessiontest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
)

// App is what an application built on a session library gives the walk.
type App struct {
	// Session and Renew are the adapter under test.
	Session httpmw.Session
	Renew   func(http.ResponseWriter, *http.Request) (*http.Request, error)
	// CookieName is the library's session cookie.
	CookieName string
	// Wrap puts the library's middleware, if any, around the handler.
	Wrap func(http.Handler) http.Handler
	// LogIn records userID in r's session after the password step;
	// LogOut ends r's session; User reads the user of r's session.
	LogIn  func(w http.ResponseWriter, r *http.Request, userID string) error
	LogOut func(w http.ResponseWriter, r *http.Request) error
	User   func(r *http.Request) (userID string, ok bool)
	// ServerSide tells that the session lives on the server, so a cookie
	// of an ended session finds nothing. A session kept whole in its
	// cookie (gorilla's CookieStore) cannot end a copy of its cookie.
	ServerSide bool
}

const password = "correct horse battery staple"

// world is a running application with alice's phone set up.
type world struct {
	srv    *httptest.Server
	u      *url.URL
	clock  *fake.Clock
	phone  func() string
	renews *atomic.Int32
	store  *testdb.ThrottleBarrier
}

// counted is the adapter under test with its renewal counted.
type counted struct {
	httpmw.Session
	renew func(http.ResponseWriter, *http.Request) (*http.Request, error)
	n     *atomic.Int32
}

func (c counted) Renew(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	c.n.Add(1)
	return c.renew(w, r)
}

func start(t *testing.T, a App) *world {
	t.Helper()
	clock := fake.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	ring := fake.Ring(t)
	store := &testdb.ThrottleBarrier{Store: memory.New()}
	tf, err := twofa.New(twofa.Config{Issuer: "Acme Photos", Store: store, Keys: ring, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	renews := new(atomic.Int32)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "http://127.0.0.1",
		User: func(r *http.Request) (string, string, bool) {
			u, ok := a.User(r)
			return u, u + "@example.com", ok
		},
		// No RenewSession: New takes it from the Session, as an
		// application using the adapter leaves it.
		Session:  counted{a.Session, a.Renew, renews},
		LoginURL: "/login",
		Now:      clock.Now,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}

	// The phone: alice has set up her authenticator app.
	ctx := context.Background()
	e, err := tf.TOTP.Begin(ctx, "alice", "alice@example.com", "set-up")
	if err != nil {
		t.Fatal(err)
	}
	phone := func() string { return fake.AppCode(t, e.Secret, clock.Now()) }
	if err := tf.TOTP.Confirm(ctx, "alice", "set-up", phone()); err != nil {
		t.Fatal(err)
	}
	clock.Add(30 * time.Second)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("user") != "alice" || r.FormValue("password") != password {
			http.Error(w, "wrong user or password", http.StatusUnauthorized)
			return
		}
		if err := a.LogIn(w, r, "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		err := mw.Logout(w, r, false)
		if err == nil {
			err = a.LogOut(w, r)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.Handle("GET /account", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "account of %s by %s", m.UserID, m.Method)
	})))
	mux.Handle("/2fa/", mw.Pages())
	srv := httptest.NewServer(a.Wrap(mux))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &world{srv: srv, u: u, clock: clock, phone: phone, renews: renews, store: store}
}

// Run walks one user's login: the password step by the application, the
// second step through httpmw's pages with the code the user's phone shows,
// the session renewed exactly once, the session from before the second
// step passing nowhere, and a logout after which the second step is asked
// again.
func Run(t *testing.T, a App) {
	t.Helper()
	wd := start(t, a)
	srv, u, clock, phone, renews := wd.srv, wd.u, wd.clock, wd.phone, wd.renews

	b := newBrowser(t, srv.URL)
	if got := b.do("GET", "/account", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Fatalf("before the login: %d %q, want the login", got.status, got.location)
	}
	if got := b.do("POST", "/login", url.Values{"user": {"alice"}, "password": {"wrong"}}); got.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", got.status)
	}
	if got := b.do("POST", "/login", url.Values{"user": {"alice"}, "password": {password}}); got.status != http.StatusOK {
		t.Fatalf("login: %d %s", got.status, got.body)
	}
	passwordOnly := b.cookie(u, a.CookieName)
	if passwordOnly == nil {
		t.Fatalf("no %s cookie after the login", a.CookieName)
	}
	if got := b.do("GET", "/account", nil); got.status != http.StatusSeeOther || got.location != "/2fa/?next=%2Faccount" {
		t.Fatalf("with the password alone: %d %q, want the challenge", got.status, got.location)
	}
	if got := b.do("GET", "/2fa/?next=%2Faccount", nil); got.status != http.StatusOK || !strings.Contains(got.body, `name="code"`) {
		t.Fatalf("challenge page: %d %.300s", got.status, got.body)
	}
	if got := b.do("POST", "/2fa/verify", url.Values{"code": {wrongCode(phone())}, "next": {"/account"}}); got.status == http.StatusSeeOther {
		t.Fatalf("a wrong code passed: %d %q", got.status, got.location)
	}
	if n := renews.Load(); n != 0 {
		t.Fatalf("a wrong code renewed the session %d times", n)
	}
	got := b.do("POST", "/2fa/verify", url.Values{"code": {phone()}, "next": {"/account"}})
	if got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("verify: %d %q, want a redirect to /account; body %.300s", got.status, got.location, got.body)
	}
	if n := sessionCookies(got.header, a.CookieName); n != 1 {
		t.Errorf("the answer sets the %s cookie %d times, want once", a.CookieName, n)
	}
	clock.Add(30 * time.Second)
	if n := renews.Load(); n != 1 {
		t.Fatalf("renewed %d times, want once", n)
	}
	marked := b.cookie(u, a.CookieName)
	if marked == nil || marked.Value == passwordOnly.Value {
		t.Fatalf("the session cookie did not change with the renewal")
	}
	for range 2 {
		if got := b.do("GET", "/account", nil); got.status != http.StatusOK || got.body != "account of alice by totp" {
			t.Fatalf("after the second step: %d %q %q", got.status, got.location, got.body)
		}
	}
	if n := renews.Load(); n != 1 {
		t.Fatalf("renewed %d times after the step, want once in all", n)
	}

	// The session as it was before the second step passes nowhere: on the
	// server it is gone, and a session kept whole in its cookie has no
	// mark in that cookie.
	old := newBrowser(t, srv.URL)
	old.jar.SetCookies(u, []*http.Cookie{passwordOnly})
	want := "/2fa/"
	if a.ServerSide {
		want = "/login"
	}
	if got := old.do("GET", "/account", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, want) {
		t.Fatalf("the session from before the second step: %d %q, want a redirect to %s", got.status, got.location, want)
	}

	if got := b.do("POST", "/logout", url.Values{}); got.status != http.StatusOK {
		t.Fatalf("logout: %d %s", got.status, got.body)
	}
	if got := b.do("GET", "/account", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Fatalf("after logout: %d %q, want the login", got.status, got.location)
	}
	if a.ServerSide {
		copied := newBrowser(t, srv.URL)
		copied.jar.SetCookies(u, []*http.Cookie{marked})
		if got := copied.do("GET", "/account", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
			t.Fatalf("a copy of the ended session's cookie: %d %q, want the login", got.status, got.location)
		}
	}
	// Back with the password, the second step is asked again.
	if got := b.do("POST", "/login", url.Values{"user": {"alice"}, "password": {password}}); got.status != http.StatusOK {
		t.Fatalf("second login: %d", got.status)
	}
	if got := b.do("GET", "/account", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/2fa/") {
		t.Fatalf("second login: %d %q, want the challenge", got.status, got.location)
	}
}

// RunParallel posts the code of one login 50 times at once from the
// session the password step made, every post holding after its read of
// the code's record until all have read it: exactly one post passes and
// renews the session, once, and its new session passes.
func RunParallel(t *testing.T, a App) {
	t.Helper()
	wd := start(t, a)
	b := newBrowser(t, wd.srv.URL)
	if got := b.do("POST", "/login", url.Values{"user": {"alice"}, "password": {password}}); got.status != http.StatusOK {
		t.Fatalf("login: %d %s", got.status, got.body)
	}
	cookies := b.jar.Cookies(wd.u)
	code := wd.phone()
	const n = 50
	wd.store.Arm(n)
	answers := make([]answer, n)
	var ready, done sync.WaitGroup
	ready.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			// A browser each, with the cookies of that moment.
			c := newBrowser(t, wd.srv.URL)
			c.jar.SetCookies(wd.u, cookies)
			ready.Wait()
			answers[i] = c.post("/2fa/verify", url.Values{"code": {code}, "next": {"/account"}})
			answers[i].cookies = c.jar.Cookies(wd.u)
		}()
	}
	ready.Done()
	done.Wait()
	var passed []answer
	for _, got := range answers {
		if got.err != nil {
			t.Fatal(got.err)
		}
		if got.status == http.StatusSeeOther && got.location == "/account" {
			passed = append(passed, got)
		}
	}
	if len(passed) != 1 {
		seen := map[string]int{}
		for _, got := range answers {
			seen[fmt.Sprint(got.status, " ", got.location)]++
		}
		t.Fatalf("%d of %d posts of one code passed, want 1; answers: %v", len(passed), n, seen)
	}
	if r := wd.renews.Load(); r != 1 {
		t.Fatalf("the session was renewed %d times, want once", r)
	}
	winner := newBrowser(t, wd.srv.URL)
	winner.jar.SetCookies(wd.u, passed[0].cookies)
	if got := winner.do("GET", "/account", nil); got.status != http.StatusOK || got.body != "account of alice by totp" {
		t.Fatalf("the session that passed: %d %q %q", got.status, got.location, got.body)
	}
}

// wrongCode is six digits that are not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// sessionCookies counts the Set-Cookie lines of h for the cookie name.
func sessionCookies(h http.Header, name string) int {
	n := 0
	for _, line := range h.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			n++
		}
	}
	return n
}

type browser struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, jar: jar, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
	cookies  []*http.Cookie // RunParallel's: the jar after the answer
	err      error          // post's: the request failed
}

// post is do for a goroutine that may not end the test: an error is kept
// in the answer.
func (b *browser) post(path string, form url.Values) answer {
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	res, err := b.c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw), header: res.Header}
}

func (b *browser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw), header: res.Header}
}

func (b *browser) cookie(u *url.URL, name string) *http.Cookie {
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
