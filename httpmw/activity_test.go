package httpmw_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// activitySection returns the "Recent security activity" section of a
// settings page.
func activitySection(t *testing.T, page string) string {
	t.Helper()
	start := strings.Index(page, `<section class="card" id="activity">`)
	if start < 0 {
		t.Fatalf("no activity section: %.500s", page)
	}
	end := strings.Index(page[start:], "</section>")
	if end < 0 {
		t.Fatal("the activity section does not end")
	}
	return page[start : start+end]
}

// The settings list the user's newest security events in words, with
// their dates, newest first, and only theirs.
func TestSettingsShowActivity(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("carol")
	if s := activitySection(t, b.passes("/2fa/settings").body); !strings.Contains(s, "Nothing yet.") || strings.Contains(s, "<tr>") {
		t.Fatalf("a new user's activity: %s", s)
	}
	code := a.enroll("carol")
	a.enroll("dave")
	b.pass(code)
	s := activitySection(t, b.passes("/2fa/settings").body)
	for _, want := range []string{
		"<h2>Recent security activity</h2>",
		"<td>Signed in with the authenticator app</td>",
		`<td>Signed in with the authenticator app</td><td data-label="When"><time datetime="2026-11-23T09:01:00Z">23 November 2026, 09:01 UTC</time>`, // after dave's set-up
		"<td>Added the authenticator app</td>",
		`<td data-label="When"><time datetime="2026-11-23T09:00:00Z">23 November 2026, 09:00 UTC</time>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the activity section lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "Signed in") > strings.Index(s, "Added") {
		t.Errorf("not newest first:\n%s", s)
	}
	if n := strings.Count(s, "<tr>"); n != 3 { // the header and carol's two
		t.Errorf("%d rows, want carol's 2 and the header:\n%s", n, s)
	}
}

// At most httpmw.ActivityShown entries show, the newest.
func TestSettingsActivityBounded(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("carol")
	at := a.clock.Now()
	for i := range httpmw.ActivityShown + 5 {
		e := storage.LogEntry{UserID: "carol", Time: at.Add(time.Duration(i) * time.Minute), Kind: "something_new", Method: fmt.Sprintf("m%02d", i)}
		if err := a.store.AppendLog(ctx, e, 100, at.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	s := activitySection(t, b.passes("/2fa/settings").body)
	if n := strings.Count(s, "<tr>"); n != httpmw.ActivityShown+1 {
		t.Fatalf("%d rows, want %d and the header:\n%s", n, httpmw.ActivityShown, s)
	}
	if !strings.Contains(s, "(m14)") || strings.Contains(s, "(m04)") {
		t.Fatalf("not the newest ones:\n%s", s)
	}
}

// What a log entry says is escaped, whatever it holds.
func TestSettingsActivityEscaped(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("carol")
	e := storage.LogEntry{UserID: "carol", Time: a.clock.Now(), Kind: `<script>alert("k")</script>`, Method: `"><img src=x onerror=alert(1)>`}
	if err := a.store.AppendLog(ctx, e, 100, a.clock.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	page := b.passes("/2fa/settings").body
	s := activitySection(t, page)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Fatalf("unescaped:\n%s", s)
	}
	if !strings.Contains(s, "&lt;script&gt;alert(&#34;k&#34;)&lt;/script&gt;") {
		t.Fatalf("the entry not shown escaped:\n%s", s)
	}
}

// logUnreadable is a store whose security log cannot be read.
type logUnreadable struct{ storage.Store }

func (logUnreadable) Log(context.Context, string, int) ([]storage.LogEntry, error) {
	return nil, errDown
}

// A log that cannot be read fails the settings page, as any store failure
// does, rather than show an empty, reassuring activity list.
func TestSettingsActivityStoreDown(t *testing.T) {
	a := newApp(t, func(tc *twofa.Config, _ *httpmw.Config) { tc.Store = logUnreadable{memory.New()} })
	b := a.browser()
	b.login("carol")
	got := b.get("/2fa/settings")
	if got.status != http.StatusInternalServerError || strings.Contains(got.body, "Recent security activity") {
		t.Fatalf("settings with the log down: %d %.300s", got.status, got.body)
	}
}
