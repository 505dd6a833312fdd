package httpmw_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/twofa-go/twofa"

	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/webauthn"
)

// The pages as a person meets them: where each leads (no dead end), what
// asks first, and the words and attributes each case gets. The browser
// test of examples/webapp shows the same in Chromium.

// TestNoDeadEnds: the default layout names the application and leads
// home; a GET of every route that only answers a POST lands on a page; a
// user sent to set up is told why; a first method goes on to backup codes.
func TestNoDeadEnds(t *testing.T) {
	a := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) { mc.RequireSetUp = true; mc.Home = "/account" })
	b := a.browser()
	b.login("erin")

	// Sent to the settings to set up, and told why.
	got := b.get("/account")
	if got.status != http.StatusSeeOther || got.location != "/2fa/settings" {
		t.Fatalf("a user with no method under RequireSetUp: %d %q", got.status, got.location)
	}
	page := b.passes(got.location).body
	for _, want := range []string{
		`<a href="/account" class="brand">Acme</a>`,
		`<a href="/account" id="twofa-home">Home</a>`,
		`id="setup-required">Acme asks every account for a second step at login.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("settings under RequireSetUp: no %s in\n%s", want, page)
		}
	}

	// Every POST-only route, fetched with GET (a bookmark, a reload):
	// a redirect to the page its form is on.
	posts := 0
	for _, rt := range httpmw.Routes(a.mw) {
		if rt.Method != "POST" {
			continue
		}
		posts++
		want := "/2fa/settings"
		switch rt.Path {
		case "/2fa/verify", "/2fa/email", "/2fa/key/begin", "/2fa/key/finish":
			want = "/2fa/"
		case "/2fa/invite":
			want = "/account" // no invitation to show: on to the next page, here Home
		}
		if got := b.get(rt.Path); got.status != http.StatusSeeOther || got.location != want {
			t.Errorf("GET %s: %d %q, want a redirect to %s", rt.Path, got.status, got.location, want)
		}
	}
	if posts < 10 {
		t.Fatalf("only %d POST routes walked", posts)
	}

	// A first method, codes by e-mail, goes on to backup codes at once.
	got = b.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}})
	if got.status != http.StatusOK || strings.Count(got.body, "</code></li>") != 10 ||
		!strings.Contains(got.body, "Codes by e-mail are turned on.") || !strings.Contains(got.body, `id="codes-saved">I have saved them`) {
		t.Fatalf("first method: %d %q %.300s", got.status, got.location, got.body)
	}
	// A second method does not: the codes are there.
	a.clock.Add(time.Minute)
	b.post("/2fa/totp/begin", nil)
	secret := pageSecret(t, b.passes("/2fa/totp").body)
	if got := b.post("/2fa/totp/confirm", url.Values{"code": {appCode(t, secret, a)}}); got.status != http.StatusSeeOther || got.location != "/2fa/settings?done=totp" {
		t.Fatalf("second method: %d %q", got.status, got.location)
	}
}

// TestAsksFirst: every destructive action shows a confirm page first, a
// form that posts its own fields again with confirm=1, and changes nothing
// until then.
func TestAsksFirst(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("frank")
	code := a.enroll("frank")
	b.pass(code)
	// A second method with no backup codes yet goes on to them too.
	if got := b.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}}); got.status != http.StatusOK || strings.Count(got.body, "</code></li>") != 10 {
		t.Fatalf("first backup codes: %d", got.status)
	}
	a.clock.Add(time.Minute)
	account := func() twofa.Account {
		acc, err := a.tf.Account(ctx, "frank")
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		words      string
		// done reports whether the action was done
		done func(twofa.Account) bool
	}{
		{"remove the app", "/2fa/method", url.Values{"method": {"totp"}, "action": {"remove"}},
			"Remove your authenticator app?", func(acc twofa.Account) bool { return acc.Status(twofa.TOTP) == twofa.NotSetUp }},
		{"new backup codes", "/2fa/backup", url.Values{},
			"Your 10 unused backup codes stop working", func(acc twofa.Account) bool {
				return acc.BackupRemaining == 10 && acc.Status(twofa.Backup) == twofa.Enabled
			}},
		{"remove backup codes", "/2fa/method", url.Values{"method": {"backup"}, "action": {"remove"}},
			"Remove your backup codes?", func(acc twofa.Account) bool { return acc.Status(twofa.Backup) == twofa.NotSetUp }},
		{"remove e-mail codes, the last method", "/2fa/method", url.Values{"method": {"email"}, "action": {"remove"}},
			"your password alone logs you in", func(acc twofa.Account) bool { return acc.Status(twofa.Email) == twofa.NotSetUp }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := account()
			got := b.post(tc.path, tc.form)
			if got.status != http.StatusOK || !strings.Contains(got.body, tc.words) || !strings.Contains(got.body, `<input type="hidden" name="confirm" value="1">`) ||
				!strings.Contains(got.body, `action="`+tc.path+`"`) || !strings.Contains(got.body, `href="/2fa/settings" id="confirm-cancel">Cancel</a>`) {
				t.Fatalf("first post: %d %q\n%s", got.status, got.location, got.body)
			}
			for k, vs := range tc.form {
				if !strings.Contains(got.body, `<input type="hidden" name="`+k+`" value="`+vs[0]+`">`) {
					t.Errorf("the confirm form lacks %s=%s", k, vs[0])
				}
			}
			if after := account(); tc.name != "new backup codes" && tc.done(after) || after.BackupRemaining != before.BackupRemaining {
				t.Fatalf("done before it was confirmed: %+v", after)
			}
			form := url.Values{"confirm": {"1"}}
			for k, v := range tc.form {
				form[k] = v
			}
			if got := b.post(tc.path, form); got.status >= 400 || !tc.done(account()) {
				t.Fatalf("confirmed: %d %q, account %+v", got.status, got.location, account())
			}
			a.clock.Add(time.Minute)
		})
	}
}

// TestAsksFirstForAKey: removing a security key names it and asks first.
func TestAsksFirstForAKey(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("alice")
	b.pass(a.enroll("alice"))
	id := addKey(t, a, b, "alice", "Blue key")
	got := b.post("/2fa/keys/remove", url.Values{"id": {id}})
	if got.status != http.StatusOK || !strings.Contains(got.body, "Remove the security key \u201cBlue key\u201d?") {
		t.Fatalf("remove a key: %d\n%s", got.status, got.body)
	}
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Keys) != 1 {
		t.Fatal("the key went before it was confirmed")
	}
	if got := b.post("/2fa/keys/remove", url.Values{"id": {"no-such-key"}}); got.status != http.StatusNotFound {
		t.Fatalf("ask about a key that is not there: %d", got.status)
	}
	if got := b.post("/2fa/keys/remove", url.Values{"id": {id}, "confirm": {"1"}}); got.status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d", got.status)
	}
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Keys) != 0 {
		t.Fatal("the key is still there")
	}
}

var codeField = regexp.MustCompile(`<input id="code"[^>]*>`)

// TestChallengeWords: each failed code gets words for its case, the
// field's attributes follow, and the tries left before a lock are told.
func TestChallengeWords(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("gina")
	code := a.enroll("gina")

	// Only the app: digits only, the number pad.
	page := b.get("/2fa/").body
	if f := codeField.FindString(page); !strings.Contains(f, `inputmode="numeric"`) || strings.Contains(f, "aria-invalid") {
		t.Fatalf("code field with the app alone: %s", f)
	}
	got := b.post("/2fa/verify", url.Values{"code": {"abc"}})
	if !strings.Contains(got.body, "That is not a code. A code from your authenticator app is digits only, such as 123456.") ||
		strings.Contains(got.body, "backup code is") {
		t.Errorf("malformed code, app alone:\n%s", got.body)
	}

	// Backup codes too: the field takes letters, and both shapes are told.
	b.pass(code)
	codes := newCodes(t, b)
	other := a.browser()
	other.login("gina")
	page = other.get("/2fa/").body
	if f := codeField.FindString(page); strings.Contains(f, "inputmode") {
		t.Fatalf("code field with backup codes: %s", f)
	}
	for _, tc := range []struct {
		name, code string
		words      []string
	}{
		{"malformed", "12-ab", []string{"That is not a code. A code from your authenticator app is digits only, such as 123456. A backup code is ten letters and digits, such as abcde-fghij."}},
		{"wrong", "999999", []string{"That code did not work.", "19 more wrong codes lock the second step of this account."}},
		{"used backup code", codes[0], []string{"That backup code was already used: each works once."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "used backup code" {
				third := a.browser()
				third.login("gina")
				if got := third.post("/2fa/verify", url.Values{"code": {tc.code}}); got.status != http.StatusSeeOther {
					t.Fatalf("the backup code, first use: %d", got.status)
				}
			}
			got := other.post("/2fa/verify", url.Values{"code": {tc.code}})
			if got.status != http.StatusUnauthorized {
				t.Fatalf("status %d", got.status)
			}
			for _, w := range tc.words {
				if !strings.Contains(got.body, w) {
					t.Errorf("no %q in\n%s", w, got.body)
				}
			}
			if strings.Contains(got.body, "Wait for") {
				t.Errorf("told to wait for a next code:\n%s", got.body)
			}
			f := codeField.FindString(got.body)
			if !strings.Contains(f, `aria-invalid="true"`) || !strings.Contains(f, `aria-describedby="error tries-left"`) ||
				!strings.Contains(got.body, `id="error">`) || !strings.Contains(got.body, `id="tries-left">`) {
				t.Errorf("code field after an error: %s", f)
			}
		})
	}

	// A replayed app code is told to wait for the app's next code.
	c := code()
	third := a.browser()
	third.login("gina")
	third.post("/2fa/verify", url.Values{"code": {c}})
	if got := other.post("/2fa/verify", url.Values{"code": {c}}); !strings.Contains(got.body, "Wait for the app to show the next code") {
		t.Errorf("replayed app code:\n%s", got.body)
	}
}

// TestSettingsWords: the settings mention only the methods this
// application offers, and mark this browser among the remembered ones.
func TestSettingsWords(t *testing.T) {
	appOnly := func(tc *twofa.Config, _ *httpmw.Config) { tc.WebAuthn = webauthn.Config{}; tc.Mailer = nil }
	for _, c := range []struct {
		name      string
		opts      []option
		intro     string
		notListed []string
	}{
		{"every method", nil, "an authenticator app, a security key or codes by e-mail.", nil},
		{"the app alone", []option{appOnly}, "you will also need an authenticator app.</p>", []string{"security key", "by e-mail"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newApp(t, c.opts...)
			b := a.browser()
			b.login("hal")
			page := b.passes("/2fa/settings").body
			if !strings.Contains(page, c.intro) {
				t.Errorf("intro: no %q in\n%s", c.intro, page)
			}
			for _, w := range c.notListed {
				if strings.Contains(strings.ToLower(page), w) {
					t.Errorf("%q mentioned, not offered:\n%s", w, page)
				}
			}
		})
	}

	a := newApp(t)
	mine, other := a.browser(), a.browser()
	mine.login("ivy")
	other.login("ivy")
	code := a.enroll("ivy")
	other.pass(code, "remember", "1")
	mine.pass(code, "remember", "1")
	page := mine.passes("/2fa/settings").body
	if strings.Count(page, `id="this-browser">this browser</span>`) != 1 {
		t.Fatalf("this browser not marked once:\n%s", page)
	}
	acc, _ := a.tf.Account(ctx, "ivy")
	// The browser remembered last is this one, and the mark is on its row.
	row := regexp.MustCompile(`(?s)<tr>\s*<td>[^<]*<span class="tag" id="this-browser">.*?value="([^"]+)"`).FindStringSubmatch(page)
	if len(acc.Browsers) != 2 || row == nil || row[1] != acc.Browsers[1].ID {
		t.Fatalf("the mark is on the wrong row: %v, browsers %+v", row, acc.Browsers)
	}
	// A browser that is not remembered has no mark.
	third := a.browser()
	third.login("ivy")
	third.pass(code)
	if strings.Contains(third.passes("/2fa/settings").body, `id="this-browser"`) {
		t.Fatal("a browser not remembered is marked as this browser")
	}
}

// addKey adds a security key named name through the pages' JSON endpoints
// and returns its ID.
func addKey(t *testing.T, a *app, b *browser, user, name string) string {
	t.Helper()
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": name})
	if status != http.StatusOK {
		t.Fatalf("keys/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Attest(t, virtualkey.RP, begin["options"])
	if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		t.Fatalf("keys/finish: %d %s", status, answer["error"])
	}
	acc, _ := a.tf.Account(ctx, user)
	for _, k := range acc.Keys {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no key %q after adding it", name)
	return ""
}

func pageSecret(t *testing.T, html string) string { return fake.PageSecret(t, html) }

func appCode(t *testing.T, secret string, a *app) string {
	return fake.AppCode(t, secret, a.clock.Now())
}

// newCodes makes a first set of backup codes through the settings and
// returns them as the page shows them.
func newCodes(t *testing.T, b *browser) []string {
	t.Helper()
	got := b.post("/2fa/backup", nil)
	codes := regexp.MustCompile(`<code>([a-z0-9-]+)</code></li>`).FindAllStringSubmatch(got.body, -1)
	if got.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("backup codes: %d %.300s", got.status, got.body)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return out
}
