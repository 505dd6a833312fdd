package main

import (
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
)

// TestMinimal runs the example's server and goes through it as a person
// would: log in, set up an authenticator app and backup codes, then log in
// again and pass the second step with each.
func TestMinimal(t *testing.T) {
	h, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	ada := newClient(t, srv)
	// The application's pages are HTML, which a browser shows as a page.
	if got := ada.get("/"); got.path != "/login" || !strings.HasPrefix(got.contentType, "text/html") {
		t.Fatalf("before login, / went to %s (%s)", got.path, got.contentType)
	}
	ada.login("ada")
	if got := ada.get("/"); got.path != "/" || !strings.Contains(got.body, "Welcome") || !strings.HasPrefix(got.contentType, "text/html") {
		t.Fatalf("without a second factor, / went to %s (%s): %s", got.path, got.contentType, got.body)
	}

	// Set up the authenticator app, as the settings page does.
	setup := ada.post("/2fa/totp/begin", nil)
	secret := fake.PageSecret(t, setup.body)
	now := time.Now()
	got := ada.post("/2fa/totp/confirm", url.Values{"code": {fake.AppCode(t, secret, now)}})
	if !strings.Contains(got.body, "is set up") {
		t.Fatalf("confirm went to %s: %s", got.path, got.body)
	}
	// The set-up goes on to the first backup codes, shown this once.
	codes := regexp.MustCompile(`<code>([^<]+)</code></li>`).FindAllStringSubmatch(got.body, -1)
	if len(codes) != 10 {
		t.Fatalf("got %d backup codes, want 10", len(codes))
	}

	// A new login asks for the second step, and a code from the app passes.
	phone := newClient(t, srv)
	phone.login("ada")
	if got := phone.get("/"); got.path != "/2fa/" || !strings.Contains(got.body, `id="code"`) {
		t.Fatalf("after the password, / went to %s: %s", got.path, got.body)
	}
	next := now.Add(30 * time.Second) // the confirmed code is used up; the app's next one
	before := phone.session()
	if got := phone.post("/2fa/verify", url.Values{"code": {fake.AppCode(t, secret, next)}, "next": {"/"}}); got.path != "/" || !strings.Contains(got.body, "Welcome") {
		t.Fatalf("the code from the app went to %s: %s", got.path, got.body)
	}
	// The step renewed the session: its old token is no session at all.
	if after := phone.session(); after == before || after == "" {
		t.Errorf("the session token after the second step is %q, before it %q: not renewed", after, before)
	}
	if got := newClient(t, srv, before).get("/"); got.path != "/login" {
		t.Errorf("the token from before the second step went to %s, want /login", got.path)
	}

	// So does a backup code, once.
	paper := newClient(t, srv)
	paper.login("ada")
	if got := paper.post("/2fa/verify", url.Values{"code": {html.UnescapeString(codes[0][1])}, "next": {"/"}}); got.path != "/" {
		t.Fatalf("a backup code went to %s: %s", got.path, got.body)
	}
	again := newClient(t, srv)
	again.login("ada")
	if got := again.post("/2fa/verify", url.Values{"code": {html.UnescapeString(codes[0][1])}, "next": {"/"}}); got.status != http.StatusUnauthorized {
		t.Fatalf("a used backup code: %d at %s", got.status, got.path)
	}
}

// TestLoginRenews: the login gives the browser a new session token, so a
// token planted in it beforehand (session fixation) does not end up
// logged in as the victim.
func TestLoginRenews(t *testing.T) {
	h, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	mallory := newClient(t, srv)
	mallory.login("mallory")
	planted := mallory.session()
	if planted == "" {
		t.Fatal("no session cookie after the login")
	}
	ada := newClient(t, srv, planted)
	ada.login("ada")
	if got := ada.session(); got == planted || got == "" {
		t.Errorf("ada's token after her login is %q, the planted one %q", got, planted)
	}
	if got := mallory.get("/"); got.path != "/login" {
		t.Errorf("the planted token went to %s after ada's login, want /login", got.path)
	}
}

// client is an HTTP client with cookies, following redirects.
type client struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

type page struct {
	status      int
	path        string
	contentType string
	body        string
}

// newClient returns a browser with cookies of its own, carrying the
// session token given, if any.
func newClient(t *testing.T, srv *httptest.Server, token ...string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	for _, v := range token {
		jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: v, Path: "/"}})
	}
	c := *srv.Client() // a copy: each client has its own cookies
	c.Jar = jar
	return &client{t: t, srv: srv, c: &c}
}

// session returns the browser's session token, "" if it has none.
func (b *client) session() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func (b *client) login(name string) {
	b.t.Helper()
	b.post("/login", url.Values{"name": {name}, "password": {"demo"}})
}

func (b *client) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *client) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *client) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept", "text/html") // as a browser: redirects, not 401 JSON
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, path: res.Request.URL.Path, contentType: res.Header.Get("Content-Type"), body: string(body)}
}

// TestLoginBodyBound: the login reads a form within its bound, and answers
// 413 to a larger one, urlencoded or multipart, announced or not.
func TestLoginBodyBound(t *testing.T) {
	h, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	multipartForm := func(pad int) (string, string) {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		w.WriteField("name", "ada")
		w.WriteField("password", "demo")
		part, _ := w.CreateFormFile("upload", "pad.bin")
		part.Write([]byte(strings.Repeat("x", pad)))
		w.Close()
		return w.FormDataContentType(), b.String()
	}
	small, big := "name=ada&password=demo", "name=ada&password=demo&pad="+strings.Repeat("x", httpmw.MaxFormBody)
	smallType, smallMultipart := multipartForm(100)
	bigType, bigMultipart := multipartForm(httpmw.MaxFormBody)
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"form", "application/x-www-form-urlencoded", small, http.StatusSeeOther},
		{"large form", "application/x-www-form-urlencoded", big, http.StatusRequestEntityTooLarge},
		{"multipart", smallType, smallMultipart, http.StatusSeeOther},
		{"large multipart", bigType, bigMultipart, http.StatusRequestEntityTooLarge},
	} {
		for _, announced := range []bool{true, false} {
			var body io.Reader = strings.NewReader(tc.body)
			if !announced {
				body = io.MultiReader(body) // no length: sent chunked
			}
			req, _ := http.NewRequest("POST", srv.URL+"/login", body)
			req.Header.Set("Content-Type", tc.contentType)
			res, err := srv.Client().Transport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("%s, announced %v: %d, want %d", tc.name, announced, res.StatusCode, tc.want)
			}
			if loc := res.Header.Get("Location"); tc.want == http.StatusSeeOther && loc != "/" {
				t.Errorf("%s, announced %v: went to %q, want / (logged in)", tc.name, announced, loc)
			}
		}
	}
}
