// Package storage defines what twofa keeps, as small interfaces with one
// concern each, so an application can back them with the store it already
// runs.
//
// # Contracts
//
// Every method takes a [context.Context] first. A method that looks a record
// up returns [ErrNotFound] (compared with [errors.Is]) when there is none;
// every other error is a system error, and the library denies access when it
// sees one. Operations that must happen at most once — advancing the last
// accepted TOTP time step, consuming a one-time code, replacing a set of
// backup codes — are atomic conditional updates in the store, so they hold
// across goroutines and across several application servers sharing one
// database. A conditional write that loses reports false, or [ErrConflict],
// never a system error.
//
// A login's single-use writes ([TOTPStore.AdvanceTOTPStepAndResetThrottle],
// [BackupStore.UseBackupCodeAndResetThrottle],
// [EmailStore.ConsumeEmailCodeAndResetThrottle]) also clear the user's
// [ThrottleState] in the same atomic operation, and the reads a login
// starts with return that state with the record (TOTPRecord.Throttle and
// the like), so that a successful check needs three calls: the read, the
// throttle's compare-and-set, the write. A store that implements these
// interfaces keeps the throttle state beside the records for that reason.
//
// # Input a store refuses
//
// Every method that names a user refuses an ID that fails [CheckUserID]
// with [ErrInvalidUserID], reads included, before it touches its data: the
// rule, not the database engine, decides which IDs exist, so an ID one
// store keeps every store keeps. Every write refuses a time that fails
// [CheckTime] with [ErrInvalidTime]: a time before 1970 or past 2262 is a
// broken clock, and the zero time would read back as "never" — a backup
// code "used" at the zero time would stay usable. The only zero times a
// store accepts are the ones that mean none: the zero [ThrottleState] and a
// [WebAuthnCredential] never used. Text a write carries (record IDs, labels,
// names, the account) must pass [CheckText]; text that fails it, and other
// arguments no store takes, a keep below 1 or an empty set ID, are
// [ErrInvalidArgument]. A refused call changes nothing. A lookup by a key
// that fails CheckText finds nothing, as it would by any unknown key.
//
// # Bounds
//
// No user can make a store grow without limit. [CeremonyStore.PutCeremony]
// removes every expired ceremony and keeps each user's newest few (and a
// bounded pool of passkey logins, which have no user yet);
// [BrowserStore.AddBrowser] keeps each user's most recently used browsers;
// [LogStore.AppendLog] keeps each user's newest log entries within a
// retention period. The caller chooses the bound. The other records are one per user (one
// TOTP record, throttle state, e-mail state and backup set each); a user's
// security keys are bounded by the factor that adds them, not here. A walk
// over every TOTP record ([TOTPLister]) reads at most [MaxTOTPBatch]
// records a call.
//
// # Backends
//
// Package [github.com/twofa-go/twofa/storage/memory] keeps everything in
// process; package [github.com/twofa-go/twofa/storage/sqlstore] runs over the
// application's own [database/sql] handle (SQLite or PostgreSQL). Both pass
// the one conformance suite in
// [github.com/twofa-go/twofa/storage/storagetest].
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound reports that the requested record does not exist.
	ErrNotFound = errors.New("storage: not found")

	// ErrConflict reports that a conditional write lost: the record changed
	// (or came into being) since it was read. The caller reads it again.
	ErrConflict = errors.New("storage: conflict")

	// ErrInvalidArgument reports an argument no store accepts, other than a
	// user ID or a time: a keep below 1, an empty set ID. It is a
	// programmer's error, never a lost race.
	ErrInvalidArgument = errors.New("storage: invalid argument")
)

// TOTPSecret is one sealed authenticator-app secret with the parameters its
// codes are computed with. The parameters are kept with the secret so that a
// change of the service's defaults never breaks an enrolled phone.
type TOTPSecret struct {
	// Sealed is the secret sealed by a keyring; the store never sees it in
	// the clear.
	Sealed    []byte
	Algorithm string // "SHA1", "SHA256" or "SHA512"
	Digits    int
	Period    int // seconds
	Created   time.Time
	// Binding is a digest of the session that began a pending set-up, so
	// that only that session can confirm it; the factor makes and compares
	// it, the store only keeps it. Nil for none.
	Binding []byte
}

// TOTPRecord is one user's authenticator-app state.
type TOTPRecord struct {
	UserID string
	// Account is the label shown in the authenticator app (an e-mail address
	// or user name); it is not secret.
	Account string
	// Active is the confirmed secret, nil while the first set-up is pending.
	Active *TOTPSecret
	// Pending is a secret being set up and not yet confirmed with a code:
	// the first set-up, or a move to a different phone while Active keeps
	// working. Nil when no set-up is under way.
	Pending *TOTPSecret
	// Disabled is true when the user turned the method off for a while; the
	// secret is kept so it can be enabled again without a new set-up.
	Disabled bool
	// LastStep identifies the last accepted time step by the Unix time, in
	// seconds, at which that step began, so that secrets with different
	// periods compare. A code is accepted only for a strictly later step.
	// It is written only by AdvanceTOTPStep, never by PutTOTP.
	LastStep int64
	// Version is the store's revision of the record: 0 for a record that
	// does not exist yet, and a new value after every PutTOTP. A store never
	// repeats a version for a user, even after DeleteTOTP, so a writer
	// holding a version read before a delete can never overwrite the
	// record made after it.
	Version int64
	// Throttle is the user's ThrottleState, read by TOTP together with the
	// record, so that a verify counts its attempt without a read of its
	// own (throttle.Limiter.AttemptFrom). It is a snapshot: a store never
	// writes it from a record (PutTOTP ignores it), and TOTPRecords leaves
	// it zero.
	Throttle ThrottleState
}

// TOTPStore keeps authenticator-app records, one per user.
type TOTPStore interface {
	// TOTP returns the user's record. If there is none, err is ErrNotFound.
	TOTP(ctx context.Context, userID string) (TOTPRecord, error)

	// PutTOTP writes rec if the stored record's version is still
	// rec.Version (0: no record may exist yet) and returns the new version.
	// If the record changed, appeared or was deleted in between, err is
	// ErrConflict and nothing is written. PutTOTP writes every field except LastStep, which
	// it leaves as stored (a new record starts at 0).
	PutTOTP(ctx context.Context, rec TOTPRecord) (version int64, err error)

	// AdvanceTOTPStep sets the user's LastStep to step if, and only if, the
	// stored LastStep is smaller, as one atomic operation: of any number of
	// concurrent calls with the same step, exactly one reports true. It
	// reports false with a nil error when the stored step is already at or
	// past step. If the user has no record, err is ErrNotFound.
	AdvanceTOTPStep(ctx context.Context, userID string, step int64) (advanced bool, err error)

	// AdvanceTOTPStepAndResetThrottle is AdvanceTOTPStep for a code that
	// passed its check: when, and only when, the step advances, the same
	// atomic operation also clears the user's throttle state, as
	// ResetThrottle does. A step that does not advance leaves the throttle
	// state as it is. A login calls it; anything else that moves the step
	// (an import marking steps used) calls AdvanceTOTPStep.
	AdvanceTOTPStepAndResetThrottle(ctx context.Context, userID string, step int64) (advanced bool, err error)

	// DeleteTOTP removes the user's record. Deleting a record that does not
	// exist is not an error.
	DeleteTOTP(ctx context.Context, userID string) error
}

// MaxTOTPBatch bounds the records one [TOTPLister.TOTPRecords] call
// returns, so that a walk over every user holds one batch in memory.
const MaxTOTPBatch = 1000

// TOTPLister walks every user's TOTP record, for work over all users
// such as sealing every secret again under a new key. A walk is a series
// of calls, each starting after the last user ID the previous one
// returned (keyset pagination): it can stop and resume at any point, and
// a record written, added or deleted meanwhile is seen as it is when its
// batch is read, or not at all if it was deleted.
type TOTPLister interface {
	// TOTPRecords returns up to limit records whose user IDs come after
	// afterUserID in byte order (as Go compares strings), in that order;
	// "" starts at the first. Fewer than limit records, none included,
	// means the walk has reached the end. A limit below 1 or above
	// MaxTOTPBatch is ErrInvalidArgument; a non-empty afterUserID that
	// fails CheckUserID is ErrInvalidUserID.
	TOTPRecords(ctx context.Context, afterUserID string, limit int) ([]TOTPRecord, error)

	// CountTOTP returns how many TOTP records there are, for the total of
	// a walk's progress; records come and go, so it is a hint, not a
	// promise of how many the walk will see.
	CountTOTP(ctx context.Context) (int, error)
}

// ThrottleState counts a user's consecutive failed second-factor attempts.
// The zero value means no failures. A store may keep the zero state as no
// record or as a record of zeros: the two read, and compare, alike.
type ThrottleState struct {
	Failures int
	// Last is the time of the most recent counted attempt; stores keep it
	// to the nanosecond (for times from 1678 to 2262, as Unix nanoseconds
	// hold) so that a state read back compares equal.
	Last time.Time
}

// ThrottleStore keeps per-user failure counters, shared by every method and
// every application server that uses the store.
type ThrottleStore interface {
	// Throttle returns the user's state. A user with no recorded failures
	// gets the zero state and a nil error.
	Throttle(ctx context.Context, userID string) (ThrottleState, error)

	// SwapThrottle replaces the user's state with next if the stored state
	// still equals old — the same Failures and the same instant by
	// time.Time.Equal; no record reads as the zero state — as one atomic
	// operation. It reports false with a nil error when the stored
	// state differs.
	SwapThrottle(ctx context.Context, userID string, old, next ThrottleState) (swapped bool, err error)

	// ResetThrottle clears the user's failures, for an administrator or a
	// factor whose success is not itself a store write; the verifies of
	// codes clear the state in their single-use write instead
	// (AdvanceTOTPStepAndResetThrottle and its like). Clearing a user with
	// none is not an error.
	ResetThrottle(ctx context.Context, userID string) error
}

// BackupSet is one user's current set of backup codes. The codes are never
// stored: only one KDF hash each, all made with the set's one salt, so that
// checking a code costs a single KDF evaluation however many codes remain.
type BackupSet struct {
	UserID string
	// SetID identifies this set; a new set gets a new ID, so a code of a
	// replaced set can never be consumed, even by a request that read the
	// old set before it was replaced.
	SetID string
	Salt  []byte
	// KDF names the hash function and its parameters ("argon2id$t=2$m=19456$p=1"),
	// so sets made under other parameters keep verifying.
	KDF     string
	Hashes  [][]byte    // one per code, in the order the codes were shown
	UsedAt  []time.Time // parallel to Hashes; the zero time for an unused code
	Created time.Time
	// Disabled is true while the user has turned backup codes off; the set
	// is kept so they can be turned on again.
	Disabled bool
	// Throttle is the user's ThrottleState, read by BackupSet together
	// with the set (see TOTPRecord.Throttle); ReplaceBackupSet ignores it.
	Throttle ThrottleState
}

// BackupStore keeps one set of backup codes per user.
type BackupStore interface {
	// BackupSet returns the user's set. If there is none, err is
	// ErrNotFound.
	BackupSet(ctx context.Context, userID string) (BackupSet, error)

	// ReplaceBackupSet makes set the user's only set, removing any earlier
	// one with all its codes, if the user's current set ID is still
	// prevSetID ("" for no set), as one atomic compare-and-set: of any
	// number of concurrent calls with one prevSetID, exactly one reports
	// true. It reports false with a nil error, and changes nothing, when the
	// current set is another. Every code of set is stored unused, whatever
	// set.UsedAt says. An empty set.SetID, or one equal to prevSetID, is
	// ErrInvalidArgument: a new set needs a new ID.
	ReplaceBackupSet(ctx context.Context, set BackupSet, prevSetID string) (replaced bool, err error)

	// UseBackupCode marks code index of the set setID as used at at, if the
	// set is still the user's current one and the code is unused, as one
	// atomic operation: of any number of concurrent calls for one code,
	// exactly one reports true. It reports false with a nil error when the
	// code is used, the index is out of range, or the set was replaced or
	// removed.
	UseBackupCode(ctx context.Context, userID, setID string, index int, at time.Time) (used bool, err error)

	// UseBackupCodeAndResetThrottle is UseBackupCode for a code that passed
	// its check: when, and only when, the code is used, the same atomic
	// operation also clears the user's throttle state, as ResetThrottle
	// does; otherwise the throttle state stays as it is.
	UseBackupCodeAndResetThrottle(ctx context.Context, userID, setID string, index int, at time.Time) (used bool, err error)

	// SetBackupDisabled sets the Disabled flag of the user's set. If there is
	// no set, err is ErrNotFound.
	SetBackupDisabled(ctx context.Context, userID string, disabled bool) error

	// DeleteBackupSet removes the user's set and its codes. Deleting a set
	// that does not exist is not an error.
	DeleteBackupSet(ctx context.Context, userID string) error
}

// EmailCode is a code mailed to a user, hashed. The code itself is never
// stored.
type EmailCode struct {
	// ID identifies this code; every code sent gets a new one.
	ID string
	// Hash is what the code is checked against: a salted hash, salt
	// included, in the format of the package that made it.
	Hash    []byte
	Sent    time.Time // the resend cooldown runs from here
	Expires time.Time
	// Failures counts wrong tries against this code, and against the codes
	// it replaced while they were live: a resend does not reset it.
	Failures int
	// Binding is a digest of the login the code was sent for, so that the
	// code works only there; the factor makes and compares it, the store
	// only keeps it. Nil for none.
	Binding []byte
}

// EmailState is one user's e-mail method: whether they turned it on, and
// the live code, if any.
type EmailState struct {
	UserID   string
	Disabled bool
	Since    time.Time  // when the user turned e-mail codes on
	Code     *EmailCode // nil when no code was sent, or after it was used
	// Throttle is the user's ThrottleState, read by Email together with
	// the state (see TOTPRecord.Throttle).
	Throttle ThrottleState
}

// EmailStore keeps the e-mail method of each user and its one live code.
type EmailStore interface {
	// Email returns the user's state. If the user never turned e-mail codes
	// on (or they were removed), err is ErrNotFound.
	Email(ctx context.Context, userID string) (EmailState, error)

	// PutEmail turns e-mail codes on for the user (creating the state with
	// since) or sets Disabled on an existing state, keeping its code.
	PutEmail(ctx context.Context, userID string, disabled bool, since time.Time) error

	// DeleteEmail removes the user's state and code. Deleting a state that
	// does not exist is not an error.
	DeleteEmail(ctx context.Context, userID string) error

	// SwapEmailCode replaces the user's code with next (nil removes the
	// code) if the stored code still equals prev — the same ID and
	// Failures; nil for no code — as one atomic operation. It reports false
	// with a nil error when the stored code differs. If the user has no
	// state, err is ErrNotFound.
	SwapEmailCode(ctx context.Context, userID string, prev, next *EmailCode) (swapped bool, err error)

	// FailEmailCode adds one to the Failures of the code id, if it is still
	// the user's code, and returns the new count. If it is not, err is
	// ErrNotFound.
	FailEmailCode(ctx context.Context, userID, id string) (failures int, err error)

	// ConsumeEmailCode removes the code id if it is still the user's code
	// and has fewer than maxFailures failures, as one atomic operation: of
	// any number of concurrent calls, at most one reports true.
	ConsumeEmailCode(ctx context.Context, userID, id string, maxFailures int) (consumed bool, err error)

	// ConsumeEmailCodeAndResetThrottle is ConsumeEmailCode for a code that
	// passed its check: when, and only when, the code is consumed, the same
	// atomic operation also clears the user's throttle state, as
	// ResetThrottle does; otherwise the throttle state stays as it is.
	ConsumeEmailCodeAndResetThrottle(ctx context.Context, userID, id string, maxFailures int) (consumed bool, err error)
}

// WebAuthnCredential is one security key or passkey of a user.
type WebAuthnCredential struct {
	// ID is the credential ID the authenticator chose; it is unique across
	// all users.
	ID     []byte
	UserID string
	// Name is what the user called the key ("YubiKey on my keyring").
	Name string
	// Data is the credential record (public key, sign count, flags,
	// transports) in the format of the package that made it.
	Data     []byte
	Created  time.Time
	LastUsed time.Time // zero until first used
}

// WebAuthnStore keeps users' security keys and their WebAuthn user handles.
type WebAuthnStore interface {
	// WebAuthnHandle returns the user's random WebAuthn user handle. If the
	// user has none yet, err is ErrNotFound.
	WebAuthnHandle(ctx context.Context, userID string) ([]byte, error)

	// PutWebAuthnHandle stores handle for a user who has none. If the user
	// already has one, or another user has this handle, err is ErrConflict
	// and nothing changes.
	PutWebAuthnHandle(ctx context.Context, userID string, handle []byte) error

	// WebAuthnDisabled reports whether the user turned security keys off
	// for a while. A user without a handle gets false and a nil error.
	WebAuthnDisabled(ctx context.Context, userID string) (bool, error)

	// SetWebAuthnDisabled turns the user's security keys off or on again,
	// keeping them. If the user has no handle, err is ErrNotFound.
	SetWebAuthnDisabled(ctx context.Context, userID string, disabled bool) error

	// WebAuthnUserByHandle returns the user whose handle is handle. If none
	// has it, err is ErrNotFound.
	WebAuthnUserByHandle(ctx context.Context, handle []byte) (userID string, err error)

	// WebAuthnCredentials returns the user's credentials ordered by Created,
	// then by ID; no credentials is an empty list and a nil error.
	WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)

	// AddWebAuthnCredential stores a new credential. If any user already
	// has a credential with its ID, err is ErrConflict and nothing is
	// stored: each key can be added only once.
	AddWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error

	// UpdateWebAuthnCredential writes Name, Data and LastUsed of the user's
	// credential c.ID. If the user has no such credential, err is
	// ErrNotFound.
	UpdateWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error

	// DeleteWebAuthnCredential removes the user's credential id; a missing
	// one is not an error. DeleteWebAuthnCredentials removes all of the
	// user's credentials and their handle.
	DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error
	DeleteWebAuthnCredentials(ctx context.Context, userID string) error
}

// Ceremony is the server's half of a WebAuthn registration or login: the
// challenge and what it was issued for.
type Ceremony struct {
	ID      string
	UserID  string // "" for a passkey login, whose user is not known yet
	Kind    string // "registration", "login", "passkey"
	Data    []byte // the session data, in the format of the package that made it
	Expires time.Time
}

// CeremonyStore keeps ceremonies between their begin and finish.
type CeremonyStore interface {
	// PutCeremony stores c, removes every ceremony, of any user, that
	// expired at or before now, and of c.UserID's ceremonies ("" is the one
	// pool of passkey logins) keeps only the keep that expire last (ties by
	// ID), so that begun and abandoned ceremonies cannot pile up. If a
	// ceremony with c's ID exists, err is ErrConflict and nothing is stored.
	// A keep below 1 is ErrInvalidArgument.
	//
	// The bound holds between puts, not during them: while n puts for one
	// user are under way, the user may briefly hold up to keep+n
	// ceremonies, and the next put trims them to keep again.
	PutCeremony(ctx context.Context, c Ceremony, now time.Time, keep int) error

	// DeleteCeremonies removes all of the user's ceremonies, and no one
	// else's. A user with none is not an error.
	DeleteCeremonies(ctx context.Context, userID string) error

	// TakeCeremony removes the ceremony id and returns it, as one atomic
	// operation: of any number of concurrent calls, exactly one gets it and
	// the others get ErrNotFound. The caller checks Expires; a store may
	// drop a ceremony some time after it expired, and then reports
	// ErrNotFound.
	TakeCeremony(ctx context.Context, id string) (Ceremony, error)
}

// Browser is a remembered browser: one on which the user chose to skip the
// second step for a while. The browser holds a random token in a cookie; the
// store keeps only the token's hash.
type Browser struct {
	// ID names the record in the user's list and in a revocation; it is not
	// the token and lets nobody in.
	ID     string
	UserID string
	// Hash is the SHA-256 digest of the browser's token, unique across all
	// users.
	Hash []byte
	// Label describes the browser for the user's list ("Firefox on Linux").
	Label    string
	Created  time.Time
	LastUsed time.Time
}

// BrowserStore keeps remembered browsers.
type BrowserStore interface {
	// BrowserByHash returns the browser whose token hash is hash. If none
	// has it, err is ErrNotFound.
	BrowserByHash(ctx context.Context, hash []byte) (Browser, error)

	// Browsers returns the user's browsers ordered by Created, then by ID;
	// none is an empty list and a nil error.
	Browsers(ctx context.Context, userID string) ([]Browser, error)

	// AddBrowser stores b, then drops the user's other browsers beyond
	// keep, the least recently used first (by LastUsed, then Created, then
	// ID); b itself always stays. If a browser with its ID or its Hash
	// exists, err is ErrConflict and nothing is stored or dropped. A keep
	// below 1 is ErrInvalidArgument.
	//
	// As with PutCeremony, n adds under way for one user may briefly leave
	// up to keep+n browsers; the next add trims them to keep.
	AddBrowser(ctx context.Context, b Browser, keep int) error

	// TouchBrowser sets LastUsed of the user's browser id to at, unless the
	// stored LastUsed is already later. If the user has no such browser,
	// err is ErrNotFound: a browser revoked meanwhile stays revoked.
	TouchBrowser(ctx context.Context, userID, id string, at time.Time) error

	// DeleteBrowser removes the user's browser id; a missing one is not an
	// error. DeleteBrowsers removes all of the user's browsers.
	DeleteBrowser(ctx context.Context, userID, id string) error
	DeleteBrowsers(ctx context.Context, userID string) error
}

// LogEntry is one line of a user's security log: what happened to their
// second factors, and when. It holds no secret, code or token: Detail is a
// short fixed explanation chosen by the library, never user input.
type LogEntry struct {
	UserID string
	Time   time.Time
	// Kind says what happened, as the event package names it ("enrolled",
	// "backup_used", "locked"); never empty.
	Kind string
	// Method is the method concerned ("totp", "email", "webauthn",
	// "backup", "remember"), or "" for none in particular.
	Method string
	// Detail is a short non-secret explanation ("by an administrator"),
	// or "".
	Detail string
}

// MaxLogText is the longest Kind, Method or Detail of a [LogEntry], in
// bytes.
const MaxLogText = 200

// LogStore keeps each user's security log, bounded in number and in age.
type LogStore interface {
	// AppendLog stores e, then removes the user's entries older than
	// before (Time strictly before it) and all but the newest keep (by
	// Time, then by the order they were appended), so that a user's log
	// never grows past keep entries however many events an attacker with
	// the password can cause. An entry older than before is trimmed at
	// once. e.Kind empty, a Kind, Method or Detail longer than MaxLogText
	// or failing CheckText, and a keep below 1 are ErrInvalidArgument; a
	// time failing CheckTime, of e or before, is ErrInvalidTime.
	//
	// As with PutCeremony, n appends under way for one user may briefly
	// leave up to keep+n entries; the next append trims them to keep.
	AppendLog(ctx context.Context, e LogEntry, keep int, before time.Time) error

	// Log returns the user's newest entries, at most limit, newest first
	// (by Time, then the latest appended first); none is an empty list and
	// a nil error. A limit below 1 is ErrInvalidArgument.
	Log(ctx context.Context, userID string, limit int) ([]LogEntry, error)

	// DeleteLog removes all of the user's entries, as when the user's
	// account itself is deleted. A user with none is not an error.
	DeleteLog(ctx context.Context, userID string) error
}

// CheckTOTPRecord returns nil for a record every TOTPStore keeps, and the
// error PutTOTP reports for any other: a bad user ID, an account or
// algorithm that is not text a store keeps, or a secret created at a time
// no store keeps. The stores call it first.
func CheckTOTPRecord(rec TOTPRecord) error {
	if err := CheckUserID(rec.UserID); err != nil {
		return err
	}
	if err := CheckText(rec.Account); err != nil {
		return err
	}
	for _, sec := range []*TOTPSecret{rec.Active, rec.Pending} {
		if sec == nil {
			continue
		}
		if err := CheckTime(sec.Created); err != nil {
			return err
		}
		if err := CheckText(sec.Algorithm); err != nil {
			return err
		}
	}
	return nil
}

// CheckLogEntry returns nil for an entry every LogStore keeps, and the
// error AppendLog reports for any other; the stores call it first.
func CheckLogEntry(e LogEntry) error {
	if err := CheckUserID(e.UserID); err != nil {
		return err
	}
	if err := CheckTime(e.Time); err != nil {
		return err
	}
	if e.Kind == "" {
		return fmt.Errorf("%w: a log entry without a kind", ErrInvalidArgument)
	}
	for _, s := range []string{e.Kind, e.Method, e.Detail} {
		if len(s) > MaxLogText {
			return fmt.Errorf("%w: log text longer than %d bytes", ErrInvalidArgument, MaxLogText)
		}
	}
	return CheckText(e.Kind, e.Method, e.Detail)
}

// Ephemeral is implemented by a store whose records end with the process,
// such as storage/memory.
type Ephemeral interface {
	// Ephemeral reports whether every record is lost at exit.
	Ephemeral() bool
}

// IsEphemeral reports whether s says its records end with the process.
func IsEphemeral(s any) bool {
	e, ok := s.(Ephemeral)
	return ok && e.Ephemeral()
}

// Store is every concern together, as the bundled backends implement it.
type Store interface {
	TOTPStore
	TOTPLister
	ThrottleStore
	BackupStore
	EmailStore
	WebAuthnStore
	CeremonyStore
	BrowserStore
	LogStore
}
