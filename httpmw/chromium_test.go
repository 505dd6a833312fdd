package httpmw_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	chrome "github.com/twofa-go/twofa/internal/browser"
	"github.com/twofa-go/twofa/internal/fake"
)

// TestDefaultPagesInChromium walks the default pages, in their default
// layout, in Chromium at phone width: the settings, the set-up, the first
// backup codes, a confirm page and the challenge with and without an
// error. On each, no text is drawn over other text, nothing is wider than
// the screen, and axe-core finds no WCAG 2.1 A or AA violation. (The
// example's walk checks the same pages in an application's own layout.)
func TestDefaultPagesInChromium(t *testing.T) {
	a := newApp(t)
	axe := chrome.AxeSource(t)
	tab := chrome.New(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// check waits for the page showing id, then looks at it.
	check := func(id string) {
		t.Helper()
		run("wait for #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
		loc, _ := chromedp.Run(tab, chromedp.Location())
		problems, err := chrome.Layout(tab)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("at 390 px, %s:\n\t%s", loc, strings.Join(problems, "\n\t"))
		}
		if axe == "" {
			return
		}
		violations, err := chrome.Axe(tab, axe)
		if err != nil {
			t.Fatal(err)
		}
		if len(violations) > 0 {
			t.Errorf("axe-core at %s:\n\t%s", loc, strings.Join(violations, "\n\t"))
		}
	}
	login := `fetch("/login", {method: "POST", body: new URLSearchParams({user: "kim"})}).then(r => r.status)`
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(a.srv.URL+"/2fa/static/twofa.css"))
	if status, err := chromedp.Run(tab, chromedp.Evaluate[int](login, chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("log in: %d %v", status, err)
	}

	run("settings", chromedp.Navigate(a.srv.URL+"/2fa/settings"))
	check("totp-setup")
	if home, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("twofa-home"))); home != "Home" {
		t.Fatalf("the default layout's way back: %q", home)
	}
	run("set up", chromedp.Click(chromedp.ID("totp-setup")))
	check("secret")
	secret, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("secret")))
	if err != nil {
		t.Fatal(err)
	}
	// Values set as properties: see enterCode in examples/webapp.
	run("wrong code", chromedp.SetValue(chromedp.ID("code"), "000000"), chromedp.Click(chromedp.ID("save")))
	check("error")
	run("code", chromedp.SetValue(chromedp.ID("code"), fake.AppCode(t, secret, a.clock.Now())), chromedp.Click(chromedp.ID("save")))
	check("codes")
	run("saved", chromedp.Click(chromedp.ID("codes-saved")))
	check("totp-remove")
	run("remove the app", chromedp.Click(chromedp.ID("totp-remove")))
	check("confirm")
	a.clock.Add(30 * time.Second)

	// A new login: the challenge, then a wrong code.
	if status, err := chromedp.Run(tab, chromedp.Evaluate[int](login, chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("log in again: %d %v", status, err)
	}
	run("challenge", chromedp.Navigate(a.srv.URL+"/2fa/"))
	check("verify")
	run("wrong code", chromedp.SetValue(chromedp.ID("code"), "000000"), chromedp.Click(chromedp.ID("verify")))
	check("tries-left")
}
