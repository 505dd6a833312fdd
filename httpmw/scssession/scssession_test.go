package scssession_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
	"github.com/twofa-go/twofa/internal/sessiontest"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

// app is an application on scs sessions in store: its login and logout.
func app(store scs.Store) sessiontest.App {
	sessions := scs.New()
	sessions.Store = store
	s := scssession.New(sessions)
	return sessiontest.App{
		Session:    s,
		Renew:      s.Renew,
		CookieName: sessions.Cookie.Name,
		Wrap:       sessions.LoadAndSave,
		LogIn: func(w http.ResponseWriter, r *http.Request, userID string) error {
			return s.LogIn(r.Context(), userID)
		},
		LogOut: func(w http.ResponseWriter, r *http.Request) error { return sessions.Destroy(r.Context()) },
		User: func(r *http.Request) (string, bool) {
			u, _, ok := s.User(r)
			return u, ok
		},
		ServerSide: true,
	}
}

func TestLoginWithRenewal(t *testing.T) {
	sessiontest.Run(t, app(memstore.NewWithCleanupInterval(0)))
}

func TestParallelCodes(t *testing.T) {
	sessiontest.RunParallel(t, app(memstore.NewWithCleanupInterval(0)))
}

// The mark reads back as it was set, ends with ClearMark, and a value of
// another shape in its keys is no mark.
func TestMarkRoundTrip(t *testing.T) {
	sessions := scs.New()
	s := scssession.New(sessions)
	at := time.Date(2026, 11, 30, 9, 0, 0, 123, time.UTC)
	var steps []string
	h := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := s.Mark(r); ok || err != nil {
			t.Errorf("a new session has a mark: %v, %v", ok, err)
		}
		want := httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: at}
		if err := s.SetMark(w, r, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Mark(r)
		if !ok || err != nil || got.UserID != want.UserID || got.Method != want.Method || !got.At.Equal(at) {
			t.Errorf("mark read back as %+v, %v, %v", got, ok, err)
		}
		sessions.Put(r.Context(), "twofa.at", "not a time")
		if _, ok, err := s.Mark(r); ok || err != nil {
			t.Errorf("a mark with a bad time reads: %v, %v", ok, err)
		}
		if err := s.SetMark(w, r, want); err != nil {
			t.Fatal(err)
		}
		if err := s.ClearMark(w, r); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Mark(r); ok {
			t.Error("the mark outlived ClearMark")
		}
		if err := s.SetMark(w, r, httpmw.Mark{Method: twofa.TOTP, At: at}); err == nil {
			t.Error("a mark without a user was set")
		}
		steps = append(steps, "done")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(steps) != 1 {
		t.Fatal("the handler did not run")
	}
}

// A route left outside LoadAndSave gets an error that says so, where scs
// itself would panic.
func TestOutsideLoadAndSave(t *testing.T) {
	s := scssession.New(scs.New())
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	_, _, mark := s.Mark(r)
	_, renew := s.Renew(w, r)
	for name, err := range map[string]error{
		"Mark":      mark,
		"SetMark":   s.SetMark(w, r, httpmw.Mark{UserID: "alice"}),
		"ClearMark": s.ClearMark(w, r),
		"Renew":     renew,
		"LogIn":     s.LogIn(r.Context(), "alice"),
	} {
		if err == nil || !strings.Contains(err.Error(), "LoadAndSave") {
			t.Errorf("%s: %v, want an error naming LoadAndSave", name, err)
		}
	}
	if u, _, ok := s.User(r); ok {
		t.Errorf("User outside LoadAndSave: %q, want nobody", u)
	}
}

// LogIn records the user under a new token: the token the visitor had
// before no longer finds the session, and User reads the user back.
func TestLogIn(t *testing.T) {
	sessions := scs.New()
	s := scssession.New(sessions)
	var users []string
	h := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := s.LogIn(r.Context(), r.FormValue("user")); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
			return
		}
		u, _, _ := s.User(r)
		users = append(users, u)
		sessions.Put(r.Context(), "visited", true) // a session before the login
	}))
	do := func(method, body string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	cookie := func(w *httptest.ResponseRecorder) *http.Cookie {
		for _, c := range w.Result().Cookies() {
			if c.Name == sessions.Cookie.Name {
				return c
			}
		}
		t.Fatalf("no session cookie in %v", w.Result().Cookies())
		return nil
	}
	before := cookie(do("GET", "", nil))
	after := cookie(do("POST", "user=alice", before))
	if after.Value == before.Value {
		t.Fatal("LogIn kept the token the visitor had before: session fixation")
	}
	do("GET", "", after)
	do("GET", "", before)
	if want := []string{"", "alice", ""}; !slices.Equal(users, want) {
		t.Errorf("users seen: %q, want %q (nobody, alice with the new token, nobody with the old one)", users, want)
	}
	if w := do("POST", "user=", after); w.Code != http.StatusBadRequest {
		t.Errorf("LogIn with no user ID: %d, want an error", w.Code)
	}
}

// UseCookieRules gives scs's cookie twofa's rules by the middleware's
// origin: on https Secure and "__Host-"-prefixed, for path "/" and no
// domain whatever the application had set; on http://localhost as it was.
// httpmw.New applies them, a second call changes nothing, and the cookie a
// response sets is the one described.
func TestUseCookieRules(t *testing.T) {
	for _, tc := range []struct {
		origin, path, domain string
		wantName, wantPath   string
		wantDomain           string
		wantSecure           bool
	}{
		{"https://photos.example.com", "/", "", "__Host-session", "/", "", true},
		{"https://photos.example.com", "/app", "example.com", "__Host-session", "/", "", true},
		{"http://localhost:8080", "/", "", "session", "/", "", false},
		{"http://localhost:8080", "/app", "localhost", "session", "/app", "localhost", false},
	} {
		t.Run(tc.origin+tc.path, func(t *testing.T) {
			sessions := scs.New()
			sessions.Cookie.Path, sessions.Cookie.Domain = tc.path, tc.domain
			sessions.Cookie.HttpOnly = false
			sessions.Cookie.SameSite = http.SameSiteStrictMode
			s := scssession.New(sessions)
			tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: keyring.Random()})
			if err != nil {
				t.Fatal(err)
			}
			mw, err := httpmw.New(httpmw.Config{
				Service: tf,
				Origin:  tc.origin,
				User:    func(*http.Request) (string, string, bool) { return "", "", false },
				Session: s,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := sessions.Cookie
			if c.Name != tc.wantName || c.Secure != tc.wantSecure || c.Path != tc.wantPath || c.Domain != tc.wantDomain || !c.HttpOnly {
				t.Errorf("after httpmw.New: cookie %+v, want name %q, secure %v, path %q, domain %q, HttpOnly", c, tc.wantName, tc.wantSecure, tc.wantPath, tc.wantDomain)
			}
			s.UseCookieRules(mw)
			if sessions.Cookie != c {
				t.Errorf("a second UseCookieRules changed the cookie to %+v, from %+v", sessions.Cookie, c)
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("SameSite %v, want the application's Strict kept", c.SameSite)
			}

			h := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sessions.Put(r.Context(), "user", "alice")
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.origin+"/", nil))
			set := rec.Result().Cookies()
			if len(set) != 1 || set[0].Name != tc.wantName || set[0].Secure != tc.wantSecure || !set[0].HttpOnly {
				t.Fatalf("the response set %v, want one %q cookie, secure %v, HttpOnly", set, tc.wantName, tc.wantSecure)
			}
		})
	}
}
