package httpmw

import (
	"net/http"
	"strings"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// withLanguage returns r with its user's language in its context
// (i18n.WithLanguage), for the pages, the API's problems and the mails
// sent during the request: a language already there (the application's
// own middleware put it) stays; else Config.Language's choice, then the
// Accept-Language header, as the catalogue matches them.
func (m *Middleware) withLanguage(r *http.Request) *http.Request {
	if _, ok := i18n.FromContext(r.Context()); ok {
		return r
	}
	return r.WithContext(i18n.WithLanguage(r.Context(), m.matchLanguage(r)))
}

func (m *Middleware) matchLanguage(r *http.Request) language.Tag {
	var own string
	if m.cfg.Language != nil {
		own = m.cfg.Language(r)
	}
	return m.cat.Match(own, r.Header.Get("Accept-Language"))
}

// printer speaks r's language: the one in its context, else the one
// matched for it.
func (m *Middleware) printer(r *http.Request) *i18n.Printer {
	tag, ok := i18n.FromContext(r.Context())
	if !ok {
		tag = m.matchLanguage(r)
	}
	return m.cat.Printer(tag)
}

// speaking is h with the request's language in its context.
func (m *Middleware) speaking(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, m.withLanguage(r))
	})
}

// printer is the page's printer; English for a Page the application made
// itself.
func (p Page) printer() *i18n.Printer {
	if p.pr == nil {
		return i18n.Default().Printer(language.English)
	}
	return p.pr
}

// T returns the message id of the catalogue in the page's language, with
// the placeholders filled from kv (name, value pairs):
// {{.T "challenge.title"}}, {{.T "settings.backup.left" "Count" 3}}; in a
// range, {{$.T "..."}}. See package i18n.
func (p Page) T(id string, kv ...any) string { return p.printer().T(id, kv...) }

// Date returns t's date in the page's language, in UTC ("30 November
// 2026", "30. November 2026"); "never" in the language for the zero time.
func (p Page) Date(t time.Time) string {
	if t.IsZero() {
		return p.T("date.never")
	}
	return p.printer().Date(t.UTC())
}

// DateTime returns t's date and time in UTC, in the page's language:
// "30 November 2026, 14:05 UTC".
func (p Page) DateTime(t time.Time) string {
	if t.IsZero() {
		return p.T("date.never")
	}
	return dateTime(p.printer(), t)
}

func dateTime(pr *i18n.Printer, t time.Time) string {
	t = t.UTC()
	return pr.T("time.date-utc", "Date", pr.Date(t), "Time", t.Format("15:04"))
}

// Number returns n with the digit grouping of the page's language.
func (p Page) Number(n int) string { return p.printer().Number(n) }

// Lang returns the page's language as a BCP 47 tag, for <html lang>.
func (p Page) Lang() string { return p.printer().Tag().String() }

// Dir returns the direction of the page's language, "ltr" or "rtl", for
// <html dir>.
func (p Page) Dir() string { return p.printer().Dir() }

// StatusText returns the status of method m in words of the page's
// language.
func (p Page) StatusText(m string) string { return p.T("status." + p.Status(m)) }

// BrowserLabel says a remembered browser's label (remember.Label's
// "Firefox on Linux", "A browser on iOS", "Unknown browser") in the page's
// language; a label of another shape, which the application gave, as it
// is.
func (p Page) BrowserLabel(label string) string {
	switch {
	case label == "Unknown browser":
		return p.T("browser.unknown")
	case strings.HasPrefix(label, "A browser on "):
		return p.T("browser.any-on", "System", strings.TrimPrefix(label, "A browser on "))
	}
	if browser, system, ok := strings.Cut(label, " on "); ok && !strings.Contains(system, " ") {
		return p.T("browser.on", "Browser", browser, "System", system)
	}
	return label
}

// activityMethods are the kinds of the security log whose words name a
// method: their message is "activity.<kind>.<method>".
var activityMethods = map[event.Kind]bool{
	event.Enrolled: true, event.Removed: true, event.Disabled: true, event.EnabledAgain: true,
	event.Verified: true, event.Resealed: true, event.Renamed: true, event.CloneWarning: true,
}

// What says in the page's language what a security-log entry records, as
// twofa.Describe does in English; an entry of a kind or method the
// catalogue does not know keeps Describe's words.
func (p Page) What(a twofa.Activity) string { return describe(p.printer(), a) }

func describe(pr *i18n.Printer, a twofa.Activity) string {
	id := "activity." + string(a.Kind)
	if activityMethods[a.Kind] {
		id += "." + string(a.Method)
	}
	switch {
	case a.Kind == event.Locked && a.Detail == "until unlocked":
		id = "activity.locked.admin"
	case a.Kind == event.Locked && strings.HasPrefix(a.Detail, "until "):
		if until, err := time.Parse(time.RFC3339, strings.TrimPrefix(a.Detail, "until ")); err == nil {
			return pr.T("activity.locked.until", "Until", dateTime(pr, until))
		}
	case a.Kind == event.Forgotten && a.Detail == "expired":
		id = "activity.browser_revoked.expired"
	case a.Kind == event.Forgotten && a.Detail == "all revoked":
		id = "activity.browser_revoked.all"
	}
	if s := pr.T(id); s != id {
		return s
	}
	return a.What
}
