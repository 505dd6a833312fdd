package twofa_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/storage/memory"
)

// noticeCases bring about each kind of notice.
var noticeCases = []struct {
	name    string
	prepare func(*fixture, *testing.T) // nil: f.setUp
	action  func(*fixture, *testing.T)
}{
	{"method added", func(*fixture, *testing.T) {}, func(f *fixture, t *testing.T) { f.enrollApp(t) }},
	{"new backup codes", nil, func(f *fixture, t *testing.T) { f.now = f.now.Add(time.Minute); must(t, gen(f)) }},
	{"backup code used", nil, func(f *fixture, t *testing.T) { _, err := f.tf.Verify(ctx, "u", login, f.codes[0]); must(t, err) }},
	{"method turned off", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Disable(ctx, "u", twofa.TOTP)) }},
	{"method removed", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Remove(ctx, "u", twofa.Email)) }},
	{"no method left", func(f *fixture, t *testing.T) { f.enrollApp(t) },
		func(f *fixture, t *testing.T) { must(t, f.tf.Remove(ctx, "u", twofa.TOTP)) }},
	{"backup codes alone", func(f *fixture, t *testing.T) { f.enrollApp(t); must(t, gen(f)) },
		func(f *fixture, t *testing.T) { must(t, f.tf.Disable(ctx, "u", twofa.TOTP)) }},
	{"locked", nil, func(f *fixture, t *testing.T) { f.failTo(t, "u", 20) }},
	{"locked for good", nil, func(f *fixture, t *testing.T) { f.failTo(t, "u", 100) }},
	{"reset", nil, func(f *fixture, t *testing.T) { must(t, f.tf.Reset(ctx, "u")) }},
}

// notices runs case c for a user whose recorded language is lang and
// returns the notices it mailed, and the clock's time after it.
func notices(t *testing.T, c int, lang string) ([]emailotp.Message, time.Time) {
	t.Helper()
	f := newFixture(t, memory.New(), func(cfg *twofa.Config) {
		cfg.Language = func(context.Context, string) (string, error) { return lang, nil }
	})
	if noticeCases[c].prepare == nil {
		f.setUp(t, "u")
	} else {
		noticeCases[c].prepare(f, t)
	}
	before := len(f.mail.Messages())
	noticeCases[c].action(f, t)
	got := f.mail.Messages()[before:]
	if len(got) == 0 {
		t.Fatal("no notice was mailed")
	}
	return got, f.now
}

// Every notice in every shipped language: none of English's sentences in
// its subject, text or HTML (the issuer aside), the language in
// Message.Language and the HTML's lang, and the lock's end as the
// language writes dates.
func TestNoticesInEveryLanguage(t *testing.T) {
	cat := i18n.Default()
	for c, nc := range noticeCases {
		t.Run(nc.name, func(t *testing.T) {
			english, _ := notices(t, c, "en")
			var enLines []string
			for _, m := range english {
				for _, line := range strings.Split(m.Subject+"\n"+m.Text, "\n") {
					if line = strings.TrimSpace(line); line != "" {
						enLines = append(enLines, line)
					}
				}
			}
			for _, tag := range cat.Languages() {
				if tag == language.English {
					continue
				}
				t.Run(tag.String(), func(t *testing.T) {
					got, now := notices(t, c, tag.String())
					if len(got) != len(english) {
						t.Fatalf("%d notices, English has %d", len(got), len(english))
					}
					for _, m := range got {
						if m.Language != tag.String() || !strings.Contains(m.HTML, `<html lang="`+tag.String()+`">`) {
							t.Errorf("Language %q, HTML %q: want %s", m.Language, m.HTML[:min(len(m.HTML), 40)], tag)
						}
						if !strings.HasPrefix(m.Subject, "Acme") {
							t.Errorf("subject %q lacks the issuer", m.Subject)
						}
						for _, line := range enLines {
							if strings.Contains(m.Subject+"\n"+m.Text+"\n"+m.HTML, line) {
								t.Errorf("English %q in the notice:\n%s\n%s", line, m.Subject, m.Text)
							}
						}
					}
					if nc.name == "locked" {
						// The lock lasts an hour from the last failure.
						until := now.Add(time.Hour).UTC()
						last := got[len(got)-1]
						date, clock := cat.Printer(tag).Date(until), until.Format("15:04")
						if !strings.Contains(last.Text, date+" ") || !strings.Contains(last.Text, clock) {
							t.Errorf("the lock's end, %s at %s, is not in the notice:\n%s", date, clock, last.Text)
						}
					}
				})
			}
		})
	}
}

// The user's recorded language, not the request's: a German user's
// notice and code mail go out in German during a request in French; a
// failing Config.Language leaves them in French, still sent.
func TestNoticeLanguageIsTheUsers(t *testing.T) {
	french := i18n.WithLanguage(ctx, language.French)
	for _, tc := range []struct {
		name string
		lang func(context.Context, string) (string, error)
		want string
	}{
		{"German user, French request", func(context.Context, string) (string, error) { return "de", nil }, "de"},
		{"no language recorded", func(context.Context, string) (string, error) { return "", nil }, "fr"},
		{"Language fails", func(context.Context, string) (string, error) { return "", errors.New("database down") }, "fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memory.New(), func(cfg *twofa.Config) { cfg.Language = tc.lang })
			f.setUp(t, "u")
			before := len(f.mail.Messages())
			must(t, f.tf.Disable(french, "u", twofa.TOTP))
			if err := f.tf.Email.Send(french, "u", "u@example.com", login); err != nil {
				t.Fatal(err)
			}
			got := f.mail.Messages()[before:]
			if len(got) != 2 {
				t.Fatalf("%d mails, want the notice and the code", len(got))
			}
			for _, m := range got {
				if m.Language != tc.want {
					t.Errorf("%q in %q, want %q", m.Subject, m.Language, tc.want)
				}
			}
			p, err := f.tf.Printer(french, "u")
			if err != nil || p.Tag().String() != tc.want {
				t.Errorf("Printer = %v, %v; want %s", p.Tag(), err, tc.want)
			}
		})
	}
}

// A catalogue whose notice subject holds a line break would write a
// header: the notice is not sent, event.NoticeFailed says so, and what
// caused it stands.
func TestNoticeSubjectInjection(t *testing.T) {
	cat, err := i18n.New(fstest.MapFS{
		"mail.de.json": {Data: []byte(`{"mail.notice.subject.issuer": "{{.Issuer}}: {{.What}}\nBcc: thief@example.org"}`)},
	}, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, memory.New(), func(cfg *twofa.Config) {
		cfg.Catalogue = cat
		cfg.Language = func(context.Context, string) (string, error) { return "de", nil }
	})
	f.setUp(t, "u")
	before := len(f.mail.Messages())
	must(t, f.tf.Disable(ctx, "u", twofa.TOTP))
	if got := f.mail.Messages()[before:]; len(got) != 0 {
		t.Fatalf("mailed %q", got[0].Subject)
	}
	failed := 0
	for _, e := range f.events.All() {
		if e.Kind == event.NoticeFailed && e.Reason == string(event.Disabled) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d NoticeFailed events for the turned-off method, want 1", failed)
	}
	if st, err := f.tf.Account(ctx, "u"); err != nil || slices.Contains(st.Offered, twofa.TOTP) {
		t.Errorf("the app is still offered (%v): a failed notice must not undo the change", err)
	}
}

// Over SMTP, a German user's notice has a German subject and
// Content-Language: de.
func TestNoticeLanguageOverSMTP(t *testing.T) {
	srv := startSMTP(t)
	f := newFixture(t, memory.New(), srv.mailer(t), func(cfg *twofa.Config) {
		cfg.Language = func(context.Context, string) (string, error) { return "de", nil }
	})
	f.setUp(t, "u")
	srv.take()
	must(t, f.tf.Disable(ctx, "u", twofa.TOTP))
	got := srv.take()
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1", len(got))
	}
	if want := "Acme: Eine Anmeldemethode Ihres Kontos wurde ausgeschaltet"; got[0].subject != want || got[0].lang != "de" {
		t.Errorf("subject %q, Content-Language %q; want %q, de", got[0].subject, got[0].lang, want)
	}
}
