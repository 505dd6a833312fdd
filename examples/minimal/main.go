// Command minimal is the smallest application with a second factor: its own
// password login and sessions, and twofa's authenticator apps, backup codes
// and pages, enforced on every page. Run it with a key that seals the
// authenticator secrets,
//
//	TWOFA_KEYS="1:$(openssl rand -base64 32)" go run ./examples/minimal
//
// log in at http://localhost:8080 with any name and the password "demo",
// and set up an app at http://localhost:8080/2fa/settings.
package main

import (
	"crypto/rand"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

func main() {
	h, err := newServer(os.Getenv("TWOFA_KEYS"))
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("localhost:8080", h))
}

// maxLoginBody bounds the login form: a larger body is refused with 413.
const maxLoginBody = 4 << 10

func newServer(keys string) (http.Handler, error) {
	// Keys from your secret store, as ID:BASE64 (see package keyring). In
	// production the store is on your database: sqlstore.Open.
	ring, err := keyring.Parse(keys)
	if err != nil {
		return nil, err
	}
	tf, err := twofa.New(twofa.Config{Issuer: "Minimal", Store: memory.New(), Keys: ring})
	if err != nil {
		return nil, err
	}

	// The application's own sessions: a random ID in a cookie names the
	// user. The cookie is named by twofa's rules ("__Host-session" on https).
	var sessions sync.Map
	var mw *httpmw.Middleware
	sessionID := func(r *http.Request) string {
		c, err := r.Cookie(mw.CookieName("session"))
		if err != nil {
			return ""
		}
		return c.Value
	}
	mw, err = httpmw.New(httpmw.Config{
		Service: tf,
		// The address browsers use: on https in production, which makes
		// every cookie Secure.
		Origin: "http://localhost:8080",
		User: func(r *http.Request) (string, string, bool) {
			name, ok := sessions.Load(sessionID(r))
			s, _ := name.(string)
			return s, s, ok
		},
		// The "second step passed" cookie, signed with a key of its own
		// derived from the ring's, and bound to the application's session.
		Session:  &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: sessionID},
		LoginURL: "/login",
		// A real application also renews its session ID when the second
		// step is passed (RenewSession): see examples/webapp.
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<form method="post"><input name="name" placeholder="name"> <input name="password" type="password"> <button>Log in</button></form>`))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if !httpmw.ParseForm(w, r, maxLoginBody) { // a small body, or 413
			return
		}
		if r.FormValue("name") == "" || r.FormValue("password") != "demo" { // your password check
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		id := rand.Text()
		sessions.Store(id, r.FormValue("name"))
		http.SetCookie(w, mw.Cookie("session", id, 0))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	// The second step and the settings.
	mux.Handle("/2fa/", mw.Pages())
	// Every protected page is behind mw.Handler.
	mux.Handle("GET /{$}", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`Welcome! <a href="/2fa/settings">Two-factor authentication</a>`))
	})))
	return http.NewCrossOriginProtection().Handler(mux), nil
}
