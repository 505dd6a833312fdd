package httpmw_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/totp"
)

// A set-up begun in one browser is invisible to another browser logged in
// as the same user with the password alone: no page, no paper backup, no
// confirmation, even with the right code. After an hour it is gone for the
// browser that began it too.
func TestSetUpOnlyInItsBrowser(t *testing.T) {
	a := newApp(t)
	mine, other := a.browser(), a.browser()
	mine.login("carol")
	other.login("carol")
	if got := mine.post("/2fa/totp/begin", nil); got.status != http.StatusSeeOther {
		t.Fatalf("begin: %d", got.status)
	}
	secret := fake.PageSecret(t, mine.passes("/2fa/totp").body)
	code := func() string { return fake.AppCode(t, secret, a.clock.Now()) }

	if got := other.get("/2fa/totp"); got.status != http.StatusSeeOther || strings.Contains(got.body, secret[:9]) {
		t.Fatalf("set-up page in another browser: %d %q", got.status, got.location)
	}
	if got := other.get("/2fa/totp/paper.pdf"); got.status != http.StatusNotFound || strings.HasPrefix(got.body, "%PDF-") {
		t.Fatalf("paper backup in another browser: %d", got.status)
	}
	if got := other.post("/2fa/totp/confirm", url.Values{"code": {code()}}); got.status != http.StatusSeeOther || got.location == "/2fa/settings?done=totp" {
		t.Fatalf("confirm in another browser: %d %q", got.status, got.location)
	}
	if st, _ := a.tf.TOTP.State(ctx, "carol"); st.Status != totp.StatusPending {
		t.Fatalf("after the other browser tried: %v", st.Status)
	}

	// An hour later the set-up is gone for its own browser too.
	a.clock.Add(time.Hour)
	if got := mine.get("/2fa/totp"); got.status != http.StatusSeeOther || strings.Contains(got.body, secret[:9]) {
		t.Fatalf("set-up page after an hour: %d", got.status)
	}
	if st, _ := a.tf.TOTP.State(ctx, "carol"); st.Status != totp.StatusNone {
		t.Fatalf("state after an hour: %v", st.Status)
	}

	// A new set-up in its own browser works.
	mine.post("/2fa/totp/begin", nil)
	secret = fake.PageSecret(t, mine.passes("/2fa/totp").body)
	if got := mine.post("/2fa/totp/confirm", url.Values{"code": {code()}}); got.status != http.StatusOK || !strings.Contains(got.body, "Your authenticator app is set up.") {
		t.Fatalf("confirm in its own browser: %d %q %.200s", got.status, got.location, got.body)
	}
}
