package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/twofa-go/twofa/internal/browser"
	twofawebauthn "github.com/twofa-go/twofa/webauthn"
)

// TestBrowserPasskey walks passkeys as a person meets them in Chromium,
// with its virtual authenticator: the invitation after a login with a
// code (declined, then not shown again on this browser; not shown at all
// where the browser has no platform authenticator; accepted), then the
// sign-in with the passkey from the login form's autofill.
//
// Headless Chromium supports conditional mediation
// (PublicKeyCredential.isConditionalMediationAvailable() is true), and
// its virtual authenticator answers a conditional request at once with
// the passkey it holds, as a person choosing it in the autofill would:
// the login page signs in by itself, through passkey.js and
// api/passkey/begin and finish, which is what the test checks. It fails,
// rather than falling back to the modal request, if that changes.
func TestBrowserPasskey(t *testing.T) {
	tab := browser.New(t)
	p := walker(t, tab, func(c *config) {
		c.InvitePasskey = true
		// Chromium's virtual authenticator reports this fixed AAGUID.
		c.KeyModels = map[twofawebauthn.AAGUID]string{{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}: "Chromium virtual key"}
	})
	clock := p.clock
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	const demo, demoPW = "demo@example.com", "demo-password"

	// A phone or laptop that keeps passkeys and checks who uses them.
	auth, err := authenticator(tab, true)
	if err != nil {
		t.Fatal(err)
	}

	// The login form offers passkeys in the e-mail field's autofill; with
	// none for this site, the password form works as before.
	p.open("/login", "login")
	if ac := eval[string](p, `document.getElementById("email").autocomplete`); ac != "username webauthn" {
		t.Fatalf("the e-mail field's autocomplete: %q", ac)
	}
	if !eval[bool](p, `PublicKeyCredential.isConditionalMediationAvailable()`) {
		t.Fatal("headless Chromium no longer offers conditional mediation: drive the modal request instead (window.twofaPasskey.signIn)")
	}
	p.step("desktop width", chromedp.EmulateViewport(1200, 900))
	p.check()
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	// With the keyboard, while the page's passkey request waits.
	p.keyboard("email", demo)
	p.keyboard("password", demoPW)
	p.press("login", kb.Enter, "twofa-status")

	// An authenticator app, the classic second step.
	p.click("settings", "totp-setup")
	p.click("totp-setup", "secret")
	phone := phoneFor(t, p.text("secret"), clock)
	p.enterCode(phone(), "save", "codes")
	p.click("codes-saved", "totp-move")
	clock.Add(30 * time.Second)
	p.logout(false)

	// The login with a code is followed by the invitation: seen at phone
	// and desktop width, with the keyboard, declined with "Not now".
	p.login(demo, demoPW, "verify")
	p.enterCode(phone(), "verify", "invite-create")
	clock.Add(30 * time.Second)
	if s := p.text("invite-later"); s != "Not now" {
		t.Fatalf("the invitation's decline reads %q", s)
	}
	p.shot("invite")
	p.step("desktop width", chromedp.EmulateViewport(1200, 900))
	p.check()
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	p.press("invite-later", kb.Enter, "twofa-status")
	p.onHome("authenticator app")
	if !hasCookie(p, "twofa-invite-later") {
		t.Fatal("Not now left no cookie")
	}

	// Not shown again on this browser.
	p.logout(false)
	p.login(demo, demoPW, "verify")
	p.enterCode(phone(), "verify", "twofa-status")
	clock.Add(30 * time.Second)
	p.onHome("authenticator app")

	// A browser without a platform authenticator is never invited: the
	// page goes on by itself.
	if _, err := chromedp.Call(tab, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: auth}); err != nil {
		t.Fatal(err)
	}
	deleteCookie(p, "twofa-invite-later")
	p.logout(false)
	p.login(demo, demoPW, "verify")
	p.enterCode(phone(), "verify", "twofa-status")
	clock.Add(30 * time.Second)
	p.onHome("authenticator app")
	if eval[bool](p, `document.getElementById("invite-create") !== null`) {
		t.Fatal("invited on a browser that cannot make a passkey")
	}

	// Accepted: the passkey is made on the authenticator, and the user
	// goes on.
	if auth, err = authenticator(tab, true); err != nil {
		t.Fatal(err)
	}
	deleteCookie(p, "twofa-invite-later")
	p.logout(false)
	p.login(demo, demoPW, "verify")
	p.enterCode(phone(), "verify", "invite-create")
	clock.Add(30 * time.Second)
	p.click("invite-create", "twofa-status")
	p.onHome("authenticator app")
	creds, err := chromedp.Call(tab, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("credentials after the invitation: %+v", creds.Credentials)
	}
	p.open("/2fa/settings", "webauthn")
	if tags := eval[string](p, `[...document.querySelectorAll("#webauthn .tag")].map(e => e.textContent).join(",")`); !strings.Contains(tags, "passkey") {
		t.Fatalf("the settings do not show a passkey: %q", tags)
	}
	// The invitation gives no name: the passkey is named after its model.
	if name := eval[string](p, `document.querySelector("#webauthn input[name=name]").value`); name != "Chromium virtual key" {
		t.Fatalf("the invited passkey's name on the settings: %q", name)
	}

	// The sign-in: the login page offers the passkey, the authenticator
	// answers as a person choosing it would, and the user is in, with no
	// password and no code.
	// Logging out lands on the login page, whose autofill the virtual
	// authenticator answers at once: the login page may be gone before a
	// wait for it would see it, so the step waits for the home page.
	p.step("log out, then sign in with the passkey", chromedp.Evaluate[chromedp.Void](`window.oldPage = true`),
		chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("twofa-status")))
	p.loaded("home after the passkey")
	p.onHome("passkey")
	p.open("/2fa/settings", "signed-in-passkey")
	log := eval[string](p, `document.body.textContent`)
	if !strings.Contains(log, "Signed in with a passkey, without a password") {
		t.Fatal("the security log does not show the passkey sign-in")
	}
}

// hasCookie reports whether the browser holds a cookie of that name for
// the site, HttpOnly ones included.
func hasCookie(p *person, name string) bool {
	p.t.Helper()
	res, err := chromedp.Call(p.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return true
		}
	}
	return false
}

func deleteCookie(p *person, name string) {
	p.t.Helper()
	if _, err := chromedp.Call(p.tab, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: p.base}); err != nil {
		p.t.Fatal(err)
	}
}
