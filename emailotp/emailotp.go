// Package emailotp sends one-time codes by e-mail as a second factor.
//
// # The method
//
// A user turns e-mail codes on ([Service.Enable]); the method is offered at
// login only when a [Mailer] is configured and the application knows a valid
// address for the user ([Service.Available]). [Service.Send] mails a code (6
// digits by default) valid for 15 minutes; a new code replaces the previous
// one, after a cooldown (60 seconds by default) that holds under parallel
// requests: the new code is claimed in the store before the mail goes out,
// and put back if the mailer fails. [Service.Verify] accepts a
// code once, within its validity, and refuses it after 5 wrong tries: a new
// code is needed then. A resend does not reset the count of wrong tries, so
// resending cannot buy more guesses; every attempt also counts against the
// per-user throttle shared with the other methods.
//
// Codes are stored only as salted hashes, bound to the user, and appear in
// no event, log line or error.
//
// # One login
//
// A code works only for the login attempt that asked for it (OWASP ASVS
// 5.0 6.6.2): [Service.Send] and [Service.Verify] take an opaque login ID,
// and the store keeps a digest of it with the code, compared in constant
// time. In another session of the same user the code gets [ErrNoCode],
// exactly as if none had been sent: it is not counted as a wrong try of the
// code nor against the throttle, since it can never pass, and so that
// session can neither spend the code nor learn that one is waiting. The
// cooldown alone is the user's across logins, so that new logins cannot
// mail code after code.
//
// Every method taking a user ID first checks it against
// [storage.CheckUserID] and refuses one outside that rule with an error
// matching [storage.ErrInvalidUserID], before any store call. A clock that
// cannot be right ([storage.CheckTime]) denies with [ErrClock]: no code is
// sent, checked or spent; so does one more than a minute behind the clock
// that sent the code.
//
// # Validity and NIST SP 800-63B
//
// NIST SP 800-63B does not count e-mail as an out-of-band authenticator, and
// caps out-of-band codes at 10 minutes. The 15-minute default follows the
// products this library serves; to follow NIST's figure, set:
//
//	emailotp.Config{Validity: 10 * time.Minute, ...}
package emailotp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/throttle"
)

// Method is the name of this method in events and account views.
const Method = "email"

// Defaults.
const (
	DefaultValidity    = 15 * time.Minute
	DefaultCooldown    = 60 * time.Second
	DefaultDigits      = 6
	DefaultMaxFailures = 5
)

var (
	// ErrInvalidCode reports a code that does not match, was used, or was
	// replaced by a newer one.
	ErrInvalidCode = errors.New("emailotp: invalid code")
	// ErrExpired reports a code past its validity; a new one is needed.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidCode)
	// ErrTooManyFailures reports a code that was guessed wrong too often;
	// a new one is needed.
	ErrTooManyFailures = fmt.Errorf("%w: too many wrong tries, request a new code", ErrInvalidCode)
	// ErrNoCode reports that no code was sent for this login, or the last
	// one was used. A code sent for another login gets this same error.
	ErrNoCode = fmt.Errorf("%w: no code was sent", ErrInvalidCode)
	// ErrInvalidLogin reports a login ID that is empty or longer than
	// MaxLoginLen bytes.
	ErrInvalidLogin = errors.New("emailotp: invalid login ID")
	// ErrMalformed reports input that is not the expected number of digits.
	ErrMalformed = errors.New("emailotp: malformed code")
	// ErrNotEnabled reports a user who has not turned e-mail codes on, or
	// turned them off.
	ErrNotEnabled = errors.New("emailotp: e-mail codes are not enabled for this user")
	// ErrNotSetUp reports a user who never turned e-mail codes on (for
	// Disable).
	ErrNotSetUp = errors.New("emailotp: e-mail codes were never turned on for this user")
	// ErrUnavailable reports that codes cannot be mailed: no mailer is
	// configured, or the user's address is not valid.
	ErrUnavailable = errors.New("emailotp: e-mail codes are unavailable")
	// ErrCooldown matches every *CooldownError.
	ErrCooldown = errors.New("emailotp: a code was sent moments ago")
	// ErrSend reports that the mailer failed; nothing was changed.
	ErrSend = errors.New("emailotp: sending the code failed")
	// ErrClock reports a clock reading no code may be sent or checked at
	// (storage.CheckTime: the zero time, before 1970, near or past 2262).
	// It matches storage.ErrInvalidTime too.
	ErrClock = fmt.Errorf("emailotp: the clock cannot be right: %w", storage.ErrInvalidTime)
)

// CooldownError reports a resend inside the cooldown, and when the next
// one may be asked for.
type CooldownError struct {
	RetryAt time.Time
}

func (e *CooldownError) Error() string {
	return "emailotp: a code was sent moments ago: ask again at " + e.RetryAt.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrCooldown) hold.
func (e *CooldownError) Is(target error) bool { return target == ErrCooldown }

// Config configures a Service. Store is required; without Mailer the method
// is never available.
type Config struct {
	Store  storage.EmailStore
	Mailer Mailer
	// Issuer names the application in the messages.
	Issuer string
	// Validity is how long a code works; default 15 minutes.
	Validity time.Duration
	// Cooldown is the wait between two sends; default 60 seconds.
	Cooldown time.Duration
	// Digits is the length of codes, 6 to 9; default 6.
	Digits int
	// MaxFailures is the number of wrong tries that spend a code; default 5.
	MaxFailures int
	// Templates are the messages; the zero value uses the built-in ones.
	Templates Templates
	// Catalogue holds the built-in message in every language; nil means
	// i18n.Default().
	Catalogue *i18n.Catalogue
	// Language returns the language the application records for the user
	// (a BCP 47 tag such as "de"); "" for none. Without it, or when the
	// catalogue lacks that language, a code goes out in the language of
	// the request (i18n.FromContext), or else in English. An error does
	// not stop the code: it goes out in the request's language or English.
	Language func(ctx context.Context, userID string) (string, error)
	// Throttle counts attempts; nil means the default policy over Store,
	// which must then also be a storage.ThrottleStore.
	Throttle *throttle.Limiter
	Events   event.Hook
	Now      func() time.Time
	Rand     io.Reader // nil means crypto/rand
}

// Service sends and checks e-mail codes. It is safe for concurrent use and
// holds no state of its own.
type Service struct {
	cfg Config
	// shared is true when cfg.Throttle counts in cfg.Store: then the
	// state read with the user's record is the limiter's, and the
	// single-use write that accepts a code clears it in the same atomic
	// operation, with no statement of its own.
	shared bool
}

// New validates cfg, fills in defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("emailotp: Config.Store is required")
	}
	if cfg.Validity == 0 {
		cfg.Validity = DefaultValidity
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = DefaultCooldown
	}
	if cfg.Digits == 0 {
		cfg.Digits = DefaultDigits
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	switch {
	case cfg.Validity < time.Minute || cfg.Validity > time.Hour:
		return nil, errors.New("emailotp: Config.Validity must be 1 minute to 1 hour")
	case cfg.Cooldown < 0 || cfg.Cooldown > cfg.Validity:
		return nil, errors.New("emailotp: Config.Cooldown must be 0 to Validity")
	case cfg.Digits < 6 || cfg.Digits > 9:
		return nil, errors.New("emailotp: Config.Digits must be 6 to 9")
	case cfg.MaxFailures < 1 || cfg.MaxFailures > 10:
		return nil, errors.New("emailotp: Config.MaxFailures must be 1 to 10")
	}
	if cfg.Catalogue == nil {
		cfg.Catalogue = i18n.Default()
	}
	t, err := cfg.Templates.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Templates = t
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Throttle == nil {
		ts, ok := cfg.Store.(storage.ThrottleStore)
		if !ok {
			return nil, errors.New("emailotp: Config.Store keeps no attempt counts (no storage.ThrottleStore): set Config.Throttle")
		}
		l, err := throttle.New(ts, throttle.Policy{}, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("emailotp: %w", err)
		}
		cfg.Throttle = l
	}
	return &Service{cfg: cfg, shared: cfg.Throttle.CountsIn(cfg.Store)}, nil
}

// MaxLoginLen is the longest login ID Send and Verify take, in bytes.
const MaxLoginLen = 256

// CheckLogin returns nil for a login ID Send and Verify take (1 to
// MaxLoginLen bytes) and an error matching ErrInvalidLogin otherwise: an
// empty ID would bind a code to every caller that passes none.
func CheckLogin(login string) error {
	if login == "" || len(login) > MaxLoginLen {
		return fmt.Errorf("%w: want 1 to %d bytes", ErrInvalidLogin, MaxLoginLen)
	}
	return nil
}

// checkUser refuses a user ID outside the one rule of storage.CheckUserID,
// before any store sees it, so every engine answers alike.
func checkUser(userID string) error {
	if err := storage.CheckUserID(userID); err != nil {
		return fmt.Errorf("emailotp: %w", err)
	}
	return nil
}

// ValidAddress reports whether addr is one plain e-mail address: what
// net/mail accepts, with no display name, no comments, exactly one @, and
// no line breaks.
func ValidAddress(addr string) bool {
	if addr == "" || len(addr) > 254 || strings.ContainsAny(addr, "\r\n") || strings.Count(addr, "@") != 1 {
		return false
	}
	a, err := mail.ParseAddress(addr)
	return err == nil && a.Name == "" && a.Address == addr
}

// Available reports whether codes can be mailed to addr: a mailer is
// configured and the address is valid. The application passes the user's
// address; the library keeps none.
func (s *Service) Available(addr string) bool {
	return s.cfg.Mailer != nil && ValidAddress(addr)
}

// Status is where a user stands with e-mail codes. It has only the states this
// method can be in; twofa.Status is the one type across methods.
type Status int

// The statuses.
const (
	StatusNone     Status = iota // never turned on, or removed
	StatusEnabled                // on
	StatusDisabled               // turned off for a while
)

func (s Status) String() string {
	return [...]string{"not set up", "enabled", "disabled"}[s]
}

// State describes a user's e-mail method, without any code.
type State struct {
	Status Status
	Since  time.Time
	// CodeLive is true while a code was sent, for any login of the user,
	// and can still be used; Waiting tells whether it was for a given one.
	CodeLive bool
}

// State returns the user's state; a user who never turned e-mail codes on
// gets StatusNone and a nil error.
func (s *Service) State(ctx context.Context, userID string) (State, error) {
	if err := checkUser(userID); err != nil {
		return State{}, err
	}
	st, err := s.cfg.Store.Email(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("emailotp: load: %w", err)
	}
	out := State{Status: StatusEnabled, Since: st.Since}
	// With a broken clock no code can be used, so none is live.
	if now, err := s.now(); err == nil {
		out.CodeLive = s.live(st.Code, now)
	}
	if st.Disabled {
		out.Status = StatusDisabled
	}
	return out, nil
}

// Waiting reports whether a code sent for login is waiting to be typed:
// the method is on, and the code can still be used. A code sent for
// another login of the user is not waiting here, as Verify would refuse
// it; State's CodeLive counts it. The errors are those of State,
// ErrInvalidLogin and ErrClock.
func (s *Service) Waiting(ctx context.Context, userID, login string) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	if err := CheckLogin(login); err != nil {
		return false, err
	}
	now, err := s.now()
	if err != nil {
		return false, err
	}
	st, err := s.cfg.Store.Email(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("emailotp: load: %w", err)
	}
	return !st.Disabled && s.live(st.Code, now) && bound(st.Code, userID, login), nil
}

// clockSkew is how far behind the clock that sent a code another server's
// clock may be. A clock further behind went backwards: a code it would
// take could outlive its validity by as much, so it takes none.
const clockSkew = time.Minute

// live reports whether c can still be used at now.
func (s *Service) live(c *storage.EmailCode, now time.Time) bool {
	return c != nil && now.Before(c.Expires) && c.Failures < s.cfg.MaxFailures && !now.Before(c.Sent.Add(-clockSkew))
}

// now reads the clock, and refuses a reading that storage.CheckTime
// refuses, or whose code would expire past what it allows: a code sent or
// checked by a broken clock could outlive its validity, or never expire.
func (s *Service) now() (time.Time, error) {
	now := s.cfg.Now()
	if storage.CheckTime(now) != nil || storage.CheckTime(now.Add(s.cfg.Validity)) != nil {
		return time.Time{}, ErrClock
	}
	return now, nil
}

// Enable turns e-mail codes on for the user (the set-up, or turning a
// disabled method back on).
func (s *Service) Enable(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	now, err := s.now()
	if err != nil {
		return err
	}
	st, err := s.State(ctx, userID)
	if err != nil {
		return err
	}
	if st.Status == StatusEnabled {
		return nil // already on: nothing changes, nothing to tell
	}
	if err := s.cfg.Store.PutEmail(ctx, userID, false, now); err != nil {
		return fmt.Errorf("emailotp: save: %w", err)
	}
	kind := event.EnabledAgain
	if st.Status == StatusNone {
		kind = event.Enrolled
	}
	s.emit(ctx, kind, userID, now, "")
	return nil
}

// Disable turns e-mail codes off for a while.
func (s *Service) Disable(ctx context.Context, userID string) error {
	st, err := s.State(ctx, userID)
	if err != nil {
		return err
	}
	switch st.Status {
	case StatusNone:
		return ErrNotSetUp
	case StatusDisabled:
		return nil // already off: nothing changes, nothing to tell
	}
	if err := s.cfg.Store.PutEmail(ctx, userID, true, st.Since); err != nil {
		return fmt.Errorf("emailotp: save: %w", err)
	}
	s.emit(ctx, event.Disabled, userID, s.cfg.Now(), "")
	return nil
}

// Remove turns e-mail codes off and forgets the user's state and code. A
// user who never turned them on loses nothing and is told nothing.
func (s *Service) Remove(ctx context.Context, userID string) error {
	st, err := s.State(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteEmail(ctx, userID); err != nil {
		return fmt.Errorf("emailotp: delete: %w", err)
	}
	if st.Status == StatusNone {
		return nil
	}
	s.emit(ctx, event.Removed, userID, s.cfg.Now(), "")
	return nil
}

// Send mails a new code to addr, replacing any earlier one, for the login
// attempt login: an opaque ID of 1 to MaxLoginLen bytes that names one
// login of one browser (httpmw keeps a random one in a cookie). The code
// passes Verify only with the same login; the store keeps a digest of it,
// never the ID. Send returns ErrNotEnabled, ErrUnavailable, ErrInvalidLogin,
// ErrClock, a *CooldownError inside the cooldown, or an error matching
// ErrSend when the mailer failed.
//
// The cooldown is the user's, not the login's, or each new login could
// mail another code: a send inside it, from any login, gets a
// *CooldownError.
//
// The cooldown holds under any number of parallel calls: the new code is
// claimed in the store (a compare-and-set against the code read, with Sent
// = now) before the mail goes out, so of many parallel sends one mails and
// the others get a *CooldownError. If the mailer fails, the previous code
// is put back, so a failed send spends nothing and starts no cooldown;
// while the mail is on its way, the previous code no longer works.
func (s *Service) Send(ctx context.Context, userID, addr, login string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := CheckLogin(login); err != nil {
		return err
	}
	if s.cfg.Mailer == nil {
		return fmt.Errorf("%w: no mailer is configured", ErrUnavailable)
	}
	if !ValidAddress(addr) {
		return fmt.Errorf("%w: the address is not valid", ErrUnavailable)
	}
	now, err := s.now()
	if err != nil {
		return err
	}
	code, err := s.newCode()
	if err != nil {
		return err
	}
	d := data{Issuer: s.cfg.Issuer, Code: code, Minutes: int(s.cfg.Validity / time.Minute), To: addr}
	d.words(s.printer(ctx, userID))
	msg, err := s.cfg.Templates.render(d)
	if errors.Is(err, ErrHeader) {
		return err // it quotes no data
	}
	if err != nil {
		// The templates rendered at start-up; the detail may hold the code.
		return errors.New("emailotp: rendering the message failed")
	}
	msg.To = addr
	prev, next, err := s.claim(ctx, userID, login, code, now)
	if err != nil {
		return err
	}
	if err := s.cfg.Mailer.Send(ctx, msg); err != nil {
		err = fmt.Errorf("%w: %w", ErrSend, err)
		if rerr := s.release(ctx, userID, next, prev); rerr != nil {
			err = fmt.Errorf("%w; %w", err, rerr)
		}
		return err
	}
	s.emit(ctx, event.CodeSent, userID, now, "")
	return nil
}

// claimTries bounds the compare-and-set loops of claim and release. A
// retry needs a wrong try, a use or another send to land between one read
// and one write; each of those is bounded by the throttle or the cooldown.
const claimTries = 4

// claim stores a new code for code, sent at now for login, in place of
// the user's code as read, and returns both. It returns a *CooldownError
// if the code read is inside its cooldown: once one of many parallel sends
// has claimed the slot, the others read its code and stop here.
func (s *Service) claim(ctx context.Context, userID, login, code string, now time.Time) (prev, next *storage.EmailCode, err error) {
	for range claimTries {
		st, err := s.cfg.Store.Email(ctx, userID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, ErrNotEnabled
		}
		if err != nil {
			return nil, nil, fmt.Errorf("emailotp: load: %w", err)
		}
		if st.Disabled {
			return nil, nil, ErrNotEnabled
		}
		prev = st.Code
		if prev != nil && now.Before(prev.Sent.Add(s.cfg.Cooldown)) {
			return nil, nil, &CooldownError{RetryAt: prev.Sent.Add(s.cfg.Cooldown)}
		}
		next = &storage.EmailCode{Sent: now, Expires: now.Add(s.cfg.Validity)}
		if next.ID, err = s.randomHex(16); err != nil {
			return nil, nil, err
		}
		if next.Hash, err = s.hash(userID, next.ID, code, nil); err != nil {
			return nil, nil, err
		}
		next.Binding = binding(userID, next.ID, login)
		// A resend carries the wrong tries of the live code it replaces;
		// only a used, spent or expired code's count starts again.
		if s.live(prev, now) {
			next.Failures = prev.Failures
		}
		swapped, err := s.cfg.Store.SwapEmailCode(ctx, userID, prev, next)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, ErrNotEnabled // removed since the read
		}
		if err != nil {
			return nil, nil, fmt.Errorf("emailotp: store code: %w", err)
		}
		if swapped {
			return prev, next, nil
		}
		// Another send, a wrong try or a use changed the code since it was
		// read: read again; a send's code now holds the cooldown.
	}
	return nil, nil, errors.New("emailotp: the code kept changing while a new one was stored; ask again")
}

// release puts prev back (nil: no code) in place of the code claimed for a
// mail that failed, so the failed send spends nothing and starts no
// cooldown. Wrong tries made against the claimed code meanwhile stay
// counted on prev. If the claimed code is no longer the user's (used,
// replaced or removed), there is nothing to undo.
func (s *Service) release(ctx context.Context, userID string, claimed, prev *storage.EmailCode) error {
	// A mailer often fails because the request was cancelled; the undo
	// must still happen.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	cur := claimed
	for range claimTries {
		var back *storage.EmailCode
		if prev != nil {
			b := *prev
			b.Failures = max(prev.Failures, cur.Failures)
			back = &b
		}
		swapped, err := s.cfg.Store.SwapEmailCode(ctx, userID, cur, back)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("emailotp: put the previous code back: %w", err)
		}
		if swapped {
			return nil
		}
		st, err := s.cfg.Store.Email(ctx, userID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("emailotp: put the previous code back: %w", err)
		}
		if st.Code == nil || st.Code.ID != claimed.ID {
			return nil
		}
		cur = st.Code // a wrong try came in: carry it over
	}
	return errors.New("emailotp: put the previous code back: the code kept changing")
}

// Verify checks code against the user's live code and uses it up. It
// returns nil only for the right code, sent for this login, within its
// validity, with fewer than MaxFailures wrong tries, the first time;
// otherwise ErrMalformed, ErrInvalidLogin, an error matching
// ErrInvalidCode (ErrExpired, ErrTooManyFailures, ErrNoCode), ErrNotEnabled,
// ErrClock, a *throttle.Error or a store error.
//
// login is the ID of the login attempt that typed the code, as given to
// Send. A code sent for another login gets ErrNoCode, exactly as if no code
// had been sent: it neither counts against the throttle nor as a wrong try
// of the code, since it can never pass, and so another session of the same
// user learns nothing of the code and cannot spend it.
func (s *Service) Verify(ctx context.Context, userID, login, code string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := CheckLogin(login); err != nil {
		return err
	}
	norm, err := s.Normalize(code)
	if err != nil {
		return err
	}
	now, err := s.now()
	if err != nil {
		return err
	}
	st, err := s.cfg.Store.Email(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotEnabled
	}
	if err != nil {
		return fmt.Errorf("emailotp: load: %w", err)
	}
	if st.Disabled {
		return ErrNotEnabled
	}
	c := st.Code
	if !bound(c, userID, login) {
		// No code, or one sent for another login: one answer, one event
		// and the same work for both, before the throttle and without
		// counting a failure, so that another session of the user can
		// neither learn that a code is waiting nor spend it. Its tries
		// can never pass.
		s.emit(ctx, event.Failed, userID, now, "no code sent for this login")
		return ErrNoCode
	}
	switch {
	case now.Before(c.Sent.Add(-clockSkew)):
		return ErrClock
	case !now.Before(c.Expires):
		return ErrExpired
	case c.Failures >= s.cfg.MaxFailures:
		return ErrTooManyFailures
	}
	attempt := s.cfg.Throttle.Attempt
	if s.shared {
		// The state read with the user's: no read of its own (see Service).
		attempt = func(ctx context.Context, userID string) error {
			return s.cfg.Throttle.AttemptFrom(ctx, userID, st.Throttle)
		}
	}
	if err := attempt(ctx, userID); err != nil {
		if errors.Is(err, throttle.ErrThrottled) {
			s.emit(ctx, event.Throttled, userID, now, "")
		}
		return err
	}
	got, err := s.hash(userID, c.ID, norm, c.Hash)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, c.Hash) {
		n, err := s.cfg.Store.FailEmailCode(ctx, userID, c.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("emailotp: count failure: %w", err)
		}
		s.emit(ctx, event.Failed, userID, now, "wrong code")
		if n >= s.cfg.MaxFailures {
			return ErrTooManyFailures
		}
		return ErrInvalidCode
	}
	consume := s.cfg.Store.ConsumeEmailCode
	if s.shared {
		consume = s.cfg.Store.ConsumeEmailCodeAndResetThrottle
	}
	consumed, err := consume(ctx, userID, c.ID, s.cfg.MaxFailures)
	if err != nil {
		return fmt.Errorf("emailotp: use code: %w", err)
	}
	if !consumed {
		s.emit(ctx, event.ReplayRefused, userID, now, "")
		return ErrInvalidCode
	}
	if !s.shared {
		if err := s.cfg.Throttle.Success(ctx, userID); err != nil {
			return err
		}
	}
	s.emit(ctx, event.Verified, userID, now, "")
	return nil
}

// Normalize returns the code a user typed as Verify reads it: ASCII spaces
// removed (a code is often copied as "123 456"), then exactly Config.Digits
// ASCII digits, or an error matching ErrMalformed. Input longer than 64
// bytes, and any other character (a tab, a dash, a full-width or Arabic
// digit), is malformed. A normalized code normalizes to itself.
func (s *Service) Normalize(input string) (string, error) {
	if len(input) > 64 {
		return "", fmt.Errorf("%w: too long", ErrMalformed)
	}
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case c == ' ':
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("%w: only digits are allowed", ErrMalformed)
		}
	}
	if b.Len() != s.cfg.Digits {
		return "", fmt.Errorf("%w: want %d digits", ErrMalformed, s.cfg.Digits)
	}
	return b.String(), nil
}

// newCode draws Digits uniform decimal digits from Rand.
func (s *Service) newCode() (string, error) {
	var mod uint64 = 1
	for range s.cfg.Digits {
		mod *= 10
	}
	// Rejection sampling keeps every code equally likely.
	limit := (1 << 63) / mod * mod
	var b [8]byte
	for {
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return "", fmt.Errorf("emailotp: random: %w", err)
		}
		if v := binary.BigEndian.Uint64(b[:]) >> 1; v < limit {
			return fmt.Sprintf("%0*d", s.cfg.Digits, v%mod), nil
		}
	}
}

func (s *Service) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("emailotp: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

const saltSize = 16

// hash returns salt || HMAC-SHA256(salt, user, code ID, code). With stored
// nil a new salt is drawn; otherwise stored's salt is used, to compare.
// The code lives minutes and is bound to the user and to this code's ID.
func (s *Service) hash(userID, id, code string, stored []byte) ([]byte, error) {
	salt := make([]byte, saltSize)
	if stored == nil {
		if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
			return nil, fmt.Errorf("emailotp: random: %w", err)
		}
	} else if len(stored) != saltSize+sha256.Size {
		return nil, errors.New("emailotp: stored code hash has the wrong length")
	} else {
		copy(salt, stored)
	}
	m := hmac.New(sha256.New, salt)
	for _, part := range []string{userID, id, code} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(part))))
		m.Write([]byte(part))
	}
	return m.Sum(salt), nil
}

// binding is the digest of login kept with a code: SHA-256 over the user,
// the code's ID and the login, so the store holds nothing that names the
// login and no two codes share a digest.
func binding(userID, codeID, login string) []byte {
	h := sha256.New()
	h.Write([]byte("twofa emailotp login binding"))
	for _, part := range []string{userID, codeID, login} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(part))))
		h.Write([]byte(part))
	}
	return h.Sum(nil)
}

// bound reports, in constant time, whether c was sent for login. A code
// stored without a binding (sent before there were bindings) is bound to
// no login, and is refused: the user asks for a new one. No code (nil) is
// bound to none, after the same work as for a code.
func bound(c *storage.EmailCode, userID, login string) bool {
	if c == nil {
		_ = hmac.Equal(nil, binding(userID, "", login))
		return false
	}
	return hmac.Equal(c.Binding, binding(userID, c.ID, login))
}

func (s *Service) emit(ctx context.Context, k event.Kind, userID string, at time.Time, reason string) {
	s.cfg.Events.Emit(ctx, event.Event{Kind: k, Method: Method, UserID: userID, Time: at, Reason: reason})
}
