package emailotp_test

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"testing/fstest"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/storage/memory"
)

// userLanguage is a Config.Language that answers lang, or err.
func userLanguage(lang string, err error) func(context.Context, string) (string, error) {
	return func(context.Context, string) (string, error) { return lang, err }
}

// sendIn mails a code to a user whose recorded language is lang, during
// a request in ctx, and returns the message.
func sendIn(t *testing.T, ctx context.Context, mod func(*emailotp.Config)) emailotp.Message {
	t.Helper()
	f := newFixture(t, memory.New(), mod)
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Send(ctx, "u", addr, login); err != nil {
		t.Fatalf("send: %v", err)
	}
	return f.mail.Last(t)
}

// sentences are the lines of English's message that a translation must
// not repeat: every line of the subject and the text but the code.
func sentences(m emailotp.Message, code string) []string {
	var out []string
	for _, line := range strings.Split(m.Subject+"\n"+m.Text, "\n") {
		if line = strings.TrimSpace(line); line != "" && line != code {
			out = append(out, line)
		}
	}
	return out
}

// The code mail in each shipped language: none of English's sentences in
// its subject, text or HTML, the language in Message.Language and in the
// HTML's lang.
func TestCodeMailInEveryLanguage(t *testing.T) {
	english := sendIn(t, ctx, func(c *emailotp.Config) { c.Language = userLanguage("en", nil) })
	if english.Language != "en" {
		t.Errorf("English mail's Language = %q", english.Language)
	}
	enSentences := sentences(english, readCode(t, english.Text))
	if len(enSentences) < 4 {
		t.Fatalf("English mail has too few sentences to compare: %q", enSentences)
	}
	for _, tag := range i18n.Default().Languages() {
		if tag == language.English {
			continue
		}
		t.Run(tag.String(), func(t *testing.T) {
			m := sendIn(t, ctx, func(c *emailotp.Config) { c.Language = userLanguage(tag.String(), nil) })
			if m.Language != tag.String() {
				t.Errorf("Language = %q, want %q", m.Language, tag)
			}
			if !strings.Contains(m.HTML, `<html lang="`+tag.String()+`">`) {
				t.Errorf("HTML lacks lang=%q:\n%s", tag, m.HTML)
			}
			for _, s := range enSentences {
				for part, text := range map[string]string{"subject": m.Subject, "text": m.Text, "HTML": m.HTML} {
					if strings.Contains(text, s) {
						t.Errorf("%s has English %q:\n%s", part, s, text)
					}
				}
			}
			if !strings.Contains(m.Subject, "Acme Photos") || readCode(t, m.Text) == "" {
				t.Errorf("the issuer or the code is missing: %q\n%s", m.Subject, m.Text)
			}
		})
	}
}

// Ukrainian counts minutes in three forms: 1 and 21 хвилину, 2 хвилини, 5
// хвилин.
func TestCodeMailPlural(t *testing.T) {
	for _, tc := range []struct {
		lang    string
		minutes int
		want    string
	}{
		{"uk", 1, "1 хвилину."}, {"uk", 2, "2 хвилини."}, {"uk", 5, "5 хвилин."}, {"uk", 21, "21 хвилину."},
		{"uk", 15, "15 хвилин."}, {"de", 1, "1 Minute lang."}, {"de", 15, "15 Minuten lang."},
		{"fr", 1, "1 minute."}, {"es", 30, "30 minutos."}, {"en", 1, "1 minute."},
	} {
		m := sendIn(t, ctx, func(c *emailotp.Config) {
			c.Language = userLanguage(tc.lang, nil)
			c.Validity, c.Cooldown = time.Duration(tc.minutes)*time.Minute, time.Second
		})
		if !strings.Contains(m.Text, tc.want) {
			t.Errorf("%s, %d minutes: text lacks %q:\n%s", tc.lang, tc.minutes, tc.want, m.Text)
		}
	}
}

// The user's recorded language first, then the request's, then English;
// a failing Config.Language still sends the code.
func TestCodeMailLanguageChoice(t *testing.T) {
	french := i18n.WithLanguage(ctx, language.French)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		lang func(context.Context, string) (string, error)
		want string
	}{
		{"the user's over the request's", french, userLanguage("de", nil), "de"},
		{"the user's English over the request's", french, userLanguage("en-GB", nil), "en"},
		{"none recorded: the request's", french, userLanguage("", nil), "fr"},
		{"no Language: the request's", french, nil, "fr"},
		{"a language the catalogue lacks: the request's", french, userLanguage("zh", nil), "fr"},
		{"nonsense: the request's", french, userLanguage("not a tag!", nil), "fr"},
		{"Language fails: the request's", french, userLanguage("de", errors.New("database down")), "fr"},
		{"Language fails, no request language: English", ctx, userLanguage("de", errors.New("database down")), "en"},
		{"nothing at all: English", ctx, nil, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sendIn(t, tc.ctx, func(c *emailotp.Config) { c.Language = tc.lang })
			if m.Language != tc.want {
				t.Errorf("Language = %q, want %q (subject %q)", m.Language, tc.want, m.Subject)
			}
		})
	}
}

// An application's template is used as it is, with the language and the
// built-in sentences at hand.
func TestCustomTemplateGetsLanguage(t *testing.T) {
	subject := texttemplate.Must(texttemplate.New("s").Parse(`[{{.Lang}}] {{.Subject}}`))
	m := sendIn(t, ctx, func(c *emailotp.Config) {
		c.Language = userLanguage("de", nil)
		c.Templates.Subject = subject
	})
	if want := "[de] Acme Photos: Ihr Anmeldecode"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
}

// A catalogue whose subject holds a line break would write a header of
// its own: the mail is refused with ErrHeader, nothing is sent, and no
// code or cooldown is spent.
func TestCatalogueSubjectInjection(t *testing.T) {
	cat, err := i18n.New(fstest.MapFS{
		"mail.de.json": {Data: []byte(`{"mail.code.subject.issuer": "{{.Issuer}}: Ihr Code\r\nBcc: thief@example.org"}`)},
	}, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	lang := "de"
	f := newFixture(t, memory.New(), func(c *emailotp.Config) {
		c.Catalogue = cat
		c.Language = func(context.Context, string) (string, error) { return lang, nil }
	})
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Send(ctx, "u", addr, login)
	if !errors.Is(err, emailotp.ErrHeader) {
		t.Fatalf("Send = %v, want ErrHeader", err)
	}
	if n := len(f.mail.Messages()); n != 0 {
		t.Fatalf("%d messages sent, want none", n)
	}
	if waiting, err := f.svc.Waiting(ctx, "u", login); err != nil || waiting {
		t.Errorf("Waiting = %v, %v: a refused mail must leave no code", waiting, err)
	}
	lang = "en" // the same user in English: no cooldown was started
	if err := f.svc.Send(ctx, "u", addr, login); err != nil {
		t.Fatalf("send in English after the refusal: %v", err)
	}
}

// The SMTP mailer sets Content-Language from Message.Language and
// refuses one that is not a language tag.
func TestSMTPContentLanguage(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	m := smtpMailer(t, cfg)

	if err := m.Send(ctx, emailotp.Message{To: addr, Subject: "Ihr Anmeldecode", Text: "Hallo", Language: "de"}); err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(srv.delivery(t).data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Content-Language"); got != "de" {
		t.Errorf("Content-Language = %q, want de", got)
	}

	err = m.Send(ctx, emailotp.Message{To: addr, Subject: "x", Text: "x", Language: "de\r\nBcc: thief@example.org"})
	if err == nil || !strings.Contains(err.Error(), "not a language tag") {
		t.Errorf("a language with a line break: %v, want a refusal", err)
	}
	err = m.Send(ctx, emailotp.Message{To: addr, Subject: "x\r\nBcc: thief@example.org", Text: "x"})
	if !errors.Is(err, emailotp.ErrHeader) {
		t.Errorf("a subject with a line break: %v, want ErrHeader", err)
	}
}
