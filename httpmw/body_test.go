package httpmw_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
)

// upload is a multipart body of n bytes, one file of 'a's, made as it is
// read; read counts what was.
type upload struct {
	head    string
	n, read int64
}

func newUpload(n int64) *upload {
	return &upload{n: n, head: "--XX\r\nContent-Disposition: form-data; name=\"code\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n"}
}

func (u *upload) Read(p []byte) (int, error) {
	if u.read >= u.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), u.n-u.read)]
	for i := range p {
		if at := u.read + int64(i); at < int64(len(u.head)) {
			p[i] = u.head[at]
		} else {
			p[i] = 'a'
		}
	}
	u.read += int64(len(p))
	return len(p), nil
}

// passedCookies logs alice in on a's server, passes the second step and
// returns her cookies.
func passedCookies(t *testing.T, a *app) []*http.Cookie {
	t.Helper()
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code)
	req, _ := http.NewRequest("GET", a.srv.URL+"/", nil)
	return b.c.Jar.Cookies(req.URL)
}

// A body past its bound is answered 413 on every POST route of the pages,
// before anyone reads it whole, and a 300 MB multipart upload never reaches
// the disk; a body at the bound is read. GET routes read no body at all.
func TestBodiesBounded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where multipart files would be spooled
	a := newApp(t)
	sessions := map[string][]*http.Cookie{"anonymous": nil, "passed": passedCookies(t, a)}
	const huge = 300 << 20
	routes := httpmw.Routes(a.mw)
	posts := 0
	for _, rt := range routes {
		for name, cookies := range sessions {
			serve := func(body io.Reader, length int64, contentType string) int {
				r := httptest.NewRequest(rt.Method, rt.Path, body)
				r.ContentLength = length
				r.Header.Set("Content-Type", contentType)
				r.Header.Set("Accept", "text/html")
				for _, c := range cookies {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				a.mw.Pages().ServeHTTP(w, r)
				return w.Code
			}
			multipart := "multipart/form-data; boundary=XX"
			if rt.Method != "POST" {
				u := newUpload(huge)
				serve(u, huge, multipart)
				if u.read != 0 {
					t.Errorf("%s %s (%s) read %d bytes of a body", rt.Method, rt.Path, name, u.read)
				}
				continue
			}
			posts++
			// Declared: refused before a byte is read.
			u := newUpload(huge)
			if got := serve(u, huge, multipart); got != http.StatusRequestEntityTooLarge || u.read != 0 {
				t.Errorf("%s %s (%s), 300 MB declared: %d after reading %d bytes, want 413 unread", rt.Method, rt.Path, name, got, u.read)
			}
			// Chunked: refused one byte past the bound.
			u = newUpload(huge)
			if got := serve(u, -1, multipart); got != http.StatusRequestEntityTooLarge || u.read > rt.Limit+1 {
				t.Errorf("%s %s (%s), 300 MB chunked: %d after reading %d bytes, want 413 within %d", rt.Method, rt.Path, name, got, u.read, rt.Limit)
			}
			// At the bound, and one byte past it, in the route's own kind.
			for _, c := range []struct {
				n        int64
				tooLarge bool
			}{{rt.Limit, false}, {rt.Limit + 1, true}} {
				contentType, body := "application/x-www-form-urlencoded", "code=1&pad="
				if rt.Limit == httpmw.MaxJSONBody {
					contentType, body = "application/json", `{"name":"`
				}
				body += strings.Repeat("a", int(c.n)-len(body)-2) + `"}`
				got := serve(strings.NewReader(body), -1, contentType)
				if (got == http.StatusRequestEntityTooLarge) != c.tooLarge {
					t.Errorf("%s %s (%s), %d bytes: %d", rt.Method, rt.Path, name, c.n, got)
				}
			}
		}
	}
	if posts < 2*12 {
		t.Fatalf("only %d POST routes tried: %v", posts/2, routes)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("files spooled to disk: %v", left)
	}
}
