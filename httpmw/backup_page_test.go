package httpmw_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
)

// Backup codes are a recovery method: the settings offer them only once an
// app, a key or e-mail codes is enabled, refuse to make them before, and
// say so when the last primary method goes and only backup codes are left.
func TestBackupCodesAfterPrimary(t *testing.T) {
	for _, c := range []struct {
		name   string
		setUp  func(a *app, b *browser)
		method twofa.Method
		action string
	}{
		{"e-mail removed", func(a *app, b *browser) {
			b.post("/2fa/method", url.Values{"method": {"email"}, "action": {"enable"}})
		}, twofa.Email, "remove"},
		{"app turned off", func(a *app, b *browser) {
			b.pass(a.enroll("dave"))
		}, twofa.TOTP, "disable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newApp(t)
			b := a.browser()
			b.login("dave")
			// No method yet: no backup codes on offer, none made.
			page := b.passes("/2fa/settings").body
			if strings.Contains(page, `id="backup-generate"`) || !strings.Contains(page, `id="backup-after"`) {
				t.Fatalf("backup codes offered before a primary method:\n%s", page)
			}
			got := b.post("/2fa/backup", nil)
			if got.status != http.StatusSeeOther || got.location != "/2fa/settings?error=primary" {
				t.Fatalf("backup codes before a primary method: %d %q", got.status, got.location)
			}
			if acc, _ := a.tf.Account(ctx, "dave"); acc.Status(twofa.Backup) != twofa.NotSetUp {
				t.Fatal("backup codes made before a primary method")
			}
			if !strings.Contains(b.passes(got.location).body, "first: backup codes stand in") {
				t.Fatal("no word on why")
			}

			c.setUp(a, b)
			page = b.passes("/2fa/settings").body
			if !strings.Contains(page, `id="backup-generate"`) || strings.Contains(page, `id="backup-alone"`) {
				t.Fatalf("no backup codes on offer after %s:\n%s", c.method, page)
			}
			// Enabling e-mail codes made the first set at once; the app
			// enrolled by the service made none.
			if acc, _ := a.tf.Account(ctx, "dave"); acc.Status(twofa.Backup) == twofa.NotSetUp {
				if got := b.post("/2fa/backup", nil); got.status != http.StatusOK || strings.Count(got.body, "</code></li>") != 10 {
					t.Fatalf("backup codes: %d", got.status)
				}
			}

			// The last primary method goes: the page says the codes alone
			// protect nothing, and offers no new ones.
			if got := b.post("/2fa/method", url.Values{"method": {string(c.method)}, "action": {c.action}, "confirm": {"1"}}); got.status != http.StatusSeeOther {
				t.Fatalf("%s %s: %d", c.action, c.method, got.status)
			}
			page = b.passes("/2fa/settings").body
			if !strings.Contains(page, `id="backup-alone"`) || strings.Contains(page, `id="backup-generate"`) {
				t.Fatalf("after the last primary method went:\n%s", page)
			}
		})
	}
}

func TestPagePrimary(t *testing.T) {
	state := func(statuses map[twofa.Method]twofa.Status) twofa.Account {
		var a twofa.Account
		for _, m := range []twofa.Method{twofa.WebAuthn, twofa.TOTP, twofa.Email, twofa.Backup} {
			a.Methods = append(a.Methods, twofa.MethodState{Method: m, Status: statuses[m]})
		}
		return a
	}
	for name, c := range map[string]struct {
		statuses             map[twofa.Method]twofa.Status
		primary, backupAlone bool
	}{
		"nothing":               {nil, false, false},
		"backup only":           {map[twofa.Method]twofa.Status{twofa.Backup: twofa.Enabled}, false, true},
		"backup turned off":     {map[twofa.Method]twofa.Status{twofa.Backup: twofa.Disabled}, false, true},
		"app pending":           {map[twofa.Method]twofa.Status{twofa.TOTP: twofa.Pending, twofa.Backup: twofa.Enabled}, false, true},
		"app":                   {map[twofa.Method]twofa.Status{twofa.TOTP: twofa.Enabled}, true, false},
		"key and backup":        {map[twofa.Method]twofa.Status{twofa.WebAuthn: twofa.Enabled, twofa.Backup: twofa.Enabled}, true, false},
		"key off, backup":       {map[twofa.Method]twofa.Status{twofa.WebAuthn: twofa.Disabled, twofa.Backup: twofa.Enabled}, false, true},
		"e-mail":                {map[twofa.Method]twofa.Status{twofa.Email: twofa.Enabled}, true, false},
		"e-mail off, app, code": {map[twofa.Method]twofa.Status{twofa.Email: twofa.Disabled, twofa.TOTP: twofa.Enabled, twofa.Backup: twofa.Enabled}, true, false},
	} {
		p := httpmw.Page{State: state(c.statuses)}
		if p.Primary() != c.primary || p.BackupAlone() != c.backupAlone {
			t.Errorf("%s: Primary %v, BackupAlone %v; want %v, %v", name, p.Primary(), p.BackupAlone(), c.primary, c.backupAlone)
		}
	}
}
