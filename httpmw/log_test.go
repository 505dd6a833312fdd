package httpmw_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
)

func withLog(l *fake.Log) option {
	return func(_ *twofa.Config, c *httpmw.Config) { c.Logger = slog.New(slog.NewTextHandler(l, nil)) }
}

// cookieValues returns the values of b's cookies on a's server.
func (b *browser) cookieValues() []string {
	u, _ := url.Parse(b.a.srv.URL)
	var vs []string
	for _, c := range b.c.Jar.Cookies(u) {
		vs = append(vs, c.Value)
	}
	return vs
}

// A store failure is denied with a 500 and logged for the operator, with
// the route and the user, and nothing the request carried: no session ID,
// no remembered browser's token, no code.
func TestSystemErrorLogged(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	token, err := a.tf.Browsers.Remember(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	var log fake.Log
	f := newApp(t, withLog(&log), func(c *twofa.Config, _ *httpmw.Config) { c.Store = failing{a.store} })
	b := f.browser()
	b.login("alice")
	u, _ := url.Parse(f.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "twofa-remember", Value: token, Path: "/"}})
	if got := b.get("/account"); got.status != http.StatusInternalServerError {
		t.Fatalf("GET /account with the store down: %d", got.status)
	}
	c := code()
	if got := b.post("/2fa/verify", url.Values{"code": {c}}); got.status != http.StatusInternalServerError {
		t.Fatalf("verify with the store down: %d", got.status)
	}
	got := log.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines logged, one per 500:\n%s", got)
	}
	for i, path := range []string{"/account", "/2fa/verify"} {
		if !strings.Contains(lines[i], "level=ERROR") || !strings.Contains(lines[i], "path="+path) ||
			!strings.Contains(lines[i], "user=alice") || !strings.Contains(lines[i], "store down") {
			t.Errorf("logged %q, want the error, path %s and user", lines[i], path)
		}
	}
	for _, secret := range append(b.cookieValues(), token, c) {
		if strings.Contains(got, secret) {
			t.Errorf("the log holds %q:\n%s", secret, got)
		}
	}
}

// An error whose text quotes what the request carried (here the
// application's RenewSession quoting the session ID) is logged with it
// blanked out.
func TestSystemErrorScrubbed(t *testing.T) {
	var log fake.Log
	a := newApp(t, withLog(&log), func(_ *twofa.Config, c *httpmw.Config) {
		c.RenewSession = func(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
			ck, _ := r.Cookie("sid")
			return r, fmt.Errorf("renew session %s: database gone", ck.Value)
		}
	})
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	// An ordinary denial is no system error: nothing to log.
	b.asked("/account")
	if got := log.String(); got != "" {
		t.Fatalf("a denial for the second step logged %q", got)
	}
	c := code()
	if got := b.post("/2fa/verify", url.Values{"code": {c}}); got.status != http.StatusInternalServerError {
		t.Fatalf("verify with RenewSession failing: %d", got.status)
	}
	got := log.String()
	if !strings.Contains(got, "renew session [redacted]: database gone") {
		t.Fatalf("logged %q", got)
	}
	for _, secret := range append(b.cookieValues(), c) {
		if strings.Contains(got, secret) {
			t.Errorf("the log holds %q:\n%s", secret, got)
		}
	}
}
