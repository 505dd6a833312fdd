package httpmw_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofa-go/twofa"
	chrome "github.com/twofa-go/twofa/internal/browser"
)

// TestPolicyPagesInChromium looks at the policy's notice on the default
// pages at 390 px: the challenge of a keys-only user with an app in the
// grace period (a status with the days left), then past the deadline (an
// alert), and the settings the app's code then leads to. Each is laid out
// without overlap and axe-core clean.
func TestPolicyPagesInChromium(t *testing.T) {
	a, pol := newPolicyApp(t)
	code := a.enroll("kim")
	pol.set("kim", twofa.Policy{PhishingResistant: true, Deadline: a.clock.Now().Add(36 * time.Hour)}, nil)
	axe := chrome.AxeSource(t)
	tab := chrome.New(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// notice waits for the page, looks at it, and returns the notice's
	// text and role.
	notice := func() (string, string) {
		t.Helper()
		run("wait for the notice", chromedp.WaitVisible(chromedp.ID("policy-notice")), chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
		loc, _ := chromedp.Run(tab, chromedp.Location())
		if problems, err := chrome.Layout(tab); err != nil || len(problems) > 0 {
			t.Errorf("at 390 px, %s: %v %v", loc, problems, err)
		}
		if axe != "" {
			if v, err := chrome.Axe(tab, axe); err != nil || len(v) > 0 {
				t.Errorf("axe-core at %s: %v %v", loc, v, err)
			}
		}
		text, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("policy-notice")))
		role, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("policy-notice").getAttribute("role")`))
		return text, role
	}
	login := `fetch("/login", {method: "POST", body: new URLSearchParams({user: "kim"})}).then(r => r.status)`
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(a.srv.URL+"/2fa/static/twofa.css"))
	if status, err := chromedp.Run(tab, chromedp.Evaluate[int](login, chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("log in: %d %v", status, err)
	}

	run("challenge in the grace period", chromedp.Navigate(a.srv.URL+"/2fa/"))
	if text, role := notice(); !strings.Contains(text, "Add one within 2 days") || role != "status" {
		t.Fatalf("the challenge's notice in the grace period: %q (%s)", text, role)
	}
	a.clock.Add(36 * time.Hour)
	run("challenge past the deadline", chromedp.Navigate(a.srv.URL+"/2fa/?next=/account"))
	if text, role := notice(); !strings.Contains(text, "requires a security key or passkey") || role != "alert" {
		t.Fatalf("the challenge's notice past the deadline: %q (%s)", text, role)
	}
	run("the app's code", chromedp.SetValue(chromedp.ID("code"), code()), chromedp.Click(chromedp.ID("verify")))
	// /account sends the user on to the settings, to add a key.
	run("on to the settings", chromedp.WaitVisible(chromedp.ID("add-key")))
	if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.HasSuffix(loc, "/2fa/settings") {
		t.Fatalf("after the app's code, past the deadline: at %s", loc)
	}
	if text, role := notice(); !strings.Contains(text, "Add one below to go on") || role != "alert" {
		t.Fatalf("the settings' notice past the deadline: %q (%s)", text, role)
	}
}
