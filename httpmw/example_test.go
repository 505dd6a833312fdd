package httpmw_test

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
	"github.com/twofa-go/twofa/webauthn"
)

// The application keeps its own login and sessions; the middleware asks
// who is logged in, keeps its mark beside the application's session, has
// the session renewed when the second step is passed, and forgets the mark
// at logout.
func Example() {
	ctx := context.Background()
	// A clock the example moves, for the authenticator's next code; an
	// application leaves Now out.
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	key, _ := keyring.NewKey("2026-11") // in production: keyring.Parse or Load, from a secret store
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring, Now: clock})
	if err != nil {
		log.Fatal(err)
	}

	// The application's own sessions: a random ID in a cookie names the user.
	var sessions sync.Map
	var mw *httpmw.Middleware
	sessionID := func(r *http.Request) string {
		if c, err := r.Cookie(mw.CookieName("session")); err == nil {
			return c.Value
		}
		return ""
	}
	mw, err = httpmw.New(httpmw.Config{
		Service: tf,
		// The origin browsers see, whatever a proxy in front rewrites.
		Origin: "https://example.com",
		User: func(r *http.Request) (userID, account string, ok bool) {
			user, ok := sessions.Load(sessionID(r))
			if !ok {
				return "", "", false
			}
			return user.(string), user.(string) + "@example.com", true
		},
		Session: &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: sessionID},
		// Against session fixation: a new session ID once the second step
		// is passed. The request returned carries it, for the mark.
		RenewSession: func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			user, ok := sessions.LoadAndDelete(sessionID(r))
			if !ok {
				return r, httpmw.ErrSessionRenewed // another request renewed it
			}
			id := rand.Text()
			sessions.Store(id, user)
			c := mw.Cookie("session", id, 0)
			http.SetCookie(w, c)
			r = r.Clone(r.Context())
			r.Header.Del("Cookie")
			r.AddCookie(c)
			fmt.Println("session renewed")
			return r, nil
		},
		LoginURL: "/login",
		Now:      clock,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		id := rand.Text() // after the application's password check
		sessions.Store(id, r.FormValue("name"))
		http.SetCookie(w, mw.Cookie("session", id, 0))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		// The mark first, while the session still names the user.
		if err := mw.Logout(w, r, false); err != nil {
			log.Print(err)
		}
		sessions.Delete(sessionID(r))
		http.SetCookie(w, mw.Cookie("session", "", -1))
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	mux.Handle("/2fa/", mw.Pages())
	mux.Handle("GET /{$}", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "home of %s", m.UserID)
	})))

	// Jane's browser.
	jar, _ := cookiejar.New(nil)
	site, _ := url.Parse("https://example.com/")
	visit := func(method, path string, form url.Values) {
		r := httptest.NewRequest(method, "https://example.com"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Accept", "text/html")
		for _, c := range jar.Cookies(site) {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		jar.SetCookies(site, w.Result().Cookies())
		if w.Code == http.StatusOK {
			fmt.Println(method, path, w.Code, w.Body.String())
		} else {
			fmt.Println(method, path, w.Code, "to", w.Header().Get("Location"))
		}
	}

	// Jane types her password, and has no second factor: she passes.
	visit("POST", "/login", url.Values{"name": {"jane"}})
	visit("GET", "/", nil)

	// Once she has set up her authenticator app, a new login asks for it.
	e, _ := tf.TOTP.Begin(ctx, "jane", "jane@example.com", "login-1")
	if err := tf.TOTP.Confirm(ctx, "jane", "login-1", phoneCode(e, now)); err != nil {
		log.Fatal(err)
	}
	visit("POST", "/logout", nil)
	visit("POST", "/login", url.Values{"name": {"jane"}})
	visit("GET", "/", nil)
	now = now.Add(30 * time.Second) // the app's next code
	visit("POST", "/2fa/verify", url.Values{"code": {phoneCode(e, now)}, "next": {"/"}})
	visit("GET", "/", nil)
	// Output:
	// POST /login 303 to /
	// GET / 200 home of jane
	// POST /logout 303 to /login
	// POST /login 303 to /
	// GET / 303 to /2fa/?next=%2F
	// session renewed
	// POST /2fa/verify 303 to /
	// GET / 200 home of jane
}

// phoneCode is the code Jane's phone shows at t for enrollment e.
func phoneCode(e *totp.Enrollment, t time.Time) string {
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	code, _ := totp.GenerateCode(e.Algorithm, raw, e.Digits, uint64(t.Unix()/30))
	return code
}

// The application's own session cookie, by the rules of twofa's cookies:
// an https origin makes it Secure, with the "__Host-" prefix, even when a
// proxy in front forwards the request over plain HTTP to "localhost".
// CookieName is the name to read it back by.
func ExampleMiddleware_Cookie() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	tf, _ := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring})
	var mw *httpmw.Middleware
	sessionID := func(r *http.Request) string {
		if c, err := r.Cookie(mw.CookieName("session")); err == nil {
			return c.Value
		}
		return ""
	}
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://photos.example.com",
		User:    func(*http.Request) (string, string, bool) { return "", "", false },
		Session: &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: sessionID},
	})
	if err != nil {
		log.Fatal(err)
	}
	c := mw.Cookie("session", "an-id", 0)
	fmt.Println(c.Name, c.Secure, c.HttpOnly, mw.CookieName("session"))
	// Output:
	// __Host-session true true __Host-session
}

// The application's login form, read within a bound: a larger body is
// answered 413 and the handler goes no further.
func ExampleParseForm() {
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpmw.ParseForm(w, r, 4<<10) {
			return
		}
		fmt.Fprintf(w, "hello %s", r.FormValue("name"))
	})
	for _, body := range []string{"name=jane", "name=" + strings.Repeat("x", 5000)} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		login.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 hello jane
	// 413 The form is too large.
}

// The JSON API for a single-page or mobile application, served by Pages
// under the same mount: a user the application logged in asks which
// methods the second step takes, and a wrong code comes back as a problem
// (RFC 9457) whose type says what happened.
func ExampleMiddleware_Pages_json() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tf, _ := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring, Now: func() time.Time { return now }})
	// Alice is logged in (the application's own session says so) and has an
	// authenticator app.
	e, _ := tf.TOTP.Begin(context.Background(), "alice", "alice@example.com", "set-up")
	code := phoneCode(e, now)
	tf.TOTP.Confirm(context.Background(), "alice", "set-up", code)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://example.com",
		User:    func(*http.Request) (string, string, bool) { return "alice", "alice@example.com", true },
		Session: &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: func(*http.Request) string { return "s1" }},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/2fa/", mw.Pages()) // the pages, and the API under /2fa/api/

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/2fa/api/challenge", nil))
	var challenge struct {
		Passed  bool     `json:"passed"`
		Offered []string `json:"offered"`
	}
	json.Unmarshal(w.Body.Bytes(), &challenge)
	fmt.Println(w.Code, challenge.Passed, challenge.Offered)

	w = httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/2fa/api/verify", strings.NewReader(`{"code": "000000"}`))
	r.Header.Set("Content-Type", "application/json")
	mux.ServeHTTP(w, r)
	var p httpmw.Problem
	json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Println(w.Code, w.Header().Get("Content-Type"), p.Type == httpmw.ProblemInvalidCode)
	fmt.Println(p.Detail)
	// Output:
	// 200 false [totp]
	// 401 application/problem+json true
	// That code did not work. Check it and try again.
}

// Passkey sign-in from the application's own login form: Config.LogIn
// logs the user a passkey names into the application's session, and the
// form loads the script and marks its user-name field for the autofill.
func ExampleConfig_logIn() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring,
		// Passkeys are security keys: WebAuthn must be configured.
		WebAuthn: webauthn.Config{RPID: "example.com", Origins: []string{"https://example.com"}}})
	if err != nil {
		log.Fatal(err)
	}
	var sessions sync.Map // session ID → user ID
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://example.com",
		User: func(r *http.Request) (string, string, bool) {
			c, err := r.Cookie("session")
			if err != nil {
				return "", "", false
			}
			u, ok := sessions.Load(c.Value)
			if !ok {
				return "", "", false
			}
			return u.(string), u.(string), true
		},
		Session: &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: func(r *http.Request) string {
			c, _ := r.Cookie("session")
			if c == nil {
				return ""
			}
			return c.Value
		}},
		// A passkey signed userID in: start its session as the password
		// login does. The cookie set on w is seen by the rest of the
		// request.
		LogIn: func(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
			id := rand.Text()
			sessions.Store(id, userID)
			http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
			return r, nil
		},
		InvitePasskey: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The login form:
	//	<input name="email" autocomplete="username webauthn">
	//	<script src="/2fa/static/passkey.js" defer></script>
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	json.Unmarshal(mw.OpenAPI(), &doc)
	for _, p := range []string{"/passkey/begin", "/passkey/finish"} {
		_, ok := doc.Paths[p]
		fmt.Println(p, ok)
	}
	// Output:
	// /passkey/begin true
	// /passkey/finish true
}
