package emailotp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
)

// Templates are the code message. Each template gets a value with the
// fields Issuer, Code, Minutes (the validity), To and Lang (the message's
// language, a BCP 47 tag such as "de"), and the built-in message's
// sentences in that language: Subject, Intro, Validity and Warning. A nil
// template uses the built-in one, so an application can replace only the
// HTML, say. An application's template is used as it is, in every
// language: to speak the user's, it can print the sentences or choose by
// Lang.
type Templates struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

type data struct {
	Issuer  string
	Code    string
	Minutes int
	To      string
	Lang    string

	// The built-in message's sentences, in Lang.
	Subject, Intro, Validity, Warning string
}

// ErrHeader matches the error of a message whose subject, from a
// catalogue or a template, holds a line break: one that would write a
// header of its own into the mail (header injection). Such a message is
// not sent.
var ErrHeader = errors.New("emailotp: a line break in a mail header")

var (
	defaultSubject = texttemplate.Must(texttemplate.New("subject").Parse(`{{.Subject}}`))
	defaultText    = texttemplate.Must(texttemplate.New("text").Parse(`{{.Intro}}

    {{.Code}}

{{.Validity}}

{{.Warning}}
`))
	defaultHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="{{.Lang}}"><body style="font-family: system-ui, sans-serif; color: #222; max-width: 32em">
<p>{{.Intro}}</p>
<p style="font: bold 2em ui-monospace, monospace; letter-spacing: .15em">{{.Code}}</p>
<p>{{.Validity}}</p>
<p style="color: #555">{{.Warning}}</p>
</body></html>
`))
)

// words fills d's language and sentences from p.
func (d *data) words(p *i18n.Printer) {
	d.Lang = p.Tag().String()
	if d.Issuer != "" {
		d.Subject = p.T("mail.code.subject.issuer", "Issuer", d.Issuer)
		d.Intro = p.T("mail.code.intro.issuer", "Issuer", d.Issuer)
	} else {
		d.Subject = p.T("mail.code.subject")
		d.Intro = p.T("mail.code.intro")
	}
	d.Validity = p.T("mail.code.validity", "Count", d.Minutes)
	d.Warning = p.T("mail.code.warning")
}

func (t Templates) withDefaults() (Templates, error) {
	if t.Subject == nil {
		t.Subject = defaultSubject
	}
	if t.Text == nil {
		t.Text = defaultText
	}
	if t.HTML == nil {
		t.HTML = defaultHTML
	}
	// Render once with sample data, so a broken template fails at start-up
	// rather than at a user's login.
	d := data{Issuer: "Example", Code: "123456", Minutes: 15, To: "user@example.com"}
	d.words(i18n.Default().Printer(language.English))
	if _, err := t.render(d); err != nil {
		return t, err
	}
	return t, nil
}

// render fills the templates. Its errors may quote the data, so callers
// holding a real code must not pass them on.
func (t Templates) render(d data) (Message, error) {
	// A sentence of the catalogue goes into the subject as it is: a line
	// break in it is refused, not folded away, so that a catalogue cannot
	// write headers.
	if strings.ContainsAny(d.Subject, "\r\n") {
		return Message{}, fmt.Errorf("%w: the catalogue's subject in %q", ErrHeader, d.Lang)
	}
	var subject, text, html bytes.Buffer
	if err := t.Subject.Execute(&subject, d); err != nil {
		return Message{}, fmt.Errorf("emailotp: subject template: %w", err)
	}
	if err := t.Text.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("emailotp: text template: %w", err)
	}
	if err := t.HTML.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("emailotp: HTML template: %w", err)
	}
	// A header must be one line: an application's template may spread
	// its subject over lines for legibility.
	s := strings.Join(strings.Fields(subject.String()), " ")
	return Message{Subject: s, Text: text.String(), HTML: html.String(), Language: d.Lang}, nil
}

// printer is the language of the code mailed to userID: the one
// Config.Language records for them if the catalogue has it, otherwise the
// request's (i18n.FromContext), otherwise English. A failing
// Config.Language leaves the mail in the request's language or English:
// the code still goes out.
func (s *Service) printer(ctx context.Context, userID string) *i18n.Printer {
	cat := s.cfg.Catalogue
	if s.cfg.Language != nil {
		if pref, err := s.cfg.Language(ctx, userID); err == nil && pref != "" {
			if tag := cat.Match(pref); tag != language.English || isEnglish(pref) {
				return cat.Printer(tag)
			}
		}
	}
	if tag, ok := i18n.FromContext(ctx); ok {
		return cat.Printer(tag)
	}
	return cat.Printer(language.English)
}

// isEnglish reports whether the tag pref names English, so that Match's
// English is the user's choice and not its fallback.
func isEnglish(pref string) bool {
	tag, err := language.Parse(pref)
	if err != nil {
		return false
	}
	base, _ := tag.Base()
	return base.String() == "en"
}
