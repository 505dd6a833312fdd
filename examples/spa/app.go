package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// issuer names the application in authenticator apps and on security keys.
const issuer = "twofa SPA example"

// maxBody bounds the body of the back end's own JSON requests: an address
// and a password fit in far less.
const maxBody = 4 << 10

// config is what the back end needs to start; main fills it from flags,
// tests from their own values.
type config struct {
	// Origin is the site's public origin as browsers see it, such as
	// "https://example.com" or "http://localhost:8080": cookies (Secure
	// on https) and security keys are bound to it.
	Origin string
	// DemoPassword is the password of demo@example.com; "" makes a random
	// one, printed to Log.
	DemoPassword string
	// Log receives the console output; nil means os.Stdout.
	Log io.Writer
	// Now is the clock of the second factor and the sessions; nil means
	// time.Now. Tests move it to reach the next code or a lock's end.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of passwords; 0 means
	// bcrypt.DefaultCost. Tests lower it to run faster.
	PasswordCost int
	// Mailer sends the codes by e-mail; nil means none, and no codes by
	// e-mail. main prints them to the console (emailotp.DevMailer).
	Mailer emailotp.Mailer
}

// app is the back end: its users, its sessions and its second factor.
type app struct {
	sessions *scs.SessionManager
	session  *scssession.Session
	mw       *httpmw.Middleware
	// crossOrigin refuses the back end's own POSTs from other sites, as
	// httpmw refuses its API's.
	crossOrigin *http.CrossOriginProtection

	mu    sync.Mutex
	users map[string][]byte // e-mail address to bcrypt hash
	// dummyHash, of the same cost, is checked for an unknown address, so
	// that it takes as long to refuse as a wrong password.
	dummyHash []byte
}

//go:embed static
var staticFS embed.FS

// newServer returns the back end's handler.
func newServer(cfg config) (http.Handler, error) {
	a, err := newApp(cfg)
	if err != nil {
		return nil, err
	}
	return a.routes(), nil
}

func newApp(cfg config) (*app, error) {
	out := cmp.Or[io.Writer](cfg.Log, os.Stdout)
	origin, err := url.Parse(cfg.Origin)
	if err != nil || origin.Scheme == "" || origin.Host == "" {
		return nil, fmt.Errorf("origin %q: want a URL such as https://example.com", cfg.Origin)
	}
	publicOrigin := origin.Scheme + "://" + origin.Host

	// This demo forgets everything at exit, so a key forgotten too will
	// do. A real back end keeps twofa's records in its database
	// (sqlstore) and loads the key ring from a secret store.
	tf, err := twofa.New(twofa.Config{
		Issuer: issuer,
		Store:  memory.New(),
		Keys:   keyring.Random(),
		WebAuthn: webauthn.Config{
			RPID:          origin.Hostname(),
			RPDisplayName: issuer,
			Origins:       []string{publicOrigin},
		},
		// Codes by e-mail, to the address the user logs in with, which
		// is also their user ID here.
		Mailer:  cfg.Mailer,
		Address: func(_ context.Context, userID string) (string, error) { return userID, nil },
		Now:     cfg.Now,
	})
	if err != nil {
		return nil, err
	}

	// The sessions: scs, in memory, with the user after the password and,
	// through the adapter, the second step passed. The adapter renews the
	// token at the login and after each completed step.
	a := &app{sessions: scs.New(), users: map[string][]byte{}}
	a.session = scssession.New(a.sessions)
	a.mw, err = httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  publicOrigin,
		User:    a.session.User,
		Session: a.session,
		// "Remember this browser" on the challenge, and the list of
		// remembered browsers in the settings. A remembered browser is
		// outside NIST SP 800-63B AAL2: leave it off where that matters.
		OfferRemember: true,
		Now:           cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	a.session.UseCookieRules(a.mw)
	a.crossOrigin = http.NewCrossOriginProtection()
	if err := a.crossOrigin.AddTrustedOrigin(publicOrigin); err != nil {
		return nil, err
	}
	a.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusForbidden, "", "Requests from other sites are refused.")
	}))

	cost := cmp.Or(cfg.PasswordCost, bcrypt.DefaultCost)
	if a.dummyHash, err = bcrypt.GenerateFromPassword([]byte("no such user"), cost); err != nil {
		return nil, err
	}
	password := cfg.DemoPassword
	if password == "" {
		password = rand.Text()
		fmt.Fprintf(out, "Log in as demo@example.com with the password %s\n", password)
	}
	if err := a.addUser("demo@example.com", password, cost); err != nil {
		return nil, err
	}
	return a, nil
}

// addUser adds a user who logs in with email and password.
func (a *app) addUser(email, password string, cost int) error {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[strings.ToLower(email)] = h
	return nil
}

// routes: the page and its files, the back end's own API under /api/, and
// twofa's pages and JSON API under /2fa/. Every route runs in a session.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /{$}", files)
	mux.Handle("GET /app.js", files)
	mux.Handle("GET /app.css", files)

	mux.HandleFunc("POST /api/login", a.login)
	mux.HandleFunc("POST /api/logout", a.logout)
	mux.HandleFunc("GET /api/me", a.me)
	// The application's data, behind the second step: 401 with a JSON
	// body until it is passed, as for any API client.
	mux.Handle("GET /api/account", a.mw.Handler(http.HandlerFunc(a.account)))
	mux.Handle("/2fa/", a.mw.Pages())
	return a.sessions.LoadAndSave(headers(a.crossOrigin.Handler(mux)))
}

// headers sets what every answer carries: nothing is cached, and the page
// runs only its own script (no inline script, no other origin).
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// login checks an e-mail address and password given as JSON
// ({"email": ..., "password": ...}) and logs the user in under a new
// session token; the second step is then asked through twofa's API.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	a.mu.Lock()
	hash, known := a.users[email]
	a.mu.Unlock()
	if !known {
		hash = a.dummyHash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) == nil
	if !ok || !known {
		problem(w, http.StatusUnauthorized, "/api/problems/login-failed", "Wrong e-mail address or password.")
		return
	}
	// Whatever the browser's session held (another user, a second step
	// passed) goes; the new one has a new token, against session fixation.
	if err := a.sessions.Destroy(r.Context()); err != nil {
		problem(w, http.StatusInternalServerError, "", "Something went wrong. Please try again.")
		return
	}
	if err := a.session.LogIn(r.Context(), email); err != nil {
		problem(w, http.StatusInternalServerError, "", "Something went wrong. Please try again.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"email": email})
}

// logout ends the session: the user, and the second step with it.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		problem(w, http.StatusInternalServerError, "", "Something went wrong. Please try again.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// me says who passed the password, if anyone: the page starts there.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	email, _, ok := a.session.User(r)
	if !ok {
		problem(w, http.StatusUnauthorized, "/api/problems/not-logged-in", "Please log in.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"email": email})
}

// account is the application's own data, which needs both steps.
func (a *app) account(w http.ResponseWriter, r *http.Request) {
	m, _ := httpmw.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"email":      m.UserID,
		"passedWith": string(m.Method), // "" for a user with no method set up
	})
}

// decode reads r's body, a single JSON object of at most maxBody bytes
// with no unknown field, into v; it answers with a problem and returns
// false otherwise.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "", "Send JSON, with Content-Type: application/json.")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// One value, and nothing after it.
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, "", "The request is too large.")
		} else {
			problem(w, http.StatusBadRequest, "", "The request is not a JSON object of the expected fields.")
		}
		return false
	}
	return true
}

// problem answers with an RFC 9457 problem: kind is its type, a stable
// URI the page can tell apart, or "" for about:blank (the status says it
// all); detail is for the person, and holds nothing secret.
func problem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type":   cmp.Or(kind, "about:blank"),
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
