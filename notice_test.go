package twofa_test

import (
	"bytes"
	"encoding/base32"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/storage/memory"
)

// delivered is a message as a mail client shows it: decoded subject, text
// and HTML.
type delivered struct {
	to                  []string
	subject, text, html string
	lang                string // Content-Language
}

// smtpServer is an SMTP server in the test process that keeps every
// message it accepts.
type smtpServer struct {
	mu   sync.Mutex
	got  []delivered
	t    testing.TB
	port int
}

func startSMTP(t testing.TB) *smtpServer {
	t.Helper()
	srv := &smtpServer{t: t}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: srv}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		_ = l.Close()
		<-done
	})
	return srv
}

// mailer is an emailotp.SMTP mailer that delivers to srv, in clear as a
// relay on the same host would be reached.
func (srv *smtpServer) mailer(t testing.TB) func(*twofa.Config) {
	m, err := emailotp.NewSMTP(emailotp.SMTPConfig{Host: "127.0.0.1", Port: srv.port, From: "Acme <noreply@example.com>", TLS: emailotp.Plain, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *twofa.Config) { c.Mailer = m }
}

// take returns the messages delivered since the last take.
func (srv *smtpServer) take() []delivered {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	got := srv.got
	srv.got = nil
	return got
}

type smtpSession struct {
	srv *smtpServer
	to  []string
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d, err := decodeMessage(raw)
	if err != nil {
		s.srv.t.Errorf("undecodable message: %v", err)
		return err
	}
	d.to = s.to
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.got = append(s.srv.got, d)
	return nil
}

// decodeMessage reads the subject and the text and HTML parts out of raw.
func decodeMessage(raw []byte) (delivered, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return delivered{}, err
	}
	d := delivered{lang: msg.Header.Get("Content-Language")}
	if d.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return delivered{}, err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return delivered{}, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		d.text, err = decodePart(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return d, err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return delivered{}, err
		}
		body, err := decodePart(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return delivered{}, err
		}
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			d.text = body
		case strings.HasPrefix(ct, "text/html"):
			d.html = body
		}
	}
}

func decodePart(enc string, r io.Reader) (string, error) {
	if strings.EqualFold(enc, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// The phrase of each notice, as its subject and text carry it.
const (
	added       = "A new sign-in method was added to your account"
	newBackup   = "A new set of backup codes was made for your account"
	backupUsed  = "One of your backup codes was used to sign in"
	turnedOff   = "A sign-in method of your account was turned off"
	removed     = "A sign-in method was removed from your account"
	noneLeft    = "Your account has no second sign-in step left"
	backupOnly  = "Your account has only backup codes left, which alone do not protect it"
	lockedWhile = "signing in to your account is locked for a while"
	lockedGood  = "signing in to your account is locked until an administrator unlocks it"
	resetByAdm  = "An administrator removed your two-factor authentication"
)

// Every change to the second factor mails the user a notice of its own,
// through a real SMTP exchange; no notice holds a secret, a code or a
// token. Each case starts from a user with the app, backup codes and
// e-mail codes, or from what its prepare leaves, and lists the notices its
// action must deliver, in order.
func TestNoticesOverSMTP(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(*fixture, *testing.T) // nil: f.setUp
		action  func(*fixture, *testing.T)
		want    []string
		// named is the method as the last notice names it, "" for none
		named string
	}{
		{"app added", func(*fixture, *testing.T) {}, func(f *fixture, t *testing.T) { f.enrollApp(t) }, []string{added}, "(authenticator app)"},
		// A minute on: the set f.setUp made is no longer too recent.
		{"new backup codes", nil, func(f *fixture, t *testing.T) { f.now = f.now.Add(time.Minute); must(t, gen(f)) }, []string{newBackup}, ""},
		{"backup code used", nil, func(f *fixture, t *testing.T) { _, err := f.tf.Verify(ctx, "u", login, f.codes[0]); must(t, err) }, []string{backupUsed}, ""},
		{"app turned off, e-mail left", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Disable(ctx, "u", twofa.TOTP)) }, []string{turnedOff}, "(authenticator app)"},
		{"e-mail removed, app left", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Remove(ctx, "u", twofa.Email)) }, []string{removed}, "(codes by e-mail)"},
		{"backup codes removed", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Remove(ctx, "u", twofa.Backup)) }, []string{removed}, "(backup codes)"},
		{"last method removed", func(f *fixture, t *testing.T) { f.enrollApp(t) },
			func(f *fixture, t *testing.T) { must(t, f.tf.Remove(ctx, "u", twofa.TOTP)) }, []string{removed, noneLeft}, ""},
		{"last primary method turned off, backup codes left", func(f *fixture, t *testing.T) { f.enrollApp(t); must(t, gen(f)) },
			func(f *fixture, t *testing.T) { must(t, f.tf.Disable(ctx, "u", twofa.TOTP)) }, []string{turnedOff, backupOnly}, ""},
		{"lock", nil, func(f *fixture, t *testing.T) { f.failTo(t, "u", 20) }, []string{lockedWhile}, ""},
		{"lock at the ceiling", nil, func(f *fixture, t *testing.T) { f.failTo(t, "u", 100) },
			[]string{lockedWhile, lockedWhile, lockedWhile, lockedWhile, lockedWhile, lockedWhile, lockedWhile, lockedWhile, lockedGood}, ""},
		{"reset", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Reset(ctx, "u")) }, []string{resetByAdm}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startSMTP(t)
			f := newFixture(t, memory.New(), srv.mailer(t))
			if c.prepare == nil {
				f.setUp(t, "u")
			} else {
				c.prepare(f, t)
			}
			needles := f.secrets(t)
			// An e-mailed code and a remembered browser's token, where the
			// user has them, must not show up in a notice either.
			if err := f.tf.Email.Send(ctx, "u", "u@example.com", login); err == nil {
				sent := srv.take()
				code := mailtest.ReadCode(t, sent[len(sent)-1].text)
				needles = append(needles, code)
			}
			token, err := f.tf.Browsers.Remember(ctx, "u", "Firefox on Linux")
			must(t, err)
			needles = append(needles, token)
			before := srv.take()

			c.action(f, t)
			got := srv.take()
			if len(got) != len(c.want) {
				var subjects []string
				for _, d := range got {
					subjects = append(subjects, d.subject)
				}
				t.Fatalf("delivered %d notices %q, want %d", len(got), subjects, len(c.want))
			}
			for i, d := range got {
				if len(d.to) != 1 || d.to[0] != "u@example.com" || d.subject != "Acme: "+wholePhrase(t, c.want[i]) || d.lang != "en" ||
					!strings.Contains(d.text, c.want[i]) || !strings.Contains(d.html, c.want[i]) ||
					!strings.Contains(d.text, "If it was not you") {
					t.Fatalf("notice %d: %+v, want %q", i, d, c.want[i])
				}
			}
			if c.want[len(c.want)-1] == lockedWhile {
				if !strings.Contains(got[len(got)-1].text, "You can sign in again from "+f.now.Add(time.Hour).Format("2 January 2006 at 15:04 UTC")) {
					t.Fatalf("lock notice without its end: %s", got[len(got)-1].text)
				}
			}
			// Methods are named in words, never by their identifiers.
			last := got[len(got)-1]
			if c.named != "" && (!strings.Contains(last.text, c.named) || !strings.Contains(last.html, c.named)) {
				t.Errorf("notice does not name the method %s:\n%s", c.named, last.text)
			}
			for _, d := range got {
				for _, id := range []string{"(totp)", "(email)", "(backup)", "(webauthn)"} {
					if strings.Contains(d.text+d.html, id) {
						t.Errorf("notice names a method by its identifier %s:\n%s", id, d.text)
					}
				}
			}
			for _, d := range append(before, got...) {
				if strings.Contains(d.subject, "code") && !strings.Contains(d.subject, "codes") {
					continue // the mailed code itself
				}
				for _, n := range needles {
					if strings.Contains(d.subject+d.text+d.html, n) {
						t.Fatalf("the notice %q holds a secret, code or token", d.subject)
					}
				}
			}
		})
	}
}

// wholePhrase returns the notice phrase that starts with or holds part.
func wholePhrase(t *testing.T, part string) string {
	t.Helper()
	for _, p := range []string{
		added, backupUsed, turnedOff, removed, resetByAdm,
		newBackup + "; any older codes no longer work",
		noneLeft + ": your password alone now signs you in",
		backupOnly + ": your password alone now signs you in",
		"Too many wrong codes were entered: " + lockedWhile,
		"Too many wrong codes were entered: " + lockedGood,
	} {
		if strings.Contains(p, part) {
			return p
		}
	}
	t.Fatalf("no phrase holds %q", part)
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gen makes a new set of backup codes for u and keeps them.
func gen(f *fixture) error {
	codes, err := f.tf.Backup.Generate(ctx, "u")
	if err == nil {
		f.codes = codes
	}
	return err
}

// enrollApp sets up an authenticator app for u.
func (f *fixture) enrollApp(t testing.TB) {
	t.Helper()
	e, err := f.tf.TOTP.Begin(ctx, "u", "u@example.com", "test-session")
	if err != nil {
		t.Fatal(err)
	}
	f.secret = e
	if err := f.tf.TOTP.Confirm(ctx, "u", "test-session", f.appCode(t)); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(30 * time.Second)
}

// secrets are the forms of the app's secret and of the backup codes a
// careless message could show.
func (f *fixture) secrets(t testing.TB) []string {
	var s []string
	if f.secret != nil {
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.secret.Secret)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, f.secret.Secret, strings.ToLower(f.secret.Secret), f.secret.GroupedSecret(), string(raw))
	}
	for _, c := range f.codes {
		s = append(s, c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""))
	}
	return s
}
