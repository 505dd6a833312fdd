package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

// The edges of the application over HTTP: request bodies, redirects, path
// tricks, cookies and the development mailer. The routes come from
// routeList, the list the mux is built from, so a route added there is
// tested here too.

// postRoutes returns the paths of the application's own POST routes.
func postRoutes(t *testing.T, a *app) []string {
	t.Helper()
	var paths []string
	for _, rt := range a.routeList() {
		if method, path, ok := strings.Cut(rt.pattern, " "); ok && method == http.MethodPost {
			paths = append(paths, path)
		}
	}
	if len(paths) == 0 {
		t.Fatal("no POST route in routeList")
	}
	return paths
}

// TestBodyBounds sends every POST route a body past its bound, announced
// (Content-Length) and not (chunked), as an administrator who passed the
// second step, so that each request reaches its handler: each answers 413.
func TestBodyBounds(t *testing.T) {
	a, base := serve(t, config{})
	admin := newClient(t, base)
	admin.login("admin@example.com", adminPassword)
	secret, now := admin.setUpTOTP()
	// Every method, and a remembered browser, so the settings show every
	// form they have.
	admin.addKey("Key")
	admin.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}})
	admin.post("/logout", nil)
	admin.login("admin@example.com", adminPassword)
	admin.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, now.Add(30*time.Second))}, "remember": {"1"}})

	// The application's own POST routes, and every form the pages show
	// (twofa's included), to an administrator and on the challenge.
	paths := postRoutes(t, a)
	challenged := newClient(t, base)
	challenged.login("demo@example.com", demoPassword)
	challenged.setUpTOTP()
	challenged.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}})
	challenged.post("/logout", nil)
	challenged.login("demo@example.com", demoPassword)
	for _, p := range []page{admin.get("/"), admin.get("/2fa/settings"), admin.get("/admin"), challenged.get("/2fa/")} {
		for _, action := range formActions(p.body) {
			if !slices.Contains(paths, action) {
				paths = append(paths, action)
			}
		}
	}
	if !slices.Contains(paths, twofaPath+"verify") || !slices.Contains(paths, twofaPath+"keys/remove") || !slices.Contains(paths, twofaPath+"browsers/revoke") {
		t.Fatalf("the pages' forms were not found: %q", paths)
	}

	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			for _, size := range []int{maxFormBody + 1, maxBody + 1} {
				body := "user=" + strings.Repeat("a", size)
				for _, announced := range []bool{true, false} {
					length := int64(-1)
					if announced {
						length = int64(len(body))
					}
					status, _ := admin.raw(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(body), length)
					if status != http.StatusRequestEntityTooLarge {
						t.Errorf("%d bytes, announced %v: %d, want 413", len(body), announced, status)
					}
				}
			}
		})
	}
	// The administrator is still logged in: no request above was served.
	if got := admin.get("/admin"); got.status != http.StatusOK {
		t.Fatalf("after the refused posts, /admin: %d at %s", got.status, got.path)
	}
}

// formActions returns the actions of the POST forms in an HTML page.
func formActions(body string) []string {
	var actions []string
	for _, tag := range regexp.MustCompile(`<form\b[^>]*>`).FindAllString(body, -1) {
		m := regexp.MustCompile(`\baction="([^"]+)"`).FindStringSubmatch(tag)
		if m != nil && strings.Contains(tag, `method="post"`) {
			actions = append(actions, html.UnescapeString(m[1]))
		}
	}
	return actions
}

// TestBodyBoundLogin: a login form within the bound is read (a wrong
// password is a wrong password), past it refused.
func TestBodyBoundLogin(t *testing.T) {
	_, base := serve(t, config{})
	b := newClient(t, base)
	form := url.Values{"email": {"demo@example.com"}, "password": {"wrong"}}.Encode() + "&pad="
	within := form + strings.Repeat("a", maxFormBody-len(form))
	if status, _ := b.raw(http.MethodPost, "/login", "application/x-www-form-urlencoded", strings.NewReader(within), -1); status != http.StatusUnauthorized {
		t.Fatalf("a login form of %d bytes: %d, want 401", len(within), status)
	}
	if status, _ := b.raw(http.MethodPost, "/login", "application/x-www-form-urlencoded", strings.NewReader(within+"a"), -1); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a login form of %d bytes: %d, want 413", len(within)+1, status)
	}
}

// TestLoginUpload sends the login a 300 MB multipart upload, unannounced:
// it is refused with 413 after a few megabytes at most (what the network
// buffers hold), and nothing is written to the temporary directory.
func TestLoginUpload(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, base := serve(t, config{})

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("email", "demo@example.com")
		mw.WriteField("password", demoPassword)
		part, _ := mw.CreateFormFile("upload", "big.bin")
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range 300 {
			if _, err := part.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	defer pr.Close()

	b := newClient(t, base)
	status, sent := b.raw(http.MethodPost, "/login", mw.FormDataContentType(), pr, -1)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 300 MB upload to the login: %d, want 413", status)
	}
	if sent > 64<<20 {
		t.Fatalf("the server took %d MB of the upload before refusing it", sent>>20)
	}
	files, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Errorf("spooled to disk: %s", f.Name())
	}
}

// raw sends a request with the client's cookies over a connection of its
// own, writing body (length bytes, or chunked if length is -1) until the
// server answers or closes, and returns the status and how many body bytes
// went out. Unlike http.Client it stops sending as soon as the answer
// comes, as a server that refuses a body early expects.
func (b *client) raw(method, path, contentType string, body io.Reader, length int64) (status int, sent int64) {
	b.t.Helper()
	u, err := url.Parse(b.url)
	if err != nil {
		b.t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close()

	type answer struct {
		status int
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		res.Body.Close()
		answered <- answer{status: res.StatusCode}
	}()

	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: text/html\r\nContent-Type: %s\r\n", method, path, u.Host, contentType)
	for _, c := range b.c.Jar.Cookies(u) {
		fmt.Fprintf(&head, "Cookie: %s=%s\r\n", c.Name, c.Value)
	}
	if length >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", length)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	}
	if _, err := io.WriteString(conn, head.String()); err != nil {
		b.t.Fatal(err)
	}

	buf := make([]byte, 32<<10)
send:
	for {
		select {
		case a := <-answered:
			answered <- a
			break send
		default:
		}
		n, rerr := body.Read(buf)
		if n > 0 {
			out := buf[:n]
			if length < 0 {
				out = fmt.Appendf(nil, "%x\r\n%s\r\n", n, buf[:n])
			}
			if _, err := conn.Write(out); err != nil {
				break // the server closed: its answer is on the way
			}
			sent += int64(n)
		}
		if rerr != nil {
			if length < 0 {
				io.WriteString(conn, "0\r\n\r\n")
			}
			break
		}
	}
	select {
	case a := <-answered:
		if a.err != nil {
			b.t.Fatalf("%s %s: no answer after %d bytes: %v", method, path, sent, a.err)
		}
		return a.status, sent
	case <-time.After(time.Minute):
		b.t.Fatalf("%s %s: no answer after %d bytes", method, path, sent)
	}
	return 0, sent
}

// TestCookiesFollowOrigin logs in over plain HTTP, as a reverse proxy
// passes requests on, under several Host headers: every cookie is Secure
// with the "__Host-" prefix when the configured origin is https, and plain
// only for an http origin on localhost, whatever the Host header says.
func TestCookiesFollowOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin string // "" for the server's own http://localhost:PORT
		secure bool
	}{
		{"", false},
		{"https://twofa.example", true},
		{"https://localhost:8443", true},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			_, base := serve(t, config{Origin: tc.origin})
			origin := tc.origin
			if origin == "" {
				origin = base
			}
			u, _ := url.Parse(base)
			for _, host := range []string{u.Host, "127.0.0.1", "twofa.example", "localhost"} {
				// The password, then the home page with the session cookie
				// under the name the login gave it: the session is read
				// back by that name.
				res := send(t, base, host, http.MethodPost, "/login", url.Values{"email": {"demo@example.com"}, "password": {demoPassword}}, nil, origin)
				if res.StatusCode != http.StatusSeeOther {
					t.Fatalf("Host %s: login: %d", host, res.StatusCode)
				}
				checkCookies(t, host, res, tc.secure)
				var session *http.Cookie
				for _, c := range res.Cookies() {
					if strings.HasSuffix(c.Name, "session") {
						session = c
					}
				}
				if session == nil {
					t.Fatalf("Host %s: no session cookie", host)
				}
				home := send(t, base, host, http.MethodGet, "/", nil, []*http.Cookie{session}, "")
				if home.StatusCode != http.StatusOK {
					t.Fatalf("Host %s: the home page with the session: %d", host, home.StatusCode)
				}
				// twofa's cookies: the login ID its challenge sets.
				checkCookies(t, host, send(t, base, host, http.MethodPost, "/logout", url.Values{}, []*http.Cookie{session}, origin), tc.secure)
			}
			// An older browser's POST, judged by its Origin header: the
			// public origin passes whatever the Host; another site not.
			if res := send(t, base, "localhost", http.MethodPost, "/login", url.Values{}, nil, "https://evil.example"); res.StatusCode != http.StatusForbidden {
				t.Fatalf("a POST from another origin: %d, want 403", res.StatusCode)
			}
		})
	}
}

// checkCookies fails unless every cookie res sets is Secure with the
// "__Host-" prefix (secure) or neither, HttpOnly, SameSite=Lax, for "/".
func checkCookies(t *testing.T, host string, res *http.Response, secure bool) {
	t.Helper()
	if len(res.Cookies()) == 0 {
		t.Fatalf("Host %s: no cookie set", host)
	}
	for _, c := range res.Cookies() {
		if c.Secure != secure || strings.HasPrefix(c.Name, "__Host-") != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("Host %s: cookie %s: Secure %v, HttpOnly %v, SameSite %v, Path %q, Domain %q; want Secure and __Host- %v",
				host, c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain, secure)
		}
	}
}

// send makes one request over plain HTTP to base with the Host header host
// and, if set, an Origin header, without following redirects.
func send(t *testing.T, base, host, method, path string, form url.Values, cookies []*http.Cookie, origin string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestDevMail: the development mailer's page runs by default only with an
// http origin on localhost and no SMTP server, never with an https origin
// (asking for it there is an error), and answers only connections from
// this machine, whatever a header says.
func TestDevMail(t *testing.T) {
	for _, tc := range []struct {
		name, origin, devMail string
		want                  int
	}{
		{"localhost by default", "", "", http.StatusOK},
		{"localhost on", "", "on", http.StatusOK},
		{"localhost off", "", "off", http.StatusNotFound},
		{"https by default", "https://twofa.example", "", http.StatusNotFound},
		{"https on localhost by default", "https://localhost:8443", "auto", http.StatusNotFound},
		{"https off", "https://twofa.example", "off", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, base := serve(t, config{Origin: tc.origin, DevMail: tc.devMail})
			res, err := http.Get(base + "/dev/mail")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("/dev/mail from this machine: %d, want %d", res.StatusCode, tc.want)
			}
			if page := send(t, base, "localhost", http.MethodGet, "/login", nil, nil, ""); page.StatusCode != http.StatusOK {
				t.Fatalf("/login: %d", page.StatusCode)
			}
			if tc.want != http.StatusOK {
				return
			}
			// Only this machine, by the connection's address.
			for _, remote := range []struct {
				addr string
				want int
			}{
				{"127.0.0.1:40000", http.StatusOK},
				{"[::1]:40000", http.StatusOK},
				{"203.0.113.7:40000", http.StatusNotFound},
				{"192.168.1.20:40000", http.StatusNotFound},
				{"[2001:db8::1]:40000", http.StatusNotFound},
				{"not an address", http.StatusNotFound},
			} {
				req := httptest.NewRequest(http.MethodGet, "/dev/mail", nil)
				req.RemoteAddr = remote.addr
				req.Header.Set("X-Forwarded-For", "127.0.0.1")
				req.Header.Set("X-Real-IP", "127.0.0.1")
				req.Header.Set("Forwarded", "for=127.0.0.1")
				w := httptest.NewRecorder()
				a.routes().ServeHTTP(w, req)
				if w.Code != remote.want {
					t.Errorf("/dev/mail from %s: %d, want %d", remote.addr, w.Code, remote.want)
				}
			}
		})
	}

	// Asked for where it may not run: the application does not start.
	for _, cfg := range []config{
		{Origin: "https://twofa.example", DevMail: "on"},
		{Origin: "https://localhost:8443", DevMail: "on"},
		{Origin: "http://localhost:8080", DevMail: "on", SMTP: emailotp.SMTPConfig{Host: "mail.example", From: "otp@example.com"}},
		{Origin: "http://localhost:8080", DevMail: "yes"},
	} {
		cfg.DB, cfg.Log, cfg.PasswordCost = filepath.Join(t.TempDir(), "webapp.db"), io.Discard, bcrypt.MinCost
		if _, cleanup, err := newApp(cfg); err == nil {
			cleanup()
			t.Errorf("origin %s, SMTP %q, dev mail %q: started", cfg.Origin, cfg.SMTP.Host, cfg.DevMail)
		}
	}
}

// redirectTricks are values of "next" that a browser, or a proxy that
// decodes paths, could read as another site.
var redirectTricks = []string{
	"//evil.example",
	"//evil",
	`/\evil`,
	`/\/evil.example`,
	"/%2F/evil.example",
	"/%2F%2Fevil.example",
	"/%5Cevil.example",
	"/.//evil.example",
	"/..//evil.example",
	"/x/../..//evil.example",
	"/\t/evil.example",
	"/%09/evil.example",
	" //evil.example",
	"https://evil.example/",
	"http:evil.example",
	"javascript:alert(1)",
	"/%0d%0aLocation:%20//evil.example",
}

// TestOpenRedirects tries every trick on the login, on the challenge
// (the form's next, the security key script's data-next) and on a session
// that already passed: each ends on this site (the client fails the test
// on any redirect elsewhere, read as a browser reads it). A local next is
// honoured.
func TestOpenRedirects(t *testing.T) {
	clock := fake.NewClock(time.Now())
	a, base := serve(t, config{Now: clock.Now})
	if _, err := a.createUser(t.Context(), "totp@example.com", demoPassword, false); err != nil {
		t.Fatal(err)
	}
	totp := newClient(t, base)
	totp.clock = clock
	totp.login("totp@example.com", demoPassword)
	secret, _ := totp.setUpTOTP()
	totp.addKey("Key") // the challenge offers it, with the script's data-next

	for _, next := range redirectTricks {
		t.Run(next, func(t *testing.T) {
			q := "?next=" + url.QueryEscape(next)

			// The login: the form the page shows, a forged one, and the
			// login page of a browser already logged in.
			demo := newClient(t, base)
			page := demo.get("/login" + q)
			form := url.Values{"email": {"demo@example.com"}, "password": {demoPassword}}
			if v, ok := hiddenNext(page.body); ok {
				form.Set("next", v)
			}
			demo.post("/login", form).local(t, "the login form")
			form.Set("next", next)
			demo.post("/login", form).local(t, "a forged login form")
			demo.get("/login"+q).local(t, "the login page, logged in")

			// The challenge: its form, its script's data-next, a forged
			// verify; then a session that passed asks again.
			totp.post("/logout", nil)
			totp.login("totp@example.com", demoPassword)
			page = totp.get("/2fa/" + q)
			if page.path != "/2fa/" {
				t.Fatalf("the challenge went to %s", page.path)
			}
			m := regexp.MustCompile(`data-next="([^"]*)"`).FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("no data-next on the challenge: %s", page.body)
			}
			pageURL, _ := url.Parse(base + "/2fa/" + q)
			if to := browserURL(pageURL, html.UnescapeString(m[1])); to == nil || to.Host != pageURL.Host {
				t.Errorf("the key script would go to %q", m[1])
			}
			clock.Add(30 * time.Second)
			verify := url.Values{"code": {fake.AppCode(t, secret, clock.Now())}, "next": {next}}
			if v, ok := hiddenNext(page.body); ok && len(next)%2 == 0 {
				verify.Set("next", v) // half the time the form's, half a forged one
			}
			totp.post("/2fa/verify", verify).local(t, "the challenge")
			totp.get("/2fa/"+q).local(t, "the challenge of a session that passed")
		})
	}

	// A local next is where the login goes, and a page that needs a login
	// comes back to itself after it.
	demo := newClient(t, base)
	if got := demo.get("/2fa/settings?x=1"); got.path != "/login" {
		t.Fatalf("the settings before login went to %s", got.path)
	}
	page := demo.get("/login?next=" + url.QueryEscape("/2fa/settings?x=1"))
	v, ok := hiddenNext(page.body)
	if !ok || v != "/2fa/settings?x=1" {
		t.Fatalf("the login page's next: %q %v", v, ok)
	}
	if got := demo.login("demo@example.com", "wrong"); got.status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", got.status)
	}
	if got := demo.post("/login", url.Values{"email": {"demo@example.com"}, "password": {demoPassword}, "next": {v}}); got.path != "/2fa/settings" {
		t.Fatalf("the login went to %s, want /2fa/settings", got.path)
	}
	// A password that was wrong keeps the next for the second try.
	other := newClient(t, base)
	other.get("/admin")
	if got := other.post("/login", url.Values{"email": {"demo@example.com"}, "password": {"wrong"}, "next": {"/api/me"}}); !strings.Contains(got.body, `name="next" value="/api/me"`) {
		t.Fatalf("the login page after a wrong password lost its next: %s", got.body)
	}
}

// hiddenNext returns the value of the page's hidden input "next".
func hiddenNext(body string) (string, bool) {
	m := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// local fails the test unless p, the end of the redirects, is on this
// site (stayOnSite checked every hop) and not an error of the server.
func (p page) local(t *testing.T, what string) {
	t.Helper()
	if p.status >= 500 {
		t.Errorf("%s: %d at %s", what, p.status, p.path)
	}
}

// addKey adds a software security key named name through the settings'
// JSON endpoints, as twofa.js does.
func (b *client) addKey(name string) {
	b.t.Helper()
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	rp := virtualwebauthn.RelyingParty{ID: "localhost", Name: issuer, Origin: b.url}
	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": name})
	if status != http.StatusOK {
		b.t.Fatalf("keys/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Attest(b.t, rp, begin["options"])
	if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		b.t.Fatalf("keys/finish: %d %s", status, answer["error"])
	}
}

// postJSON posts v as a page's script does and decodes the answer.
func (b *client) postJSON(path string, v any) (int, map[string]json.RawMessage) {
	b.t.Helper()
	body, _ := json.Marshal(v)
	req, err := http.NewRequest(http.MethodPost, b.url+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var answer map[string]json.RawMessage
	json.Unmarshal(raw, &answer)
	return res.StatusCode, answer
}

// pathTricks returns spellings of path that a router, a proxy or a file
// server might take for it: doubled, dotted and encoded segments, a
// trailing slash, upper case.
func pathTricks(path string) []string {
	rest := strings.TrimPrefix(path, "/")
	var encoded strings.Builder
	for _, c := range []byte(rest) {
		if c == '/' {
			encoded.WriteByte(c)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", c)
		}
	}
	return []string{
		path,
		"/" + path,
		path + "/",
		path + "/.",
		strings.ToUpper(path),
		"/./" + rest,
		"/x/../" + rest,
		"/%2e/" + rest,
		"/%2E%2E/" + rest,
		"/x/%2e%2e/" + rest,
		"/" + encoded.String(),
		"/" + strings.ReplaceAll(rest, "/", "%2F"),
		path + "%2F",
		path + "?",
		path + "#",
		path + ";x",
	}
}

// TestGuardedRoutes asks every guarded route of routeList for its page,
// with each method (its own, HEAD, OPTIONS) and each path trick, without a
// login and with the password alone of a user who has a method: none
// answers but the login or the challenge. A POST that got through would
// reset the user, which is checked at the end. The same routes answer an
// administrator who passed the second step, so the paths are right.
func TestGuardedRoutes(t *testing.T) {
	a, base := serve(t, config{})
	demo := newClient(t, base)
	demo.login("demo@example.com", demoPassword)
	demo.setUpTOTP()
	demo.post("/logout", nil)
	demo.login("demo@example.com", demoPassword) // the password alone
	admin := newClient(t, base)
	admin.login("admin@example.com", adminPassword)
	admin.setUpTOTP()
	u, ok, err := a.checkPassword(t.Context(), "demo@example.com", demoPassword)
	if err != nil || !ok {
		t.Fatalf("the demo user: %v", err)
	}

	guarded := 0
	for _, rt := range a.routeList() {
		if rt.open {
			continue
		}
		guarded++
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok {
			method, path = http.MethodGet, rt.pattern
		}
		path = strings.TrimSuffix(path, "{$}")
		t.Run(rt.pattern, func(t *testing.T) {
			if method == http.MethodGet {
				if got := admin.get(path); got.status != http.StatusOK || got.path != path {
					t.Fatalf("an administrator who passed: %d at %s", got.status, got.path)
				}
			}
			for _, who := range []*client{newClient(t, base), demo} {
				for _, m := range []string{method, http.MethodHead, http.MethodOptions} {
					for _, p := range pathTricks(path) {
						var form url.Values
						if m == http.MethodPost {
							form = url.Values{"user": {u.ID}}
						}
						got := who.do(m, p, form, "text/html")
						if got.status >= 200 && got.status < 300 && got.path != "/login" && got.path != "/2fa/" {
							t.Errorf("%s %s: %d at %s", m, p, got.status, got.path)
						}
						if got := who.do(m, p, form, "application/json"); got.status >= 200 && got.status < 300 {
							t.Errorf("%s %s as an API client: %d at %s", m, p, got.status, got.path)
						}
					}
				}
			}
		})
	}
	if guarded == 0 {
		t.Fatal("no guarded route in routeList")
	}
	if state, err := a.tf.Account(t.Context(), u.ID); err != nil || !state.Requires() {
		t.Fatalf("the demo user after the tricks: %+v, %v", state, err)
	}
}

// xss is a name that runs a script wherever a page writes it unescaped.
const xss = `<img src=x onerror=alert(1)>`

// TestEscaping gives a user an address, a security key and a browser
// whose names are markup, and reads every page that shows them: the
// markup shows as text, never as an element.
func TestEscaping(t *testing.T) {
	a, base := serve(t, config{})
	email := xss + "@example.com"
	if _, err := a.createUser(t.Context(), email, demoPassword, false); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, base)
	b.ua = xss + " Firefox/140.0"
	var pages []page
	pages = append(pages, b.login(email, demoPassword))
	secret, now := b.setUpTOTP()
	b.addKey(xss)
	pages = append(pages, b.get("/2fa/settings"), b.get("/"))
	b.post("/logout", nil)
	b.login(email, demoPassword)
	pages = append(pages, b.get("/2fa/"),
		b.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, now.Add(30*time.Second))}, "remember": {"1"}, "next": {"/2fa/settings"}}),
		b.get("/dev/mail"))

	admin := newClient(t, base)
	admin.login("admin@example.com", adminPassword)
	admin.setUpTOTP()
	pages = append(pages, admin.get("/admin"))

	for _, p := range pages {
		if p.status != http.StatusOK {
			t.Errorf("%s: %d", p.path, p.status)
		}
		if strings.Contains(p.body, xss) || strings.Contains(p.body, "<img") {
			t.Errorf("%s shows the markup unescaped", p.path)
		}
		if !strings.Contains(p.body, "&lt;img src") {
			t.Errorf("%s does not show the name", p.path)
		}
	}
	// The settings show the address and the key's name.
	if n := strings.Count(pages[1].body, "&lt;img src"); n < 2 {
		t.Errorf("the settings show the names %d times, want the address and the key", n)
	}
	if settings := pages[len(pages)-3].body; !strings.Contains(settings, "Firefox") {
		t.Errorf("the settings after remembering do not list the browser: %s", settings)
	}
}

// TestParallelRenewal: a remembered browser's first page after the login
// sends 10 requests at once with the session ID the login gave it. The
// session renews once; every request is served (200) or sent on (a
// redirect on this site), none gets a 500, and only the one that renewed
// writes the new session cookie. The old ID names the session for the
// grace, and not after it.
func TestParallelRenewal(t *testing.T) {
	for _, db := range []string{"SQLite", "PostgreSQL", "MariaDB"} {
		t.Run(db, func(t *testing.T) {
			clock := fake.NewClock(time.Now())
			cfg := config{Now: clock.Now}
			switch db {
			case "PostgreSQL":
				_, cfg.DB = testdb.Postgres(t)
			case "MariaDB":
				_, dsn := testdb.MySQL(t)
				cfg.DB = "mysql://" + dsn
			}
			a, base := serve(t, cfg)
			testParallelRenewal(t, a, base, clock)
		})
	}
}

func testParallelRenewal(t *testing.T, a *app, base string, clock *fake.Clock) {
	// Remember the browser.
	b := newClient(t, base)
	b.clock = clock
	b.login("demo@example.com", demoPassword)
	secret, _ := b.setUpTOTP()
	b.post("/logout", nil)
	b.login("demo@example.com", demoPassword)
	clock.Add(30 * time.Second)
	if got := b.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, clock.Now())}, "remember": {"1"}, "next": {"/"}}); got.path != "/" {
		t.Fatalf("remembering the browser went to %s", got.path)
	}
	b.post("/logout", nil)
	u, _ := url.Parse(base)
	var remembered *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.Contains(c.Name, "remember") {
			remembered = c
		}
	}
	if remembered == nil {
		t.Fatal("no remembered browser cookie")
	}

	// The login, and its answer's session cookie.
	login := send(t, base, u.Host, http.MethodPost, "/login", url.Values{"email": {"demo@example.com"}, "password": {demoPassword}}, nil, "")
	old := sessionCookieOf(login)
	if old == nil {
		t.Fatalf("the login set no session: %d", login.StatusCode)
	}

	// The first page, with its parts, at once.
	paths := []string{"/", "/api/me", "/2fa/settings", "/", "/api/me", "/", "/api/me", "/2fa/", "/", "/api/me"}
	answers := make([]*http.Response, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			req.Header.Set("Accept", "text/html")
			req.AddCookie(old)
			req.AddCookie(remembered)
			res, err := noRedirects.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			answers[i] = res
		})
	}
	wg.Wait()
	var renewedTo []*http.Cookie
	var mark *http.Cookie
	for i, res := range answers {
		if res == nil {
			t.Fatal("a request got no answer")
		}
		switch loc := res.Header.Get("Location"); {
		case res.StatusCode == http.StatusOK:
		case res.StatusCode >= 300 && res.StatusCode < 400 && browserURL(u, loc) != nil && browserURL(u, loc).Host == u.Host &&
			!strings.HasPrefix(loc, "/login"): // on, but not logged out
		default:
			t.Errorf("%s: %d %s", paths[i], res.StatusCode, loc)
		}
		if c := sessionCookieOf(res); c != nil {
			renewedTo = append(renewedTo, c)
			for _, c := range res.Cookies() {
				if c.Name == "twofa" {
					mark = c
				}
			}
		}
	}
	if len(renewedTo) != 1 || renewedTo[0].Value == old.Value || renewedTo[0].MaxAge < 0 {
		t.Fatalf("the session renewed %d times, want once: %v", len(renewedTo), renewedTo)
	}
	var renewals int
	if err := a.db.QueryRow(`SELECT COUNT(*) FROM app_session_renewals`).Scan(&renewals); err != nil || renewals != 1 {
		t.Fatalf("%d renewals stored, want 1 (%v)", renewals, err)
	}

	// The browser goes on with the new session and its mark: no renewal.
	fresh := renewedTo[0]
	res := send(t, base, u.Host, http.MethodGet, "/", nil, []*http.Cookie{fresh, mark, remembered}, "")
	if res.StatusCode != http.StatusOK || sessionCookieOf(res) != nil {
		t.Fatalf("the renewed session: %d, cookie %v", res.StatusCode, sessionCookieOf(res))
	}
	// A late request with the old ID, within the grace: served, nothing
	// renewed. After the grace the old ID is nobody's.
	if res := send(t, base, u.Host, http.MethodGet, "/", nil, []*http.Cookie{old, remembered}, ""); res.StatusCode != http.StatusOK || sessionCookieOf(res) != nil {
		t.Fatalf("the old ID within the grace: %d, cookie %v", res.StatusCode, sessionCookieOf(res))
	}
	clock.Add(renewGrace + time.Second)
	if res := send(t, base, u.Host, http.MethodGet, "/", nil, []*http.Cookie{old, remembered}, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("the old ID after the grace: %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := send(t, base, u.Host, http.MethodGet, "/", nil, []*http.Cookie{fresh, mark}, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("the renewed session after the grace: %d", res.StatusCode)
	}
	// Logging out with the new ID ends the session under both.
	send(t, base, u.Host, http.MethodPost, "/logout", url.Values{}, []*http.Cookie{fresh, mark}, "")
	if res := send(t, base, u.Host, http.MethodGet, "/", nil, []*http.Cookie{fresh, mark}, ""); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

// sessionCookieOf returns the session cookie res sets, if any.
func sessionCookieOf(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "session" || c.Name == "__Host-session" {
			return c
		}
	}
	return nil
}
