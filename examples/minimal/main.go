// Command minimal is the smallest application with a second factor: its own
// password login on scs sessions, and twofa's authenticator apps, backup
// codes and pages, enforced on every page. Run it with
//
//	go run ./examples/minimal
//
// log in at http://localhost:8080 with any name and the password "demo",
// and set up an app at http://localhost:8080/2fa/settings. Its records are
// kept in memory and lost at exit, and so is the random key that seals the
// authenticator secrets, unless TWOFA_KEYS gives keys as ID:BASE64 (see
// package keyring), as a real deployment does from its secret store:
//
//	TWOFA_KEYS="1:$(openssl rand -base64 32)" go run ./examples/minimal
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/alexedwards/scs/v2"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
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

func newServer(keys string) (http.Handler, error) {
	// The keys come from your secret store, as ID:BASE64 (see package
	// keyring), and the store is your database (sqlstore.Open). This demo
	// forgets its records at exit, so a key forgotten too will do.
	ring, err := keyring.Parse(keys)
	if keys == "" {
		log.Print("TWOFA_KEYS is not set: sealing with a random key, lost at exit as the memory store is")
		ring, err = keyring.Random(), nil
	}
	if err != nil {
		return nil, err
	}
	tf, err := twofa.New(twofa.Config{Issuer: "Minimal", Store: memory.New(), Keys: ring})
	if err != nil {
		return nil, err
	}

	// The application's sessions, which hold the user after the password
	// and, through the adapter, the second step passed.
	sessions := scs.New()
	s := scssession.New(sessions)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		// The address browsers use: on https in production, which makes
		// every cookie Secure.
		Origin: "http://localhost:8080",
		User: func(r *http.Request) (string, string, bool) {
			name := sessions.GetString(r.Context(), "user")
			return name, name, name != ""
		},
		Session: s,
		// A new session token once the second step is passed.
		RenewSession: s.Renew,
		LoginURL:     "/login",
	})
	if err != nil {
		return nil, err
	}
	// The session cookie by twofa's rules: Secure and "__Host-session" on https.
	s.UseCookieRules(mw)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html><form method="post"><input name="name" placeholder="name"> <input name="password" type="password"> <button>Log in</button></form>`))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// A body of a few KB, as twofa's own forms, or 413.
		if !httpmw.ParseForm(w, r, httpmw.MaxFormBody) {
			return
		}
		if r.FormValue("name") == "" || r.FormValue("password") != "demo" { // your password check
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		// A new session token at login too, against session fixation.
		if err := sessions.RenewToken(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		sessions.Put(r.Context(), "user", r.FormValue("name"))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	// The second step and the settings.
	mux.Handle("/2fa/", mw.Pages())
	// Every protected page is behind mw.Handler.
	mux.Handle("GET /{$}", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html>Welcome! <a href="/2fa/settings">Two-factor authentication</a>`))
	})))
	// Every route runs in a loaded session, and only this site may post.
	return http.NewCrossOriginProtection().Handler(sessions.LoadAndSave(mux)), nil
}
