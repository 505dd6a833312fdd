package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofa-go/twofa/internal/browser"
)

// TestBrowserOutOfPolicy looks at the policy's pages in Chromium: the home
// page's notice of the days left in the grace period, then an
// administrator past the deadline of a keys-only policy lands on the
// settings with the notice as an alert, adds a key with the virtual
// authenticator, and reads the "Out of policy" list of the administrator
// page; each page at 390 px and at desktop width, laid out without
// overlap, and axe-core clean.
func TestBrowserOutOfPolicy(t *testing.T) {
	tab := browser.New(t)
	if _, err := browser.VirtualAuthenticator(tab); err != nil {
		t.Fatal(err)
	}
	p := walker(t, tab, func(c *config) {
		c.Policy = policyConfig{Require: true, Deadline: c.Now().Add(6 * time.Hour), AdminKeys: true}
	})
	clock := p.clock
	both := func() {
		t.Helper()
		// person.check runs at phone width; then once more at desktop
		// width, axe included.
		p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
		p.check()
		p.step("desktop width", chromedp.EmulateViewport(1200, 900))
		p.checked = map[string]bool{}
		if problems, err := browser.Layout(p.tab); err != nil || len(problems) > 0 {
			t.Errorf("desktop layout at %s: %v %v", p.location(), problems, err)
		}
		if p.axe != "" {
			if v, err := browser.Axe(p.tab, p.axe); err != nil || len(v) > 0 {
				t.Errorf("axe-core at desktop width at %s: %v %v", p.location(), v, err)
			}
		}
		p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	}

	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	// In the grace period, the demo user passes, and the home page says
	// how long is left.
	p.login("demo@example.com", "demo-password", "policy-grace")
	if n := p.text("policy-grace"); !strings.Contains(n, "set it up within 1 day") {
		t.Fatalf("the home page's notice: %q", n)
	}
	both()
	p.logout(false)

	// Past the deadline, an administrator with nothing set up.
	clock.Add(6 * time.Hour)
	p.login("admin@example.com", "admin-password", "policy-notice")
	if !strings.HasSuffix(p.location(), "/2fa/settings") {
		t.Fatalf("an administrator past the deadline landed at %s", p.location())
	}
	if n := p.text("policy-notice"); !strings.Contains(n, "Your organisation requires a security key or passkey") ||
		eval[string](p, `document.getElementById("policy-notice").getAttribute("role")`) != "alert" {
		t.Fatalf("the settings' notice: %q", n)
	}
	both()

	p.navigate("add a key", "webauthn-disable",
		chromedp.SetValue(chromedp.ID("key-name"), "Virtual key"),
		chromedp.Click(chromedp.ID("add-key")))
	p.open("/admin", "out-of-policy")
	if s := p.text("oop-demo-example-com"); !strings.Contains(s, "Past the deadline: no second factor") {
		t.Fatalf("the demo user's row: %q", s)
	}
	if eval[bool](p, `document.getElementById("oop-admin-example-com") !== null`) {
		t.Fatal("the administrator with a key is listed out of policy")
	}
	both()
}
