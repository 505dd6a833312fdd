package httpmw_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
)

// An account name the otpauth label cannot carry is the application's,
// not the user's: the set-up page says so with a 422, never a 500, and
// nothing is set up.
func TestTOTPBadAccount(t *testing.T) {
	for _, user := range []string{"bob:ops", "bob\x7fops", "bob\nops"} {
		t.Run(url.PathEscape(user), func(t *testing.T) {
			a := newApp(t)
			b := a.browser()
			b.login(user)
			got := b.post("/2fa/totp/begin", nil)
			if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, "cannot label an entry in an authenticator app") {
				t.Fatalf("begin with account %q: %d %q %.300s", user+"@example.com", got.status, got.location, got.body)
			}
			if acc, err := a.tf.Account(ctx, user); err != nil || acc.Status(twofa.TOTP) != twofa.NotSetUp {
				t.Fatalf("after the refusal: %v, %v", acc.Status(twofa.TOTP), err)
			}
		})
	}
}

// A set-up that expired in its own browser says so on every page that
// needs it; another browser's pages say nothing of it.
func TestTOTPSetupExpiredMessage(t *testing.T) {
	a := newApp(t)
	mine, other := a.browser(), a.browser()
	mine.login("carol")
	other.login("carol")
	mine.post("/2fa/totp/begin", nil)
	secret := fake.PageSecret(t, mine.passes("/2fa/totp").body)
	a.clock.Add(time.Hour)
	code := fake.AppCode(t, secret, a.clock.Now())

	const said = "set-up expired before it was confirmed"
	for _, c := range []struct {
		name string
		do   func(b *browser) answer
	}{
		{"page", func(b *browser) answer { return b.get("/2fa/totp") }},
		{"confirm", func(b *browser) answer { return b.post("/2fa/totp/confirm", url.Values{"code": {code}}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.do(other)
			if got.status != http.StatusSeeOther || got.location != "/2fa/settings" {
				t.Fatalf("another browser: %d %q", got.status, got.location)
			}
			got = c.do(mine)
			if got.status != http.StatusSeeOther || got.location != "/2fa/settings?error=expired" {
				t.Fatalf("its own browser: %d %q", got.status, got.location)
			}
			if page := mine.passes(got.location).body; !strings.Contains(page, said) {
				t.Fatalf("settings say nothing of the expiry: %.600s", page)
			}
		})
	}
	if got := mine.get("/2fa/totp/paper.pdf"); got.status != http.StatusNotFound || !strings.Contains(got.body, "expired") {
		t.Fatalf("paper backup after expiry: %d %q", got.status, got.body)
	}
	if got := other.get("/2fa/totp/paper.pdf"); got.status != http.StatusNotFound || strings.Contains(got.body, "expired") {
		t.Fatalf("paper backup in another browser: %d %q", got.status, got.body)
	}
}

// A new set of backup codes within a minute of the last, or while one is
// being made, is a 429 with a message; a clock that cannot be right is a
// 503 with one; neither is a 500, and neither replaces the codes.
func TestBackupRefusals(t *testing.T) {
	var broken atomic.Bool
	// The service's clock breaks on demand; the pages' clock keeps going,
	// so the step-up still counts as fresh.
	breakable := func(tc *twofa.Config, mc *httpmw.Config) {
		now := mc.Now
		tc.Now = func() time.Time {
			if broken.Load() {
				return time.Time{}
			}
			return now()
		}
	}
	a := newApp(t, breakable)
	b := a.browser()
	b.login("dave")
	b.pass(a.enroll("dave"))
	first := b.post("/2fa/backup", nil)
	if first.status != http.StatusOK {
		t.Fatalf("first set: %d", first.status)
	}
	// A new set ends the old one, and is asked for with confirm=1.
	again := url.Values{"confirm": {"1"}}

	t.Run("too soon", func(t *testing.T) {
		got := b.post("/2fa/backup", again)
		if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "made moments ago") || strings.Contains(got.body, "</code></li>") {
			t.Fatalf("second set at once: %d %.400s", got.status, got.body)
		}
	})
	t.Run("in progress", func(t *testing.T) {
		a.clock.Add(time.Minute)
		// Ten at once: one makes a set, the others are told, none is a 500.
		var wg sync.WaitGroup
		answers := make([]answer, 10)
		for i := range answers {
			wg.Go(func() { answers[i] = b.post("/2fa/backup", again) })
		}
		wg.Wait()
		made := 0
		for _, got := range answers {
			switch {
			case got.status == http.StatusOK:
				made++
			case got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "made moments ago"):
				t.Fatalf("parallel set: %d %.300s", got.status, got.body)
			}
		}
		if made != 1 {
			t.Fatalf("%d sets made by 10 parallel requests, want 1", made)
		}
	})
	t.Run("clock", func(t *testing.T) {
		a.clock.Add(time.Minute)
		broken.Store(true)
		got := b.post("/2fa/backup", again)
		broken.Store(false)
		if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "clock is wrong") || strings.Contains(got.body, "</code></li>") {
			t.Fatalf("set with a broken clock: %d %.400s", got.status, got.body)
		}
	})
}
