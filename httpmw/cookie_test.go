package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
)

// withOrigin sets Config.Origin.
func withOrigin(origin string) option {
	return func(_ *twofa.Config, c *httpmw.Config) { c.Origin = origin }
}

func TestOriginRefused(t *testing.T) {
	a := newApp(t)
	sess := &httpmw.CookieSession{Key: make([]byte, 32), SessionID: func(*http.Request) string { return "" }}
	user := func(*http.Request) (string, string, bool) { return "", "", false }
	for _, origin := range []string{
		"",
		"example.com",
		"//example.com",
		"http://example.com",           // plain HTTP on the network
		"http://192.168.1.2:8080",      // a LAN address is not loopback
		"http://localhost.example.com", // a name that only looks local
		"ftp://localhost",
		"https://example.com/app",
		"https://example.com/?x=1",
		"https://example.com?",
		"https://example.com#top",
		"https://example.com#",
		"https://user:pass@example.com",
		"https://",
		"https://:443",
		"https://example.com:port",
		"mailto:a@example.com",
	} {
		_, err := httpmw.New(httpmw.Config{Service: a.tf, User: user, Session: sess, Origin: origin})
		if err == nil {
			t.Errorf("Origin %q: accepted", origin)
		}
	}
}

// Every cookie's Secure and prefix follow Config.Origin, whatever host and
// scheme the request arrived with: the Host header says localhost, or a
// proxy's address, behind a reverse proxy.
func TestCookieSecurityFromOrigin(t *testing.T) {
	for _, c := range []struct {
		name, origin, target string
		tls                  bool
		secure               bool
		prefix               string
	}{
		{"https origin, request to localhost", "https://photos.example.com", "http://localhost:8080/2fa/verify", false, true, "__Host-"},
		{"https origin, proxy on the LAN", "https://photos.example.com", "http://10.0.0.7:8080/2fa/verify", false, true, "__Host-"},
		{"https origin, https request", "https://example.com", "https://example.com/2fa/verify", true, true, "__Host-"},
		{"localhost origin, https request to another host", "http://localhost:8080", "https://example.com/2fa/verify", true, false, ""},
		{"loopback origin", "http://127.0.0.1:8080", "http://example.com/2fa/verify", false, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newApp(t, withOrigin(c.origin))
			code := a.enroll("alice")
			sid := "session-1"
			a.users[sid] = "alice"
			request := func(method, path string, body url.Values, cookies []*http.Cookie) *http.Request {
				var r *http.Request
				if body != nil {
					r = httptest.NewRequest(method, c.target, strings.NewReader(body.Encode()))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					r = httptest.NewRequest(method, c.target, nil)
				}
				r.URL.Path = path
				if !c.tls {
					r.TLS = nil
				}
				r.Header.Set("Accept", "text/html")
				r.AddCookie(&http.Cookie{Name: "sid", Value: sid})
				for _, ck := range cookies {
					r.AddCookie(ck)
				}
				return r
			}
			w := httptest.NewRecorder()
			a.mw.Pages().ServeHTTP(w, request("POST", "/2fa/verify", url.Values{"code": {code()}, "remember": {"1"}}, nil))
			if w.Code != http.StatusSeeOther {
				t.Fatalf("verify: %d %s", w.Code, w.Body)
			}
			// RenewSession gave the session a new ID.
			var names []string
			var kept []*http.Cookie
			for _, ck := range w.Result().Cookies() {
				if ck.Name == "sid" {
					sid = ck.Value
					continue
				}
				names = append(names, ck.Name)
				kept = append(kept, ck)
				if !strings.HasPrefix(ck.Name, c.prefix+"twofa") || ck.Secure != c.secure || !ck.HttpOnly ||
					ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
					t.Errorf("cookie %+v", ck)
				}
				if ck.Name == c.prefix+"twofa-remember" && ck.MaxAge != 28*24*3600 {
					t.Errorf("remember cookie lives %d s, want 28 days", ck.MaxAge)
				}
			}
			if strings.Join(names, ",") != c.prefix+"twofa,"+c.prefix+"twofa-remember" {
				t.Fatalf("cookies set: %v", names)
			}
			// The cookies are read back by the same names: the step passed.
			if err := a.mw.Check(request("GET", "/account", nil, kept)); err != nil {
				t.Fatalf("Check with the cookies set: %v", err)
			}
			// The application's own cookie follows the same rule.
			if ck := a.mw.Cookie("session", "v", 0); ck.Name != c.prefix+"session" || ck.Secure != c.secure || !ck.HttpOnly ||
				ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Value != "v" {
				t.Errorf("Cookie: %+v", ck)
			}
			// Logout deletes the cookies under the same names.
			w = httptest.NewRecorder()
			if err := a.mw.Logout(w, request("POST", "/logout", url.Values{}, kept), true); err != nil {
				t.Fatal(err)
			}
			deleted := map[string]bool{}
			for _, ck := range w.Result().Cookies() {
				if ck.MaxAge < 0 && ck.Secure == c.secure {
					deleted[ck.Name] = true
				}
			}
			if !deleted[c.prefix+"twofa"] || !deleted[c.prefix+"twofa-remember"] || !deleted[c.prefix+"twofa-login"] {
				t.Fatalf("Logout deleted %v", deleted)
			}
		})
	}
}

func TestCookie(t *testing.T) {
	for origin, want := range map[string]string{
		"https://example.com":       "__Host-session Secure",
		"https://example.com/":      "__Host-session Secure",
		"HTTPS://Example.COM:443":   "__Host-session Secure",
		"https://localhost:8443":    "__Host-session Secure",
		"http://localhost:8080":     "session",
		"http://app.localhost:8080": "session",
		"http://127.0.0.1:8080":     "session",
		"http://[::1]:8080":         "session",
	} {
		mw := newApp(t, withOrigin(origin)).mw
		for _, maxAge := range []int{0, 60, -1} {
			c := mw.Cookie("session", "v", maxAge)
			got := c.Name
			if c.Secure {
				got += " Secure"
			}
			if got != want || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" ||
				c.Value != "v" || c.MaxAge != maxAge {
				t.Errorf("Cookie with Origin %s: %+v, want %s", origin, c, want)
			}
		}
		// CookieName names the cookie as Cookie does, so the application
		// reads back what it set.
		for _, name := range []string{"session", "sid", "twofa"} {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(mw.Cookie(name, "v-"+name, 0))
			if ck, err := r.Cookie(mw.CookieName(name)); err != nil || ck.Value != "v-"+name {
				t.Errorf("Origin %s: cookie %q read back under CookieName %q: %v, %v", origin, name, mw.CookieName(name), ck, err)
			}
		}
	}
}

// A CookieSession used without New makes the safe cookie, and New's own
// copy does not change the application's value.
func TestCookieSessionAlone(t *testing.T) {
	sid := func(*http.Request) string { return "s1" }
	cs := &httpmw.CookieSession{Key: make([]byte, 32), SessionID: sid}
	a := newApp(t)
	if _, err := httpmw.New(httpmw.Config{Service: a.tf, Origin: "http://localhost:8080", Session: cs,
		User: func(*http.Request) (string, string, bool) { return "", "", false }}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://localhost:8080/", nil)
	r.TLS = nil
	if err := cs.SetMark(w, r, httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != "__Host-twofa" || !c[0].Secure {
		t.Fatalf("CookieSession alone set %+v, want a Secure __Host-twofa", c)
	}
}

// Behind a proxy that rewrites Host, an older browser without
// Sec-Fetch-Site is judged by its Origin header: the configured origin is
// trusted, any other refused.
func TestCrossOriginTrustsConfiguredOrigin(t *testing.T) {
	a := newApp(t, withOrigin("https://photos.example.com"))
	a.users["s1"] = "alice"
	for origin, want := range map[string]bool{
		"https://photos.example.com":      true,
		"http://photos.example.com":       false,
		"https://evil.example":            false,
		"https://photos.example.com.evil": false,
		"null":                            false,
	} {
		r := httptest.NewRequest("POST", "http://backend:8080/2fa/verify", strings.NewReader("code=000000"))
		r.TLS = nil
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", origin)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
		w := httptest.NewRecorder()
		a.mw.Pages().ServeHTTP(w, r)
		if passed := w.Code != http.StatusForbidden; passed != want {
			t.Errorf("POST with Origin %s behind a proxy: %d, want allowed=%v", origin, w.Code, want)
		}
	}
}
