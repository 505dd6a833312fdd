package httpmw_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

type totpView struct {
	Secret      string `json:"secret"`
	OtpauthURL  string `json:"otpauthURL"`
	QRCode      string `json:"qrCode"`
	MovingPhone bool   `json:"movingPhone"`
}

// appSecret is the base32 secret of a set-up's otpauth URL.
func appSecret(t *testing.T, v totpView) string {
	t.Helper()
	u, err := url.Parse(v.OtpauthURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("secret")
}

// Every setting through the API, from a user with no method: the app's
// set-up with its first backup codes, new codes that end the old ones,
// a method off, on and removed, e-mail codes, remembered browsers.
func TestAPISettings(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("bob")

	var acc accountView
	b.call("GET", "account", nil).ok(t, "account", &acc)
	if acc.status(twofa.TOTP) != "not_set_up" || acc.BackupRemaining != 0 {
		t.Fatalf("account of a new user: %+v", acc)
	}
	b.call("GET", "totp", nil).problem(t, "no set-up", httpmw.ProblemNotSetUp, http.StatusNotFound)
	b.call("POST", "backup", nil).problem(t, "codes first", httpmw.ProblemNeedsPrimary, http.StatusConflict)

	var setup, again totpView
	b.call("POST", "totp/begin", nil).ok(t, "totp/begin", &setup)
	if !strings.HasPrefix(setup.QRCode, "data:image/png;base64,") || setup.MovingPhone || !strings.HasPrefix(setup.OtpauthURL, "otpauth://totp/") {
		t.Fatalf("set-up: %+v", setup)
	}
	b.call("GET", "totp", nil).ok(t, "totp", &again)
	if again.Secret != setup.Secret {
		t.Fatal("the set-up under way shows another secret")
	}
	// Another login of bob does not see it.
	other := a.browser()
	other.login("bob")
	other.call("GET", "totp", nil).problem(t, "other login", httpmw.ProblemNotSetUp, http.StatusNotFound)

	secret := appSecret(t, setup)
	code := func() string { return fake.AppCode(t, secret, a.clock.Now()) }
	b.call("POST", "totp/confirm", map[string]string{"code": "000000"}).problem(t, "wrong code", httpmw.ProblemInvalidCode, http.StatusUnauthorized)
	renews := a.renewCount()
	var d doneView
	b.call("POST", "totp/confirm", map[string]string{"code": code()}).ok(t, "totp/confirm", zero(&d))
	if d.Notice != "Your authenticator app is set up." || len(d.Codes) != 10 || d.Account.status(twofa.TOTP) != "enabled" || d.Account.BackupRemaining != 10 {
		t.Fatalf("confirm: %+v", d)
	}
	if a.renewCount() != renews+1 {
		t.Fatal("confirming the app did not renew the session once")
	}
	first := slices.Clone(d.Codes)
	if got := b.passes("/account"); got.body != `account for bob by "totp"` {
		t.Fatalf("after the set-up: %q", got.body)
	}

	// New codes within a minute of the last: refused, the first set kept.
	b.call("POST", "backup", nil).problem(t, "too soon", httpmw.ProblemThrottled, http.StatusTooManyRequests)
	a.clock.Add(time.Minute)
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "step again", nil)
	b.call("POST", "backup", nil).ok(t, "backup", zero(&d))
	if len(d.Codes) != 10 || d.Codes[0] == first[0] {
		t.Fatalf("new codes: %v", d.Codes)
	}
	other.call("POST", "verify", map[string]any{"code": first[0]}).problem(t, "old set", httpmw.ProblemInvalidCode, http.StatusUnauthorized)

	// Moving the app to another phone: the old one works until confirmed.
	b.call("POST", "totp/begin", nil).ok(t, "move", &setup)
	if !setup.MovingPhone {
		t.Fatal("a second set-up is not a move")
	}
	b.call("POST", "totp/cancel", nil).ok(t, "cancel", zero(&d))
	if d.Notice != "The set-up is cancelled." || d.Account.MovingPhone {
		t.Fatalf("cancel: %+v", d)
	}

	// Off, on, e-mail codes, removed.
	b.call("POST", "methods/totp/disable", nil).ok(t, "disable", zero(&d))
	if d.Account.status(twofa.TOTP) != "disabled" {
		t.Fatalf("disable: %+v", d.Account)
	}
	b.call("POST", "methods/totp/enable", nil).ok(t, "enable", zero(&d))
	if d.Account.status(twofa.TOTP) != "enabled" || d.Notice != "The method is turned on again." {
		t.Fatalf("enable: %+v", d)
	}
	b.call("POST", "methods/email/enable", nil).ok(t, "e-mail on", zero(&d))
	if d.Account.status(twofa.Email) != "enabled" || d.Notice != "Codes by e-mail are turned on." || len(d.Codes) != 0 {
		t.Fatalf("e-mail on: %+v", d)
	}
	other.call("POST", "email", nil).ok(t, "send", nil)
	other.call("POST", "email", nil).problem(t, "send again", httpmw.ProblemThrottled, http.StatusTooManyRequests)
	var ch challengeView
	other.call("GET", "challenge", nil).ok(t, "challenge", &ch)
	if !ch.EmailWaiting {
		t.Fatal("the challenge does not say a code waits")
	}
	b.call("DELETE", "methods/email", nil).ok(t, "remove e-mail", zero(&d))
	if d.Account.status(twofa.Email) != "not_set_up" {
		t.Fatalf("remove: %+v", d.Account)
	}
	// Removing is idempotent, as on the pages.
	b.call("DELETE", "methods/email", nil).ok(t, "remove again", nil)
	b.call("POST", "methods/sms/disable", nil).problem(t, "no such method", httpmw.ProblemNotFound, http.StatusNotFound)

	// Remembered browsers.
	third := a.browser()
	third.login("bob")
	a.clock.Add(30 * time.Second) // the last code is used up
	third.call("POST", "verify", map[string]any{"code": code(), "remember": true}).ok(t, "remember", nil)
	a.clock.Add(30 * time.Second)
	var bs struct {
		Browsers []struct {
			ID string `json:"id"`
		} `json:"browsers"`
		ThisBrowser string `json:"thisBrowser"`
	}
	third.call("GET", "browsers", nil).ok(t, "browsers", &bs)
	if len(bs.Browsers) != 1 || bs.ThisBrowser != bs.Browsers[0].ID {
		t.Fatalf("browsers: %+v", bs)
	}
	b.call("DELETE", "browsers/nope", nil).problem(t, "no such browser", httpmw.ProblemNotFound, http.StatusNotFound)
	b.call("DELETE", "browsers/"+bs.Browsers[0].ID, nil).ok(t, "revoke", zero(&d))
	if d.Notice != "The browser will ask for the second step again." || len(d.Account.Browsers) != 0 {
		t.Fatalf("revoke: %+v", d)
	}
	b.call("DELETE", "browsers", nil).ok(t, "revoke all", zero(&d))

	b.call("DELETE", "methods/totp", nil).ok(t, "remove the app", zero(&d))
	if d.Account.status(twofa.TOTP) != "not_set_up" {
		t.Fatalf("remove: %+v", d.Account)
	}
	if len(d.Account.Activity) == 0 {
		t.Fatal("no activity in the account view")
	}
}

// Security keys through the API: added (a first method, with its first
// backup codes), used for the second step, renamed, removed.
func TestAPIKeys(t *testing.T) {
	a := newApp(t)
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	b := a.browser()
	b.login("alice")

	var begin struct {
		Ceremony string          `json:"ceremony"`
		Options  json.RawMessage `json:"options"`
	}
	b.call("POST", "keys/begin", map[string]string{"name": "YubiKey"}).ok(t, "keys/begin", &begin)
	b.call("POST", "keys/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage("{}")}).
		problem(t, "no response", httpmw.ProblemKeyRefused, http.StatusForbidden)
	var d struct {
		doneView
		Key struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"key"`
	}
	b.call("POST", "keys/begin", map[string]string{"name": "YubiKey"}).ok(t, "keys/begin", &begin)
	response := key.Attest(t, virtualkey.RP, begin.Options)
	b.call("POST", "keys/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(response)}).ok(t, "keys/finish", zero(&d))
	if d.Key.Name != "YubiKey" || len(d.Codes) != 10 || d.Account.status(twofa.WebAuthn) != "enabled" {
		t.Fatalf("keys/finish: %+v", d)
	}
	if got := b.passes("/account"); got.body != `account for alice by "webauthn"` {
		t.Fatalf("after the first key: %q", got.body)
	}

	other := a.browser()
	other.login("alice")
	other.call("POST", "key/begin", nil).ok(t, "key/begin", &begin)
	response = key.Assert(t, virtualkey.RP, begin.Options)
	renews := a.renewCount()
	var passed passedView
	other.call("POST", "key/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(response)}).ok(t, "key/finish", &passed)
	if passed.Method != twofa.WebAuthn || a.renewCount() != renews+1 {
		t.Fatalf("key/finish: %+v, %d renewals", passed, a.renewCount()-renews)
	}
	other.call("POST", "key/finish", map[string]any{"ceremony": begin.Ceremony, "response": json.RawMessage(response)}).
		problem(t, "same ceremony again", httpmw.ProblemKeyRefused, http.StatusForbidden)

	id := d.Key.ID
	b.call("PATCH", "keys/"+id, map[string]string{"name": ""}).problem(t, "empty name", httpmw.ProblemInvalidName, http.StatusUnprocessableEntity)
	b.call("PATCH", "keys/"+id, map[string]string{"name": "Blue key"}).ok(t, "rename", zero(&d))
	if d.Account.Keys[0].Name != "Blue key" {
		t.Fatalf("rename: %+v", d.Account.Keys)
	}
	b.call("PATCH", "keys/nope", map[string]string{"name": "x"}).problem(t, "no such key", httpmw.ProblemNotFound, http.StatusNotFound)
	b.call("DELETE", "keys/nope", nil).problem(t, "no such key", httpmw.ProblemNotFound, http.StatusNotFound)
	b.call("DELETE", "keys/"+id, nil).ok(t, "remove", zero(&d))
	if len(d.Account.Keys) != 0 || d.Notice != "The security key is removed." {
		t.Fatalf("remove: %+v", d)
	}
}

// zero empties *p for a new answer: json.Unmarshal keeps what a field the
// answer leaves out held before.
func zero[T any](p *T) *T {
	var z T
	*p = z
	return p
}
