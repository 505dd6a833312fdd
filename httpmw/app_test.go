package httpmw_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/apitest"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

var ctx = context.Background()

// app is a small application with its own password step and sessions, as
// an application adding twofa has: a session is a random ID in a cookie,
// naming the logged-in user.
type app struct {
	t      *testing.T
	tf     *twofa.Service
	mw     *httpmw.Middleware
	store  storage.Store
	clock  *fake.Clock
	mail   *mailtest.Inbox
	srv    *httptest.Server
	mu     sync.Mutex
	users  map[string]string // session ID → user ID
	renews int               // sessions renewed by RenewSession
	logIns int               // users logged in by LogIn (a passkey sign-in)
	// renewed holds when each renewed session ID was renewed: it works on
	// for renewGrace, for the parallel requests that carried it.
	renewed map[string]time.Time
	// api checks every exchange with the JSON API against its document.
	api *apitest.Validator
}

// renewGrace is how long a renewed session ID keeps working.
const renewGrace = 30 * time.Second

type sidKey struct{}

type option func(*twofa.Config, *httpmw.Config)

func newApp(t *testing.T, opts ...option) *app {
	t.Helper()
	a := &app{t: t, store: memory.New(), users: map[string]string{}, renewed: map[string]time.Time{}, mail: &mailtest.Inbox{},
		clock: fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	key, _ := keyring.NewKey("k1")
	ring, _ := keyring.New(key)
	tc := twofa.Config{
		Issuer: "Acme", Store: a.store, Keys: ring, Now: a.clock.Now,
		Backup: backup.Config{Hash: fake.FastHash},
		Mailer: a.mail,
		Address: func(_ context.Context, user string) (string, error) {
			return user + "@example.com", nil
		},
		WebAuthn: webauthn.Config{RPID: "example.com", Origins: []string{"https://example.com"}},
	}
	markKey := make([]byte, 32)
	rand.Read(markKey)
	mc := httpmw.Config{
		// The test server listens on plain HTTP on a loopback address.
		Origin: "http://127.0.0.1",
		User: func(r *http.Request) (string, string, bool) {
			u, ok := a.user(a.sessionID(r))
			return u, u + "@example.com", ok
		},
		Session: &httpmw.CookieSession{Key: markKey, SessionID: a.sessionID},
		RenewSession: func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			old := a.sessionID(r)
			if _, ok := a.renewed[old]; ok {
				return r, fmt.Errorf("session %s: %w", old, httpmw.ErrSessionRenewed)
			}
			a.renews++
			sid := rand.Text()
			a.users[sid] = a.users[old]
			a.renewed[old] = a.clock.Now()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
			return r.WithContext(context.WithValue(r.Context(), sidKey{}, sid)), nil
		},
		// A passkey signs in as the password login does: a new session.
		LogIn: func(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
			sid := rand.Text()
			a.mu.Lock()
			a.users[sid] = userID
			a.logIns++
			a.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
			return r, nil
		},
		OfferRemember: true,
		LoginURL:      "/login",
		Now:           a.clock.Now,
		Logger:        slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&tc, &mc)
	}
	if tc.Store != nil {
		a.store = tc.Store
	}
	tf, err := twofa.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	mc.Service = tf
	mw, err := httpmw.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	a.tf, a.mw = tf, mw
	if a.api, err = apitest.New(mw.OpenAPI()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.noteAPI)

	page := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m, _ := httpmw.FromContext(r.Context())
			fmt.Fprintf(w, "%s for %s by %q", name, m.UserID, m.Method)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sid := rand.Text()
		a.mu.Lock()
		a.users[sid] = r.FormValue("user")
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := mw.Logout(w, r, r.FormValue("forget") == "1"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		a.mu.Lock()
		delete(a.users, a.sessionID(r))
		a.mu.Unlock()
	})
	mux.Handle("GET /{$}", mw.Handler(page("home")))
	mux.Handle("GET /account", mw.Handler(page("account")))
	mux.Handle("GET /api/data", mw.Handler(page("data")))
	mux.Handle("POST /api/data", mw.Handler(page("data")))
	mux.Handle("GET /settings/password", mw.StepUp(0, page("password")))
	mux.Handle("/2fa/", mw.Pages())
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) sessionID(r *http.Request) string {
	if sid, ok := r.Context().Value(sidKey{}).(string); ok {
		return sid
	}
	if c, err := r.Cookie("sid"); err == nil {
		return c.Value
	}
	return ""
}

func (a *app) user(sid string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[sid]
	if at, renewed := a.renewed[sid]; renewed && a.clock.Now().Sub(at) > renewGrace {
		return "", false
	}
	return u, ok && u != ""
}

func (a *app) logInCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logIns
}

func (a *app) renewCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.renews
}

// browser is one browser: a cookie jar that does not follow redirects.
type browser struct {
	a *app
	c *http.Client
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{a: a, c: &http.Client{Jar: jar, Transport: a.api.Transport(a.t, nil), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, header ...string) answer {
	b.a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.a.srv.URL+path, body)
	if err != nil {
		b.a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw), header: res.Header}
}

func (b *browser) get(path string) answer { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) answer {
	if form == nil {
		form = url.Values{}
	}
	return b.do("POST", path, form)
}

// login is the application's own first step.
func (b *browser) login(user string) {
	b.a.t.Helper()
	if a := b.post("/login", url.Values{"user": {user}}); a.status != http.StatusOK {
		b.a.t.Fatalf("login: %d", a.status)
	}
}

// passes asserts that path answers 200 with the protected page.
func (b *browser) passes(path string) answer {
	b.a.t.Helper()
	got := b.get(path)
	if got.status != http.StatusOK {
		b.a.t.Fatalf("GET %s: %d %s, want it to pass", path, got.status, got.location)
	}
	return got
}

// asked asserts that path sends the browser to the challenge.
func (b *browser) asked(path string) {
	b.a.t.Helper()
	got := b.get(path)
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/2fa/?") {
		b.a.t.Fatalf("GET %s: %d %q, want a redirect to the challenge", path, got.status, got.location)
	}
}

// enroll sets up the authenticator app for user, through the service, and
// returns a function that computes the app's current code.
func (a *app) enroll(user string) func() string {
	a.t.Helper()
	e, err := a.tf.TOTP.Begin(ctx, user, user, "test-session")
	if err != nil {
		a.t.Fatal(err)
	}
	code := func() string { return fake.AppCode(a.t, e.Secret, a.clock.Now()) }
	if err := a.tf.TOTP.Confirm(ctx, user, "test-session", code()); err != nil {
		a.t.Fatal(err)
	}
	a.clock.Add(30 * time.Second) // the confirming code is used up
	return code
}

// pass completes the second step with the app's code.
func (b *browser) pass(code func() string, extra ...string) answer {
	b.a.t.Helper()
	form := url.Values{"code": {code()}, "next": {"/account"}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	got := b.post("/2fa/verify", form)
	if got.status != http.StatusSeeOther || got.location != "/account" {
		b.a.t.Fatalf("verify: %d %q, want a redirect to /account; body: %.300s", got.status, got.location, got.body)
	}
	b.a.clock.Add(30 * time.Second) // the next code is a new one
	return got
}

// jsonBody decodes a JSON answer.
func jsonBody(t *testing.T, a answer) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("not JSON: %q", a.body)
	}
	return v
}
