package main

import (
	"bufio"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
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
	admin.setUpTOTP()

	for _, path := range postRoutes(t, a) {
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
