// Package backup provides one-time backup codes: the way in when the phone
// is lost.
//
// # Codes
//
// [Service.Generate] makes a set of codes (10 by default) of 50 bits each,
// from crypto/rand, in a readable alphabet ([Alphabet]) and grouped for
// reading ("abcde-fghij"). A new set replaces the old one at once. The codes
// are returned this one time: the store keeps only their hashes.
//
// # Hashing
//
// Codes of 50 bits are short enough to guess offline from a stolen database,
// so they are stored hashed with argon2id (OWASP's minimum by default: 19 MiB,
// two passes, one thread). All codes of a set share one random salt, so a
// check costs exactly one argon2id evaluation, then a constant-time
// comparison with every stored hash: its cost does not grow with the number
// of codes, and it does not reveal which code matched or how many are used.
//
// # Bounds
//
// A set costs ten argon2id evaluations of 19 MiB each, so parallel requests
// could otherwise take memory without limit. Every evaluation, in Generate
// and in Verify, waits for a slot of a [Gate]: by default one gate for the
// whole process, with GOMAXPROCS slots, which keeps the KDF's memory near
// slots × 19 MiB (BENCHMARKS.md has the figures). A waiting request gives
// up when its context ends. A user gets one new set at a time and one per
// [Config.MinInterval] (a minute by default), read from the stored set's
// creation time; the store's compare-and-set on the set it replaces makes
// that hold across servers too. Anything else is refused with [ErrTooSoon]
// before any KDF runs.
//
// # Clock and user IDs
//
// Every entry point applies storage's rule for user IDs
// ([storage.CheckUserID]) before the store sees one, and Generate and
// Verify refuse a clock reading no store should keep ([ErrClock]): a broken
// clock denies, and consumes nothing.
//
// # Use
//
// [Service.Verify] normalises the input (see [Normalize]), counts the attempt
// with the per-user throttle shared with the other methods, and consumes the
// code with an atomic conditional update in the store: a code works once,
// even when it reaches several servers at the same instant.
package backup

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/throttle"
)

// Method is the name of this method in events and account views.
const Method = "backup"

// DefaultCount is how many codes a set has unless configured otherwise.
const DefaultCount = 10

// MaxCount is the largest set: what fits one printed page.
const MaxCount = 20

var (
	// ErrInvalidCode reports a code that is not in the user's set. ErrUsed
	// wraps it.
	ErrInvalidCode = errors.New("backup: invalid code")
	// ErrUsed reports a code of the set that was already used.
	ErrUsed = fmt.Errorf("%w: already used", ErrInvalidCode)
	// ErrNotEnabled reports a user without a set, or with backup codes
	// turned off.
	ErrNotEnabled = errors.New("backup: no backup codes for this user")
	// ErrNotSetUp reports a user without a set (for Enable and Disable).
	ErrNotSetUp = errors.New("backup: no backup codes generated for this user")
	// ErrClock reports a clock reading no code may be checked or made at:
	// the zero time, before 1970 or past 2262 (see storage.CheckTime). The
	// error also matches storage.ErrInvalidTime.
	ErrClock = errors.New("backup: clock out of range")
	// ErrTooSoon reports a new set asked for while the user's last one is
	// younger than Config.MinInterval, or while another is being made.
	ErrTooSoon = errors.New("backup: a new set was made too recently")
	// ErrInProgress reports a new set asked for while this process is
	// making one for the user. It wraps ErrTooSoon.
	ErrInProgress = fmt.Errorf("%w: another is being made", ErrTooSoon)
)

// DefaultMinInterval is the least time between two sets of one user unless
// configured otherwise. A person makes a new set rarely and seldom twice in
// a minute; a minute holds one user to ten argon2id evaluations a minute
// for new sets.
const DefaultMinInterval = time.Minute

// checkUser applies storage's one rule for user IDs before any store call;
// the error matches storage.ErrInvalidUserID.
func checkUser(userID string) error {
	if err := storage.CheckUserID(userID); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// clock reads the configured clock once and refuses a reading no store
// should keep: with the memory store, a code "used" at the zero time would
// still count as unused, and pass again.
func (s *Service) clock() (time.Time, error) {
	now := s.cfg.Now()
	if err := storage.CheckTime(now); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrClock, err)
	}
	return now, nil
}

// Params are argon2id's cost parameters.
type Params struct {
	Time      uint32 // passes; default 2
	MemoryKiB uint32 // default 19456 (19 MiB)
	Threads   uint8  // default 1
}

// The floor is OWASP's minimum for argon2id.
const (
	minTime   = 2
	minMemory = 19 * 1024
)

func (p Params) withDefaults() (Params, error) {
	if p.Time == 0 {
		p.Time = minTime
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = minMemory
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	if p.Time < minTime || p.MemoryKiB < minMemory {
		return p, fmt.Errorf("backup: argon2id parameters below OWASP's minimum (t=%d, m=%d KiB)", minTime, minMemory)
	}
	return p, nil
}

// String encodes p as stored with a set.
func (p Params) String() string {
	return fmt.Sprintf("argon2id$t=%d$m=%d$p=%d", p.Time, p.MemoryKiB, p.Threads)
}

// parseParams reads what String wrote.
func parseParams(s string) (Params, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return p, errors.New("backup: stored set has an unknown KDF")
	}
	for i, dst := range []*uint32{&p.Time, &p.MemoryKiB, nil} {
		key, val, ok := strings.Cut(parts[i+1], "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || key != [...]string{"t", "m", "p"}[i] || n == 0 {
			return p, errors.New("backup: stored set has bad KDF parameters")
		}
		if dst != nil {
			*dst = uint32(n)
		} else if n > 255 {
			return p, errors.New("backup: stored set has bad KDF parameters")
		} else {
			p.Threads = uint8(n)
		}
	}
	return p, nil
}

// Hasher computes the stored hash of a normalised code. The default is
// argon2id with a 32-byte output; a Config may wrap it, for example to
// count evaluations.
type Hasher func(code, salt []byte, p Params) []byte

// Argon2id is the default Hasher.
func Argon2id(code, salt []byte, p Params) []byte {
	return argon2.IDKey(code, salt, p.Time, p.MemoryKiB, p.Threads, 32)
}

// Config configures a Service. Store is required.
type Config struct {
	Store storage.BackupStore
	// Count is the number of codes in a set; default 10, at most MaxCount.
	Count int
	// Params are argon2id's costs for new sets; the zero value is OWASP's
	// minimum. Stored sets keep the parameters they were made with.
	Params Params
	// Hash computes stored hashes; nil means Argon2id.
	Hash Hasher
	// Gate bounds the KDF work: evaluations at once, one new set per user
	// at a time. nil means DefaultGate, shared by every Service of the
	// process built without one; NewGate(n) chooses another size.
	Gate *Gate
	// MinInterval is the least time between two sets of one user, counted
	// from the stored set's Created; 0 means DefaultMinInterval, a negative
	// value no limit.
	MinInterval time.Duration
	// Throttle counts attempts; nil means a limiter with the default policy
	// over Store, which must then be a storage.ThrottleStore.
	Throttle *throttle.Limiter
	Events   event.Hook
	Now      func() time.Time
	Rand     io.Reader // nil means crypto/rand
}

// Service generates and checks backup codes. It is safe for concurrent use
// and holds no state of its own.
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
		return nil, errors.New("backup: Config.Store is required")
	}
	if cfg.Count == 0 {
		cfg.Count = DefaultCount
	}
	if cfg.Count < 1 || cfg.Count > MaxCount {
		return nil, fmt.Errorf("backup: Config.Count must be 1 to %d", MaxCount)
	}
	p, err := cfg.Params.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Params = p
	if cfg.Hash == nil {
		cfg.Hash = Argon2id
	}
	if cfg.Gate == nil {
		cfg.Gate = DefaultGate()
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = DefaultMinInterval
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
			return nil, errors.New("backup: Config.Store keeps no attempt counts (no storage.ThrottleStore): set Config.Throttle")
		}
		l, err := throttle.New(ts, throttle.Policy{}, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		cfg.Throttle = l
	}
	return &Service{cfg: cfg, shared: cfg.Throttle.CountsIn(cfg.Store)}, nil
}

// Generate makes a new set of codes for userID, replacing any earlier set
// and turning backup codes on. The codes, formatted "abcde-fghij", are
// returned this once and never stored in the clear.
//
// A user gets one new set per Config.MinInterval, and one at a time:
// otherwise the error matches ErrTooSoon (ErrInProgress while this process
// is making one), and no KDF runs. Each code's hash waits for a slot of
// the Gate; if ctx ends first, Generate returns ctx's error and stores
// nothing. A clock that cannot be trusted gives ErrClock.
func (s *Service) Generate(ctx context.Context, userID string) ([]string, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	now, err := s.clock()
	if err != nil {
		return nil, err
	}
	if !s.cfg.Gate.begin(userID) {
		return nil, ErrInProgress
	}
	defer s.cfg.Gate.end(userID)
	prevID := ""
	switch prev, err := s.cfg.Store.BackupSet(ctx, userID); {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("backup: load set: %w", err)
	default:
		// A set from the future (a clock that went backwards) counts as
		// new: the limit holds until the clock passes it.
		if next := prev.Created.Add(s.cfg.MinInterval); s.cfg.MinInterval > 0 && now.Before(next) {
			return nil, fmt.Errorf("%w: the next set can be made at %s", ErrTooSoon, next.UTC().Format(time.RFC3339))
		}
		prevID = prev.SetID
	}
	codes, err := generate(s.cfg.Rand, s.cfg.Count)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		return nil, fmt.Errorf("backup: random: %w", err)
	}
	if _, err := io.ReadFull(s.cfg.Rand, id); err != nil {
		return nil, fmt.Errorf("backup: random: %w", err)
	}
	set := storage.BackupSet{
		UserID:  userID,
		SetID:   hex.EncodeToString(id),
		Salt:    salt,
		KDF:     s.cfg.Params.String(),
		Created: now,
	}
	for _, c := range codes {
		h, err := s.hash(ctx, []byte(strings.ReplaceAll(c, "-", "")), salt, s.cfg.Params)
		if err != nil {
			return nil, err
		}
		set.Hashes = append(set.Hashes, h)
	}
	// Of parallel requests for one user on several servers, each read the
	// same set above: the compare-and-set lets one of them replace it.
	if replaced, err := s.cfg.Store.ReplaceBackupSet(ctx, set, prevID); err != nil {
		return nil, fmt.Errorf("backup: store set: %w", err)
	} else if !replaced {
		return nil, fmt.Errorf("%w: another set was made meanwhile", ErrTooSoon)
	}
	s.emit(ctx, event.BackupGenerated, userID, now)
	return codes, nil
}

// Verify checks code against the user's set and consumes it. It returns nil
// only for an unused code of the current set; otherwise ErrMalformed,
// ErrInvalidCode (ErrUsed for a used one), ErrNotEnabled, a *throttle.Error,
// ErrClock, an error matching storage.ErrInvalidUserID, or a wrapped store
// error. Every error denies access.
func (s *Service) Verify(ctx context.Context, userID, code string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	norm, err := Normalize(code)
	if err != nil {
		return err
	}
	// The clock is checked before anything is counted or consumed.
	now, err := s.clock()
	if err != nil {
		return err
	}
	set, err := s.cfg.Store.BackupSet(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotEnabled
	}
	if err != nil {
		return fmt.Errorf("backup: load set: %w", err)
	}
	if set.Disabled || remaining(set) == 0 {
		return ErrNotEnabled
	}
	p, err := parseParams(set.KDF)
	if err != nil {
		return err
	}
	attempt := s.cfg.Throttle.Attempt
	if s.shared {
		// The state read with the set: no read of its own (see Service).
		attempt = func(ctx context.Context, userID string) error {
			return s.cfg.Throttle.AttemptFrom(ctx, userID, set.Throttle)
		}
	}
	if err := attempt(ctx, userID); err != nil {
		if errors.Is(err, throttle.ErrThrottled) {
			s.emit(ctx, event.Throttled, userID, now)
		}
		return err
	}
	h, err := s.hash(ctx, []byte(norm), set.Salt, p)
	if err != nil {
		return err
	}
	index := match(h, set.Hashes)
	if index < 0 {
		s.emitReason(ctx, event.Failed, userID, now, "wrong code")
		return ErrInvalidCode
	}
	if index < len(set.UsedAt) && !set.UsedAt[index].IsZero() {
		s.emit(ctx, event.ReplayRefused, userID, now)
		return ErrUsed
	}
	use := s.cfg.Store.UseBackupCode
	if s.shared {
		use = s.cfg.Store.UseBackupCodeAndResetThrottle
	}
	used, err := use(ctx, userID, set.SetID, index, now)
	if err != nil {
		return fmt.Errorf("backup: consume code: %w", err)
	}
	if !used {
		// Another request consumed it first, or the set was replaced.
		s.emit(ctx, event.ReplayRefused, userID, now)
		return ErrUsed
	}
	if !s.shared {
		if err := s.cfg.Throttle.Success(ctx, userID); err != nil {
			return err
		}
	}
	s.emit(ctx, event.BackupUsed, userID, now)
	return nil
}

// match returns the index of the hash equal to h, or -1. It compares with
// every hash, in constant time, whatever matched.
func match(h []byte, hashes [][]byte) int {
	index := -1
	for i, stored := range hashes {
		if subtle.ConstantTimeCompare(h, stored) == 1 {
			index = i
		}
	}
	return index
}

func remaining(set storage.BackupSet) int {
	n := 0
	for i := range set.Hashes {
		if i >= len(set.UsedAt) || set.UsedAt[i].IsZero() {
			n++
		}
	}
	return n
}

// Status is where a user stands with backup codes. It has only the states this
// method can be in; twofa.Status is the one type across methods.
type Status int

// The statuses a user can have.
const (
	StatusNone     Status = iota // never generated, or removed
	StatusEnabled                // a set is in use
	StatusDisabled               // a set is kept but turned off
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "not set up"
	case StatusEnabled:
		return "enabled"
	case StatusDisabled:
		return "disabled"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// State describes a user's backup codes without any of them.
type State struct {
	Status    Status
	Remaining int       // unused codes
	Total     int       // codes in the set
	Created   time.Time // when the set was generated
}

// State returns the user's state; a user without a set gets StatusNone and
// a nil error.
func (s *Service) State(ctx context.Context, userID string) (State, error) {
	if err := checkUser(userID); err != nil {
		return State{}, err
	}
	set, err := s.cfg.Store.BackupSet(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("backup: load set: %w", err)
	}
	st := State{Status: StatusEnabled, Remaining: remaining(set), Total: len(set.Hashes), Created: set.Created}
	if set.Disabled {
		st.Status = StatusDisabled
	}
	return st, nil
}

// Remaining returns how many unused codes the user has: "You have N unused
// backup codes".
func (s *Service) Remaining(ctx context.Context, userID string) (int, error) {
	st, err := s.State(ctx, userID)
	return st.Remaining, err
}

// Disable turns backup codes off and keeps the set; Enable turns them on
// again. Each emits its event (and so its notice) only when it changes the
// set: turning off codes already off is no news to tell.
func (s *Service) Disable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, true, event.Disabled)
}

// Enable turns a disabled set back on.
func (s *Service) Enable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, false, event.EnabledAgain)
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool, k event.Kind) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	switch set, err := s.cfg.Store.BackupSet(ctx, userID); {
	case errors.Is(err, storage.ErrNotFound):
		return ErrNotSetUp
	case err != nil:
		return fmt.Errorf("backup: load set: %w", err)
	case set.Disabled == disabled:
		return nil
	}
	err := s.cfg.Store.SetBackupDisabled(ctx, userID, disabled)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotSetUp
	}
	if err != nil {
		return fmt.Errorf("backup: save: %w", err)
	}
	s.emit(ctx, k, userID, s.cfg.Now())
	return nil
}

// Remove deletes the user's set; using backup codes again needs a new set.
// A user without a set is not an error, and emits no event: nothing was
// removed, and no notice should say otherwise.
func (s *Service) Remove(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	switch _, err := s.cfg.Store.BackupSet(ctx, userID); {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("backup: load set: %w", err)
	}
	if err := s.cfg.Store.DeleteBackupSet(ctx, userID); err != nil {
		return fmt.Errorf("backup: delete set: %w", err)
	}
	s.emit(ctx, event.Removed, userID, s.cfg.Now())
	return nil
}

func (s *Service) emit(ctx context.Context, k event.Kind, userID string, at time.Time) {
	s.emitReason(ctx, k, userID, at, "")
}

func (s *Service) emitReason(ctx context.Context, k event.Kind, userID string, at time.Time, reason string) {
	s.cfg.Events.Emit(ctx, event.Event{Kind: k, Method: Method, UserID: userID, Time: at, Reason: reason})
}
