package httpmw_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/internal/mailtest"
)

// An e-mailed code passes only in the browser login that asked for it: in
// another session of the same user it does not work and passes nothing.
func TestEmailCodeOnlyInItsLogin(t *testing.T) {
	a := newApp(t)
	if err := a.tf.Email.Enable(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	asking, other := a.browser(), a.browser()
	asking.login("alice")
	other.login("alice")
	if got := asking.post("/2fa/email", url.Values{"next": {"/account"}}); got.status != http.StatusSeeOther {
		t.Fatalf("send: %d %q", got.status, got.location)
	}
	code := mailtest.ReadCode(t, a.mail.Last(t).Text)
	got := other.post("/2fa/verify", url.Values{"code": {code}, "next": {"/account"}})
	if got.status != http.StatusUnauthorized || !strings.Contains(got.body, "did not work") {
		t.Fatalf("the code in another session: %d %q %.300s", got.status, got.location, got.body)
	}
	other.asked("/account")
	if got := asking.post("/2fa/verify", url.Values{"code": {code}, "next": {"/account"}}); got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("the code in its own session: %d %q", got.status, got.location)
	}
	asking.passes("/account")
}
