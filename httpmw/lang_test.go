package httpmw_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// speaking is a RoundTripper that sends every request with an
// Accept-Language header and a browser's User-Agent, as a browser does.
type speaking struct {
	lang string
	next http.RoundTripper
}

func (s speaking) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", s.lang)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
	return s.next.RoundTrip(r)
}

// speaker is a browser of a with Accept-Language lang.
func (a *app) speaker(lang string) *browser {
	b := a.browser()
	b.c.Transport = speaking{lang, b.c.Transport}
	return b
}

// shown is what a person was shown: a page, or a problem's title and
// detail.
type shown struct {
	what  string
	texts []string
}

// walkPages goes through every page the pages and the API show, in each
// state a test app reaches, with a browser that asks for lang, and returns
// what each showed. It fails the test where a step does not land where it
// should, so that no page is left out quietly.
func walkPages(t *testing.T, lang string) []shown {
	t.Helper()
	a := newApp(t)
	var out []shown
	page := func(what string, got answer, status int) answer {
		t.Helper()
		if got.status != status {
			t.Fatalf("%s: status %d, want %d; %.300s", what, got.status, status, got.body)
		}
		if !strings.Contains(got.body, `<html lang="`) {
			t.Fatalf("%s: not a page: %.200s", what, got.body)
		}
		out = append(out, shown{what, visibleText(got.body)})
		return got
	}
	problem := func(what string, got answer, status int) {
		t.Helper()
		var p httpmw.Problem
		if err := json.Unmarshal([]byte(got.body), &p); err != nil || got.status != status || p.Detail == "" || p.Title == "" {
			t.Fatalf("%s: %d %q, want a problem with status %d", what, got.status, got.body, status)
		}
		out = append(out, shown{what + " (problem)", []string{p.Title, p.Detail}})
	}
	redirect := func(what string, got answer) string {
		t.Helper()
		if got.status != http.StatusSeeOther {
			t.Fatalf("%s: status %d, want a redirect; %.300s", what, got.status, got.body)
		}
		return got.location
	}

	// A user with no method: the settings, the app's set-up, its errors.
	b := a.speaker(lang)
	b.login("uma")
	page("settings, no method", b.get("/2fa/settings"), 200)
	for _, e := range []string{"name", "primary", "expired"} {
		page("settings error "+e, b.get("/2fa/settings?error="+e), 200)
	}
	redirect("app set-up", b.post("/2fa/totp/begin", nil))
	secret := pageSecret(t, page("app set-up", b.get("/2fa/totp"), 200).body)
	page("app set-up, wrong code", b.post("/2fa/totp/confirm", url.Values{"code": {"000000"}}), 401)
	page("app set-up, not a code", b.post("/2fa/totp/confirm", url.Values{"code": {"abc"}}), 401)
	page("first backup codes", b.post("/2fa/totp/confirm", url.Values{"code": {appCode(t, secret, a)}}), 200)
	a.clock.Add(30 * time.Second)
	for _, done := range []string{"totp", "disabled", "enabled", "removed", "emailon", "renamed", "keyremoved", "revoked", "revokedall", "cancelled", "saved"} {
		page("settings notice "+done, b.get("/2fa/settings?done="+done), 200)
	}
	page("confirm new codes", b.post("/2fa/backup", nil), 200)
	a.clock.Add(time.Minute)
	page("new codes", b.post("/2fa/backup", url.Values{"confirm": {"1"}}), 200)
	page("new codes too soon", b.post("/2fa/backup", url.Values{"confirm": {"1"}}), 429)
	page("confirm remove app", b.post("/2fa/method", url.Values{"method": {"totp"}, "action": {"remove"}}), 200)
	page("confirm remove codes", b.post("/2fa/method", url.Values{"method": {"backup"}, "action": {"remove"}}), 200)
	redirect("turn off the app", b.post("/2fa/method", url.Values{"method": {"totp"}, "action": {"disable"}}))
	page("settings, app off, backup codes alone", b.get("/2fa/settings"), 200)
	redirect("turn on the app", b.post("/2fa/method", url.Values{"method": {"totp"}, "action": {"enable"}}))
	redirect("turn on e-mail", b.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}}))
	page("confirm remove e-mail", b.post("/2fa/method", url.Values{"method": {"email"}, "action": {"remove"}}), 200)
	redirect("move phone", b.post("/2fa/totp/begin", nil))
	page("settings, moving phone", b.get("/2fa/settings"), 200)
	page("move phone", b.get("/2fa/totp"), 200)
	redirect("cancel", b.post("/2fa/totp/cancel", nil))
	id := addKey(t, a, b, "uma", "Blue key")
	page("settings with a key", b.get("/2fa/settings"), 200)
	page("confirm remove key", b.post("/2fa/keys/remove", url.Values{"id": {id}}), 200)
	page("confirm remove keys", b.post("/2fa/method", url.Values{"method": {"webauthn"}, "action": {"remove"}}), 200)

	// The challenge, in its states.
	c := a.speaker(lang)
	c.login("uma")
	page("challenge", c.get("/2fa/"), 200)
	page("challenge step-up", c.get("/2fa/?stepup=1"), 200)
	page("challenge, not a code", c.post("/2fa/verify", url.Values{"code": {"12-ab"}}), 401)
	page("challenge, wrong code", c.post("/2fa/verify", url.Values{"code": {"999999"}}), 401)
	loc := redirect("send e-mail", c.post("/2fa/email", nil))
	page("challenge, e-mail sent", c.get(loc), 200)
	page("challenge, e-mail again too soon", c.post("/2fa/email", nil), 429)
	for range 25 {
		if got := c.post("/2fa/verify", url.Values{"code": {"999999"}}); got.status == http.StatusTooManyRequests {
			break
		}
	}
	page("challenge, throttled", c.post("/2fa/verify", url.Values{"code": {"999999"}}), 429)
	page("challenge, throttled, reloaded", c.get("/2fa/"), 200)
	// On to a lock that ends by itself, told with its end.
	for i := 0; ; i++ {
		acc, err := a.tf.Account(ctx, "uma")
		if err != nil || i == 200 {
			t.Fatalf("no lock after %d attempts: %v", i, err)
		}
		var te *twofa.ThrottledError
		if errors.As(acc.Throttle, &te) && te.RetryAt.Sub(a.clock.Now()) >= 15*time.Minute {
			break
		}
		if te != nil {
			a.clock.Add(te.RetryAt.Sub(a.clock.Now()))
		}
		c.post("/2fa/verify", url.Values{"code": {"999999"}})
	}
	page("challenge, locked for a while", c.get("/2fa/"), 200)
	problem("API: locked", c.call("POST", "verify", map[string]string{"code": "999999"}), 429)
	a.clock.Add(24 * time.Hour)

	// An application that asks every user to set up a method.
	req := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) { mc.RequireSetUp = true })
	rb := req.speaker(lang)
	rb.login("wes")
	page("settings, set-up required", rb.get("/2fa/settings"), 200)

	// A remembered browser in the list, and the activity.
	r := a.speaker(lang)
	r.login("uma")
	r.pass(func() string { return appCode(t, secret, a) }, "remember", "1")
	page("settings, remembered browser", r.get("/2fa/settings"), 200)

	// The API's problems, and its notices.
	problem("API: no route", b.call("GET", "nothing", nil), 404)
	problem("API: method", b.call("PUT", "challenge", nil), 405)
	problem("API: not JSON", b.call("POST", "verify", "code=1", "Content-Type", "text/plain"), 415)
	problem("API: bad JSON", b.call("POST", "verify", "{"), 400)
	problem("API: unknown field", b.call("POST", "verify", `{"cod":"1"}`), 400)
	problem("API: wrong type", b.call("POST", "verify", `{"code":1}`), 400)
	problem("API: wrong code", r.call("POST", "verify", map[string]string{"code": "999999"}), 401)
	problem("API: step-up", b.call("GET", "account", nil), 401)
	problem("API: no method", r.call("POST", "methods/sms/disable", nil), 404)
	problem("API: no browser", r.call("DELETE", "browsers/nope", nil), 404)
	problem("API: no key", r.call("DELETE", "keys/nope", nil), 404)
	problem("API: no set-up", r.call("GET", "totp", nil), 404)
	anon := a.speaker(lang)
	problem("API: not logged in", anon.call("GET", "challenge", nil), 401)
	problem("API: cross-origin", b.call("POST", "email", nil, "Sec-Fetch-Site", "cross-site"), 403)
	problem("guard: second step", c.do("GET", "/api/data", nil, "Accept", "application/json"), 401)
	got := r.call("POST", "totp/cancel", nil)
	var done struct{ Notice string }
	if json.Unmarshal([]byte(got.body), &done); got.status != 200 || done.Notice == "" {
		t.Fatalf("API notice: %d %s", got.status, got.body)
	}
	out = append(out, shown{"API notice", []string{done.Notice}})
	return out
}

// TestPagesTranslated walks every page and problem in each shipped
// language but English and finds no English sentence left; in English the
// same check finds English everywhere, so it reads the pages.
func TestPagesTranslated(t *testing.T) {
	cat := i18n.Default()
	for _, tag := range cat.Languages() {
		t.Run(tag.String(), func(t *testing.T) {
			shownPages := walkPages(t, tag.String()+";q=0.9,en;q=0.5")
			pieces := englishPieces(cat, tag)
			if tag == language.English {
				// The pieces of English in English are none: check the
				// walk against another language's pieces instead.
				pieces = englishPieces(cat, language.German)
				for _, s := range shownPages {
					if len(englishLeft(pieces, s.texts)) == 0 {
						t.Errorf("%s: the check finds no English in the English page: %q", s.what, s.texts)
					}
				}
				return
			}
			texts := 0
			for _, s := range shownPages {
				texts += len(s.texts)
				for _, left := range englishLeft(pieces, s.texts) {
					t.Errorf("%s: English left: %s", s.what, left)
				}
			}
			if len(shownPages) < 50 || texts < 1000 {
				t.Fatalf("walked %d pages with %d texts: too few", len(shownPages), texts)
			}
		})
	}
}

// TestCheckFindsEnglish feeds the check a German page with one English
// sentence left, in the text and in an attribute, and a German page with
// only allowed names.
func TestCheckFindsEnglish(t *testing.T) {
	pieces := englishPieces(i18n.Default(), language.German)
	tests := []struct {
		name, page string
		want       int
	}{
		{"German", `<html lang="de"><title>Acme · Zwei-Faktor-Authentifizierung</title><p>Verwenden Sie Ihren Sicherheitsschlüssel oder Passkey.</p><span class="tag">Passkey</span></html>`, 0},
		{"a sentence left", `<html lang="de"><p>Verwenden Sie Ihren Sicherheitsschlüssel oder Passkey.</p><p class="aside">That code did not work. Check it and try again.</p></html>`, 1},
		{"a sentence with its placeholder filled", `<p>Too many failed attempts. Try again in 5 Minuten.</p>`, 1},
		{"a button", `<button class="primary">Verify</button>`, 1},
		{"an attribute", `<input id="key-name" placeholder="YubiKey on my keyring">`, 1},
		{"the script's message", `<button data-msg-failed="Something went wrong. Try again in a moment.">Los</button>`, 1},
		{"a script is not text", `<script>const x = "That code did not work. Check it and try again.";</script>`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := englishLeft(pieces, visibleText(tt.page)); len(got) != tt.want {
				t.Errorf("found %q, want %d", got, tt.want)
			}
		})
	}
}

// TestLanguageChoice: the application's choice comes first, then
// Accept-Language; <html lang> follows, and the API's problems and the
// mails sent during the request speak it.
func TestLanguageChoice(t *testing.T) {
	choice := ""
	a := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) {
		mc.Language = func(*http.Request) string { return choice }
	})
	tests := []struct {
		choice, header, want, title string
	}{
		{"", "", "en", "Two-factor authentication"},
		{"", "de-CH,de;q=0.9", "de", "Zwei-Faktor-Authentifizierung"},
		{"", "pt-BR,uk;q=0.5", "uk", "Двофакторна автентифікація"},
		{"fr", "de", "fr", "Authentification à deux facteurs"},
		{"es-MX", "", "es", "Autenticación de dos factores"},
		{"xx-unknown", "de", "de", "Zwei-Faktor-Authentifizierung"},
		{"", "zh-CN", "en", "Two-factor authentication"},
	}
	for _, tt := range tests {
		t.Run(tt.choice+"|"+tt.header, func(t *testing.T) {
			choice = tt.choice
			b := a.browser()
			b.login("vic")
			got := b.do("GET", "/2fa/settings", nil, "Accept-Language", tt.header)
			if !strings.Contains(got.body, `<html lang="`+tt.want+`" dir="ltr">`) || !strings.Contains(got.body, "<h1>"+tt.title+"</h1>") ||
				got.header.Get("Content-Language") != tt.want {
				t.Fatalf("settings: %d %s %.400s", got.status, got.header.Get("Content-Language"), got.body)
			}
			p := b.call("DELETE", "keys/nope", nil, "Accept-Language", tt.header)
			want := i18n.Default().Printer(language.MustParse(tt.want)).T("problem.no-key")
			if !strings.Contains(p.body, `"detail":"`+want+`"`) {
				t.Errorf("problem: %s, want detail %q", p.body, want)
			}
		})
	}
}
