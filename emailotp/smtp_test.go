package emailotp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/storage/memory"
)

// The one-time code and the password that no error may ever show.
const (
	smtpCode     = "CODE-424242"
	smtpUser     = "otp@example.com"
	smtpPassword = "correct-horse-battery-staple"
)

func smtpMessage() emailotp.Message {
	return emailotp.Message{
		To:      "Jane Doe <jane@example.com>",
		Subject: "Acme – your sign-in code",
		Text:    "Your sign-in code is " + smtpCode + ".\nIt works once.",
		HTML:    "<p>Your sign-in code is <b>" + smtpCode + "</b>.</p>",
	}
}

// smtpServerOptions shapes a test server.
type smtpServerOptions struct {
	startTLS     bool   // offer STARTTLS
	implicitTLS  bool   // TLS from the first byte
	user, pass   string // require AUTH PLAIN with these when user is set
	insecureAuth bool   // offer AUTH on a connection in clear
	refuseRcpt   string // answer RCPT TO for this address with 550
}

// smtpServer is a real SMTP server, go-smtp's, on a loopback port; it
// records what reaches it.
type smtpServer struct {
	port int
	opts smtpServerOptions
	got  chan smtpDelivery // one per DATA accepted

	mu       sync.Mutex
	sessions int // EHLO/HELO received
	auths    int // AUTH attempts that reached the credential check
	mails    int // MAIL FROM received
}

type smtpDelivery struct {
	from string
	to   []string
	data []byte
}

func startSMTPServer(t *testing.T, cert tls.Certificate, o smtpServerOptions) *smtpServer {
	t.Helper()
	srv := &smtpServer{opts: o, got: make(chan smtpDelivery, 64)}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		srv.count(&srv.sessions)
		return &smtpSession{srv: srv}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = o.insecureAuth
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.port = l.Addr().(*net.TCPAddr).Port
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	if o.startTLS {
		s.TLSConfig = tlsConfig
	}
	if o.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		// Close alone can miss a listener that Serve has not registered
		// yet, when a test ends before its server was ever dialled.
		_ = s.Close()
		_ = l.Close()
		<-done
	})
	return srv
}

func (srv *smtpServer) count(n *int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	*n++
}

func (srv *smtpServer) counts() (sessions, auths, mails int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions, srv.auths, srv.mails
}

// delivery returns the message the server accepted. Send returns only
// after the server's answer to DATA, which the session gives after
// recording the message: no waiting is needed.
func (srv *smtpServer) delivery(t *testing.T) smtpDelivery {
	t.Helper()
	select {
	case d := <-srv.got:
		return d
	default:
		t.Fatal("the server received no message")
		return smtpDelivery{}
	}
}

// nothingSent fails the test if the server saw a MAIL FROM or a message.
func (srv *smtpServer) nothingSent(t *testing.T) {
	t.Helper()
	if _, _, mails := srv.counts(); mails != 0 {
		t.Errorf("the server received %d MAIL FROM commands; want none", mails)
	}
	select {
	case <-srv.got:
		t.Error("the server received a message; want none")
	default:
	}
}

type smtpSession struct {
	srv    *smtpServer
	authed bool
	from   string
	to     []string
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.srv.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		s.srv.count(&s.srv.auths)
		if username != s.srv.opts.user || password != s.srv.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.srv.count(&s.srv.mails)
	if s.srv.opts.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.srv.opts.refuseRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.got <- smtpDelivery{from: s.from, to: s.to, data: b}
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

// smtpCert makes a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func smtpCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "twofa test SMTP server"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// smtpConfig points a mailer at srv, trusting pool.
func smtpConfig(port int, pool *x509.CertPool, mode emailotp.TLSMode) emailotp.SMTPConfig {
	return emailotp.SMTPConfig{
		Host:      "127.0.0.1",
		Port:      port,
		From:      "Example <noreply@example.com>",
		TLS:       mode,
		TLSConfig: &tls.Config{RootCAs: pool},
		Timeout:   10 * time.Second,
	}
}

func smtpMailer(t *testing.T, cfg emailotp.SMTPConfig) *emailotp.SMTP {
	t.Helper()
	m, err := emailotp.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return m
}

// smtpFailed checks that err is a clear mailer error that mentions every
// one of want (case-insensitive) and that neither it nor any error it
// wraps shows the code or the password.
func smtpFailed(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("Send returned nil; want an error")
	}
	text := err.Error()
	if !strings.HasPrefix(text, "emailotp: smtp: ") {
		t.Errorf("error %q does not start with %q", text, "emailotp: smtp: ")
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(w)) {
			t.Errorf("error %q does not mention %q", text, w)
		}
	}
	for _, e := range smtpErrTree(err) {
		for _, secret := range []string{smtpCode, smtpPassword} {
			if strings.Contains(e.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", e), secret) {
				t.Errorf("error %q (in %q) shows %q", e.Error(), text, secret)
			}
		}
	}
	t.Logf("error: %v", err)
}

// smtpErrTree lists err and every error it wraps.
func smtpErrTree(err error) []error {
	if err == nil {
		return nil
	}
	all := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		all = append(all, smtpErrTree(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			all = append(all, smtpErrTree(e)...)
		}
	}
	return all
}

// smtpNormalize undoes the CRLF line ends of the wire.
func smtpNormalize(b []byte) string {
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	m := smtpMailer(t, cfg)

	want := smtpMessage()
	if err := m.Send(context.Background(), want); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := srv.delivery(t)
	if d.from != "noreply@example.com" || !slices.Equal(d.to, []string{"jane@example.com"}) {
		t.Errorf("envelope: MAIL FROM %q, RCPT TO %q; want noreply@example.com, [jane@example.com]", d.from, d.to)
	}

	msg, err := mail.ReadMessage(bytes.NewReader(d.data))
	if err != nil {
		t.Fatalf("the delivered message does not parse: %v\n%s", err, d.data)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 ||
		from[0].Name != "Example" || from[0].Address != "noreply@example.com" {
		t.Errorf("From: %v, %v; want Example <noreply@example.com>", from, err)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 ||
		to[0].Name != "Jane Doe" || to[0].Address != "jane@example.com" {
		t.Errorf("To: %v, %v; want Jane Doe <jane@example.com>", to, err)
	}
	if subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || subject != want.Subject {
		t.Errorf("Subject: %q, %v; want %q", subject, err, want.Subject)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q; want <...@example.com>", id)
	}

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v); want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, ctParams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(ctParams["charset"], "utf-8") {
			t.Errorf("%s part: charset %q; want UTF-8", ct, ctParams["charset"])
		}
		body, err := io.ReadAll(p) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = smtpNormalize(body)
	}
	if len(parts) != 2 || parts["text/plain"] != want.Text || parts["text/html"] != want.HTML {
		t.Errorf("parts %q; want text/plain %q and text/html %q", parts, want.Text, want.HTML)
	}
}

func TestSMTPRefusesServerWithoutSTARTTLS(t *testing.T) {
	cert, pool := smtpCert(t)
	for _, tc := range []struct {
		name string
		opts smtpServerOptions
	}{
		{"relay without auth", smtpServerOptions{}},
		// The server offers AUTH in clear; the password must not follow.
		{"auth offered in clear", smtpServerOptions{user: smtpUser, pass: smtpPassword, insecureAuth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTPServer(t, cert, tc.opts)
			cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
			if tc.opts.user != "" {
				cfg.Username, cfg.Password = smtpUser, smtpPassword
			}
			err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
			smtpFailed(t, err, "STARTTLS")
			if !errors.Is(err, emailotp.ErrSTARTTLSRequired) {
				t.Errorf("errors.Is(%v, ErrSTARTTLSRequired) = false", err)
			}
			if _, auths, _ := srv.counts(); auths != 0 {
				t.Errorf("the server saw %d AUTH attempts; want none", auths)
			}
			srv.nothingSent(t)
		})
	}
}

func TestSMTPAuthFailure(t *testing.T) {
	cert, pool := smtpCert(t)
	t.Run("wrong password", func(t *testing.T) {
		srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: "the-right-one"})
		cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
		cfg.Username, cfg.Password = smtpUser, smtpPassword
		err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
		smtpFailed(t, err, "authentication failed", "535")
		if !errors.Is(err, emailotp.ErrSMTPAuth) {
			t.Errorf("errors.Is(%v, ErrSMTPAuth) = false", err)
		}
		if _, auths, _ := srv.counts(); auths != 1 {
			t.Errorf("the server saw %d AUTH attempts; want 1", auths)
		}
		srv.nothingSent(t)
	})
	t.Run("server without AUTH", func(t *testing.T) {
		srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true})
		cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
		cfg.Username, cfg.Password = smtpUser, smtpPassword
		err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
		smtpFailed(t, err, "authentication failed", "does not offer AUTH")
		if !errors.Is(err, emailotp.ErrSMTPAuth) {
			t.Errorf("errors.Is(%v, ErrSMTPAuth) = false", err)
		}
		srv.nothingSent(t)
	})
}

func TestSMTPPlainRelay(t *testing.T) {
	cert, _ := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{})
	cfg := smtpConfig(srv.port, nil, emailotp.Plain)
	cfg.TLSConfig = nil
	m := smtpMailer(t, cfg)

	// Without HTML, a plain text message rather than a multipart one.
	want := emailotp.Message{To: "jane@example.com", Subject: "Your code", Text: "Your code is " + smtpCode + "."}
	if err := m.Send(context.Background(), want); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := srv.delivery(t)
	if !slices.Equal(d.to, []string{"jane@example.com"}) {
		t.Errorf("RCPT TO %q; want [jane@example.com]", d.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(d.data))
	if err != nil {
		t.Fatal(err)
	}
	if ct, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); ct != "text/plain" {
		t.Errorf("Content-Type %q; want text/plain", msg.Header.Get("Content-Type"))
	}
	if msg.Header.Get("Subject") != want.Subject {
		t.Errorf("Subject %q; want %q", msg.Header.Get("Subject"), want.Subject)
	}
	if !strings.Contains(smtpNormalize(d.data), want.Text) {
		t.Errorf("the message does not hold the text %q:\n%s", want.Text, d.data)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{implicitTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.ImplicitTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	if err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d := srv.delivery(t); !bytes.Contains(d.data, []byte("Subject:")) {
		t.Errorf("delivered:\n%s", d.data)
	}
}

// A server whose certificate is not trusted gets neither the password nor
// the message.
func TestSMTPUntrustedCertificate(t *testing.T) {
	cert, _ := smtpCert(t)
	for _, tc := range []struct {
		mode emailotp.TLSMode
		opts smtpServerOptions
	}{
		{emailotp.StartTLS, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword}},
		{emailotp.ImplicitTLS, smtpServerOptions{implicitTLS: true, user: smtpUser, pass: smtpPassword}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			srv := startSMTPServer(t, cert, tc.opts)
			cfg := smtpConfig(srv.port, x509.NewCertPool(), tc.mode)
			cfg.Username, cfg.Password = smtpUser, smtpPassword
			err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
			smtpFailed(t, err, "certificate")
			if _, auths, _ := srv.counts(); auths != 0 {
				t.Errorf("the server saw %d AUTH attempts; want none", auths)
			}
			srv.nothingSent(t)
		})
	}
}

func TestSMTPRecipientRefused(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, refuseRcpt: "nobody@example.com"})
	m := smtpMailer(t, smtpConfig(srv.port, pool, emailotp.StartTLS))
	msg := smtpMessage()
	msg.To = "nobody@example.com"
	err := m.Send(context.Background(), msg)
	smtpFailed(t, err, "recipient refused", "nobody@example.com", "550")
	if !errors.Is(err, emailotp.ErrRecipientRefused) {
		t.Errorf("errors.Is(%v, ErrRecipientRefused) = false", err)
	}
	select {
	case <-srv.got:
		t.Error("the server received a message; want none")
	default:
	}
}

// smtpSilentServer accepts connections and never says a word, like a
// server that hangs; accepted receives one value per connection.
func smtpSilentServer(t *testing.T) (port int, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan struct{}, 16)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			acc <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port, acc
}

func TestSMTPConnectionErrors(t *testing.T) {
	cert, pool := smtpCert(t)

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		cfg := smtpConfig(port, pool, emailotp.StartTLS)
		cfg.Timeout = 2 * time.Second
		err = smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
		smtpFailed(t, err, "connect", "refused")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
		}
	})

	t.Run("context cancelled before Send", func(t *testing.T) {
		srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true})
		cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
		cfg.Timeout = 2 * time.Second
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := smtpMailer(t, cfg).Send(cctx, smtpMessage())
		smtpFailed(t, err, "canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(%v, context.Canceled) = false", err)
		}
		if sessions, _, _ := srv.counts(); sessions != 0 {
			t.Errorf("the server saw %d sessions; want none", sessions)
		}
	})

	t.Run("context cancelled while the server hangs", func(t *testing.T) {
		port, accepted := smtpSilentServer(t)
		cfg := smtpConfig(port, pool, emailotp.StartTLS)
		cfg.Timeout = time.Hour // only the cancellation can end this Send
		cctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-accepted
			cancel()
		}()
		err := smtpMailer(t, cfg).Send(cctx, smtpMessage())
		smtpFailed(t, err, "canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(%v, context.Canceled) = false", err)
		}
	})

	// The server hangs before its greeting (StartTLS) or in the TLS
	// handshake (ImplicitTLS).
	for _, mode := range []emailotp.TLSMode{emailotp.StartTLS, emailotp.ImplicitTLS} {
		t.Run("timeout while the server hangs/"+mode.String(), func(t *testing.T) {
			port, _ := smtpSilentServer(t)
			cfg := smtpConfig(port, pool, mode)
			cfg.Timeout = 200 * time.Millisecond
			err := smtpMailer(t, cfg).Send(context.Background(), smtpMessage())
			smtpFailed(t, err, "timed out after 200ms")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
			}
		})
	}
}

func TestNewSMTPRejectsBadConfig(t *testing.T) {
	good := emailotp.SMTPConfig{Host: "smtp.example.com", From: "otp@example.com"}
	if _, err := emailotp.NewSMTP(good); err != nil {
		t.Fatalf("NewSMTP(%+v): %v", good, err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*emailotp.SMTPConfig)
	}{
		{"no host", func(c *emailotp.SMTPConfig) { c.Host = "" }},
		{"host with port", func(c *emailotp.SMTPConfig) { c.Host = "smtp.example.com:587" }},
		{"host with space", func(c *emailotp.SMTPConfig) { c.Host = "smtp example.com" }},
		{"no from", func(c *emailotp.SMTPConfig) { c.From = "" }},
		{"from without @", func(c *emailotp.SMTPConfig) { c.From = "otp" }},
		{"from with two addresses", func(c *emailotp.SMTPConfig) { c.From = "a@example.com, b@example.com" }},
		{"from with line break", func(c *emailotp.SMTPConfig) { c.From = "otp@example.com\r\nBcc: x@example.org" }},
		{"negative port", func(c *emailotp.SMTPConfig) { c.Port = -1 }},
		{"port above 65535", func(c *emailotp.SMTPConfig) { c.Port = 70000 }},
		{"unknown TLS mode", func(c *emailotp.SMTPConfig) { c.TLS = emailotp.TLSMode(7) }},
		{"negative timeout", func(c *emailotp.SMTPConfig) { c.Timeout = -time.Second }},
		{"password without username", func(c *emailotp.SMTPConfig) { c.Password = smtpPassword }},
		{"username in clear", func(c *emailotp.SMTPConfig) {
			c.TLS, c.Username, c.Password = emailotp.Plain, smtpUser, smtpPassword
		}},
		{"HELO with line break", func(c *emailotp.SMTPConfig) { c.HELO = "mail.example.com\r\nMAIL FROM:<x@y>" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			m, err := emailotp.NewSMTP(cfg)
			if err == nil {
				t.Fatalf("NewSMTP(%+v) = %v, nil; want an error", cfg, m)
			}
			if !strings.HasPrefix(err.Error(), "emailotp: smtp: ") {
				t.Errorf("error %q does not start with %q", err, "emailotp: smtp: ")
			}
			if strings.Contains(err.Error(), smtpPassword) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestSMTPRejectsBadMessage(t *testing.T) {
	cert, _ := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{})
	cfg := smtpConfig(srv.port, nil, emailotp.Plain)
	m := smtpMailer(t, cfg)
	for _, tc := range []struct {
		name string
		mod  func(*emailotp.Message)
	}{
		{"to without @", func(m *emailotp.Message) { m.To = "no-at-sign" }},
		{"to with two @", func(m *emailotp.Message) { m.To = "a@b@c" }},
		{"empty to", func(m *emailotp.Message) { m.To = "" }},
		{"two recipients", func(m *emailotp.Message) { m.To = "jane@example.com, eve@example.org" }},
		{"header injection in to", func(m *emailotp.Message) { m.To = "jane@example.com\r\nBcc: eve@example.org" }},
		{"bare LF in to", func(m *emailotp.Message) { m.To = "jane@example.com\nBcc: eve@example.org" }},
		{"header injection in subject", func(m *emailotp.Message) { m.Subject = "Your code\r\nBcc: eve@example.org" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := smtpMessage()
			tc.mod(&msg)
			smtpFailed(t, m.Send(context.Background(), msg))
		})
	}
	if sessions, _, _ := srv.counts(); sessions != 0 {
		t.Errorf("the server saw %d sessions; want none: bad messages must be refused before connecting", sessions)
	}
	srv.nothingSent(t)
}

// One mailer serves concurrent Sends; go test -race checks the sharing.
func TestSMTPConcurrentSends(t *testing.T) {
	cert, pool := smtpCert(t)
	srv := startSMTPServer(t, cert, smtpServerOptions{startTLS: true, user: smtpUser, pass: smtpPassword})
	cfg := smtpConfig(srv.port, pool, emailotp.StartTLS)
	cfg.Username, cfg.Password = smtpUser, smtpPassword
	m := smtpMailer(t, cfg)

	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			msg := smtpMessage()
			msg.To = fmt.Sprintf("user%d@example.com", i)
			errs <- m.Send(context.Background(), msg)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	var got []string
	for range n {
		got = append(got, srv.delivery(t).to...)
	}
	slices.Sort(got)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("user%d@example.com", i))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}
}

// A mailer for a submission server with STARTTLS on port 587, the
// defaults. NewSMTP only checks the configuration: a wrong password shows
// at the first Send.
func ExampleNewSMTP() {
	mailer, err := emailotp.NewSMTP(emailotp.SMTPConfig{
		Host:     "smtp.example.com",
		Username: "otp@example.com",
		Password: os.Getenv("SMTP_PASSWORD"),
		From:     "Example <otp@example.com>",
	})
	if err != nil {
		panic(err)
	}
	svc, err := emailotp.New(emailotp.Config{
		Store:  memory.New(),
		Mailer: mailer,
		Issuer: "Example",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("offered:", svc.Available("jane@example.com"))
	// Output: offered: true
}
