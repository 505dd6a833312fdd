package httpmw_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
)

// fuzzRoutes are the page forms the fuzz target posts to.
var fuzzRoutes = []string{"/2fa/verify", "/2fa/method", "/2fa/keys/rename", "/2fa/browsers/revoke", "/2fa/keys/remove", "/2fa/totp/confirm"}

// FuzzPageForms posts arbitrary bodies with arbitrary content types to the
// page forms, from a session past only the password and from one past the
// second step. Nothing panics; nothing answers 500 (the store works);
// nothing passes the second step for the first session.
func FuzzPageForms(f *testing.F) {
	for i := range fuzzRoutes {
		for _, seed := range []struct {
			contentType, body string
		}{
			{"application/x-www-form-urlencoded", "code=123456&next=%2Faccount"},
			{"application/x-www-form-urlencoded", "method=totp&action=remove"},
			{"application/x-www-form-urlencoded", "method=backup&action=enable"},
			{"application/x-www-form-urlencoded", "id=AAAA&name=%F0%9F%94%91"},
			{"application/x-www-form-urlencoded", "all=1"},
			{"application/x-www-form-urlencoded", "code=%zz&code=1;2"},
			{"application/x-www-form-urlencoded; charset=utf-16", "\xff\xfec\x00o\x00"},
			{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n123456\r\n--XX--\r\n"},
			{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nxx"},
			{"multipart/form-data", "--\r\n"},
			{"application/json", `{"code":"123456"}`},
			{"text/plain", "code=123456"},
			{"", ""},
		} {
			f.Add(uint8(i), seed.contentType, []byte(seed.body))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		a := newApp(t)
		code := a.enroll("alice")
		current := code()
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		chunked := route >= 128
		a.mu.Lock()
		a.users["password-only"] = "alice"
		a.users["passed"] = "alice"
		a.mu.Unlock()
		serve := func(sid, path, contentType string, body []byte, cookies ...*http.Cookie) *httptest.ResponseRecorder {
			r := httptest.NewRequest("POST", path, bytes.NewReader(body))
			if chunked {
				r.ContentLength = -1
			}
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
			r.Header.Set("Accept", "text/html")
			r.AddCookie(&http.Cookie{Name: "sid", Value: sid})
			for _, c := range cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			a.mw.Pages().ServeHTTP(w, r)
			return w
		}
		marked := func(w *httptest.ResponseRecorder) []*http.Cookie {
			var cs []*http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name != "sid" && c.MaxAge >= 0 {
					cs = append(cs, c)
				}
			}
			return cs
		}

		// Past the password only.
		w := serve("password-only", path, contentType, body)
		if w.Code == http.StatusInternalServerError {
			t.Fatalf("POST %s %q %q: 500", path, contentType, body)
		}
		// A body that holds the current code may pass, as it should.
		if !bytes.Contains(body, []byte(current)) {
			r := httptest.NewRequest("GET", "/account", nil)
			r.AddCookie(&http.Cookie{Name: "sid", Value: "password-only"})
			for _, c := range marked(w) {
				r.AddCookie(c)
			}
			if err := a.mw.Check(r); !errors.Is(err, httpmw.ErrSecondStep) {
				t.Fatalf("POST %s %q %q: the second step is now %v", path, contentType, body, err)
			}
		}

		// Past the second step: the settings forms run, and never fail.
		if path == "/2fa/verify" || path == "/2fa/totp/confirm" {
			return
		}
		a.clock.Add(30e9)
		pass := serve("passed", "/2fa/verify", "application/x-www-form-urlencoded", []byte(url.Values{"code": {code()}}.Encode()))
		if pass.Code != http.StatusSeeOther {
			t.Fatalf("verify: %d", pass.Code)
		}
		sid := "passed"
		for _, c := range pass.Result().Cookies() {
			if c.Name == "sid" {
				sid = c.Value
			}
		}
		w = serve(sid, path, contentType, body, marked(pass)...)
		if w.Code == http.StatusInternalServerError || strings.Contains(w.Header().Get("Location"), "/2fa/?") {
			t.Fatalf("POST %s %q %q past the step: %d %q", path, contentType, body, w.Code, w.Header().Get("Location"))
		}
	})
}
