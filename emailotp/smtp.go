package emailotp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gomailsmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/text/language"
)

// TLSMode says how an [SMTP] mailer protects its connection. The messages
// carry sign-in codes and the connection may carry a password, so the zero
// value requires TLS.
type TLSMode int

const (
	// StartTLS connects in clear and upgrades with STARTTLS (RFC 3207)
	// before anything else is said, usually on port 587. A server that does
	// not offer STARTTLS is sent nothing: no credentials, no message. This
	// is the default.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (RFC 8314), usually on
	// port 465.
	ImplicitTLS
	// Plain uses no TLS at all. It is meant for a relay on the same host or
	// a trusted private network, must be chosen explicitly, and cannot be
	// combined with a Username: a password never crosses in clear.
	Plain
)

// String returns the constant's name.
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "StartTLS"
	case ImplicitTLS:
		return "ImplicitTLS"
	case Plain:
		return "Plain"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

func (m TLSMode) defaultPort() int {
	switch m {
	case ImplicitTLS:
		return 465
	case Plain:
		return 25
	}
	return 587
}

// smtpTimeout bounds one Send when SMTPConfig.Timeout is zero: long enough
// for a slow submission server, short enough for a user waiting on a page.
const smtpTimeout = 30 * time.Second

// SMTPConfig configures an [SMTP] mailer. Host and From are required; the
// zero value of every other field is the safe default.
type SMTPConfig struct {
	// Host is the server's name or IP address, without a port. TLS
	// certificates are checked against it.
	Host string
	// Port defaults to 587 for StartTLS, 465 for ImplicitTLS and 25 for
	// Plain.
	Port int
	// Username and Password authenticate to the server when Username is
	// set. The mechanism is chosen from those the server offers, once TLS
	// is up: PLAIN, then LOGIN, then SCRAM-SHA-256 and SCRAM-SHA-1.
	Username string
	Password string
	// From is the sender, as net/mail parses it: "otp@example.com" or
	// "Example <otp@example.com>". Its domain also names the Message-ID.
	From string
	// TLS is StartTLS unless set.
	TLS TLSMode
	// TLSConfig is used for the TLS handshake, e.g. to trust a private CA
	// through RootCAs. nil means the system roots; an empty ServerName
	// means Host.
	TLSConfig *tls.Config
	// Timeout bounds a whole Send: connecting, TLS, authentication and
	// delivery together. The default is 30 seconds.
	Timeout time.Duration
	// HELO is the name the mailer introduces itself with; the default is
	// the machine's host name.
	HELO string
}

// SMTP is a [Mailer] that submits each message to one SMTP server, over a
// new connection per message. It is safe for concurrent use.
type SMTP struct {
	host    string
	port    int
	addr    string // host:port, for dialling and for errors
	user    string
	pass    string
	from    mail.Address
	domain  string // right-hand side of Message-IDs
	mode    TLSMode
	tls     *tls.Config
	timeout time.Duration
	expired error // the cause recorded when timeout runs out
	helo    string
}

var _ Mailer = (*SMTP)(nil)

var (
	// ErrSTARTTLSRequired reports that the server, in mode StartTLS, did not
	// offer STARTTLS. Nothing was sent to it, not even credentials.
	ErrSTARTTLSRequired = errors.New("emailotp: smtp: server does not offer STARTTLS")
	// ErrSMTPAuth reports that the server refused the Username and
	// Password, or that it offers no mechanism the mailer can use.
	ErrSMTPAuth = errors.New("emailotp: smtp: authentication failed")
	// ErrRecipientRefused reports that the server refused the recipient's
	// address (RCPT TO).
	ErrRecipientRefused = errors.New("emailotp: smtp: recipient refused")
)

// NewSMTP validates cfg, fills in the defaults and returns a mailer. It
// does not connect: a wrong password or an unreachable server shows at the
// first Send.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	s := &SMTP{
		host:    cfg.Host,
		port:    cfg.Port,
		user:    cfg.Username,
		pass:    cfg.Password,
		mode:    cfg.TLS,
		timeout: cfg.Timeout,
		helo:    cfg.HELO,
	}
	switch {
	case s.host == "":
		return nil, errors.New("emailotp: smtp: Host is required")
	case strings.ContainsAny(s.host, " \t\r\n/"):
		return nil, fmt.Errorf("emailotp: smtp: Host %q is not a host name", s.host)
	case strings.Contains(s.host, ":") && net.ParseIP(s.host) == nil:
		return nil, fmt.Errorf("emailotp: smtp: Host %q must not include a port; set Port", s.host)
	}
	switch s.mode {
	case StartTLS, ImplicitTLS, Plain:
	default:
		return nil, fmt.Errorf("emailotp: smtp: unknown TLS mode %d", int(s.mode))
	}
	switch {
	case s.port == 0:
		s.port = s.mode.defaultPort()
	case s.port < 0 || s.port > 65535:
		return nil, fmt.Errorf("emailotp: smtp: Port %d is out of range", s.port)
	}
	s.addr = net.JoinHostPort(s.host, strconv.Itoa(s.port))

	if cfg.From == "" {
		return nil, errors.New("emailotp: smtp: From is required")
	}
	if strings.ContainsAny(cfg.From, "\r\n") {
		return nil, errors.New("emailotp: smtp: From contains a line break")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("emailotp: smtp: From %q: %w", cfg.From, err)
	}
	s.from = *from
	s.domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	switch {
	case s.user == "" && s.pass != "":
		return nil, errors.New("emailotp: smtp: Password is set without Username")
	case s.user != "" && s.mode == Plain:
		return nil, errors.New("emailotp: smtp: Username needs TLS: mode Plain would send the password in clear")
	}
	switch {
	case s.timeout == 0:
		s.timeout = smtpTimeout
	case s.timeout < 0:
		return nil, fmt.Errorf("emailotp: smtp: Timeout %v is negative", s.timeout)
	}
	s.expired = fmt.Errorf("timed out after %v: %w", s.timeout, context.DeadlineExceeded)
	if strings.ContainsAny(s.helo, " \t\r\n") {
		return nil, fmt.Errorf("emailotp: smtp: HELO %q is not a host name", s.helo)
	}

	// A copy, so that later changes by the caller do not reach a mailer
	// that may be sending concurrently.
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	return s, nil
}

// Send submits m and returns once the server has accepted it. It refuses
// a recipient that net/mail does not parse and a To or Subject holding a
// line break (header injection) before connecting. It gives up when ctx
// ends or after the configured Timeout, whichever comes first.
//
// Errors start with "emailotp: smtp:" and never contain the password or
// the message's text; ErrSTARTTLSRequired, ErrSMTPAuth and
// ErrRecipientRefused can be matched with errors.Is, and so can
// context.Canceled and context.DeadlineExceeded.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, to, err := s.message(m)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeoutCause(ctx, s.timeout, s.expired)
	defer cancel()

	// go-mail reads the context only while dialling and gives every later
	// step a fresh timeout of its own. Closing the connection when ctx ends
	// makes the Timeout cover the whole exchange and lets a cancellation
	// stop it midway; it also frees a connection that go-mail leaves open
	// when EHLO or STARTTLS fails.
	var conn net.Conn
	stop := func() bool { return false }
	defer func() {
		stop()
		if conn != nil {
			_ = conn.Close()
		}
	}()
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		// go-mail's own address, "host:port", is wrong for IPv6 literals.
		var d net.Dialer
		c, err := d.DialContext(dctx, "tcp", s.addr)
		if err != nil {
			return nil, err
		}
		conn = c
		stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		if s.mode != ImplicitTLS {
			return c, nil
		}
		tc := tls.Client(c, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, err
		}
		return tc, nil
	}

	var login *smtpLogin
	if s.user != "" {
		login = &smtpLogin{host: s.host, user: s.user, pass: s.pass}
	}
	client, err := gomail.NewClient(s.host, s.options(dial, login)...)
	if err != nil {
		return fmt.Errorf("emailotp: smtp: %w", err)
	}

	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.dialFailed(ctx, login, err)
	}
	defer func() { _ = client.CloseWithSMTPClient(sc) }()
	if _, ok := sc.TLSConnectionState(); !ok && s.mode != Plain {
		return s.noSTARTTLS()
	}
	err = client.SendWithSMTPClient(sc, msg)
	// Once the server has accepted the message it is on its way, whatever
	// happens to the connection afterwards; an error would make the caller
	// believe otherwise.
	if err != nil && !msg.IsDelivered() {
		return s.sendFailed(ctx, to, err)
	}
	return nil
}

// options configures go-mail for one Send.
func (s *SMTP) options(dial gomail.DialContextFunc, login *smtpLogin) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tls),
		// One message per connection: a NOOP before it and a RSET after it
		// only add round trips, and some relays implement neither.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch s.mode {
	case StartTLS:
		// go-mail's TLSMandatory reports a missing STARTTLS only as text.
		// Opportunistic lets Send find out itself, reliably: the login
		// refuses to start without TLS, and the connection is checked
		// before any message is given to it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		// ImplicitTLS: the dialler did the handshake; Plain: none at all.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.helo != "" {
		opts = append(opts, gomail.WithHELO(s.helo))
	}
	if login != nil {
		opts = append(opts, gomail.WithSMTPAuthCustom(login))
	}
	return opts
}

// message validates m and builds the mail: multipart/alternative when m
// has an HTML part, text/plain otherwise.
func (s *SMTP) message(m Message) (*gomail.Msg, string, error) {
	// Checked before parsing, so that the error need not quote the value.
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, "", errors.New("emailotp: smtp: recipient contains a line break")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, "", fmt.Errorf("emailotp: smtp: subject contains a line break: %w", ErrHeader)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, "", fmt.Errorf("emailotp: smtp: recipient %q: %w", m.To, err)
	}
	from := s.from

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	if m.Language != "" {
		// A tag that parses is letters, digits and hyphens: no line
		// break reaches the header.
		tag, err := language.Parse(m.Language)
		if err != nil {
			return nil, "", fmt.Errorf("emailotp: smtp: the message's language %q is not a language tag", m.Language)
		}
		msg.SetGenHeader("Content-Language", tag.String())
	}
	msg.SetDate()
	// go-mail names Message-IDs after this machine's host name, which the
	// recipient has no business knowing; the sender's domain is the usual
	// choice.
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.domain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, to.Address, nil
}

// dialFailed explains an error from connecting, the greeting, STARTTLS or
// authentication.
func (s *SMTP) dialFailed(ctx context.Context, login *smtpLogin, err error) error {
	switch {
	case smtpEnded(ctx):
		return s.aborted(ctx)
	case errors.Is(err, ErrSTARTTLSRequired):
		return s.noSTARTTLS()
	case login != nil && login.started:
		// Authentication is the last step of the dial: the error is its.
		return fmt.Errorf("%w: user %q at %s: %w", ErrSMTPAuth, s.user, s.addr, err)
	}
	return fmt.Errorf("emailotp: smtp: connect to %s (%v): %w", s.addr, s.mode, err)
}

// sendFailed explains an error from MAIL, RCPT or DATA.
func (s *SMTP) sendFailed(ctx context.Context, to string, err error) error {
	if smtpEnded(ctx) {
		return s.aborted(ctx)
	}
	// A *gomail.SendError is printed, not wrapped: it holds the whole
	// message, code included, for anyone who unwraps it.
	var se *gomail.SendError
	if errors.As(err, &se) {
		if se.Reason == gomail.ErrSMTPRcptTo {
			return fmt.Errorf("%w: %s at %s: %v", ErrRecipientRefused, to, s.addr, se.Error())
		}
		return fmt.Errorf("emailotp: smtp: %s: %v", s.addr, se.Error())
	}
	return fmt.Errorf("emailotp: smtp: %s: %w", s.addr, err)
}

// smtpEnded reports whether ctx has ended, counting as ended a deadline
// that has passed but whose timer has not fired yet: a connection's I/O
// deadline, set by go-mail just after ctx's, can beat it by a moment.
func smtpEnded(ctx context.Context) bool {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
	}
	return ctx.Err() != nil
}

func (s *SMTP) aborted(ctx context.Context) error {
	return fmt.Errorf("emailotp: smtp: %s: %w", s.addr, context.Cause(ctx))
}

func (s *SMTP) noSTARTTLS() error {
	return fmt.Errorf("%w: %s; nothing was sent (mode StartTLS never falls back to clear text)", ErrSTARTTLSRequired, s.addr)
}

// smtpLogin is the SASL step: it picks a mechanism among those the server
// offers and hands over to go-mail's implementation of it. go-mail's own
// choice (auto-discovery) believes an implicit TLS connection made by our
// dialler to be in clear, and would then refuse PLAIN and LOGIN.
type smtpLogin struct {
	host, user, pass string
	started          bool // AUTH began: a dial error from now on is the login's
	mech             gomailsmtp.Auth
}

func (a *smtpLogin) Start(server *gomailsmtp.ServerInfo) (string, []byte, error) {
	a.started = true
	// Never hand credentials to a connection in clear, whatever the server
	// says: in clear, what it says cannot be trusted.
	if !server.TLS {
		return "", nil, ErrSTARTTLSRequired
	}
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.mech = gomailsmtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(server.Auth, "LOGIN"):
		a.mech = gomailsmtp.LoginAuth(a.user, a.pass, a.host, false)
	case slices.Contains(server.Auth, "SCRAM-SHA-256"):
		a.mech = gomailsmtp.ScramSHA256Auth(a.user, a.pass)
	case slices.Contains(server.Auth, "SCRAM-SHA-1"):
		a.mech = gomailsmtp.ScramSHA1Auth(a.user, a.pass)
	case len(server.Auth) == 0:
		return "", nil, errors.New("the server does not offer AUTH")
	default:
		return "", nil, fmt.Errorf("no supported mechanism among those offered (%s)", strings.Join(server.Auth, " "))
	}
	return a.mech.Start(server)
}

func (a *smtpLogin) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.mech.Next(fromServer, more)
}
