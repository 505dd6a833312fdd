package httpmw_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing/fstest"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

// The pages speak the user's language: the application's choice for the
// user first (Config.Language, from its own settings), else the browser's
// Accept-Language. The application changes one English message with a
// file of its own, and keeps the default templates.
func ExampleConfig_language() {
	files := fstest.MapFS{ // in an application: an embed.FS of its lang/*.json
		"lang/pages.en.json": {Data: []byte(`{"settings.title": "Sign-in protection"}`)},
	}
	cat, err := i18n.New(files, "lang/*.json")
	if err != nil {
		log.Fatal(err)
	}
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring, Catalogue: cat})
	if err != nil {
		log.Fatal(err)
	}
	chosen := map[string]string{"ann": "uk"} // the users' own choice, as the application keeps it
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://example.com",
		User: func(r *http.Request) (string, string, bool) {
			u := r.Header.Get("X-User") // the application's own login, in short
			return u, u, u != ""
		},
		Session:  &httpmw.CookieSession{Key: ring.DeriveKey("httpmw/mark"), SessionID: func(r *http.Request) string { return r.Header.Get("X-User") }},
		Language: func(r *http.Request) string { return chosen[r.Header.Get("X-User")] },
	})
	if err != nil {
		log.Fatal(err)
	}
	heading := regexp.MustCompile(`<html lang="([^"]+)"|<h1>([^<]+)</h1>`)
	for _, c := range []struct{ user, header string }{{"ann", "de"}, {"bob", "de-AT,de;q=0.9"}, {"cy", "en-GB"}} {
		r := httptest.NewRequest("GET", "/2fa/settings", nil)
		r.Header.Set("X-User", c.user)
		r.Header.Set("Accept-Language", c.header)
		w := httptest.NewRecorder()
		mw.Pages().ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		m := heading.FindAllStringSubmatch(string(body), 2)
		fmt.Println(c.user, m[0][1], m[1][2])
	}
	// Output:
	// ann uk Двофакторна автентифікація
	// bob de Zwei-Faktor-Authentifizierung
	// cy en Sign-in protection
}
