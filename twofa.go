// Package twofa adds a second factor to the login of an existing Go web
// application: authenticator apps, security keys and passkeys, codes by
// e-mail, and backup codes, on the application's own database.
//
// # The service
//
// [New] builds a [Service] from one store, one key ring and the application's
// name. Its fields are the factors — [Service.TOTP] for authenticator apps,
// [Service.WebAuthn] for security keys and passkeys, [Service.Email] for
// e-mailed codes, [Service.Backup] for backup codes — and its methods work
// across them: the
// account view ([Service.Account]), turning a method off and on
// ([Service.Disable], [Service.Enable]), removing it ([Service.Remove]), an
// administrator reset ([Service.Reset]) and the one verification call of a
// login page ([Service.Verify]).
//
// # Backup codes
//
// Backup codes recover a lost primary method — an app, a security key,
// e-mailed codes — and are no second factor on their own: while no primary
// method is on, they are not offered, [Account.Requires] is false and
// [Service.Verify] returns [ErrNoMethod]. Turning off or removing the last
// primary method tells the user so.
//
// # Policy
//
// [Config.Policy] says, per user, what the application asks: a second
// factor required or optional, a deadline until which a user without one
// still passes, security keys and passkeys only ([Policy]), and the user's
// authenticator rules. [Service.Standing] (and [Account].Standing) says
// where the user stands: met, in the grace period with the days left,
// overdue, below strength. For a keys-only user who has a key, only keys
// are offered and [Service.Verify] refuses every code with
// [ErrMethodNotAllowed], using nothing up. A policy error denies, as a
// store error does. Package httpmw sends overdue users to set a method up.
//
// # Locks and notices
//
// Every code-based method draws on one count of consecutive failures per
// user (package throttle): back-offs, then locks that end by themselves and
// grow, and at 100 failures a lock that only [Service.Unlock] or
// [Service.Reset] lifts. With [Config.Notify], the user is mailed at every
// change to their second factor and when a lock begins.
//
// # Security log
//
// Each user's security events — a method added, turned off or on,
// removed; a sign-in with each method; new backup codes and each one used;
// locks, unlocks and resets; browsers remembered and forgotten; secrets
// sealed again under a new key — are kept in the store (storage.LogStore),
// the newest [Config.LogKeep] (200) of the last [Config.LogRetention] (90
// days), and read with [Service.Activity]. Wrong codes are not logged one
// by one, so a password alone cannot fill the log; the lock they lead to
// is. No entry holds a secret, a code or a token. A log that cannot be
// written changes no outcome and emits event.LogFailed. [Service.Reset]
// keeps the log.
//
// # Errors
//
// Errors are values compared with [errors.Is]: [ErrInvalidCode] for any code
// that does not pass, [ErrNoMethod] for a user with no primary method,
// [ErrThrottled] (a [*ThrottledError] carrying the retry time) when the user
// must wait, [ErrMethodNotAllowed] for a code a keys-only policy refuses,
// [ErrPolicy] when Config.Policy fails, [ErrInvalidUserID] for a user ID outside the one rule of every
// store, and [ErrInvalidTime] for a clock that cannot be right. Every error
// denies access; a store or clock failure is an error.
//
// # Secrets
//
// No call returns or accepts a user's secret once set up: an administrator
// can remove a user's methods, never read or set them.
package twofa

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/pdffont"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
	"github.com/twofa-go/twofa/webauthn"
)

var (
	// ErrInvalidCode reports a code that did not pass: wrong, already used,
	// or not shaped like any code. The error also matches the factor's own
	// error (totp.ErrReplay, backup.ErrUsed, ...).
	ErrInvalidCode = errors.New("twofa: invalid code")
	// ErrNoMethod reports a user with no enabled method: the caller decides
	// whether that user may pass without a second step, never this package.
	ErrNoMethod = errors.New("twofa: no second factor enabled for this user")
	// ErrUnknownMethod reports a Method this package does not know.
	ErrUnknownMethod = errors.New("twofa: unknown method")
	// ErrThrottled matches every *ThrottledError.
	ErrThrottled = throttle.ErrThrottled
	// ErrInvalidUserID reports a user ID outside the one rule of every
	// store: 1 to 255 bytes of valid UTF-8 without a NUL byte (see
	// storage.CheckUserID). Every method of Service that takes a user ID
	// checks it before anything else.
	ErrInvalidUserID = storage.ErrInvalidUserID
	// ErrInvalidTime reports a clock that cannot be right (the zero time,
	// before 1970, after 2262): Verify denies with it whatever the method
	// (see storage.CheckTime).
	ErrInvalidTime = storage.ErrInvalidTime
)

// checkUser returns an error matching ErrInvalidUserID, which never quotes
// the ID, unless id keeps the rule.
func checkUser(id string) error {
	if err := storage.CheckUserID(id); err != nil {
		return fmt.Errorf("twofa: %w", err)
	}
	return nil
}

// ThrottledError reports an attempt refused by the per-user throttle, with
// RetryAt, or Locked when only an administrator unlock helps.
type ThrottledError = throttle.Error

// Method names a second factor.
type Method string

// The methods.
const (
	TOTP     Method = totp.Method
	Backup   Method = backup.Method
	Email    Method = emailotp.Method
	WebAuthn Method = webauthn.Method
	// Passkey is the method of a session passed by a passkey that
	// verified the user (PIN or biometric): both factors in one, with no
	// password (see Service.FinishPasskeySignIn). It names how a session
	// signed in, in marks and events; it is not in Methods, since a
	// passkey is set up, turned off and removed as a security key.
	Passkey Method = "passkey"
)

// Methods lists every method, in the order account views show them.
var Methods = []Method{WebAuthn, TOTP, Email, Backup}

// Config configures a Service. Issuer, Store and Keys are required; the
// zero value of every other field is the safe default.
type Config struct {
	// Issuer names the application in authenticator apps and printouts.
	Issuer string
	// Store keeps everything; see packages storage/sqlstore and
	// storage/memory.
	Store storage.Store
	// Keys seals secrets at rest. Its keys serve for nothing else: a key
	// the application needs besides, as httpmw.CookieSession.Key, comes
	// from keyring.Ring.DeriveKey or is another random one.
	Keys *keyring.Ring

	// TOTP holds options for authenticator apps: Algorithm, Digits,
	// Period, NoSkew. Its Issuer, Store, Keys, Throttle, Events, Now and
	// Rand are taken from this Config.
	TOTP totp.Config
	// Backup holds options for backup codes: Count, Params, Hash. Its
	// Store, Throttle, Events, Now and Rand are taken from this Config.
	Backup backup.Config
	// Email holds options for e-mail codes: Validity, Cooldown, Digits,
	// MaxFailures, Templates. Its Store, Mailer, Issuer, Throttle, Events,
	// Now, Rand, Catalogue and Language are taken from this Config.
	Email emailotp.Config
	// WebAuthn turns security keys and passkeys on when its RPID is set:
	// RPID, RPDisplayName, Origins, Timeout, MaxKeys (25 per user),
	// RequireUserVerification, AllowCloneWarning, Rules, Providers. Its
	// Store, Events, Now and Rand are taken from this Config. With Policy
	// set and Rules nil, Rules are each user's Policy.Keys.
	WebAuthn webauthn.Config
	// Throttle is the per-user attempt policy, shared by every method that
	// takes a typed code; see package throttle for the defaults (locks from
	// 20 failures that end by themselves, at 100 one that only Unlock or
	// Reset lifts) and the guess budget they leave an attacker.
	Throttle throttle.Policy
	// RememberFor is how long a remembered browser skips the second step
	// since its last use; zero means remember.DefaultWindow (28 days).
	RememberFor time.Duration
	// RememberMax is how many browsers one user may have remembered at
	// once; remembering one more forgets the least recently used. Zero
	// means remember.DefaultMaxBrowsers (20); New refuses a negative value
	// or one past remember's ceiling (1000).
	RememberMax int

	// Mailer sends e-mail codes and security notices; without it e-mail
	// codes are not offered and no notice is sent.
	Mailer emailotp.Mailer
	// Address returns the user's e-mail address, which the application
	// keeps; "" for none. Without it, e-mail codes and notices are off.
	Address func(ctx context.Context, userID string) (string, error)
	// Notify mails the user, besides emitting the event, at every change to
	// their second factor (NIST SP 800-63B, OWASP ASVS 5.0 V6.3): a method
	// added, turned off or removed; a new set of backup codes, or one of
	// them used; the account left with no method, or with backup codes
	// alone; a lock after failed attempts; an administrator's reset. A
	// notice that cannot be sent changes nothing and emits
	// event.NoticeFailed.
	Notify bool
	// Notices are the notification messages; the zero value uses the
	// built-in ones.
	Notices Notices

	// LogKeep is how many security-log entries each user keeps (see
	// Service.Activity); an append beyond it drops the oldest. Zero means
	// DefaultLogKeep (200); New refuses a negative value or one past
	// MaxLogKeep.
	LogKeep int
	// LogRetention is how long security-log entries are kept; each append
	// drops the user's entries older than that. Zero means
	// DefaultLogRetention (90 days); New refuses a negative value.
	LogRetention time.Duration

	// Catalogue holds the messages of pages, problems, mails and printouts
	// in every language; nil means i18n.Default() (English, German,
	// French, Spanish, Ukrainian). See i18n.New to add a language or
	// change a message.
	Catalogue *i18n.Catalogue
	// Language returns the language the application records for the user
	// (a BCP 47 tag such as "de" or "pt-BR"); "" for none. Mails and PDFs
	// use it; without it, or when the catalogue lacks that language, they
	// use the request's (see Service.Printer). An error is not fatal: the
	// mail still goes out, in the request's language or English.
	Language func(ctx context.Context, userID string) (string, error)
	// Font is the application's TrueType font for the letters the PDFs'
	// embedded Go fonts (Latin, Greek, Cyrillic) lack, such as Chinese,
	// Japanese or Korean ones; nil for none. See package pdffont.
	Font *pdffont.Font

	// Policy, if set, returns what the application asks of the user's
	// second factor (see Policy): required or not, by when, and whether
	// only security keys and passkeys pass. It is called on every Account,
	// Standing, Requires and Verify, so it should be cheap (read from the
	// user's roles or tenant the application already has, or cached); an
	// error denies, as a store error does. Nil means the zero Policy for
	// everyone: optional, any method.
	Policy func(ctx context.Context, userID string) (Policy, error)

	// Events receives every security-relevant event; see event.Slog.
	Events event.Hook
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of secrets and codes; nil means crypto/rand.
	Rand io.Reader
}

// Service is the second factor of an application. It is safe for concurrent
// use and keeps no state of its own: every server sharing a store acts as
// one.
type Service struct {
	// TOTP sets up and checks authenticator apps.
	TOTP *totp.Service
	// Backup generates and checks backup codes.
	Backup *backup.Service
	// Email sends and checks codes by e-mail.
	Email *emailotp.Service
	// WebAuthn registers and checks security keys and passkeys; nil unless
	// Config.WebAuthn.RPID is set.
	WebAuthn *webauthn.Service
	// Browsers remembers the browsers on which users chose to skip the
	// second step for a while.
	Browsers *remember.Service

	issuer  string
	limiter *throttle.Limiter
	store   storage.Store
	events  event.Hook
	now     func() time.Time
	address func(ctx context.Context, userID string) (string, error)
	notify  *notifier
	logKeep int
	logFor  time.Duration
	cat     *i18n.Catalogue
	// policyFn is Config.Policy.
	policyFn func(ctx context.Context, userID string) (Policy, error)

	// Config.Language and Config.Font, for mails and PDFs.
	language func(ctx context.Context, userID string) (string, error)
	font     *pdffont.Font
}

// Catalogue returns the messages the service and its pages speak:
// Config.Catalogue, or i18n.Default().
func (s *Service) Catalogue() *i18n.Catalogue { return s.cat }

// New validates cfg, fills in defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("twofa: Config.Store is required")
	}
	if cfg.Keys != nil && cfg.Keys.Ephemeral() && !storage.IsEphemeral(cfg.Store) {
		// The trap of a demonstration copied into production: secrets
		// sealed today would not open after the next restart.
		return nil, errors.New("twofa: Config.Keys is keyring.Random(), whose key is lost at exit, but Config.Store keeps records: " +
			"load the keys from your secret store with keyring.Parse or keyring.Load")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	limiter, err := throttle.New(cfg.Store, cfg.Throttle, cfg.Now)
	if err != nil {
		return nil, err
	}
	s := &Service{issuer: cfg.Issuer, limiter: limiter, store: cfg.Store, now: cfg.Now, address: cfg.Address,
		logKeep: cmp.Or(cfg.LogKeep, DefaultLogKeep), logFor: cmp.Or(cfg.LogRetention, DefaultLogRetention), policyFn: cfg.Policy}
	if cfg.LogKeep < 0 || cfg.LogKeep > MaxLogKeep {
		return nil, fmt.Errorf("twofa: Config.LogKeep %d is outside 0 to %d", cfg.LogKeep, MaxLogKeep)
	}
	if cfg.LogRetention < 0 {
		return nil, fmt.Errorf("twofa: Config.LogRetention %v is negative", cfg.LogRetention)
	}
	s.cat = cfg.Catalogue
	if s.cat == nil {
		s.cat = i18n.Default()
	}
	s.language, s.font = cfg.Language, cfg.Font
	if cfg.Address == nil {
		s.address = func(context.Context, string) (string, error) { return "", nil }
	}
	s.events = cfg.Events
	if cfg.Notify && cfg.Mailer != nil && cfg.Address != nil {
		n, err := newNotifier(cfg.Notices, cfg.Issuer, cfg.Mailer, s.address, func(ctx context.Context, userID string) *i18n.Printer {
			return printerFor(ctx, s.cat, s.language, userID)
		}, cfg.Events)
		if err != nil {
			return nil, err
		}
		s.notify = n
		s.events = n.hook
	}
	// The log sees each event, Locked included, before the notices.
	s.events = s.watchLocks(s.logHook(s.events))
	tc := cfg.TOTP
	tc.Issuer, tc.Store, tc.Keys, tc.Throttle, tc.Events, tc.Now, tc.Rand = cfg.Issuer, cfg.Store, cfg.Keys, limiter, s.events, cfg.Now, cfg.Rand
	if s.TOTP, err = totp.New(tc); err != nil {
		return nil, err
	}
	bc := cfg.Backup
	bc.Store, bc.Throttle, bc.Events, bc.Now, bc.Rand = cfg.Store, limiter, s.events, cfg.Now, cfg.Rand
	if s.Backup, err = backup.New(bc); err != nil {
		return nil, err
	}
	ec := cfg.Email
	ec.Store, ec.Mailer, ec.Issuer, ec.Throttle, ec.Events, ec.Now, ec.Rand = cfg.Store, cfg.Mailer, cfg.Issuer, limiter, s.events, cfg.Now, cfg.Rand
	ec.Catalogue, ec.Language = s.cat, cfg.Language
	if s.Email, err = emailotp.New(ec); err != nil {
		return nil, err
	}
	rc := remember.Config{Store: cfg.Store, Window: cfg.RememberFor, MaxBrowsers: cfg.RememberMax, Events: s.events, Now: cfg.Now, Rand: cfg.Rand}
	if s.Browsers, err = remember.New(rc); err != nil {
		return nil, err
	}
	if cfg.WebAuthn.RPID != "" {
		wc := cfg.WebAuthn
		wc.Store, wc.Events, wc.Now, wc.Rand = cfg.Store, s.events, cfg.Now, cfg.Rand
		if wc.Rules == nil && cfg.Policy != nil {
			// Each user's authenticator rules come from their policy; an
			// error of the policy refuses, as package webauthn does with
			// any error of its Rules.
			wc.Rules = func(ctx context.Context, userID string) (webauthn.KeyRules, error) {
				p, _, err := s.policy(ctx, userID)
				return p.Keys, err
			}
		}
		if s.WebAuthn, err = webauthn.New(wc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// watchLocks passes every event on to next and, after a failed check of a
// method the throttle counts, emits event.Locked if that failure began a
// lock. Attempts are counted before the code is checked, so the attempt
// that reaches a lock's count may yet pass (and clear the count): only its
// failure begins the lock. No attempt is counted during a lock, so each
// lock is told once however many attempts it refuses; only a check begun
// before the lock and still running when it began (the back-off before a
// lock makes that minutes) could find it too.
func (s *Service) watchLocks(next event.Hook) event.Hook {
	return func(ctx context.Context, e event.Event) {
		next.Emit(ctx, e)
		if e.Kind != event.Failed && e.Kind != event.ReplayRefused {
			return
		}
		switch Method(e.Method) {
		case TOTP, Backup, Email:
		default:
			return // security keys are not counted by the throttle
		}
		until, locked, err := s.limiter.Lock(ctx, e.UserID)
		if err != nil || !locked {
			return // the failure is already an error and an event
		}
		next.Emit(ctx, event.Event{Kind: event.Locked, Method: e.Method, UserID: e.UserID, Time: e.Time, Until: until})
	}
}

// Issuer is the application's name, as authenticator apps and printouts
// show it.
func (s *Service) Issuer() string { return s.issuer }

// Status is where a user stands with one method, the same for every
// method: the one type to read across methods (Account.Status).
//
// Packages totp, backup and emailotp each have a Status of their own, for
// code that uses one factor without this package: each has only the states
// its method can be in (only an authenticator app is ever Pending), so a
// switch on it needs no case that cannot happen. Account maps them here.
type Status int

// The statuses of a method.
const (
	NotSetUp Status = iota // never set up, or removed
	Pending                // set-up begun, awaiting its confirming code
	Enabled                // in use
	Disabled               // set up, turned off for a while
)

func (s Status) String() string {
	names := [...]string{"not set up", "pending", "enabled", "disabled"}
	if s < 0 || int(s) >= len(names) {
		return "Status(" + strconv.Itoa(int(s)) + ")"
	}
	return names[s]
}

// MethodState is one method of a user.
type MethodState struct {
	Method Method
	Status Status
	// Since is when the method was set up (the active secret confirmed,
	// the set of codes generated, the first key added); zero when not set
	// up.
	Since time.Time
}

// KeyInfo is a security key as the account view shows it.
type KeyInfo = webauthn.Key

// Account is a user's second factor at a glance, without any secret.
type Account struct {
	// Methods has every method, set up or not, in the order of Methods;
	// e-mail codes only where they can be sent (a mailer, an address).
	Methods []MethodState
	// BackupRemaining is the number of unused backup codes.
	BackupRemaining int
	// Keys are the user's security keys and passkeys, oldest first.
	Keys []KeyInfo
	// Offered are the methods the login page offers: those enabled and
	// usable. Backup codes are a way to recover a primary method (app,
	// security key, e-mail), not a second factor on their own: they are
	// offered only while some are left and a primary method is offered.
	// For a user whose Policy is PhishingResistant and who has a security
	// key, only the keys are offered.
	Offered []Method
	// Standing is where the user stands with their Policy (Config.Policy);
	// without one, Met.
	Standing Standing
	// MovingPhone is true while a new authenticator awaits confirmation and
	// the old one keeps working.
	MovingPhone bool
	// Throttle is nil, or the *ThrottledError the next attempt would get.
	Throttle error
	// LockIn is how many more wrong codes start the next lock of the
	// second step (throttle.Limiter.Left): during a lock, the one after
	// it; 0 at the ceiling, where only an administrator unlocks.
	LockIn int
	// Browsers are the browsers that skip the second step, oldest first.
	Browsers []remember.Browser
}

// Requires reports whether the user has any method to pass at login: a
// primary method, since backup codes alone do not count.
func (a Account) Requires() bool { return len(a.Offered) > 0 }

// Status returns the status of method m.
func (a Account) Status(m Method) Status {
	for _, s := range a.Methods {
		if s.Method == m {
			return s.Status
		}
	}
	return NotSetUp
}

// Account returns the user's methods and their status.
func (s *Service) Account(ctx context.Context, userID string) (Account, error) {
	if err := checkUser(userID); err != nil {
		return Account{}, err
	}
	a, err := s.methods(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	if err := s.applyPolicy(ctx, userID, &a); err != nil {
		return Account{}, err
	}
	switch err := s.limiter.Status(ctx, userID); {
	case errors.Is(err, ErrThrottled):
		a.Throttle = err
	case err != nil:
		return Account{}, err
	}
	if a.LockIn, err = s.limiter.Left(ctx, userID); err != nil {
		return Account{}, err
	}
	if a.Browsers, err = s.Browsers.List(ctx, userID); err != nil {
		return Account{}, err
	}
	return a, nil
}

// Requires reports whether the user has any method to pass at login, as
// Account(...).Requires() does, without reading the throttle or the
// remembered browsers: the question a request of a user with no method asks
// each time. With an error it reports true: an application that looks
// only at the answer during a database outage still asks for the second
// step, which then denies, instead of letting everyone through. With
// Config.Policy it reads the user's policy too, and a policy error is such
// an error; whether a user with no method must set one up is
// Standing's answer (Overdue), not this one.
func (s *Service) Requires(ctx context.Context, userID string) (bool, error) {
	if err := checkUser(userID); err != nil {
		return true, err
	}
	if _, _, err := s.policy(ctx, userID); err != nil {
		return true, err
	}
	required, err := s.hasPrimary(ctx, userID)
	if err != nil {
		return true, err
	}
	return required, nil
}

// hasPrimary reports whether userID has a primary method offered, as
// methods finds them, reading no more than it must: a user with the app on
// costs one read.
func (s *Service) hasPrimary(ctx context.Context, userID string) (bool, error) {
	ts, err := s.TOTP.State(ctx, userID)
	if err != nil || ts.Status == totp.StatusEnabled {
		return err == nil, err
	}
	if s.WebAuthn != nil {
		ws, err := s.WebAuthn.State(ctx, userID)
		if err != nil || len(ws.Keys) > 0 && !ws.Disabled {
			return err == nil, err
		}
	}
	addr, err := s.address(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("twofa: look up address: %w", err)
	}
	if !s.Email.Available(addr) {
		return false, nil
	}
	es, err := s.Email.State(ctx, userID)
	return err == nil && es.Status == emailotp.StatusEnabled, err
}

// methods is Account without Throttle and Browsers.
func (s *Service) methods(ctx context.Context, userID string) (Account, error) {
	var a Account
	if s.WebAuthn != nil {
		ws, err := s.WebAuthn.State(ctx, userID)
		if err != nil {
			return Account{}, err
		}
		st := MethodState{Method: WebAuthn}
		if len(ws.Keys) > 0 {
			st.Since, st.Status = ws.Keys[0].Created, Enabled
			if ws.Disabled {
				st.Status = Disabled
			} else {
				a.Offered = append(a.Offered, WebAuthn)
			}
		}
		a.Methods = append(a.Methods, st)
		a.Keys = ws.Keys
	}
	ts, err := s.TOTP.State(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	st := MethodState{Method: TOTP, Since: ts.Since}
	switch ts.Status {
	case totp.StatusPending:
		st.Status = Pending
	case totp.StatusEnabled:
		st.Status = Enabled
		a.Offered = append(a.Offered, TOTP)
	case totp.StatusDisabled:
		st.Status = Disabled
	}
	a.Methods = append(a.Methods, st)
	a.MovingPhone = ts.Moving

	// E-mail codes are listed only where they can be sent.
	addr, err := s.address(ctx, userID)
	if err != nil {
		return Account{}, fmt.Errorf("twofa: look up address: %w", err)
	}
	if s.Email.Available(addr) {
		es, err := s.Email.State(ctx, userID)
		if err != nil {
			return Account{}, err
		}
		st := MethodState{Method: Email, Since: es.Since}
		switch es.Status {
		case emailotp.StatusEnabled:
			st.Status = Enabled
			a.Offered = append(a.Offered, Email)
		case emailotp.StatusDisabled:
			st.Status = Disabled
		}
		a.Methods = append(a.Methods, st)
	}

	bs, err := s.Backup.State(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	st = MethodState{Method: Backup, Since: bs.Created}
	switch bs.Status {
	case backup.StatusEnabled:
		st.Status = Enabled
		if bs.Remaining > 0 && len(a.Offered) > 0 {
			a.Offered = append(a.Offered, Backup)
		}
	case backup.StatusDisabled:
		st.Status = Disabled
	}
	a.Methods = append(a.Methods, st)
	a.BackupRemaining = bs.Remaining
	return a, nil
}

// factor is what every method offers the account view.
type factor interface {
	Disable(ctx context.Context, userID string) error
	Enable(ctx context.Context, userID string) error
	Remove(ctx context.Context, userID string) error
}

// keys adapts the security keys, whose Remove takes one key, to factor.
type keys struct{ *webauthn.Service }

func (k keys) Remove(ctx context.Context, userID string) error { return k.RemoveAll(ctx, userID) }

func (s *Service) factor(m Method) (factor, error) {
	switch {
	case m == TOTP:
		return s.TOTP, nil
	case m == Backup:
		return s.Backup, nil
	case m == Email:
		return s.Email, nil
	case m == WebAuthn && s.WebAuthn != nil:
		return keys{s.WebAuthn}, nil
	}
	return nil, ErrUnknownMethod
}

// Disable turns method m off for a while; its secret, codes or keys are
// kept. When that leaves the user without a primary method, the user is
// told (event.NoMethodLeft, or event.BackupOnly while backup codes remain,
// which alone no longer protect the login).
func (s *Service) Disable(ctx context.Context, userID string, m Method) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	f, err := s.factor(m)
	if err != nil {
		return err
	}
	return s.takeAway(ctx, userID, func() error { return f.Disable(ctx, userID) })
}

// Enable turns a disabled method m back on, as it was.
func (s *Service) Enable(ctx context.Context, userID string, m Method) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	f, err := s.factor(m)
	if err != nil {
		return err
	}
	return f.Enable(ctx, userID)
}

// Remove deletes method m with its secret, codes or keys; using it again
// needs a new set-up. It also forgets the user's remembered browsers, which
// a lost or compromised factor should not leave behind. The user is told,
// as by Disable, when no primary method is left.
func (s *Service) Remove(ctx context.Context, userID string, m Method) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	f, err := s.factor(m)
	if err != nil {
		return err
	}
	return s.takeAway(ctx, userID, func() error {
		if err := f.Remove(ctx, userID); err != nil {
			return err
		}
		return s.Browsers.RevokeAll(ctx, userID)
	})
}

// RemoveKey deletes one of the user's security keys, as a lost key calls
// for, and forgets the user's remembered browsers, as Remove does.
func (s *Service) RemoveKey(ctx context.Context, userID, id string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if s.WebAuthn == nil {
		return ErrUnknownMethod
	}
	return s.takeAway(ctx, userID, func() error {
		if err := s.WebAuthn.Remove(ctx, userID, id); err != nil {
			return err
		}
		return s.Browsers.RevokeAll(ctx, userID)
	})
}

// takeAway runs change, which turns off or removes something of userID,
// and tells the user when it left them with no primary method: with
// event.BackupOnly while usable backup codes remain (they alone no longer
// protect the login), event.NoMethodLeft otherwise. The notice never
// changes the outcome: when the state after the change cannot be read, the
// change stands and event.NoticeFailed says so.
func (s *Service) takeAway(ctx context.Context, userID string, change func() error) error {
	before, err := s.methods(ctx, userID)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	if !before.Requires() {
		return nil // nothing that counted was left to lose
	}
	after, err := s.methods(ctx, userID)
	if err != nil {
		s.events.Emit(ctx, event.Event{Kind: event.NoticeFailed, UserID: userID, Time: s.now(), Reason: "cannot read the methods left"})
		return nil
	}
	if after.Requires() {
		return nil
	}
	kind := event.NoMethodLeft
	if after.Status(Backup) == Enabled && after.BackupRemaining > 0 {
		kind = event.BackupOnly
	}
	s.events.Emit(ctx, event.Event{Kind: kind, UserID: userID, Time: s.now()})
	return nil
}

// SendCode mails the user a login code at the address Config.Address gives,
// for the login attempt login (an opaque ID, as Verify takes): the code
// passes only in that login. It returns the errors of
// emailotp.Service.Send: emailotp.ErrNotEnabled, emailotp.ErrUnavailable
// (no mailer, no valid address), emailotp.ErrInvalidLogin, a
// *emailotp.CooldownError, or one matching emailotp.ErrSend; and, sending
// nothing, ErrMethodNotAllowed for a user whose Policy admits only the
// security keys they have, or an error matching ErrPolicy when
// Config.Policy fails.
func (s *Service) SendCode(ctx context.Context, userID, login string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	p, _, err := s.policy(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.allowed(ctx, userID, p); err != nil {
		return err
	}
	addr, err := s.address(ctx, userID)
	if err != nil {
		return fmt.Errorf("twofa: look up address: %w", err)
	}
	return s.Email.Send(ctx, userID, addr, login)
}

// Reset removes every second factor, backup code, unfinished security-key
// ceremony and remembered browser of a user and clears their failure
// count, for an administrator helping a user who lost everything. It reads
// no secret. It keeps the user's security log (Service.Activity), which
// records the reset: the log is the record of what happened. The user then logs in with the password
// alone until they set up a method again.
func (s *Service) Reset(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := s.store.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	if err := s.store.DeleteBackupSet(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	if err := s.store.DeleteEmail(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	if err := s.store.DeleteWebAuthnCredentials(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	// An unfinished registration would otherwise add a key to the reset
	// account when finished later.
	if err := s.store.DeleteCeremonies(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	if err := s.store.DeleteBrowsers(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	if err := s.limiter.Unlock(ctx, userID); err != nil {
		return fmt.Errorf("twofa: reset: %w", err)
	}
	s.events.Emit(ctx, event.Event{Kind: event.Reset, UserID: userID, Time: s.now()})
	return nil
}

// Unlock clears a user's failure count, for an administrator, without
// touching their methods.
func (s *Service) Unlock(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := s.limiter.Unlock(ctx, userID); err != nil {
		return err
	}
	s.events.Emit(ctx, event.Event{Kind: event.ThrottleUnlock, UserID: userID, Time: s.now()})
	return nil
}

// Verify checks what a user typed on the login page — "the code from your
// app, an e-mailed code, or one of your backup codes" — and reports which
// method it was. Digits go to the e-mailed code if one is waiting, then to
// the authenticator app; anything else to the backup codes, so a backup
// code costs one KDF and nothing else does. It returns ErrInvalidUserID,
// ErrInvalidTime for a clock that cannot be right, ErrNoMethod for a user
// with no primary method enabled (backup codes alone do not count),
// ErrMethodNotAllowed for a user whose Policy admits only the security
// keys they have (nothing is used up or counted), an error matching
// ErrPolicy when Config.Policy fails, an
// error matching ErrInvalidCode for a code that does not pass, a
// *ThrottledError, or a store error; every error denies access.
//
// login is the ID of this login attempt, as given to SendCode, 1 to
// emailotp.MaxLoginLen bytes (emailotp.ErrInvalidLogin otherwise, whatever
// the user's methods): an e-mailed code passes only in the login it was
// sent for, and in any other is as if none had been sent.
func (s *Service) Verify(ctx context.Context, userID, login, code string) (Method, error) {
	if err := s.verifiable(ctx, userID, login); err != nil {
		return "", err
	}
	m, err := Backup, error(nil)
	if onlyDigits(code) {
		m, err = s.verifyDigits(ctx, userID, login, code)
	} else {
		err = s.Backup.Verify(ctx, userID, code)
	}
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, totp.ErrNotEnabled), errors.Is(err, backup.ErrNotEnabled), errors.Is(err, emailotp.ErrNotEnabled),
		errors.Is(err, totp.ErrMalformed), errors.Is(err, backup.ErrMalformed), errors.Is(err, emailotp.ErrMalformed):
		// The method the input looked like is not on, or the input is no
		// code at all; the user has another method (verifiable said so).
		return "", fmt.Errorf("%w: %w", ErrInvalidCode, err)
	case errors.Is(err, totp.ErrInvalidCode), errors.Is(err, backup.ErrInvalidCode), errors.Is(err, emailotp.ErrInvalidCode):
		return "", fmt.Errorf("%w: %w", ErrInvalidCode, err)
	}
	return "", err
}

// verifiable returns the error that denies userID before any code is
// looked at: a bad user ID or login ID, a clock that cannot be right (no factor may
// then mark a code used, or a key's count, at a false time), or no primary
// method, whatever backup codes the user keeps (ErrNoMethod).
func (s *Service) verifiable(ctx context.Context, userID, login string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := emailotp.CheckLogin(login); err != nil {
		return err
	}
	if err := storage.CheckTime(s.now()); err != nil {
		return fmt.Errorf("twofa: clock: %w", err)
	}
	p, _, err := s.policy(ctx, userID)
	if err != nil {
		return err
	}
	requires, err := s.hasPrimary(ctx, userID)
	if err != nil {
		return err
	}
	if !requires {
		return ErrNoMethod
	}
	return s.allowed(ctx, userID, p)
}

// verifyDigits tries an e-mailed code waiting for this login, then the
// authenticator app. A code sent for another login is not waiting here.
func (s *Service) verifyDigits(ctx context.Context, userID, login, code string) (Method, error) {
	waiting, err := s.Email.Waiting(ctx, userID, login)
	if err != nil {
		return "", err
	}
	if waiting {
		err := s.Email.Verify(ctx, userID, login, code)
		if err == nil || !errors.Is(err, emailotp.ErrInvalidCode) && !errors.Is(err, emailotp.ErrMalformed) {
			return Email, err
		}
		// Not the mailed code; it may be the app's, if the app is on.
		ts, terr := s.TOTP.State(ctx, userID)
		if terr != nil {
			return "", terr
		}
		if ts.Status != totp.StatusEnabled {
			return Email, err
		}
	}
	return TOTP, s.TOTP.Verify(ctx, userID, code)
}

// onlyDigits reports whether input is digits and spaces, and not the ten
// characters of a backup code that happens to be all digits.
func onlyDigits(input string) bool {
	digits := 0
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case c == ' ':
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return digits > 0 && digits != backup.CodeLen
}
