package scssession_test

import (
	"context"
	"encoding/base32"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// An application on scs sessions: its login puts the user in the session,
// and the adapter keeps the second step there too, renewing the token
// when it is passed.
func Example() {
	// A clock the example moves, so that the code typed at the login is
	// not the one that confirmed the set-up; leave Now unset in production.
	now := time.Now()
	clock := func() time.Time { return now }
	key, _ := keyring.NewKey("2026-11") // in production: from a secret store
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme Photos", Store: memory.New(), Keys: ring, Now: clock})
	if err != nil {
		log.Fatal(err)
	}

	sessions := scs.New()
	s := scssession.New(sessions)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "http://localhost:8080",
		User:    s.User, // the user s.LogIn recorded
		Session: s,      // and its Renew as RenewSession, and its cookie rules
		Now:     clock,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... the password is checked here ...
		if err := s.LogIn(r.Context(), "jane"); err != nil { // under a new token
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "password accepted")
	})
	mux.Handle("GET /account", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "account of %s", m.UserID)
	})))
	mux.Handle("/2fa/", mw.Pages())
	srv := httptest.NewServer(sessions.LoadAndSave(mux))
	defer srv.Close()

	// Jane has set up her authenticator app.
	ctx := context.Background()
	e, _ := tf.TOTP.Begin(ctx, "jane", "jane@example.com", "set-up")
	if err := tf.TOTP.Confirm(ctx, "jane", "set-up", phoneCode(e, now)); err != nil {
		log.Fatal(err)
	}
	now = now.Add(30 * time.Second)

	// Her browser: a cookie jar, and each redirect shown.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	visit := func(method, path string, form url.Values) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		res, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		if to := res.Header.Get("Location"); to != "" {
			fmt.Println(res.StatusCode, "to", to)
			return
		}
		body, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(body))
	}
	visit("POST", "/login", url.Values{"password": {"..."}})
	visit("GET", "/account", nil)
	visit("POST", "/2fa/verify", url.Values{"code": {phoneCode(e, now)}, "next": {"/account"}})
	visit("GET", "/account", nil)
	// Output:
	// 200 password accepted
	// 303 to /2fa/?next=%2Faccount
	// 303 to /account
	// 200 account of jane
}

// phoneCode is the code Jane's phone shows at t for enrollment e.
func phoneCode(e *totp.Enrollment, t time.Time) string {
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	code, _ := totp.GenerateCode(e.Algorithm, raw, e.Digits, uint64(t.Unix()/30))
	return code
}
