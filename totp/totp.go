// Package totp adds authenticator-app codes (RFC 6238) as a second factor.
//
// # Set-up
//
// [Service.Begin] makes a new 160-bit secret and returns an [Enrollment]: the
// otpauth URL, a QR code, the secret grouped for typing and a printable paper
// backup ([Enrollment.WritePaper]: in the user's language, any name in
// Latin, Greek or Cyrillic printed as written, other scripts with the
// application's font from package pdffont). Nothing is active yet. [Service.Confirm] takes the first code from
// the app ("verify and save") and only then enables the method. Begin on a
// user who already has the method moves it to a different phone: the old
// secret keeps working until the new one is confirmed, and the swap is one
// write.
//
// A set-up under way is bound to the session that began it and lasts
// Config.SetupValidity (an hour by default). Only that session sees its
// secret again ([Service.Pending]) or confirms it; to any other session, and
// once it has expired, it is as if there were none. So a password alone,
// used in another browser, never reads the secret a user is setting up.
//
// # Import
//
// [Service.Import] carries over a secret that another system made, read by
// [ParseSecret] (base32 with its algorithm, digits and period) or
// [ParseImportURL] (an otpauth URL), so that users keep their phones: it is
// sealed and enabled at once, and the codes of the time steps around the
// import are refused, so a code just used in the old system is not used
// again here. Secrets down to 80 bits are taken (MinImportBits), since
// older systems made them. docs/migration.md is the guide.
//
// # Verification
//
// [Service.Verify] refuses input that is not exactly the record's number of
// digits (spaces removed) before anything else, accepts the code of the
// current time step or of the one before or after, and accepts each code
// once: the store advances the last accepted step with an atomic
// compare-and-set, so a code is good for one login even when the same code
// reaches several servers at once. Every attempt is counted by a
// [throttle.Limiter] kept in the store.
//
// # Secrets at rest
//
// Secrets are sealed with a [keyring.Ring] (AES-256-GCM, bound to the user
// and to this purpose). Values under an old key are sealed again with the
// primary key when next used. That leaves an idle user's secret, and any
// pending set-up, under the old key for ever: [Service.RotateKeys] seals
// every one of them again, in batches by user ID, resumable from a
// cursor, and [Service.KeyReport] counts the secrets under each key, so an
// operator knows when an old key can leave the ring.
package totp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/throttle"
)

// Method is the name of this method in events and account views.
const Method = "totp"

// sealPurpose binds sealed secrets to this package's use of them.
const sealPurpose = "totp/secret"

// SecretSize is the length of generated secrets: 160 bits (RFC 4226 R6).
const SecretSize = 20

const maxPeriodSeconds = 300

var (
	// ErrInvalidCode reports a code that does not match. ErrReplay wraps it.
	ErrInvalidCode = errors.New("totp: invalid code")
	// ErrReplay reports a code that matched a time step already used; the
	// user waits for the next code.
	ErrReplay = fmt.Errorf("%w: already used", ErrInvalidCode)
	// ErrNotEnabled reports a user without a confirmed, enabled secret.
	ErrNotEnabled = errors.New("totp: not enabled for this user")
	// ErrNotSetUp reports a user without a confirmed secret (for Enable and
	// Disable), or without a pending set-up of this session (for Confirm and
	// Pending): none, another session's, or an expired one are the same.
	ErrNotSetUp = errors.New("totp: not set up for this user")
	// ErrSetupExpired reports to the session that began a set-up that it
	// expired unconfirmed; it begins again. It wraps ErrNotSetUp, and no
	// other session ever gets it.
	ErrSetupExpired = fmt.Errorf("%w: the set-up expired, begin again", ErrNotSetUp)
	// ErrNoSession reports a set-up call without a session ID.
	ErrNoSession = errors.New("totp: no session ID")
	// ErrConcurrentChange reports that the user's set-up changed while this
	// call was running (another set-up began, or it was removed); nothing
	// was changed by this call.
	ErrConcurrentChange = errors.New("totp: set-up changed concurrently, try again")
	// ErrBadAccount reports an account name that cannot label a secret in
	// an app: one with a colon (the otpauth label's separator), a control
	// character, or over 255 bytes.
	ErrBadAccount = errors.New("totp: account name cannot label a secret")
	// ErrClock reports a clock reading that cannot be right (see
	// storage.CheckTime); the call is denied. errors.Is matches
	// storage.ErrInvalidTime too.
	ErrClock = errors.New("totp: clock reading cannot be right")
)

// Config configures a Service. Store, Keys and Issuer are required; every
// other field has a safe default.
type Config struct {
	// Issuer names the application in the authenticator app: up to 255
	// bytes, no colon (the otpauth label's separator), no control
	// characters, no spaces around it.
	Issuer string
	// Store keeps the records. Unless Throttle is set it must also be a
	// storage.ThrottleStore.
	Store storage.TOTPStore
	// Keys seals secrets at rest.
	Keys *keyring.Ring

	// Algorithm, Digits and Period apply to new set-ups; enrolled secrets
	// keep the parameters they were made with. Defaults are what Google
	// Authenticator supports: SHA1, 6 digits, 30 seconds.
	Algorithm Algorithm
	Digits    int           // 6 or 8
	Period    time.Duration // whole seconds, up to 5 minutes
	// NoSkew accepts only the current time step's code. By default the
	// codes of the steps just before and after are accepted too, for
	// clocks that drift and users who type slowly.
	NoSkew bool
	// SetupValidity is how long a set-up waits for its confirming code
	// after Begin, up to a day; zero means DefaultSetupValidity.
	SetupValidity time.Duration

	// Throttle counts attempts; nil means a limiter with the default policy
	// over Store, which all methods and servers sharing the store share.
	Throttle *throttle.Limiter
	// Events receives what happens; nil discards it.
	Events event.Hook
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of new secrets; nil means crypto/rand.
	Rand io.Reader
}

// DefaultSetupValidity is how long a set-up waits for its confirming code
// unless Config.SetupValidity says otherwise: time to find the phone and
// install an app, short enough that an abandoned secret is soon gone.
const DefaultSetupValidity = time.Hour

// maxSetupValidity bounds Config.SetupValidity.
const maxSetupValidity = 24 * time.Hour

// Service runs set-up and verification. It is safe for concurrent use and
// keeps no state of its own: several instances over one store behave as one.
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
	if cfg.Issuer == "" {
		return nil, errors.New("totp: Config.Issuer is required")
	}
	if err := checkLabelPart("issuer", cfg.Issuer); err != nil {
		return nil, fmt.Errorf("totp: Config.Issuer: %v", err)
	}
	if cfg.Store == nil {
		return nil, errors.New("totp: Config.Store is required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("totp: Config.Keys is required")
	}
	if _, err := cfg.Algorithm.hash(); err != nil {
		return nil, err
	}
	if cfg.Digits == 0 {
		cfg.Digits = 6
	}
	if cfg.Digits != 6 && cfg.Digits != 8 {
		return nil, errors.New("totp: Config.Digits must be 6 or 8")
	}
	if cfg.Period == 0 {
		cfg.Period = 30 * time.Second
	}
	if cfg.Period < time.Second || cfg.Period > maxPeriodSeconds*time.Second || cfg.Period%time.Second != 0 {
		return nil, fmt.Errorf("totp: Config.Period must be whole seconds from 1s to %ds", maxPeriodSeconds)
	}
	if cfg.SetupValidity == 0 {
		cfg.SetupValidity = DefaultSetupValidity
	}
	if cfg.SetupValidity < 0 || cfg.SetupValidity > maxSetupValidity {
		return nil, fmt.Errorf("totp: Config.SetupValidity must be positive and at most %v", maxSetupValidity)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Throttle == nil {
		ts, ok := cfg.Store.(storage.ThrottleStore)
		if !ok {
			return nil, errors.New("totp: Config.Store keeps no attempt counts (no storage.ThrottleStore): set Config.Throttle")
		}
		l, err := throttle.New(ts, throttle.Policy{}, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("totp: %w", err)
		}
		cfg.Throttle = l
	}
	return &Service{cfg: cfg, shared: cfg.Throttle.CountsIn(cfg.Store)}, nil
}

// Status is where a user stands with this method. It has only the states this
// method can be in; twofa.Status is the one type across methods.
type Status int

// The statuses a user can have.
const (
	StatusNone     Status = iota // never set up, or removed
	StatusPending                // a first set-up awaits its confirming code
	StatusEnabled                // confirmed and in use
	StatusDisabled               // confirmed, turned off for a while
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "not set up"
	case StatusPending:
		return "pending"
	case StatusEnabled:
		return "enabled"
	case StatusDisabled:
		return "disabled"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// State describes a user's method without any secret.
type State struct {
	Status  Status
	Account string
	// Since is when the active secret was confirmed; zero without one.
	Since time.Time
	// Moving is true when a new secret (a different phone) awaits
	// confirmation while the active one keeps working.
	Moving bool
}

// State returns the user's state. A user who never set up, or whose only
// set-up expired, gets StatusNone and a nil error.
func (s *Service) State(ctx context.Context, userID string) (State, error) {
	if err := checkUser(userID); err != nil {
		return State{}, err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("totp: load: %w", err)
	}
	pending := false
	if rec.Pending != nil {
		now, err := s.clock()
		if err != nil {
			return State{}, err
		}
		pending = s.live(rec.Pending, now)
	}
	st := State{}
	switch {
	case rec.Active == nil && pending:
		st.Status, st.Account = StatusPending, rec.Account
	case rec.Active != nil && rec.Disabled:
		st.Status, st.Since, st.Moving, st.Account = StatusDisabled, rec.Active.Created, pending, rec.Account
	case rec.Active != nil:
		st.Status, st.Since, st.Moving, st.Account = StatusEnabled, rec.Active.Created, pending, rec.Account
	}
	return st, nil
}

// live reports whether the pending set-up sec has not expired at now: it
// lasts SetupValidity from its Created time, and is gone at exactly
// Created+SetupValidity.
func (s *Service) live(sec *storage.TOTPSecret, now time.Time) bool {
	return now.Before(sec.Created.Add(s.cfg.SetupValidity))
}

// bindingPurpose separates the session digests of set-ups from every other
// digest of the same session ID.
const bindingPurpose = "twofa/totp/setup-session\x00"

// binding is the digest of session that a pending set-up keeps: the store
// never holds the session ID itself, and a digest made for one user does
// not match for another.
func binding(userID, session string) []byte {
	h := sha256.New()
	h.Write([]byte(bindingPurpose))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(session))
	return h.Sum(nil)
}

// pendingFor returns the user's pending set-up if session began it and it
// has not expired at now. Another session's set-up and none at all give the
// same ErrNotSetUp, so no session learns about another's; only the session
// that began it learns that it expired.
func (s *Service) pendingFor(rec *storage.TOTPRecord, session string, now time.Time) (*storage.TOTPSecret, error) {
	sec := rec.Pending
	if sec == nil || subtle.ConstantTimeCompare(sec.Binding, binding(rec.UserID, session)) != 1 {
		return nil, ErrNotSetUp
	}
	if !s.live(sec, now) {
		return nil, ErrSetupExpired
	}
	return sec, nil
}

// Begin starts a set-up for userID, labelled account in the app (an e-mail
// address or user name; userID when empty; see [ErrBadAccount]), for the
// session session: an opaque ID of the browser session (a login), which
// Pending and Confirm must be given again. It replaces any set-up already
// pending, of any session. If the user has a confirmed secret it stays in
// use until the new one is confirmed. The set-up expires after
// Config.SetupValidity.
func (s *Service) Begin(ctx context.Context, userID, account, session string) (*Enrollment, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	if session == "" {
		return nil, ErrNoSession
	}
	// Spaces around a name are dropped, as apps drop them; what is left
	// must survive the otpauth URL unchanged.
	if account = strings.TrimSpace(account); account == "" {
		account = userID
	}
	if err := checkLabelPart("account", account); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAccount, err)
	}
	raw := make([]byte, SecretSize)
	if _, err := io.ReadFull(s.cfg.Rand, raw); err != nil {
		return nil, fmt.Errorf("totp: generate secret: %w", err)
	}
	sealed, err := s.cfg.Keys.Seal(sealPurpose, userID, raw)
	if err != nil {
		return nil, fmt.Errorf("totp: seal secret: %w", err)
	}
	now, err := s.clock()
	if err != nil {
		return nil, err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		rec = storage.TOTPRecord{UserID: userID}
	case err != nil:
		return nil, fmt.Errorf("totp: load: %w", err)
	}
	rec.Account = account
	rec.Pending = &storage.TOTPSecret{
		Sealed:    sealed,
		Algorithm: s.cfg.Algorithm.String(),
		Digits:    s.cfg.Digits,
		Period:    int(s.cfg.Period / time.Second),
		Created:   now,
		Binding:   binding(userID, session),
	}
	if _, err := s.cfg.Store.PutTOTP(ctx, rec); err != nil {
		return nil, s.storeErr("save set-up", err)
	}
	s.emit(ctx, event.SetupStarted, userID, now, "")
	return s.enrollment(account, raw, rec.Pending)
}

// Pending returns the set-up that session began and that awaits
// confirmation, so that a page can show its QR code again or print it. For
// any other session, after it expired (ErrSetupExpired, to its own session
// only) and after confirmation it returns ErrNotSetUp: a confirmed secret,
// and another session's, are never returned.
func (s *Service) Pending(ctx context.Context, userID, session string) (*Enrollment, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	if session == "" {
		return nil, ErrNoSession
	}
	now, err := s.clock()
	if err != nil {
		return nil, err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotSetUp
	}
	if err != nil {
		return nil, fmt.Errorf("totp: load: %w", err)
	}
	sec, err := s.pendingFor(&rec, session, now)
	if err != nil {
		return nil, err
	}
	raw, _, err := s.cfg.Keys.Open(sealPurpose, userID, sec.Sealed)
	if err != nil {
		return nil, fmt.Errorf("totp: open pending secret: %w", err)
	}
	return s.enrollment(rec.Account, raw, sec)
}

func (s *Service) enrollment(account string, raw []byte, sec *storage.TOTPSecret) (*Enrollment, error) {
	alg, err := ParseAlgorithm(sec.Algorithm)
	if err != nil {
		return nil, err
	}
	return &Enrollment{
		Issuer:    s.cfg.Issuer,
		Account:   account,
		Secret:    b32.EncodeToString(raw),
		Algorithm: alg,
		Digits:    sec.Digits,
		Period:    time.Duration(sec.Period) * time.Second,
	}, nil
}

// Confirm checks code against the set-up that session began and, if it
// matches, makes the new secret the active one and enables the method, in
// one write. The confirming code cannot then be used to log in. Without a
// live set-up of this session it returns ErrNotSetUp (ErrSetupExpired to
// the session whose set-up expired), before any attempt is counted. A
// change of the record while it runs that keeps this set-up (its secret
// re-sealed by [Service.RotateKeys] or a login elsewhere, the method
// turned off) does not fail it; a set-up begun again meanwhile does, with
// ErrConcurrentChange.
func (s *Service) Confirm(ctx context.Context, userID, session, code string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if session == "" {
		return ErrNoSession
	}
	c, err := parseCode(code)
	if err != nil {
		return err
	}
	now, err := s.clock()
	if err != nil {
		return err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotSetUp
	}
	if err != nil {
		return fmt.Errorf("totp: load: %w", err)
	}
	sec, err := s.pendingFor(&rec, session, now)
	if err != nil {
		return err
	}
	if now, err = s.check(ctx, &rec, sec, c); err != nil {
		return err
	}
	// The code is spent now, so a write lost to a change that kept this
	// very set-up (its secret re-sealed by a key rotation or another
	// server's lazy re-seal, the method turned off meanwhile) is made
	// again on the fresh record rather than failing a user whose next
	// try would be refused as a replay.
	for try := 1; ; try++ {
		// The binding has done its work; the active secret carries none.
		sec.Binding = nil
		rec.Active, rec.Pending, rec.Disabled = sec, nil, false
		_, err := s.cfg.Store.PutTOTP(ctx, rec)
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrConflict) || try == 3 {
			return s.storeErr("save confirmed secret", err)
		}
		fresh, ferr := s.cfg.Store.TOTP(ctx, userID)
		if ferr != nil || !s.sameSetup(userID, fresh.Pending, rec.Active, session) {
			return ErrConcurrentChange
		}
		rec, sec = fresh, fresh.Pending
	}
	s.emit(ctx, event.Enrolled, userID, now, "")
	return nil
}

// sameSetup reports whether pending is still the set-up of session whose
// secret the confirming code was checked against (confirmed): bound to
// that session, begun at the same time, with the same parameters, and
// sealing the same secret, whatever key it is under now.
func (s *Service) sameSetup(userID string, pending, confirmed *storage.TOTPSecret, session string) bool {
	if pending == nil || subtle.ConstantTimeCompare(pending.Binding, binding(userID, session)) != 1 ||
		!pending.Created.Equal(confirmed.Created) || pending.Algorithm != confirmed.Algorithm ||
		pending.Digits != confirmed.Digits || pending.Period != confirmed.Period {
		return false
	}
	a, _, err := s.cfg.Keys.Open(sealPurpose, userID, pending.Sealed)
	if err != nil {
		return false
	}
	b, _, err := s.cfg.Keys.Open(sealPurpose, userID, confirmed.Sealed)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Verify checks a login code against the user's active secret. It returns
// nil only for a well-formed code of an allowed time step that was not used
// before; otherwise ErrMalformed, ErrInvalidCode (ErrReplay for a reused
// code), ErrNotEnabled, a *throttle.Error, or a wrapped store error. Every
// error denies access.
func (s *Service) Verify(ctx context.Context, userID, code string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	c, err := parseCode(code)
	if err != nil {
		return err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotEnabled
	}
	if err != nil {
		return fmt.Errorf("totp: load: %w", err)
	}
	if rec.Active == nil || rec.Disabled {
		return ErrNotEnabled
	}
	now, err := s.check(ctx, &rec, rec.Active, c)
	if err != nil {
		return err
	}
	s.emit(ctx, event.Verified, userID, now, "")
	return nil
}

// check runs one attempt of code against sec: shape, throttle, match,
// single use. On success the step is consumed and the throttle cleared.
func (s *Service) check(ctx context.Context, rec *storage.TOTPRecord, sec *storage.TOTPSecret, c code) (time.Time, error) {
	userID := rec.UserID
	if c.digits != sec.Digits {
		return time.Time{}, fmt.Errorf("%w: want %d digits", ErrMalformed, sec.Digits)
	}
	now, err := s.clock()
	if err != nil {
		return now, err
	}
	if err := s.attempt(ctx, userID, rec.Throttle); err != nil {
		if errors.Is(err, throttle.ErrThrottled) {
			s.emit(ctx, event.Throttled, userID, now, "")
		}
		return now, err
	}
	raw, current, err := s.cfg.Keys.Open(sealPurpose, userID, sec.Sealed)
	if err != nil {
		return now, fmt.Errorf("totp: open secret: %w", err)
	}
	step, ok, replay, err := s.match(raw, sec, c.value, now, rec.LastStep)
	switch {
	case err != nil:
		return now, err
	case replay:
		s.emit(ctx, event.ReplayRefused, userID, now, "")
		return now, ErrReplay
	case !ok:
		s.emit(ctx, event.Failed, userID, now, "wrong code")
		return now, ErrInvalidCode
	}
	advance := s.cfg.Store.AdvanceTOTPStep
	if s.shared {
		advance = s.cfg.Store.AdvanceTOTPStepAndResetThrottle
	}
	advanced, err := advance(ctx, userID, step)
	if err != nil {
		return now, s.storeErr("record used step", err)
	}
	if !advanced {
		s.emit(ctx, event.ReplayRefused, userID, now, "")
		return now, ErrReplay
	}
	if !s.shared {
		if err := s.cfg.Throttle.Success(ctx, userID); err != nil {
			return now, err
		}
	}
	if !current {
		if err := s.reseal(ctx, rec, sec, raw); err != nil {
			return now, err
		}
		s.emit(ctx, event.Resealed, userID, now, "")
	}
	return now, nil
}

// attempt counts one attempt of userID before its code is checked: from
// seen, the state read with the record, when the limiter counts in the
// store, and from a read of its own when it counts elsewhere.
func (s *Service) attempt(ctx context.Context, userID string, seen storage.ThrottleState) error {
	if s.shared {
		return s.cfg.Throttle.AttemptFrom(ctx, userID, seen)
	}
	return s.cfg.Throttle.Attempt(ctx, userID)
}

// match reports the start (Unix seconds) of the time step to consume for
// want: of the allowed steps whose code equals want, the earliest one after
// lastStep. Codes of two steps can coincide (one chance in 10^digits);
// taking the earliest keeps the later step's own code usable. If want
// matches only steps at or before lastStep, replay is true. Codes are
// compared in constant time; a wrong code always costs every allowed step,
// and a right one stops at its step, which tells the sender nothing new.
func (s *Service) match(raw []byte, sec *storage.TOTPSecret, want uint32, now time.Time, lastStep int64) (step int64, ok, replay bool, err error) {
	alg, err := ParseAlgorithm(sec.Algorithm)
	if err != nil {
		return 0, false, false, fmt.Errorf("totp: stored record: %w", err)
	}
	if sec.Period < 1 || sec.Period > maxPeriodSeconds {
		return 0, false, false, errors.New("totp: stored record: bad period")
	}
	h, err := newHOTP(alg, raw, sec.Digits)
	if err != nil {
		return 0, false, false, fmt.Errorf("totp: stored record: %w", err)
	}
	period := int64(sec.Period)
	counter := now.Unix() / period
	skew := int64(1)
	if s.cfg.NoSkew {
		skew = 0
	}
	for c := counter - skew; c <= counter+skew; c++ {
		if !eq(h.code(uint64(c)), want) {
			continue
		}
		if start := c * period; start > lastStep {
			return start, true, false, nil
		}
		replay = true
	}
	return 0, false, replay, nil
}

// eq compares two codes in constant time. Codes are below 10^8, so they
// fit an int32.
func eq(a, b uint32) bool {
	return subtle.ConstantTimeEq(int32(a), int32(b)) == 1
}

// reseal stores sec sealed again under the primary key. A concurrent change
// of the record wins over the re-seal, which the next use will retry.
func (s *Service) reseal(ctx context.Context, rec *storage.TOTPRecord, sec *storage.TOTPSecret, raw []byte) error {
	sealed, err := s.cfg.Keys.Seal(sealPurpose, rec.UserID, raw)
	if err != nil {
		return fmt.Errorf("totp: re-seal: %w", err)
	}
	sec.Sealed = sealed
	v, err := s.cfg.Store.PutTOTP(ctx, *rec)
	switch {
	case err == nil:
		// The caller may write rec again (Confirm does): from this version.
		rec.Version = v
	case !errors.Is(err, storage.ErrConflict):
		return fmt.Errorf("totp: store re-sealed secret: %w", err)
	}
	return nil
}

// Disable turns the method off for a while and keeps the secret, so Enable
// turns it back on without a new set-up. It returns ErrNotSetUp for a user
// without a confirmed secret.
func (s *Service) Disable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, true, event.Disabled)
}

// Enable turns a disabled method back on with the secret it had.
func (s *Service) Enable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, false, event.EnabledAgain)
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool, kind event.Kind) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotSetUp
	}
	if err != nil {
		return fmt.Errorf("totp: load: %w", err)
	}
	if rec.Active == nil {
		return ErrNotSetUp
	}
	if rec.Disabled == disabled {
		return nil
	}
	rec.Disabled = disabled
	if _, err := s.cfg.Store.PutTOTP(ctx, rec); err != nil {
		return s.storeErr("save", err)
	}
	s.emit(ctx, kind, userID, s.cfg.Now(), "")
	return nil
}

// Cancel abandons a pending set-up. The active secret, if any, is untouched.
func (s *Service) Cancel(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("totp: load: %w", err)
	}
	if rec.Pending == nil {
		return nil
	}
	if rec.Active == nil {
		// Nothing else is kept: a cancelled first set-up leaves no trace.
		return s.remove(ctx, userID)
	}
	rec.Pending = nil
	if _, err := s.cfg.Store.PutTOTP(ctx, rec); err != nil {
		return s.storeErr("cancel set-up", err)
	}
	return nil
}

// Remove deletes the user's secret and state; using the method again needs
// a new set-up. It emits event.Removed (and so a notice) only when a
// confirmed secret was removed: a user who never set up, or only began a
// set-up, lost no method, and nothing is said.
func (s *Service) Remove(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	rec, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("totp: load: %w", err)
	}
	if err := s.remove(ctx, userID); err != nil {
		return err
	}
	if rec.Active != nil {
		s.emit(ctx, event.Removed, userID, s.cfg.Now(), "")
	}
	return nil
}

func (s *Service) remove(ctx context.Context, userID string) error {
	if err := s.cfg.Store.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("totp: delete: %w", err)
	}
	return nil
}

// clock reads the clock and refuses a reading no store keeps (the zero
// time, before 1970, after 2262): no time step or expiry computed from it
// means anything.
func (s *Service) clock() (time.Time, error) {
	now := s.cfg.Now()
	if err := storage.CheckTime(now); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrClock, err)
	}
	return now, nil
}

// checkUser applies the one rule for user IDs before any store is asked.
func checkUser(userID string) error {
	if err := storage.CheckUserID(userID); err != nil {
		return fmt.Errorf("totp: %w", err)
	}
	return nil
}

func (s *Service) storeErr(what string, err error) error {
	if errors.Is(err, storage.ErrConflict) {
		return ErrConcurrentChange
	}
	return fmt.Errorf("totp: %s: %w", what, err)
}

func (s *Service) emit(ctx context.Context, k event.Kind, userID string, at time.Time, reason string) {
	s.cfg.Events.Emit(ctx, event.Event{Kind: k, Method: Method, UserID: userID, Time: at, Reason: reason})
}
