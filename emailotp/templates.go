package emailotp

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// Templates are the code message. Each template gets a value with the
// fields Issuer, Code, Minutes (the validity) and To. A nil template uses
// the built-in one, so an application can replace only the HTML, say.
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
}

var (
	defaultSubject = texttemplate.Must(texttemplate.New("subject").Parse(
		`{{if .Issuer}}{{.Issuer}}: {{end}}your sign-in code`))
	defaultText = texttemplate.Must(texttemplate.New("text").Parse(`Your sign-in code{{if .Issuer}} for {{.Issuer}}{{end}} is:

    {{.Code}}

It works once, for {{.Minutes}} minutes.

If you did not try to sign in, someone may know your password: change it,
and do not give this code to anyone.
`))
	defaultHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #222; max-width: 32em">
<p>Your sign-in code{{if .Issuer}} for {{.Issuer}}{{end}} is:</p>
<p style="font: bold 2em ui-monospace, monospace; letter-spacing: .15em">{{.Code}}</p>
<p>It works once, for {{.Minutes}} minutes.</p>
<p style="color: #555">If you did not try to sign in, someone may know your password: change it, and do not give this code to anyone.</p>
</body></html>
`))
)

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
	if _, err := t.render(data{Issuer: "Example", Code: "123456", Minutes: 15, To: "user@example.com"}); err != nil {
		return t, err
	}
	return t, nil
}

// render fills the templates. Its errors may quote the data, so callers
// holding a real code must not pass them on.
func (t Templates) render(d data) (Message, error) {
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
	// A header must be one line.
	s := strings.Join(strings.Fields(subject.String()), " ")
	return Message{Subject: s, Text: text.String(), HTML: html.String()}, nil
}
