package twofa

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
)

// Notices are the security notifications mailed to a user. Each template
// gets a Notice. A nil template uses the built-in one.
type Notices struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// Notice is what a notification template gets.
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
}

// noticeFor maps the events that warrant a mail to their phrase: every
// change to the user's second factor, as OWASP ASVS 5.0 V6.3 asks.
var noticeFor = map[event.Kind]string{
	event.Enrolled:        "A new sign-in method was added to your account",
	event.BackupUsed:      "One of your backup codes was used to sign in",
	event.BackupGenerated: "A new set of backup codes was made for your account; any older codes no longer work",
	event.Disabled:        "A sign-in method of your account was turned off",
	event.Removed:         "A sign-in method was removed from your account",
	event.NoMethodLeft:    "Your account has no second sign-in step left: your password alone now signs you in",
	event.BackupOnly:      "Your account has only backup codes left, which alone do not protect it: your password alone now signs you in",
	event.Reset:           "An administrator removed your two-factor authentication",
	event.Locked:          "Too many wrong codes were entered: signing in to your account is locked for a while",
}

// methodNames name the methods in notices, in the words of the pages.
var methodNames = map[Method]string{
	TOTP:     "authenticator app",
	WebAuthn: "security key",
	Email:    "codes by e-mail",
	Backup:   "backup codes",
}

// lockedForGood is the phrase of a lock that only an administrator lifts.
const lockedForGood = "Too many wrong codes were entered: signing in to your account is locked until an administrator unlocks it"

// noticeWhat returns the phrase of the notice e warrants, if any.
func noticeWhat(e event.Event) (string, bool) {
	if e.Kind == event.Locked && e.Until.IsZero() {
		return lockedForGood, true
	}
	what, ok := noticeFor[e.Kind]
	return what, ok
}

var (
	defaultNoticeSubject = texttemplate.Must(texttemplate.New("subject").Parse(
		`{{if .Issuer}}{{.Issuer}}: {{end}}{{.What}}`))
	defaultNoticeText = texttemplate.Must(texttemplate.New("text").Parse(`{{.What}}{{if .MethodName}} ({{.MethodName}}){{end}}, on {{.Time.UTC.Format "2 January 2006 at 15:04 UTC"}}.
{{if not .Until.IsZero}}
You can sign in again from {{.Until.UTC.Format "2 January 2006 at 15:04 UTC"}}.
{{end}}
If this was you, there is nothing to do.

If it was not you, sign in and check your two-factor settings, change your
password, and tell us.
`))
	defaultNoticeHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #222; max-width: 32em">
<p><strong>{{.What}}</strong>{{if .MethodName}} ({{.MethodName}}){{end}}, on {{.Time.UTC.Format "2 January 2006 at 15:04 UTC"}}.</p>
{{if not .Until.IsZero}}<p>You can sign in again from {{.Until.UTC.Format "2 January 2006 at 15:04 UTC"}}.</p>
{{end}}<p>If this was you, there is nothing to do.</p>
<p>If it was not you, sign in and check your two-factor settings, change your password, and tell us.</p>
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
	next    event.Hook
}

func newNotifier(t Notices, issuer string, m emailotp.Mailer, address func(context.Context, string) (string, error), next event.Hook) (*notifier, error) {
	if t.Subject == nil {
		t.Subject = defaultNoticeSubject
	}
	if t.Text == nil {
		t.Text = defaultNoticeText
	}
	if t.HTML == nil {
		t.HTML = defaultNoticeHTML
	}
	n := &notifier{t: t, issuer: issuer, mailer: m, address: address, next: next}
	if _, err := n.render(Notice{Issuer: issuer, What: "A test", Method: TOTP, MethodName: methodNames[TOTP], Time: time.Unix(0, 0), Until: time.Unix(3600, 0)}); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *notifier) render(d Notice) (emailotp.Message, error) {
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
	return emailotp.Message{Subject: subject.String(), Text: text.String(), HTML: html.String()}, nil
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
	d := Notice{Issuer: n.issuer, What: what, Method: Method(e.Method), Time: e.Time, Until: e.Until}
	if e.Kind != event.BackupUsed && e.Kind != event.BackupGenerated {
		d.MethodName = methodNames[d.Method]
	}
	msg, err := n.render(d)
	if err == nil {
		msg.To = addr
		err = n.mailer.Send(ctx, msg)
	}
	if err != nil {
		n.next.Emit(ctx, event.Event{Kind: event.NoticeFailed, Method: e.Method, UserID: e.UserID, Time: e.Time, Reason: string(e.Kind)})
	}
}
