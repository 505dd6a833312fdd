package httpmw_test

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// The application keeps its own login and sessions; the middleware asks
// who is logged in and keeps its mark beside the application's session.
func Example() {
	key, _ := keyring.NewKey("2026-11") // in production: from a secret store
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring})
	if err != nil {
		log.Fatal(err)
	}

	// The application's own session: here, a cookie naming the user.
	sessionID := func(r *http.Request) string {
		if c, err := r.Cookie("session"); err == nil {
			return c.Value
		}
		return ""
	}
	markKey := make([]byte, 32) // in production: a persistent secret
	rand.Read(markKey)
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		// The origin browsers see, whatever a proxy in front rewrites.
		Origin: "https://example.com",
		User: func(r *http.Request) (userID, account string, ok bool) {
			if sessionID(r) == "session-of-jane" {
				return "jane", "jane@example.com", true
			}
			return "", "", false
		},
		Session:  &httpmw.CookieSession{Key: markKey, SessionID: sessionID},
		LoginURL: "/login",
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/2fa/", mw.Pages())
	mux.Handle("/settings", mw.StepUp(0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "settings of %s", m.UserID)
	})))

	visit := func() {
		r := httptest.NewRequest("GET", "https://example.com/settings", nil)
		r.Header.Set("Accept", "text/html")
		r.AddCookie(&http.Cookie{Name: "session", Value: "session-of-jane"})
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body.String())
		} else {
			fmt.Println(w.Code, "to", w.Header().Get("Location"))
		}
	}
	// Jane has only typed her password, and has no second factor: she passes.
	visit()

	// Once she has set up her authenticator app, she must use it.
	e, _ := tf.TOTP.Begin(ctx, "jane", "jane@example.com")
	if err := tf.TOTP.Confirm(ctx, "jane", phoneCode(e)); err != nil {
		log.Fatal(err)
	}
	visit()
	// Output:
	// 200 settings of jane
	// 303 to /2fa/?next=%2Fsettings
}

// phoneCode is the code Jane's phone shows for enrollment e.
func phoneCode(e *totp.Enrollment) string {
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	code, _ := totp.GenerateCode(e.Algorithm, raw, e.Digits, uint64(time.Now().Unix()/30))
	return code
}

// The application's own session cookie, by the rules of twofa's cookies:
// an https origin makes it Secure, with the "__Host-" prefix, even when a
// proxy in front forwards the request over plain HTTP to "localhost".
func ExampleMiddleware_Cookie() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	tf, _ := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring})
	sessionID := func(r *http.Request) string {
		if c, err := r.Cookie("__Host-session"); err == nil {
			return c.Value
		}
		return ""
	}
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://photos.example.com",
		User:    func(*http.Request) (string, string, bool) { return "", "", false },
		Session: &httpmw.CookieSession{Key: make([]byte, 32), SessionID: sessionID},
	})
	if err != nil {
		log.Fatal(err)
	}
	c := mw.Cookie("session", "an-id", 0)
	fmt.Println(c.Name, c.Secure, c.HttpOnly)
	// Output:
	// __Host-session true true
}
