// Command minimal is the smallest application with a second factor: its own
// password login on scs sessions, and twofa's authenticator apps, backup
// codes and pages, enforced on every page. Run it with
//
//	go run ./examples/minimal
//
// log in at http://localhost:8080 with any name and the password "demo",
// and set up an app at http://localhost:8080/2fa/settings. Its records are
// kept in memory and lost at exit.
package main

import (
	"log"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
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

func newServer() (http.Handler, error) {
	// The store is your database (sqlstore.Open), and the keys come from
	// your secret store: keyring.Parse(os.Getenv("TWOFA_KEYS")) or
	// keyring.Load(file). This demo forgets its records at exit, so a key
	// forgotten too will do: twofa.New refuses a random key beside a
	// database, where secrets sealed with it would not open after a restart.
	tf, err := twofa.New(twofa.Config{Issuer: "Minimal", Store: memory.New(), Keys: keyring.Random()})
	if err != nil {
		return nil, err
	}

	// The application's sessions hold the user after the password and,
	// through the adapter, the second step passed; httpmw renews their
	// token after it and gives their cookie its rules (Secure on https).
	sessions := scs.New()
	s := scssession.New(sessions)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		// The address browsers use: on https in production.
		Origin:   "http://localhost:8080",
		User:     s.User,
		Session:  s,
		LoginURL: "/login",
	})
	if err != nil {
		return nil, err
	}

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
		// The user, under a new session token against session fixation.
		if err := s.LogIn(r.Context(), r.FormValue("name")); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
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
