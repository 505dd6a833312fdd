// Package throttle limits a user's second-factor attempts across every
// method, session and application server.
//
// The count lives in a [storage.ThrottleStore], so two sessions — or two
// servers sharing one database — draw on the same budget. An attempt is
// counted before the code is checked (a compare-and-set on the stored state),
// so a burst of parallel guesses cannot slip past the limit: each one must
// win its own slot. A success clears the count.
//
// After [Policy.FreeFailures] consecutive failures each further attempt waits
// twice as long as the one before, from [Policy.BaseDelay] up to
// [Policy.MaxDelay]; after [Policy.LockAfter] failures the user is locked
// until an administrator calls [Limiter.Unlock].
package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// ErrThrottled is matched, through [errors.Is], by every [*Error].
var ErrThrottled = errors.New("throttle: too many failed attempts")

// Error reports a refused attempt and when the next one may be made.
type Error struct {
	// RetryAt is the earliest time of the next attempt; zero when Locked.
	RetryAt time.Time
	// Locked is true when only an administrator unlock (or the
	// application's own recovery) lets the user try again.
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

// Policy says how many failures are tolerated. The zero value is the
// default policy.
type Policy struct {
	FreeFailures int           // failures before any wait; default 5
	BaseDelay    time.Duration // wait after the first failure past the free ones; default 1s
	MaxDelay     time.Duration // longest wait between attempts; default 15m
	LockAfter    int           // failures that lock the user; default 20, at most 99
}

// MaxLockAfter is the highest LockAfter accepted: NIST SP 800-63B allows at
// most 100 consecutive failed attempts on one account.
const MaxLockAfter = 99

func (p Policy) withDefaults() (Policy, error) {
	if p.FreeFailures == 0 {
		p.FreeFailures = 5
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = 15 * time.Minute
	}
	if p.LockAfter == 0 {
		p.LockAfter = 20
	}
	switch {
	case p.FreeFailures < 0 || p.BaseDelay < 0 || p.MaxDelay < p.BaseDelay:
		return p, errors.New("throttle: policy has a negative count or delay, or MaxDelay below BaseDelay")
	case p.LockAfter <= p.FreeFailures || p.LockAfter > MaxLockAfter:
		return p, fmt.Errorf("throttle: LockAfter must be above FreeFailures and at most %d", MaxLockAfter)
	}
	return p, nil
}

// wait returns how long after the last failure the next attempt may come,
// given failures so far.
func (p Policy) wait(failures int) time.Duration {
	if failures < p.FreeFailures {
		return 0
	}
	d := p.BaseDelay
	for i := p.FreeFailures; i < failures; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return d
}

// refuse returns the *Error for an attempt at now given st, or nil.
func (p Policy) refuse(st storage.ThrottleState, now time.Time) error {
	if st.Failures >= p.LockAfter {
		return &Error{Locked: true}
	}
	if at := st.Last.Add(p.wait(st.Failures)); st.Failures > 0 && now.Before(at) {
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
	for range maxSwapTries {
		now := l.now()
		st, err := l.store.Throttle(ctx, userID)
		if err != nil {
			return fmt.Errorf("throttle: read state: %w", err)
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
	}
	return fmt.Errorf("%w: too much contention", ErrThrottled)
}

// Success clears userID's count after a passed check.
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
// nil, a *Error, or a store error.
func (l *Limiter) Status(ctx context.Context, userID string) error {
	st, err := l.store.Throttle(ctx, userID)
	if err != nil {
		return fmt.Errorf("throttle: read state: %w", err)
	}
	return l.policy.refuse(st, l.now())
}

// ForStore returns a limiter with the default policy over store, for a
// factor configured without a limiter of its own: store must then keep the
// counts, as every bundled store does.
func ForStore(store any, now func() time.Time) (*Limiter, error) {
	ts, ok := store.(storage.ThrottleStore)
	if !ok {
		return nil, errors.New("throttle: the store is no storage.ThrottleStore; configure a Throttle")
	}
	return New(ts, Policy{}, now)
}
