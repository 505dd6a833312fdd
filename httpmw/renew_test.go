package httpmw_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// A remembered browser's first page after the login loads its parts at
// once: each part carries the same session ID, with no mark yet. Every one
// of them passes, the session is renewed once, and only the request that
// renewed it writes the new session and the mark.
func TestParallelRequestsWhileSessionRenews(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code, "remember", "1")
	b.post("/logout", nil)
	b.login("alice")
	u, _ := url.Parse(a.srv.URL)
	cookies := b.c.Jar.Cookies(u) // the new session, the remembered browser, no mark
	renews := a.renewCount()

	const n = 10
	type result struct {
		status int
		body   string
		set    []*http.Cookie
	}
	results := make([]result, n)
	// No jar: each request carries the cookies of that moment.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			path, accept := []string{"/", "/account", "/api/data"}[i%3], "text/html"
			if path == "/api/data" {
				accept = "application/json"
			}
			req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
			req.Header.Set("Accept", accept)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			start.Wait()
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			results[i] = result{res.StatusCode, string(body), res.Cookies()}
		}()
	}
	start.Done()
	done.Wait()

	var renewer []*http.Cookie
	for i, r := range results {
		if r.status != http.StatusOK || !strings.HasSuffix(r.body, `for alice by "browser"`) {
			t.Errorf("request %d: %d %q, want it to pass", i, r.status, r.body)
		}
		if len(r.set) > 0 {
			if renewer != nil {
				t.Errorf("two answers wrote cookies: %v and %v", renewer, r.set)
			}
			renewer = r.set
		}
	}
	if got := a.renewCount() - renews; got != 1 {
		t.Fatalf("the session was renewed %d times, want once", got)
	}
	// The browser keeps what the renewing answer wrote: the new session
	// with its mark passes, with no renewal more.
	b.c.Jar.SetCookies(u, renewer)
	if got := b.passes("/account"); got.body != `account for alice by "browser"` {
		t.Fatalf("after the renewal: %q", got.body)
	}
	if got := a.renewCount() - renews; got != 1 {
		t.Fatalf("renewed again with the mark: %d", got)
	}
	// Past the grace, the old session ID is worth nothing.
	a.clock.Add(renewGrace + time.Second)
	old := a.browser()
	old.c.Jar.SetCookies(u, cookies)
	if got := old.get("/account"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Fatalf("the old session ID after the grace: %d %q", got.status, got.location)
	}
}

// A code posted with a session that a parallel request has just renewed
// sends the browser on to its page, instead of a 500, and records nothing.
func TestCodeWhileSessionRenews(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code, "remember", "1")
	b.post("/logout", nil)
	b.login("alice")
	u, _ := url.Parse(a.srv.URL)
	cookies := b.c.Jar.Cookies(u)
	renews := a.renewCount()
	b.passes("/account") // renews the session

	old := a.browser()
	old.c.Jar.SetCookies(u, cookies)
	got := old.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}})
	if got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("verify on the renewed session: %d %q, want a redirect to /account", got.status, got.location)
	}
	if set := got.header.Values("Set-Cookie"); len(set) != 0 {
		t.Fatalf("the answer wrote %v", set)
	}
	if n := a.renewCount() - renews; n != 1 {
		t.Fatalf("renewed %d times, want once", n)
	}
}
