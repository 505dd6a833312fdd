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
//     removing a method or a key, a new set of backup codes;
//   - "invite": the invitation to create a passkey after a login with a
//     code (Config.InvitePasskey), going on to Page.Next; it loads
//     {{.Path}}static/passkey.js itself.
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
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.Format("2 Jan 2006")
		},
	}).ParseFS(templateFS, "templates/*.html"))
}
