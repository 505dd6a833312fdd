// Command minimal is the smallest application with a second factor: its own
// password login and sessions, and twofa's authenticator apps, backup codes
// and pages, enforced on every page. Run it, log in with any name and the
// password "demo", and set up an app at http://localhost:8080/2fa/settings.
package main

import (
	"crypto/rand"
	"errors"
	"log"
	"net/http"
	"sync"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

func main() {
	h, err := newServer()
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("localhost:8080", h))
}

// maxLoginBody bounds the login form: a larger body is refused with 413.
const maxLoginBody = 4 << 10

func newServer() (http.Handler, error) {
	// In production: a store on your database (storage/sqlstore), keys
	// from your secret store.
	key, err := keyring.NewKey("key-1")
	if err != nil {
		return nil, err
	}
	ring, err := keyring.New(key)
	if err != nil {
		return nil, err
	}
	tf, err := twofa.New(twofa.Config{Issuer: "Minimal", Store: memory.New(), Keys: ring})
	if err != nil {
		return nil, err
	}

	// The application's own sessions: a random ID in a cookie names the user.
	var sessions sync.Map
	sessionID := func(r *http.Request) string {
		c, err := r.Cookie("session")
		if err != nil {
			return ""
		}
		return c.Value
	}
	markKey := make([]byte, 32) // signs the "second step passed" cookie
	rand.Read(markKey)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		// The address browsers use: on https in production, which makes
		// every cookie Secure.
		Origin: "http://localhost:8080",
		User: func(r *http.Request) (string, string, bool) {
			name, ok := sessions.Load(sessionID(r))
			if !ok {
				return "", "", false
			}
			return name.(string), name.(string), true
		},
		Session:  &httpmw.CookieSession{Key: markKey, SessionID: sessionID},
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
		// A name and a password: read a small body, in memory, and no more.
		r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
		err := r.ParseForm() // a URL-encoded form
		if err == nil {
			if err = r.ParseMultipartForm(maxLoginBody); errors.Is(err, http.ErrNotMultipart) {
				err = nil
			}
		}
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			http.Error(w, "The form is too large.", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "The form could not be read.", http.StatusBadRequest)
			return
		}
		if r.FormValue("name") == "" || r.FormValue("password") != "demo" { // your password check
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		id := rand.Text()
		sessions.Store(id, r.FormValue("name"))
		http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
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
