package httpmw_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
)

// pdfWords is the text pdftotext reads from a PDF, its lines joined.
func pdfWords(t *testing.T, pdf string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, []byte(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testdb.NeedTool(t, "pdftotext"), "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

var pdfLink = regexp.MustCompile(`href="data:application/pdf;base64,([^"]+)"`)

// Both PDFs the pages hand out speak the user's language: the one the
// application records (twofa.Config.Language) over the request's
// Accept-Language, and Accept-Language's when it records none.
func TestPrintoutsInTheUsersLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, recorded, accept string
		paper, codes, not      string
	}{
		{"the request's language", "", "de-DE,de;q=0.9", "Sicherung der Authenticator-App", "Backup-Codes", "Authenticator app backup"},
		{"the user's over the request's", "uk", "de-DE,de;q=0.9", "Резервна копія застосунку-автентифікатора", "Резервні коди", "Sicherung"},
		{"neither: English", "", "", "Authenticator app backup", "Backup codes", "Sicherung"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, func(c *twofa.Config, _ *httpmw.Config) {
				c.Language = func(context.Context, string) (string, error) { return tc.recorded, nil }
			})
			b := a.browser()
			b.login("carol")
			b.post("/2fa/totp/begin", nil)
			secret := fake.PageSecret(t, b.passes("/2fa/totp").body)

			paper := b.do("GET", "/2fa/totp/paper.pdf", nil, "Accept-Language", tc.accept)
			if words := pdfWords(t, paper.body); !strings.Contains(words, tc.paper) || strings.Contains(words, tc.not) {
				t.Errorf("paper backup, want %q and not %q: %s", tc.paper, tc.not, words)
			}

			got := b.do("POST", "/2fa/totp/confirm", url.Values{"code": {fake.AppCode(t, secret, a.clock.Now())}}, "Accept-Language", tc.accept)
			m := pdfLink.FindStringSubmatch(got.body)
			if m == nil {
				t.Fatalf("no PDF of the codes: %d %.300s", got.status, got.body)
			}
			pdf, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			if words := pdfWords(t, string(pdf)); !strings.Contains(words, tc.codes) || strings.Contains(words, tc.not) {
				t.Errorf("codes sheet, want %q: %s", tc.codes, words)
			}
		})
	}
}
