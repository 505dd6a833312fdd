package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/internal/fake"
)

const demo, demoPW = "demo@example.com", "demo-password"

// server starts the back end on httptest and returns its URL.
func server(t *testing.T) string {
	t.Helper()
	h, err := newServer(config{Origin: "http://localhost:8080", DemoPassword: demoPW, Log: io.Discard, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is a browser: a cookie jar, and requests from the page's origin.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

// do sends a request with the given content type and body and returns the
// status, the Content-Type and the decoded JSON body (nil if none).
func (c *client) do(method, path, contentType, body string, header ...string) (int, string, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode, res.Header.Get("Content-Type"), v
}

func (c *client) login(email, password string) (int, map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	status, _, v := c.do("POST", "/api/login", "application/json", string(b))
	return status, v
}

func (c *client) sessionCookie() string {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base, nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

func TestLogin(t *testing.T) {
	base := server(t)
	tests := []struct {
		name, email, password string
		status                int
	}{
		{"right", demo, demoPW, http.StatusOK},
		{"address in capitals and spaces", " Demo@Example.com ", demoPW, http.StatusOK},
		{"wrong password", demo, "not-the-password", http.StatusUnauthorized},
		{"password in other case", demo, strings.ToUpper(demoPW), http.StatusUnauthorized},
		{"unknown address", "nobody@example.com", demoPW, http.StatusUnauthorized},
		{"empty", "", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, base)
			status, v := c.login(tt.email, tt.password)
			if status != tt.status {
				t.Fatalf("login: %d %v, want %d", status, v, tt.status)
			}
			meStatus, _, me := c.do("GET", "/api/me", "", "")
			if tt.status != http.StatusOK {
				if v["type"] != "/api/problems/login-failed" || v["detail"] != "Wrong e-mail address or password." {
					t.Fatalf("refused login: %v", v)
				}
				if meStatus != http.StatusUnauthorized {
					t.Fatalf("after a refused login, /api/me: %d %v", meStatus, me)
				}
				return
			}
			if v["email"] != demo || meStatus != http.StatusOK || me["email"] != demo {
				t.Fatalf("login %v, then /api/me %d %v", v, meStatus, me)
			}
			// No method set up: the account is open after the password.
			if s, _, acct := c.do("GET", "/api/account", "", ""); s != http.StatusOK || acct["email"] != demo || acct["passedWith"] != "" {
				t.Fatalf("/api/account: %d %v", s, acct)
			}
			// Logged out: the session is gone.
			if s, _, _ := c.do("POST", "/api/logout", "", ""); s != http.StatusNoContent {
				t.Fatalf("logout: %d", s)
			}
			if s, _, v := c.do("GET", "/api/me", "", ""); s != http.StatusUnauthorized || v["type"] != "/api/problems/not-logged-in" {
				t.Fatalf("after logout, /api/me: %d %v", s, v)
			}
			if s, _, _ := c.do("GET", "/api/account", "", ""); s != http.StatusUnauthorized {
				t.Fatalf("after logout, /api/account: %d", s)
			}
		})
	}
}

// Every malformed login is refused with a problem, and logs nobody in.
func TestLoginBadRequest(t *testing.T) {
	base := server(t)
	good := `{"email":"demo@example.com","password":"demo-password"}`
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"no content type", "", good, http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", "email=demo%40example.com&password=demo-password", http.StatusUnsupportedMediaType},
		{"bad content type", "application/json; charset", good, http.StatusUnsupportedMediaType},
		{"not JSON", "application/json", "email=demo", http.StatusBadRequest},
		{"empty", "application/json", "", http.StatusBadRequest},
		{"array", "application/json", `[` + good + `]`, http.StatusBadRequest},
		{"two values", "application/json", good + good, http.StatusBadRequest},
		{"value then garbage", "application/json", good + "x", http.StatusBadRequest},
		{"unknown field", "application/json", `{"email":"demo@example.com","password":"demo-password","admin":true}`, http.StatusBadRequest},
		{"wrong type", "application/json", `{"email":"demo@example.com","password":123}`, http.StatusBadRequest},
		{"cut off", "application/json", good[:20], http.StatusBadRequest},
		{"too large", "application/json", `{"email":"demo@example.com","password":"demo-password"` + strings.Repeat(" ", maxBody) + `}`, http.StatusRequestEntityTooLarge},
		{"huge password", "application/json", `{"email":"demo@example.com","password":"` + strings.Repeat("a", 10*maxBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, base)
			status, ct, v := c.do("POST", "/api/login", tt.contentType, tt.body)
			if status != tt.status || ct != "application/problem+json" {
				t.Fatalf("%d %s %v, want %d problem+json", status, ct, v, tt.status)
			}
			if v["status"] != float64(tt.status) || v["detail"] == "" || v["type"] != "about:blank" {
				t.Fatalf("problem: %v", v)
			}
			if c.sessionCookie() != "" {
				t.Fatal("a refused login set a session cookie")
			}
			if s, _, _ := c.do("GET", "/api/me", "", ""); s != http.StatusUnauthorized {
				t.Fatalf("after a refused login, /api/me: %d", s)
			}
		})
	}
	// The right request, as a control: the cases above fail for their
	// fault alone.
	if status, _, v := newClient(t, base).do("POST", "/api/login", "application/json", good); status != http.StatusOK {
		t.Fatalf("good login: %d %v", status, v)
	}
}

// A session token planted before the login (session fixation) is not the
// one the user is logged in under, and gives its holder nothing.
func TestLoginNewSession(t *testing.T) {
	base := server(t)
	attacker := newClient(t, base)
	// The attacker gets a token: a first login makes one.
	if s, _ := attacker.login(demo, "wrong"); s != http.StatusUnauthorized {
		t.Fatal(s)
	}
	if s, _ := attacker.login(demo, demoPW); s != http.StatusOK {
		t.Fatal(s)
	}
	planted := attacker.sessionCookie()
	attacker.do("POST", "/api/logout", "", "")
	if planted == "" {
		t.Fatal("no session cookie after a login")
	}

	// The victim's browser carries the planted token, and logs in.
	victim := newClient(t, base)
	req, _ := http.NewRequest("GET", base, nil)
	victim.http.Jar.SetCookies(req.URL, []*http.Cookie{{Name: "session", Value: planted, Path: "/"}})
	if s, _ := victim.login(demo, demoPW); s != http.StatusOK {
		t.Fatal(s)
	}
	got := victim.sessionCookie()
	if got == "" || got == planted {
		t.Fatalf("the login kept the planted token (%v)", got == planted)
	}
	// The planted token gets nothing.
	holder := newClient(t, base)
	holder.http.Jar.SetCookies(req.URL, []*http.Cookie{{Name: "session", Value: planted, Path: "/"}})
	if s, _, v := holder.do("GET", "/api/me", "", ""); s != http.StatusUnauthorized {
		t.Fatalf("the planted token after the victim's login: %d %v", s, v)
	}
	// A second login in the same browser renews the token again.
	if s, _ := victim.login(demo, demoPW); s != http.StatusOK || victim.sessionCookie() == got {
		t.Fatalf("a second login kept the token (%d)", s)
	}
}

// Another site's page cannot log its visitor in or out.
func TestCrossOrigin(t *testing.T) {
	base := server(t)
	for _, path := range []string{"/api/login", "/api/logout"} {
		c := newClient(t, base)
		status, ct, v := c.do("POST", path, "application/json", `{"email":"demo@example.com","password":"demo-password"}`, "Sec-Fetch-Site", "cross-site")
		if status != http.StatusForbidden || ct != "application/problem+json" {
			t.Fatalf("%s from another site: %d %s %v", path, status, ct, v)
		}
		if c.sessionCookie() != "" {
			t.Fatalf("%s from another site set a session", path)
		}
	}
}

// The page and its files are served with a policy that allows only their
// own script.
func TestStatic(t *testing.T) {
	base := server(t)
	for path, want := range map[string]string{"/": "text/html", "/app.js": "text/javascript", "/app.css": "text/css"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), want) {
			t.Fatalf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("%s: CSP %q", path, csp)
		}
	}
	for _, path := range []string{"/index.html", "/static/app.js", "/nothing"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
	}
}

// A new login with the password, in a browser that had passed the second
// step, starts over: the second step is asked again, never inherited.
func TestLoginDropsSecondStep(t *testing.T) {
	base := server(t)
	c := newClient(t, base)
	if s, v := c.login(demo, demoPW); s != http.StatusOK {
		t.Fatalf("login: %d %v", s, v)
	}
	// An authenticator app, set up through twofa's API; its confirmation
	// passes the second step.
	s, _, setup := c.do("POST", "/2fa/api/totp/begin", "application/json", "{}")
	if s != http.StatusOK {
		t.Fatalf("totp/begin: %d %v", s, setup)
	}
	secret, _ := setup["secret"].(string)
	code := fake.AppCode(t, secret, time.Now())
	if s, _, v := c.do("POST", "/2fa/api/totp/confirm", "application/json", `{"code":"`+code+`"}`); s != http.StatusOK {
		t.Fatalf("totp/confirm: %d %v", s, v)
	}
	if s, _, v := c.do("GET", "/api/account", "", ""); s != http.StatusOK || v["passedWith"] != "totp" {
		t.Fatalf("after the set-up, /api/account: %d %v", s, v)
	}

	if s, v := c.login(demo, demoPW); s != http.StatusOK {
		t.Fatalf("second login: %d %v", s, v)
	}
	if s, _, v := c.do("GET", "/api/account", "", ""); s != http.StatusUnauthorized || v["error"] != "second factor required" {
		t.Fatalf("after a new login, /api/account: %d %v", s, v)
	}
	if s, _, v := c.do("GET", "/2fa/api/challenge", "", ""); s != http.StatusOK || v["passed"] != false {
		t.Fatalf("after a new login, the challenge: %d %v", s, v)
	}
}

// FuzzLoginBody: whatever the body, the login answers a problem or, for
// the right address and password alone, logs in; never a 5xx.
func FuzzLoginBody(f *testing.F) {
	h, err := newServer(config{Origin: "http://localhost:8080", DemoPassword: demoPW, Log: io.Discard, PasswordCost: bcrypt.MinCost})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"email":"demo@example.com","password":"demo-password"}`,
		`{"email":"demo@example.com","password":"x"}`,
		`{"email":1}`, `[]`, `null`, `{}`, `{"email":"a"}{"email":"b"}`, "\xff", `{"email":"demo@example.com","password":"demo-password","x":1}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		var want struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		right := len(body) <= maxBody && dec.Decode(&want) == nil && dec.Decode(&struct{}{}) == io.EOF &&
			strings.ToLower(strings.TrimSpace(want.Email)) == demo && want.Password == demoPW
		switch {
		case rec.Code == http.StatusOK:
			if !right {
				t.Fatalf("logged in with %q", body)
			}
		case right:
			t.Fatalf("refused the right login %q: %d", body, rec.Code)
		case rec.Code >= 500 || rec.Header().Get("Content-Type") != "application/problem+json":
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}
