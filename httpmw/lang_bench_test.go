package httpmw

import (
	"io"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/remember"
	"golang.org/x/text/language"
)

// BenchmarkRenderPage renders the settings page, every method listed with
// a key, two browsers and ten log entries, and the challenge, in English
// and in German: the cost of speaking through the catalogue.
func BenchmarkRenderPage(b *testing.B) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	state := twofa.Account{
		Methods: []twofa.MethodState{{Method: twofa.WebAuthn, Status: twofa.Enabled}, {Method: twofa.TOTP, Status: twofa.Enabled},
			{Method: twofa.Email, Status: twofa.NotSetUp}, {Method: twofa.Backup, Status: twofa.Enabled}},
		BackupRemaining: 8,
		Keys:            []twofa.KeyInfo{{ID: "k1", Name: "Blue key", Created: at, LastUsed: at, Passkey: true}},
		Offered:         []twofa.Method{twofa.WebAuthn, twofa.TOTP, twofa.Backup},
		Browsers:        []remember.Browser{{ID: "b1", Label: "Firefox on Linux", Created: at, LastUsed: at}, {ID: "b2", Label: "Safari on iOS", Created: at, LastUsed: at}},
	}
	var activity []twofa.Activity
	for i := range 10 {
		activity = append(activity, twofa.Activity{Time: at.Add(time.Duration(i) * time.Minute), Kind: event.Verified, Method: twofa.TOTP,
			What: "Signed in with the authenticator app"})
	}
	t := Templates()
	for _, page := range []string{"settings", "challenge"} {
		for _, tag := range []language.Tag{language.English, language.German} {
			p := Page{Path: "/2fa/", Issuer: "Acme", Account: "ann@example.com", Home: "/", State: state, Activity: activity,
				Next: "/", OfferRemember: true, pr: i18n.Default().Printer(tag)}
			b.Run(page+"/"+tag.String(), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := t.ExecuteTemplate(io.Discard, page, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
