package httpmw_test

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
)

// obviousRenewal is RenewSession as an application writes it first: a new
// session ID in the store, the new cookie set on w, and r returned as it
// came, so the request still carries the old cookie. The app is *pa, known
// once newApp returns.
func obviousRenewal(pa **app) option {
	return func(_ *twofa.Config, mc *httpmw.Config) {
		mc.RenewSession = func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			a := *pa
			a.mu.Lock()
			defer a.mu.Unlock()
			old := a.sessionID(r)
			a.renews++
			sid := rand.Text()
			a.users[sid] = a.users[old]
			delete(a.users, old)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
			return r, nil
		}
	}
}

// The obvious RenewSession works: the code is accepted once, the browser
// goes on to its page and stays there, the session was renewed exactly
// once, and the cookie of the old session passes nowhere.
func TestObviousRenewSession(t *testing.T) {
	var a *app
	a = newApp(t, obviousRenewal(&a))
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	u, _ := url.Parse(a.srv.URL)
	before := b.c.Jar.Cookies(u)
	b.asked("/account")
	b.pass(code)
	if got := b.passes("/account"); got.body != `account for alice by "totp"` {
		t.Fatalf("after the code: %q", got.body)
	}
	b.passes("/")
	if n := a.renewCount(); n != 1 {
		t.Fatalf("renewed %d times, want once", n)
	}
	// The old session's cookie, with the mark the new one got, is nobody.
	old := a.browser()
	old.c.Jar.SetCookies(u, before)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name != "sid" {
			old.c.Jar.SetCookies(u, []*http.Cookie{c})
		}
	}
	if got := old.get("/account"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Fatalf("the old session: %d %q, want the login", got.status, got.location)
	}
	b.post("/logout", nil)
	if got := b.get("/account"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Fatalf("after logout: %d %q, want the login", got.status, got.location)
	}

	// A remembered browser completes the step on its first page, in
	// Handler: renewed once there, and passing from then on.
	b.login("alice")
	b.pass(code, "remember", "1")
	b.post("/logout", nil)
	b.login("alice")
	renews := a.renewCount()
	for range 3 {
		if got := b.passes("/account"); got.body != `account for alice by "browser"` {
			t.Fatalf("remembered browser: %q", got.body)
		}
	}
	if n := a.renewCount() - renews; n != 1 {
		t.Fatalf("the remembered browser's session renewed %d times, want once", n)
	}
}

// A renewal the CookieSession cannot see, a new ID kept where SessionID
// does not look, is refused at once with an error that names the mistake,
// never a silent way back to the challenge.
func TestRenewSessionUnseen(t *testing.T) {
	var a *app
	var logged bytes.Buffer
	a = newApp(t, func(_ *twofa.Config, mc *httpmw.Config) {
		mc.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		mc.RenewSession = func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.renews++
			// The new ID goes to the browser only in a header this
			// application's SessionID never reads.
			sid := rand.Text()
			a.users[sid] = a.users[a.sessionID(r)]
			w.Header().Set("X-Session", sid)
			return r, nil
		}
	})
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}})
	if got.status != http.StatusInternalServerError {
		t.Fatalf("verify: %d %q, want a 500", got.status, got.location)
	}
	if !strings.Contains(logged.String(), "CookieSession.SessionID still returns the old session ID") {
		t.Fatalf("the log does not name the mistake: %s", logged.String())
	}
	for _, c := range got.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "twofa=") {
			t.Fatalf("a mark went out: %s", c)
		}
	}
	a.clock.Add(30 * time.Second)
	b.asked("/account")
}
