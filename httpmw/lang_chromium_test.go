package httpmw_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	chrome "github.com/twofa-go/twofa/internal/browser"
	"github.com/twofa-go/twofa/internal/fake"
)

// TestGermanPagesInChromium walks one set-up of the authenticator app and
// one login with it in Chromium, whose requests ask for German
// (Accept-Language: de-DE,de), at desktop width and at 390 px: every page
// is in German with <html lang="de">, axe-core finds no violation, nothing
// is drawn over anything else at phone width, and the script's messages
// are German. A screenshot of each page is kept in the test's artifact
// directory: go test -v -artifacts -outputdir DIR -run
// TestGermanPagesInChromium ./httpmw keeps them in DIR/_artifacts/<n>/ (one
// directory per width, which -v names on its "=== ARTIFACTS" lines):
// settings.png, totp.png, totp-wrong-code.png, codes.png,
// settings-done.png, challenge.png, challenge-wrong-code.png. Without
// -artifacts they go to a temporary directory (testing.T.ArtifactDir).
// With TWOFA_SCREENSHOTS set, the desktop ones go there too, named de-*.png
// (the README shows docs/screenshots/de-settings.png).
func TestGermanPagesInChromium(t *testing.T) {
	axe := chrome.AxeSource(t)
	for _, width := range []int{1200, 390} {
		t.Run(map[int]string{1200: "desktop", 390: "phone"}[width], func(t *testing.T) {
			germanWalk(t, axe, width)
		})
	}
}

func germanWalk(t *testing.T, axe string, width int) {
	a := newApp(t)
	tab := chrome.New(t)
	shots := t.ArtifactDir()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// look waits for the page showing id, checks it speaks German, is
	// accessible and fits, and keeps a screenshot of it.
	look := func(name, id string, german ...string) {
		t.Helper()
		run("wait for #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
		loc, _ := chromedp.Run(tab, chromedp.Location())
		if lang, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.lang + "/" + document.documentElement.dir`)); err != nil || lang != "de/ltr" {
			t.Errorf("%s: <html lang dir> = %q %v, want de/ltr", loc, lang, err)
		}
		body := text("body")
		for _, w := range german {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in the page:\n%s", loc, w, body)
			}
		}
		if width == 390 {
			problems, err := chrome.Layout(tab)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) > 0 {
				t.Errorf("at 390 px, %s:\n\t%s", loc, strings.Join(problems, "\n\t"))
			}
		}
		if axe != "" {
			violations, err := chrome.Axe(tab, axe)
			if err != nil {
				t.Fatal(err)
			}
			if len(violations) > 0 {
				t.Errorf("axe-core at %s:\n\t%s", loc, strings.Join(violations, "\n\t"))
			}
		}
		if err := chrome.Screenshot(tab, filepath.Join(shots, name+".png")); err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("TWOFA_SCREENSHOTS"); dir != "" && width == 1200 {
			if err := chrome.Screenshot(tab, filepath.Join(dir, "de-"+name+".png")); err != nil {
				t.Fatal(err)
			}
		}
	}

	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "de-DE,de;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	login := `fetch("/login", {method: "POST", body: new URLSearchParams({user: "kim"})}).then(r => r.status)`
	run("size", chromedp.EmulateViewport(int64(width), 900), chromedp.Navigate(a.srv.URL+"/2fa/static/twofa.css"))
	if status, err := chromedp.Run(tab, chromedp.Evaluate[int](login, chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("log in: %d %v", status, err)
	}

	// The set-up.
	run("settings", chromedp.Navigate(a.srv.URL+"/2fa/settings"))
	look("settings", "totp-setup", "Zwei-Faktor-Authentifizierung", "Authenticator-App", "nicht eingerichtet", "Sicherheitsschlüssel und Passkeys")
	// The script's message, in German: this browser has no authenticator,
	// so adding a key fails, and says so in the page's language.
	run("add a key", chromedp.SetValue(chromedp.ID("key-name"), "Blauer Schlüssel"), chromedp.Click(chromedp.ID("add-key")))
	run("the script's message", chromedp.WaitVisible(chromedp.CSS(`[data-twofa-error]`)))
	if msg := text(`[data-twofa-error]`); msg == "" || !strings.Contains(msg, "Sicherheitsschlüssel") && !strings.Contains(msg, "Etwas ist schiefgelaufen") {
		t.Errorf("the script's message: %q, want German", msg)
	}
	run("set up", chromedp.Click(chromedp.ID("totp-setup")))
	look("totp", "secret", "Authenticator-App einrichten", "Scannen Sie diesen QR-Code")
	secret := text("#secret")
	run("wrong code", chromedp.SetValue(chromedp.ID("code"), "000000"), chromedp.Click(chromedp.ID("save")))
	look("totp-wrong-code", "error", "Dieser Code hat nicht funktioniert.")
	run("code", chromedp.SetValue(chromedp.ID("code"), fake.AppCode(t, secret, a.clock.Now())), chromedp.Click(chromedp.ID("save")))
	look("codes", "codes", "Letzter Schritt: Back-up-Codes speichern", "Ich habe sie gespeichert")
	run("saved", chromedp.Click(chromedp.ID("codes-saved")))
	look("settings-done", "totp-remove", "Ihre Back-up-Codes sind gespeichert.", "aktiviert", "Authenticator-App hinzugefügt")
	a.clock.Add(30 * time.Second)

	// The login: the challenge, a wrong code, the right one.
	if status, err := chromedp.Run(tab, chromedp.Evaluate[int](login, chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("log in again: %d %v", status, err)
	}
	run("challenge", chromedp.Navigate(a.srv.URL+"/2fa/?next=/account"))
	look("challenge", "verify", "Code eingeben", "Bestätigen")
	run("wrong code", chromedp.SetValue(chromedp.ID("code"), "000000"), chromedp.Click(chromedp.ID("verify")))
	look("challenge-wrong-code", "tries-left", "Dieser Code hat nicht funktioniert.", "falsche Codes sperren")
	run("right code", chromedp.SetValue(chromedp.ID("code"), fake.AppCode(t, secret, a.clock.Now())), chromedp.Click(chromedp.ID("verify")))
	// The poll is cut off while the page navigates: ask again then.
	var err error
	for range 10 {
		if _, err = chromedp.Run(tab, chromedp.Poll[chromedp.Void](`location.pathname === "/account"`)); err == nil {
			break
		}
	}
	if err != nil {
		loc, _ := chromedp.Run(tab, chromedp.Location())
		t.Fatalf("after the code: %q %v, want /account", loc, err)
	}
}
