package httpmw

import (
	"embed"
	"html/template"
	"io/fs"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

// staticFS serves the pages' script and style sheet, under Path+"static/".
var staticFS, _ = fs.Sub(staticRoot, "static")

// Templates returns a new copy of the default pages, parsed. Each page
// template gets a [Page]:
//
//   - "challenge": the second step, with the methods in Page.State.Offered;
//   - "settings": every method with its actions, security keys and
//     remembered browsers;
//   - "totp": the authenticator set-up under way (QR code, secret, code);
//   - "codes": new backup codes, shown once;
//   - "confirm": a destructive action asked about first (Page.Confirm):
//     removing a method or a key, a new set of backup codes.
//
// They share "header" and "footer", which an application redefines to put
// the pages in its own layout:
//
//	t := httpmw.Templates()
//	template.Must(t.Parse(`{{define "header"}}...{{end}}`))
//
// or it passes templates of its own with the same names. A header of its
// own must keep three things of the default: the script
// {{.Path}}static/twofa.js, without which security keys do nothing; an
// element with the attribute data-twofa-error, where the script shows what
// went wrong; and Page.Error in an element with id "error", which the code
// field names in aria-describedby when the code was wrong. Config.PageData hands the header what else it needs, as
// Page.App. The pages are served with a Content-Security-Policy that allows
// scripts and styles from the site's own files only, such as the default
// {{.Path}}static/twofa.css.
//
// # Languages
//
// The pages speak the request's language (see Config.Language): every
// text is a message of the catalogue (twofa.Config.Catalogue), which a
// template says with Page.T, {{.T "challenge.title"}}, or {{$.T "..."}}
// inside a range; {{.T "settings.backup.left" "Count" 3}} fills a
// placeholder and picks the plural form. Page.Date, DateTime and Number
// write dates and numbers in the language's own form, and the default
// header sets <html lang="{{.Lang}}" dir="{{.Dir}}">. A header of the
// application's own that keeps <html lang="en"> still works, with the
// pages' text in the user's language; it should take Lang and Dir too. A
// template of the application's own may use T for twofa's messages and
// plain text for its own. To change a word, the application replaces the
// message in its own catalogue file (i18n.New), not the template. The
// buttons and forms that start a security-key ceremony carry the script's
// messages as data-msg-* attributes ({{template "key-messages" .}}); the
// "toggle" template takes the page as "Pg".
func Templates() *template.Template {
	return template.Must(template.New("twofa").Funcs(template.FuncMap{
		// dict makes a map of key, value pairs, to pass several values to a
		// template.
		"dict": func(kv ...any) map[string]any {
			d := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				k, _ := kv[i].(string)
				d[k] = kv[i+1]
			}
			return d
		},
		// inc is i+1, to number a list from 1.
		"inc": func(i int) int { return i + 1 },
		// date is the English date of the pages before they spoke other
		// languages, kept for templates of the application's own; the
		// default pages use Page.Date.
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.Format("2 Jan 2006")
		},
	}).ParseFS(templateFS, "templates/*.html"))
}
