package twofa

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
)

// Notices are the security notifications mailed to a user. Each template
// gets a Notice. A nil template uses the built-in one. An application's
// template is used as it is, in every language: to speak the user's, it
// can print the Notice's sentences, which are in the user's language, or
// choose by its Lang.
type Notices struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// Notice is what a notification template gets. Its words are in the
// user's language (see Service.Printer).
type Notice struct {
	Issuer string
	// What says what happened, as a phrase: "A backup code was used".
	What string
	// Method is the method concerned, as an identifier ("totp"); empty
	// when none is.
	Method Method
	// MethodName names it for people ("authenticator app"); empty when no
	// method is concerned, or the phrase in What already names it.
	MethodName string
	Time       time.Time
	// Until is when a lock ends by itself; zero for other notices and for a
	// lock that only an administrator lifts.
	Until time.Time

	// Lang is the language of the notice, a BCP 47 tag ("de").
	Lang string
	// Subject is the built-in subject: the issuer and What.
	Subject string
	// Sentence is What, the method and the time (in UTC) as a sentence:
	// "A sign-in method was turned off (security key), on 30 November 2026
	// at 14:05 UTC."
	Sentence string
	// Again says when the user can sign in again, after a lock that ends
	// by itself; empty otherwise.
	Again string
	// IfYou and IfNotYou are the closing advice.
	IfYou, IfNotYou string
}

// noticeFor maps the events that warrant a mail to the catalogue's
// message of their phrase: every change to the user's second factor, as
// OWASP ASVS 5.0 V6.3 asks.
var noticeFor = map[event.Kind]string{
	event.Enrolled:        "mail.notice.enrolled",
	event.BackupUsed:      "mail.notice.backup_used",
	event.BackupGenerated: "mail.notice.backup_generated",
	event.Disabled:        "mail.notice.disabled",
	event.Removed:         "mail.notice.removed",
	event.NoMethodLeft:    "mail.notice.no_method_left",
	event.BackupOnly:      "mail.notice.backup_only",
	event.Reset:           "mail.notice.reset",
	event.Locked:          "mail.notice.locked",
}

// methodNames are the catalogue's names of the methods in notices, in
// the words of the pages.
var methodNames = map[Method]string{
	TOTP:     "mail.method.totp",
	WebAuthn: "mail.method.webauthn",
	Email:    "mail.method.email",
	Backup:   "mail.method.backup",
}

// lockedForGood is the phrase of a lock that only an administrator lifts.
const lockedForGood = "mail.notice.locked_for_good"

// noticeWhat returns the message id of the phrase of the notice e
// warrants, if any.
func noticeWhat(e event.Event) (string, bool) {
	if e.Kind == event.Locked && e.Until.IsZero() {
		return lockedForGood, true
	}
	what, ok := noticeFor[e.Kind]
	return what, ok
}

var (
	defaultNoticeSubject = texttemplate.Must(texttemplate.New("subject").Parse(`{{.Subject}}`))
	defaultNoticeText    = texttemplate.Must(texttemplate.New("text").Parse(`{{.Sentence}}
{{with .Again}}
{{.}}
{{end}}
{{.IfYou}}

{{.IfNotYou}}
`))
	defaultNoticeHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="{{.Lang}}"><body style="font-family: system-ui, sans-serif; color: #222; max-width: 32em">
<p>{{.Sentence}}</p>
{{with .Again}}<p>{{.}}</p>
{{end}}<p>{{.IfYou}}</p>
<p>{{.IfNotYou}}</p>
</body></html>
`))
)

// notifier mails notices for the events noticeWhat names, after passing every
// event on. A notice that cannot be sent never changes the outcome of what
// caused it; it is reported as an event.NoticeFailed.
type notifier struct {
	t       Notices
	issuer  string
	mailer  emailotp.Mailer
	address func(context.Context, string) (string, error)
	printer func(context.Context, string) *i18n.Printer
	next    event.Hook
}

func newNotifier(t Notices, issuer string, m emailotp.Mailer, address func(context.Context, string) (string, error),
	printer func(context.Context, string) *i18n.Printer, next event.Hook) (*notifier, error) {
	if t.Subject == nil {
		t.Subject = defaultNoticeSubject
	}
	if t.Text == nil {
		t.Text = defaultNoticeText
	}
	if t.HTML == nil {
		t.HTML = defaultNoticeHTML
	}
	n := &notifier{t: t, issuer: issuer, mailer: m, address: address, printer: printer, next: next}
	sample := event.Event{Kind: event.Locked, Method: string(TOTP), Time: time.Unix(0, 0), Until: time.Unix(3600, 0)}
	if _, err := n.render(n.notice(i18n.Default().Printer(language.English), noticeFor[event.Locked], sample)); err != nil {
		return nil, err
	}
	return n, nil
}

// notice is the Notice of e, whose phrase is message what, in p's
// language.
func (n *notifier) notice(p *i18n.Printer, what string, e event.Event) Notice {
	d := Notice{Issuer: n.issuer, What: p.T(what), Method: Method(e.Method), Time: e.Time, Until: e.Until, Lang: p.Tag().String()}
	if e.Kind != event.BackupUsed && e.Kind != event.BackupGenerated {
		if id, ok := methodNames[d.Method]; ok {
			d.MethodName = p.T(id)
		}
	}
	d.Subject = d.What
	if n.issuer != "" {
		d.Subject = p.T("mail.notice.subject.issuer", "Issuer", n.issuer, "What", d.What)
	}
	at := e.Time.UTC()
	if d.MethodName != "" {
		d.Sentence = p.T("mail.notice.line.method", "What", d.What, "Method", d.MethodName, "Date", p.Date(at), "Time", at.Format("15:04"))
	} else {
		d.Sentence = p.T("mail.notice.line", "What", d.What, "Date", p.Date(at), "Time", at.Format("15:04"))
	}
	if !e.Until.IsZero() {
		until := e.Until.UTC()
		d.Again = p.T("mail.notice.until", "Date", p.Date(until), "Time", until.Format("15:04"))
	}
	d.IfYou, d.IfNotYou = p.T("mail.notice.you"), p.T("mail.notice.not_you")
	return d
}

func (n *notifier) render(d Notice) (emailotp.Message, error) {
	// A catalogue's sentence goes into the subject as it is: a line break
	// in it is refused, not folded away, so a catalogue cannot write
	// headers.
	if strings.ContainsAny(d.Subject, "\r\n") {
		return emailotp.Message{}, fmt.Errorf("twofa: notice subject in %q: %w", d.Lang, emailotp.ErrHeader)
	}
	var subject, text, html bytes.Buffer
	if err := n.t.Subject.Execute(&subject, d); err != nil {
		return emailotp.Message{}, fmt.Errorf("twofa: notice subject template: %w", err)
	}
	if err := n.t.Text.Execute(&text, d); err != nil {
		return emailotp.Message{}, fmt.Errorf("twofa: notice text template: %w", err)
	}
	if err := n.t.HTML.Execute(&html, d); err != nil {
		return emailotp.Message{}, fmt.Errorf("twofa: notice HTML template: %w", err)
	}
	if strings.ContainsAny(subject.String(), "\r\n") {
		return emailotp.Message{}, fmt.Errorf("twofa: notice subject template: %w", emailotp.ErrHeader)
	}
	return emailotp.Message{Subject: subject.String(), Text: text.String(), HTML: html.String(), Language: d.Lang}, nil
}

func (n *notifier) hook(ctx context.Context, e event.Event) {
	n.next.Emit(ctx, e)
	what, ok := noticeWhat(e)
	if !ok {
		return
	}
	addr, err := n.address(ctx, e.UserID)
	if err != nil || !emailotp.ValidAddress(addr) {
		return // nowhere to send it; the event was emitted
	}
	msg, err := n.render(n.notice(n.printer(ctx, e.UserID), what, e))
	if err == nil {
		msg.To = addr
		err = n.mailer.Send(ctx, msg)
	}
	if err != nil {
		n.next.Emit(ctx, event.Event{Kind: event.NoticeFailed, Method: e.Method, UserID: e.UserID, Time: e.Time, Reason: string(e.Kind)})
	}
}
