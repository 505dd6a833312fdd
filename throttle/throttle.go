// Package throttle limits a user's second-factor attempts across every
// method, session and application server.
//
// The count lives in a [storage.ThrottleStore], so two sessions — or two
// servers sharing one database — draw on the same budget. An attempt is
// counted before the code is checked (a compare-and-set on the stored state),
// so a burst of parallel guesses cannot slip past the limit: each one must
// win its own slot. A success clears the count.
//
// The factors of this module read the state with the user's record and
// count from it with [Limiter.AttemptFrom], and clear it in the same
// atomic write that accepts the code, when the limiter counts in their
// store ([Limiter.CountsIn]): a verify then costs the store no call of
// its own for the throttle but the one compare-and-set.
//
// # The policy
//
// The count is of consecutive failures. Only a success or an administrator
// clears it; a lock that ends leaves it as it was, so the failures after a
// lock count on towards the ceiling. With the default [Policy]:
//
//   - the first 5 failures cost nothing; then each attempt waits twice as
//     long as the one before, from 1 second up to 15 minutes;
//   - 20 failures start a lock of 1 hour, and every 10 failures after that
//     start another, twice as long as the one before: 2, 4, 8, ... hours, at
//     most 7 days. Such a lock ends by itself, so whoever has the password
//     cannot keep the user out for good below the ceiling;
//   - 100 failures, the most NIST SP 800-63B allows on one account, lock the
//     user until an administrator calls [Limiter.Unlock].
//
// # What that gives an attacker
//
// Someone who has the password and guesses as fast as the policy allows,
// against a user who does not sign in meanwhile, gets 100 guesses in all,
// the last one 11 days and 10 hours after the first; then the lock at the
// ceiling stops them (and the user, until an administrator helps). Against
// a 6-digit authenticator code accepted at ±1 time step, that is 3 codes in
// a million per guess, so 100 guesses succeed with a probability of at most
// 0.03% (1 in 3,333).
//
// Each success of the user clears the count, and with it the attacker's
// budget starts again: from a cleared count, 53 guesses fit in the next 24
// hours. Against a user who signs in once a day, that is at most 1,590
// guesses in 30 days, a probability of at most 0.48% (1 in 210). An e-mailed
// code (one in a million) and a backup code (50 bits) are harder to guess.
// The user is mailed when each lock begins (see package twofa), so a
// stolen password shows long before those numbers add up.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// ErrThrottled is matched, through [errors.Is], by every [*Error].
var ErrThrottled = errors.New("throttle: too many failed attempts")

// Error reports a refused attempt and when the next one may be made.
type Error struct {
	// RetryAt is the earliest time of the next attempt, at the end of a
	// back-off or of a lock that ends by itself; zero when Locked.
	RetryAt time.Time
	// Locked is true when the user reached the policy's Ceiling: only an
	// administrator unlock (or the application's own recovery) lets the
	// user try again.
	Locked bool
}

func (e *Error) Error() string {
	if e.Locked {
		return "throttle: too many failed attempts: locked until an administrator unlocks the account"
	}
	return "throttle: too many failed attempts: retry at " + e.RetryAt.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrThrottled) hold for every *Error.
func (e *Error) Is(target error) bool { return target == ErrThrottled }

// RetryAfter returns how long to wait from now; zero when the wait is over
// or the user is locked.
func (e *Error) RetryAfter(now time.Time) time.Duration {
	if e.Locked || !e.RetryAt.After(now) {
		return 0
	}
	return e.RetryAt.Sub(now)
}

// Policy says how many failures are tolerated and how long each wait is.
// The zero value is the default policy; a zero field takes its default.
type Policy struct {
	// FreeFailures are the failures before any wait; default 5.
	FreeFailures int
	// BaseDelay is the wait after the first failure past the free ones;
	// each further failure doubles it; default 1s.
	BaseDelay time.Duration
	// MaxDelay is the longest wait between two attempts outside a lock;
	// default 15m.
	MaxDelay time.Duration

	// LockAfter is the count of consecutive failures that starts the first
	// lock; default 20.
	LockAfter int
	// LockEvery is the count of further failures that starts each next
	// lock; default 10 (so locks start at 20, 30, 40, ... failures).
	LockEvery int
	// LockFor is how long the first lock lasts; each further lock lasts
	// twice the one before, up to MaxLock; default 1h.
	LockFor time.Duration
	// MaxLock is the longest lock that ends by itself; default 7 days.
	MaxLock time.Duration

	// Ceiling is the count of consecutive failures that locks the user
	// until an administrator calls [Limiter.Unlock]; default and at most
	// [MaxFailures]. A Ceiling equal to LockAfter makes the first lock the
	// last, as before locks ended by themselves.
	Ceiling int
}

// MaxFailures is the highest Ceiling accepted: NIST SP 800-63B allows at
// most 100 consecutive failed attempts on one account.
const MaxFailures = 100

// The default policy, as the package doc counts it.
const (
	defaultFreeFailures = 5
	defaultBaseDelay    = time.Second
	defaultMaxDelay     = 15 * time.Minute
	defaultLockAfter    = 20
	defaultLockEvery    = 10
	defaultLockFor      = time.Hour
	defaultMaxLock      = 7 * 24 * time.Hour
)

func (p Policy) withDefaults() (Policy, error) {
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&p.FreeFailures, defaultFreeFailures)
	setDur(&p.BaseDelay, defaultBaseDelay)
	setDur(&p.MaxDelay, defaultMaxDelay)
	setInt(&p.LockAfter, defaultLockAfter)
	setInt(&p.LockEvery, defaultLockEvery)
	setDur(&p.LockFor, defaultLockFor)
	setDur(&p.MaxLock, defaultMaxLock)
	setInt(&p.Ceiling, MaxFailures)
	switch {
	case p.FreeFailures < 0 || p.LockAfter < 0 || p.LockEvery < 0 || p.Ceiling < 0:
		return p, errors.New("throttle: policy has a negative count")
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.LockFor < 0 || p.MaxLock < 0:
		return p, errors.New("throttle: policy has a negative duration")
	case p.MaxDelay < p.BaseDelay:
		return p, errors.New("throttle: policy has MaxDelay below BaseDelay")
	case p.MaxLock < p.LockFor:
		return p, errors.New("throttle: policy has MaxLock below LockFor")
	case p.Ceiling > MaxFailures:
		return p, fmt.Errorf("throttle: policy has a Ceiling above %d (NIST SP 800-63B)", MaxFailures)
	case p.LockAfter <= p.FreeFailures || p.LockAfter > p.Ceiling:
		return p, errors.New("throttle: policy needs FreeFailures < LockAfter <= Ceiling")
	}
	return p, nil
}

// wait returns how long after the last failure the next attempt may come,
// given failures so far, outside a lock.
func (p Policy) wait(failures int) time.Duration {
	if failures < p.FreeFailures {
		return 0
	}
	return doubled(p.BaseDelay, failures-p.FreeFailures, p.MaxDelay)
}

// lock returns how long the lock that failures starts lasts, and whether
// failures starts one at all. The Ceiling's lock never ends and is not
// reported here.
func (p Policy) lock(failures int) (time.Duration, bool) {
	if failures < p.LockAfter || (failures-p.LockAfter)%p.LockEvery != 0 {
		return 0, false
	}
	return max(doubled(p.LockFor, (failures-p.LockAfter)/p.LockEvery, p.MaxLock), p.wait(failures)), true
}

// doubled returns d doubled n times, or ceiling if that is more, without
// overflowing.
func doubled(d time.Duration, n int, ceiling time.Duration) time.Duration {
	for range n {
		if d > ceiling-d {
			return ceiling
		}
		d *= 2
	}
	return min(d, ceiling)
}

// refuse returns the *Error for an attempt at now given st, or nil.
func (p Policy) refuse(st storage.ThrottleState, now time.Time) error {
	switch {
	case st.Failures >= p.Ceiling || st.Failures < 0:
		// A negative count is no state this package writes: fail closed.
		return &Error{Locked: true}
	case st.Failures == 0:
		return nil
	}
	pause := p.wait(st.Failures)
	if d, ok := p.lock(st.Failures); ok {
		pause = d
	}
	if at := st.Last.Add(pause); now.Before(at) {
		return &Error{RetryAt: at}
	}
	return nil
}

// Limiter applies a Policy to the counts in a store. It is safe for
// concurrent use.
type Limiter struct {
	store  storage.ThrottleStore
	policy Policy
	now    func() time.Time
}

// New returns a limiter over store. now is the clock; nil means time.Now.
func New(store storage.ThrottleStore, p Policy, now func() time.Time) (*Limiter, error) {
	if store == nil {
		return nil, errors.New("throttle: nil store")
	}
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, policy: p, now: now}, nil
}

// maxSwapTries bounds the retries when concurrent attempts keep changing the
// state under us; past it the attempt is refused rather than let through.
const maxSwapTries = 64

// Attempt counts one attempt for userID before its code is checked. It
// returns a *Error when the user must wait or is locked, and any store error
// as is; in both cases the caller must deny. After a success the caller
// calls Success, which clears the count; a failed attempt needs no further
// call, it is already counted.
func (l *Limiter) Attempt(ctx context.Context, userID string) error {
	return l.attempt(ctx, userID, storage.ThrottleState{}, false)
}

// AttemptFrom is Attempt for a caller that has just read userID's state
// seen from l's store, as the factors do with their own record
// (storage.TOTPRecord.Throttle and the like): it checks the policy
// against seen and counts the attempt with one compare-and-set from seen,
// without a read of its own. Only when the stored state is no longer seen
// does it read the state again and retry, as Attempt does; so a stale or
// made-up seen costs a read, never a free attempt. A seen that wrongly
// says the user must wait refuses this attempt, as the state did a moment
// ago.
func (l *Limiter) AttemptFrom(ctx context.Context, userID string, seen storage.ThrottleState) error {
	return l.attempt(ctx, userID, seen, true)
}

// attempt counts one attempt, starting from seen if have, else from a
// read.
func (l *Limiter) attempt(ctx context.Context, userID string, seen storage.ThrottleState, have bool) error {
	st := seen
	for range maxSwapTries {
		now := l.now()
		if err := storage.CheckTime(now); err != nil {
			return fmt.Errorf("throttle: clock: %w", err)
		}
		if !have {
			var err error
			if st, err = l.store.Throttle(ctx, userID); err != nil {
				return fmt.Errorf("throttle: read state: %w", err)
			}
		}
		if err := l.policy.refuse(st, now); err != nil {
			return err
		}
		swapped, err := l.store.SwapThrottle(ctx, userID, st, storage.ThrottleState{Failures: st.Failures + 1, Last: now})
		if err != nil {
			return fmt.Errorf("throttle: count attempt: %w", err)
		}
		if swapped {
			return nil
		}
		have = false // another attempt changed the state: read it
	}
	return fmt.Errorf("%w: too much contention", ErrThrottled)
}

// CountsIn reports whether l keeps its counts in store, the very value:
// then a single-use write of store that also resets the throttle
// (storage.TOTPStore.AdvanceTOTPStepAndResetThrottle and its like) clears
// l's count, and a state store reads with a record is the one l counts
// from. A store of a type that cannot be compared is never l's.
func (l *Limiter) CountsIn(store any) bool {
	if store == nil || !reflect.TypeOf(store).Comparable() || !reflect.TypeOf(l.store).Comparable() {
		return false
	}
	return any(l.store) == store
}

// Success clears userID's count after a passed check. The factors of this
// module clear it in their single-use write instead, when that write is to
// l's store (see CountsIn); Success is for the others.
func (l *Limiter) Success(ctx context.Context, userID string) error {
	if err := l.store.ResetThrottle(ctx, userID); err != nil {
		return fmt.Errorf("throttle: clear: %w", err)
	}
	return nil
}

// Unlock clears userID's count, for an administrator.
func (l *Limiter) Unlock(ctx context.Context, userID string) error {
	return l.Success(ctx, userID)
}

// Status reports whether userID may attempt now, without counting anything:
// nil, a *Error, or a store or clock error.
func (l *Limiter) Status(ctx context.Context, userID string) error {
	now := l.now()
	if err := storage.CheckTime(now); err != nil {
		return fmt.Errorf("throttle: clock: %w", err)
	}
	st, err := l.store.Throttle(ctx, userID)
	if err != nil {
		return fmt.Errorf("throttle: read state: %w", err)
	}
	return l.policy.refuse(st, now)
}

// Left returns how many more failed attempts userID may make before the
// next lock begins (one that ends by itself, or the Ceiling's): what a
// challenge page tells a user who just typed a wrong code. During a lock
// that ends by itself it counts to the lock after that one (10, in the
// lock at 20 failures, with the default policy): the page shows the lock
// instead. It is 0 at the Ceiling, and counts nothing.
func (l *Limiter) Left(ctx context.Context, userID string) (int, error) {
	st, err := l.store.Throttle(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("throttle: read state: %w", err)
	}
	return l.policy.left(st.Failures), nil
}

// left returns how many more failures after failures start a lock: the
// first count n past failures at which lock(n) holds or the Ceiling is
// reached. The Ceiling bounds the loop (at most MaxFailures).
func (p Policy) left(failures int) int {
	if failures < 0 || failures >= p.Ceiling {
		return 0
	}
	for n := failures + 1; ; n++ {
		if _, ok := p.lock(n); ok || n >= p.Ceiling {
			return n - failures
		}
	}
}

// Lock reports whether userID is in a lock now, rather than free to try or
// waiting out a back-off: locked is true, and until is when the lock ends by
// itself, or zero for the lock at the Ceiling that only Unlock lifts.
//
// No attempt is counted during a lock, so a failed check that finds its
// user locked is the attempt that began the lock: the caller tells the user
// then, once per lock.
func (l *Limiter) Lock(ctx context.Context, userID string) (until time.Time, locked bool, err error) {
	now := l.now()
	if err := storage.CheckTime(now); err != nil {
		return time.Time{}, false, fmt.Errorf("throttle: clock: %w", err)
	}
	st, err := l.store.Throttle(ctx, userID)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("throttle: read state: %w", err)
	}
	if st.Failures >= l.policy.Ceiling || st.Failures < 0 {
		return time.Time{}, true, nil
	}
	if d, ok := l.policy.lock(st.Failures); ok && now.Before(st.Last.Add(d)) {
		return st.Last.Add(d), true, nil
	}
	return time.Time{}, false, nil
}
