package emailotp_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
)

// The whole way, as a user meets it: a code mailed through a real SMTP
// server (STARTTLS, authentication), read out of the delivered message's
// text, accepted once and refused the second time.
func TestEndToEndOverSMTP(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword

	f := newFixture(t, memory.New(), func(c *emailotp.Config) { c.Mailer = smtpMailer(t, cfg) })
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Send(ctx, "u", addr, login); err != nil {
		t.Fatalf("send over SMTP: %v", err)
	}
	d := srv.delivery(t)
	if len(d.to) != 1 || d.to[0] != addr {
		t.Fatalf("delivered to %v", d.to)
	}
	code := readCode(t, plainText(t, d.data))

	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("the delivered code: %v", err)
	}
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrInvalidCode) {
		t.Fatalf("the delivered code again: %v, want ErrInvalidCode", err)
	}
}

// 20 parallel sends, all past their read before any writes, through a
// real SMTP exchange (STARTTLS, authentication): the server receives one
// message, the others get a *CooldownError, and the delivered code works.
func TestParallelSendsOverSMTP(t *testing.T) {
	const n = 20
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	store := memory.New()
	f := newFixture(t, store)
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t, &barrierStore{store, testdb.NewBarrier(n)}, func(c *emailotp.Config) {
		c.Now = f.clock
		c.Mailer = smtpMailer(t, cfg)
	})
	passed := parallelSends(t, g.svc, n)
	if len(passed) != 1 {
		t.Fatalf("%d of %d parallel sends passed, want 1", len(passed), n)
	}
	if _, _, mails := srv.counts(); mails != 1 {
		t.Fatalf("the SMTP server received %d MAIL FROM commands, want 1", mails)
	}
	code := readCode(t, plainText(t, srv.delivery(t).data))
	if err := f.svc.Verify(ctx, "u", passed[0], code); err != nil {
		t.Fatalf("the delivered code: %v", err)
	}
}

// A mailer that cannot deliver consumes nothing: the earlier code stays.
func TestSMTPFailureConsumesNothing(t *testing.T) {
	cert, pool := smtpCert(t)
	good := startSMTPServer(t, cert, smtpServerOptions{startTLS: true})
	noTLS := startSMTPServer(t, cert, smtpServerOptions{})
	f := newFixture(t, memory.New(), func(c *emailotp.Config) {
		c.Mailer = smtpMailer(t, smtpConfig(good.port, pool, emailotp.StartTLS))
	})
	f.svc.Enable(ctx, "u")
	if err := f.svc.Send(ctx, "u", addr, login); err != nil {
		t.Fatal(err)
	}
	code := readCode(t, plainText(t, good.delivery(t).data))

	g := newFixture(t, f.store, func(c *emailotp.Config) {
		c.Now = f.clock
		c.Mailer = smtpMailer(t, smtpConfig(noTLS.port, pool, emailotp.StartTLS))
	})
	f.now = f.now.Add(2 * time.Minute)
	err := g.svc.Send(ctx, "u", addr, login)
	if !errors.Is(err, emailotp.ErrSend) || !errors.Is(err, emailotp.ErrSTARTTLSRequired) {
		t.Fatalf("send without STARTTLS: %v", err)
	}
	noTLS.nothingSent(t)
	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("the earlier code after the failed send: %v", err)
	}
}

// plainText returns the decoded text/plain part of a delivered message, as
// a mail client shows it.
func plainText(t *testing.T, data []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decode(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return decode(t, p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

func decode(t *testing.T, enc string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(enc, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
