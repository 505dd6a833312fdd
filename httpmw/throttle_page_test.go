package httpmw_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofa-go/twofa"
)

// The challenge words each refusal by the throttle: a back-off says how
// long to wait, a lock that ends by itself says when it ends and that no
// administrator is needed, and only the lock at the ceiling sends the user
// to an administrator.
func TestThrottleMessages(t *testing.T) {
	a := newApp(t)
	a.enroll("alice")
	b := a.browser()
	b.login("alice")
	var backOffs, locks int
	for failures := 1; ; failures++ {
		if failures > 200 {
			t.Fatal("never locked for good")
		}
		if got := b.post("/2fa/verify", url.Values{"code": {"000000"}}); got.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", failures, got.status)
		}
		acc, err := a.tf.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if acc.Throttle == nil {
			continue
		}
		var te *twofa.ThrottledError
		if !errors.As(acc.Throttle, &te) {
			t.Fatalf("throttle: %v", acc.Throttle)
		}
		page := b.get("/2fa/")
		refused := b.post("/2fa/verify", url.Values{"code": {"000000"}})
		if refused.status != http.StatusTooManyRequests {
			t.Fatalf("attempt while throttled: %d", refused.status)
		}
		for _, body := range []string{page.body, refused.body} {
			admin := strings.Contains(body, "Ask an administrator")
			switch wait := te.RetryAt.Sub(a.clock.Now()); {
			case te.Locked:
				if !admin || strings.Contains(body, "ends by itself") {
					t.Fatalf("after %d failures, locked for good: %.400s", failures, body)
				}
			case wait >= 15*60e9:
				end := te.RetryAt.UTC().Format("15:04 UTC")
				if admin || !strings.Contains(body, "until "+end) || !strings.Contains(body, "ends by itself") {
					t.Fatalf("after %d failures, locked for %v: %.600s", failures, wait, body)
				}
			default:
				if admin || !strings.Contains(body, "Try again in") {
					t.Fatalf("after %d failures, %v to wait: %.400s", failures, wait, body)
				}
			}
		}
		if te.Locked {
			if failures != 100 || backOffs == 0 || locks == 0 {
				t.Fatalf("locked for good after %d failures, %d back-offs, %d locks", failures, backOffs, locks)
			}
			return
		}
		if te.RetryAt.Sub(a.clock.Now()) >= 15*60e9 {
			locks++
		} else {
			backOffs++
		}
		a.clock.Add(te.RetryAt.Sub(a.clock.Now()))
	}
}
