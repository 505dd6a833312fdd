package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
)

var ctx = context.Background()

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newLimiter(t *testing.T, s storage.ThrottleStore, p throttle.Policy) (*throttle.Limiter, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := throttle.New(s, p, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func TestBackOffDoubles(t *testing.T) {
	l, c := newLimiter(t, memory.New(), throttle.Policy{})
	for i := range 5 {
		if err := l.Attempt(ctx, "u"); err != nil {
			t.Fatalf("free attempt %d: %v", i+1, err)
		}
	}
	for _, wait := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900} {
		wait *= time.Second
		err := l.Attempt(ctx, "u")
		var te *throttle.Error
		if !errors.As(err, &te) || !te.RetryAt.Equal(c.t.Add(wait)) || te.RetryAfter(c.t) != wait {
			t.Fatalf("want a wait of %v, got %v", wait, err)
		}
		c.t = c.t.Add(wait - time.Nanosecond)
		if err := l.Attempt(ctx, "u"); !errors.Is(err, throttle.ErrThrottled) {
			t.Fatalf("just before the wait is over: %v", err)
		}
		c.t = c.t.Add(time.Nanosecond)
		if err := l.Attempt(ctx, "u"); err != nil {
			t.Fatalf("after waiting %v: %v", wait, err)
		}
	}
}

// A Ceiling equal to LockAfter makes the first lock one that only Unlock
// lifts, however long the user waits.
func TestLockAndUnlock(t *testing.T) {
	s := memory.New()
	l, c := newLimiter(t, s, throttle.Policy{LockAfter: 8, Ceiling: 8})
	for i := range 8 {
		c.t = c.t.Add(time.Hour)
		if err := l.Attempt(ctx, "u"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	c.t = c.t.Add(365 * 24 * time.Hour)
	err := l.Attempt(ctx, "u")
	var te *throttle.Error
	if !errors.As(err, &te) || !te.Locked || te.RetryAfter(c.t) != 0 || !te.RetryAt.IsZero() {
		t.Fatalf("a year after 8 failures: %v, want locked", err)
	}
	if err := l.Status(ctx, "u"); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("Status while locked: %v", err)
	}
	if until, locked, err := l.Lock(ctx, "u"); !locked || !until.IsZero() || err != nil {
		t.Fatalf("Lock at the ceiling: %v, %v, %v", until, locked, err)
	}
	if err := l.Unlock(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := l.Attempt(ctx, "u"); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	// Other users were never affected.
	if err := l.Status(ctx, "v"); err != nil {
		t.Fatal(err)
	}
}

// fail makes one counted attempt at the earliest time the limiter allows,
// and returns the error of the attempt refused just before it, if any.
func fail(t *testing.T, l *throttle.Limiter, c *clock) *throttle.Error {
	t.Helper()
	err := l.Attempt(ctx, "u")
	if err == nil {
		return nil
	}
	var te *throttle.Error
	if !errors.As(err, &te) || te.Locked {
		t.Fatalf("attempt: %v", err)
	}
	c.t = te.RetryAt
	if err := l.Attempt(ctx, "u"); err != nil {
		t.Fatalf("at RetryAt: %v", err)
	}
	return te
}

// Locks below the ceiling end by themselves and double; the count goes on
// across them, so the 100th consecutive failure still locks for good.
func TestLocksEndAndGrow(t *testing.T) {
	s := memory.New()
	l, c := newLimiter(t, s, throttle.Policy{})
	for range 20 {
		fail(t, l, c)
	}
	want := time.Hour
	for failures := 20; failures < 100; failures += 10 {
		lastFailure := c.t
		until, locked, err := l.Lock(ctx, "u")
		if err != nil || !locked || !until.Equal(lastFailure.Add(want)) {
			t.Fatalf("after %d failures: Lock = %v, %v, %v; want a lock of %v", failures, until, locked, err, want)
		}
		var te *throttle.Error
		if err := l.Attempt(ctx, "u"); !errors.As(err, &te) || te.Locked || !te.RetryAt.Equal(until) {
			t.Fatalf("after %d failures: %v, want a retry at %v", failures, err, until)
		}
		c.t = until.Add(-time.Nanosecond)
		if err := l.Attempt(ctx, "u"); !errors.Is(err, throttle.ErrThrottled) {
			t.Fatalf("just before the lock of %v ends: %v", want, err)
		}
		c.t = until
		if _, locked, _ := l.Lock(ctx, "u"); locked {
			t.Fatalf("Lock reports a lock that ended")
		}
		// The next failure counts on from the lock, it does not start over.
		if err := l.Attempt(ctx, "u"); err != nil {
			t.Fatalf("when the lock of %v ends: %v", want, err)
		}
		if st, _ := s.Throttle(ctx, "u"); st.Failures != failures+1 {
			t.Fatalf("count after the lock at %d = %d", failures, st.Failures)
		}
		// Back-offs between locks are no locks.
		for range 9 {
			if _, locked, _ := l.Lock(ctx, "u"); locked {
				t.Fatal("Lock reports a back-off as a lock")
			}
			fail(t, l, c)
		}
		want *= 2
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 100 {
		t.Fatalf("count = %d, want 100", st.Failures)
	}
	c.t = c.t.Add(10 * 365 * 24 * time.Hour)
	var te *throttle.Error
	if err := l.Attempt(ctx, "u"); !errors.As(err, &te) || !te.Locked {
		t.Fatalf("ten years after 100 failures: %v, want locked for good", err)
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 100 {
		t.Fatalf("count = %d after a refused attempt", st.Failures)
	}
}

// MaxLock caps the doubling, and a lock is never shorter than the back-off
// it replaces.
func TestLockLengths(t *testing.T) {
	l, c := newLimiter(t, memory.New(), throttle.Policy{
		FreeFailures: 1, BaseDelay: time.Minute, MaxDelay: 2 * time.Hour,
		LockAfter: 2, LockEvery: 1, LockFor: time.Minute, MaxLock: 3 * time.Hour, Ceiling: 12,
	})
	fail(t, l, c)
	fail(t, l, c)
	// From count 2 the lock (1m, doubling, at most 3h) and the back-off (2m,
	// doubling, at most 2h) compete; the longer wins.
	for _, want := range []time.Duration{2, 4, 8, 16, 32, 64, 120, 128, 180, 180} {
		want *= time.Minute
		if until, locked, _ := l.Lock(ctx, "u"); !locked || until.Sub(c.t) != want {
			t.Fatalf("lock of %v, want %v", until.Sub(c.t), want)
		}
		fail(t, l, c)
	}
	if _, locked, _ := l.Lock(ctx, "u"); !locked || l.Status(ctx, "u") == nil {
		t.Fatal("not locked at the ceiling")
	}
}

// The documented guess budget is what the default policy allows: an
// attacker who tries at every moment the limiter allows, for 30 days, and
// for 24 hours from a cleared count. The numbers are computed here and
// looked up in the package doc.
func TestGuessBudget(t *testing.T) {
	walk := func(span time.Duration) (n int, last time.Duration, lockedForGood bool) {
		l, c := newLimiter(t, memory.New(), throttle.Policy{})
		start := c.t
		for c.t.Before(start.Add(span)) {
			err := l.Attempt(ctx, "u")
			var te *throttle.Error
			switch {
			case err == nil:
				n++
				last = c.t.Sub(start)
			case errors.As(err, &te) && te.Locked:
				return n, last, true
			case errors.As(err, &te):
				c.t = te.RetryAt
			default:
				t.Fatal(err)
			}
		}
		return n, last, false
	}
	month, last, locked := walk(30 * 24 * time.Hour)
	if month != throttle.MaxFailures || !locked {
		t.Fatalf("30 days: %d guesses, locked for good %v; want the ceiling", month, locked)
	}
	day, _, _ := walk(24 * time.Hour)
	const perGuess = 3e-6 // 3 codes of a million accepted at ±1 step
	doc := packageDoc(t)
	for _, want := range []string{
		fmt.Sprintf("gets %d guesses in all", month),
		fmt.Sprintf("the last one %d days and %d hours after the first", int(last/(24*time.Hour)), int(last%(24*time.Hour)/time.Hour)),
		fmt.Sprintf("probability of at most %.2f%% (1 in %s)", 100*perGuess*float64(month), thousands(int(1/(perGuess*float64(month))))),
		fmt.Sprintf("%d guesses fit in the next 24 hours", day),
		fmt.Sprintf("at most %s guesses in 30 days", thousands(30*day)),
		fmt.Sprintf("a probability of at most %.2f%% (1 in %s)", 100*perGuess*float64(30*day), thousands(int(math.Round(1/(perGuess*float64(30*day)))))),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the package doc does not say %q", want)
		}
	}
}

// packageDoc returns the package comment of throttle.go as one line of text.
func packageDoc(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "throttle.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil || f.Doc == nil {
		t.Fatalf("package doc: %v", err)
	}
	return strings.Join(strings.Fields(f.Doc.Text()), " ")
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// A clock that reads the zero time or before 1970 denies, and counts
// nothing.
func TestBrokenClockDenies(t *testing.T) {
	for _, at := range []time.Time{{}, time.Unix(-1, 0), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)} {
		s := memory.New()
		l, c := newLimiter(t, s, throttle.Policy{})
		c.t = at
		if err := l.Attempt(ctx, "u"); !errors.Is(err, storage.ErrInvalidTime) {
			t.Errorf("Attempt at %v: %v, want storage.ErrInvalidTime", at, err)
		}
		if err := l.Status(ctx, "u"); !errors.Is(err, storage.ErrInvalidTime) {
			t.Errorf("Status at %v: %v", at, err)
		}
		if _, _, err := l.Lock(ctx, "u"); !errors.Is(err, storage.ErrInvalidTime) {
			t.Errorf("Lock at %v: %v", at, err)
		}
		if st, _ := s.Throttle(ctx, "u"); st != (storage.ThrottleState{}) {
			t.Errorf("state after a broken clock: %+v", st)
		}
	}
}

// A clock that goes back keeps the user waiting: waits are measured from
// the last failure, never shortened.
func TestClockGoingBackWaits(t *testing.T) {
	l, c := newLimiter(t, memory.New(), throttle.Policy{})
	for range 20 {
		fail(t, l, c)
	}
	c.t = c.t.Add(-24 * time.Hour)
	if err := l.Attempt(ctx, "u"); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("a day before the lock began: %v", err)
	}
}

// Of 50 parallel attempts when the 20th failure is due, one is counted and
// starts the lock; the others are refused.
func TestParallelAtTheLock(t *testing.T) {
	s := memory.New()
	l, c := newLimiter(t, s, throttle.Policy{})
	for range 19 {
		fail(t, l, c)
	}
	var te *throttle.Error
	if err := l.Attempt(ctx, "u"); !errors.As(err, &te) {
		t.Fatal(err)
	}
	c.t = te.RetryAt
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if l.Attempt(ctx, "u") == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 1 {
		t.Fatalf("%d of 50 allowed", n)
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 20 {
		t.Fatalf("count = %d", st.Failures)
	}
	if _, locked, _ := l.Lock(ctx, "u"); !locked {
		t.Fatal("no lock")
	}
}

func TestSuccessClears(t *testing.T) {
	s := memory.New()
	l, _ := newLimiter(t, s, throttle.Policy{})
	for range 4 {
		l.Attempt(ctx, "u")
	}
	if err := l.Success(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 0 {
		t.Fatalf("failures after success = %d", st.Failures)
	}
}

// A burst of parallel attempts cannot exceed the budget: each attempt must
// win its own slot before its code is checked.
func TestParallelBurstIsBounded(t *testing.T) {
	l, _ := newLimiter(t, memory.New(), throttle.Policy{})
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if l.Attempt(ctx, "u") == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	// The clock does not move: 5 free attempts, and the sixth must wait.
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 200 parallel attempts allowed, want 5", n)
	}
}

type failing struct{}

var errDown = errors.New("down")

func (failing) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, errDown
}
func (failing) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	return false, errDown
}
func (failing) ResetThrottle(context.Context, string) error { return errDown }

func TestStoreFailureDenies(t *testing.T) {
	l, _ := newLimiter(t, failing{}, throttle.Policy{})
	if err := l.Attempt(ctx, "u"); !errors.Is(err, errDown) {
		t.Fatalf("Attempt: %v", err)
	}
	if err := l.Success(ctx, "u"); !errors.Is(err, errDown) {
		t.Fatalf("Success: %v", err)
	}
}

func TestPolicyValidation(t *testing.T) {
	for name, p := range map[string]throttle.Policy{
		"ceiling above 100":           {Ceiling: 101},
		"lock above the ceiling":      {LockAfter: 30, Ceiling: 25},
		"lock after the default 100":  {LockAfter: 101},
		"no free failure before lock": {FreeFailures: 10, LockAfter: 10},
		"max delay below base":        {BaseDelay: time.Minute, MaxDelay: time.Second},
		"max lock below the first":    {LockFor: 2 * time.Hour, MaxLock: time.Hour},
		"negative free failures":      {FreeFailures: -1},
		"negative lock every":         {LockEvery: -1},
		"negative ceiling":            {Ceiling: -1},
		"negative lock":               {LockFor: -time.Hour},
		"negative base delay":         {BaseDelay: -time.Second},
		"negative max lock":           {MaxLock: -time.Hour},
	} {
		if _, err := throttle.New(memory.New(), p, nil); err == nil {
			t.Errorf("%s: policy %+v accepted", name, p)
		}
	}
	for name, p := range map[string]throttle.Policy{
		"default":             {},
		"the ceiling exactly": {Ceiling: 100, LockAfter: 100},
		"first lock for good": {LockAfter: 20, Ceiling: 20},
		"a lock each failure": {LockEvery: 1},
	} {
		if _, err := throttle.New(memory.New(), p, nil); err != nil {
			t.Errorf("%s: policy %+v refused: %v", name, p, err)
		}
	}
	if _, err := throttle.New(nil, throttle.Policy{}, nil); err == nil {
		t.Error("nil store accepted")
	}
}

// BenchmarkAttempt is one counted attempt and its success, on the memory
// store: what the throttle adds to each code checked.
func BenchmarkAttempt(b *testing.B) {
	s := memory.New()
	l, err := throttle.New(s, throttle.Policy{}, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := l.Attempt(ctx, "u"); err != nil {
			b.Fatal(err)
		}
		if err := l.Success(ctx, "u"); err != nil {
			b.Fatal(err)
		}
	}
}

// AttemptFrom counts from a state its caller read; 200 parallel attempts
// that all read the same state still get only the 5 free slots, each won
// by its own compare-and-set.
func TestParallelAttemptFromIsBounded(t *testing.T) {
	s := memory.New()
	l, _ := newLimiter(t, s, throttle.Policy{})
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if l.AttemptFrom(ctx, "u", storage.ThrottleState{}) == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 200 parallel attempts from one read allowed, want 5", n)
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 5 {
		t.Fatalf("count = %d, want 5", st.Failures)
	}
}

// A seen state that is stale or made up costs a read, never a free
// attempt: from a zero seen while the user is locked, the attempt is
// refused; from a seen state that says locked while the stored one is
// clear, the attempt is refused too (the state a moment ago), and counts
// nothing.
func TestAttemptFromStale(t *testing.T) {
	s := memory.New()
	l, c := newLimiter(t, s, throttle.Policy{})
	for range 20 {
		fail(t, l, c)
	}
	var te *throttle.Error
	if err := l.AttemptFrom(ctx, "u", storage.ThrottleState{}); !errors.As(err, &te) || te.Locked || te.RetryAt.IsZero() {
		t.Fatalf("attempt from a zero seen state while locked: %v", err)
	}
	if st, _ := s.Throttle(ctx, "u"); st.Failures != 20 {
		t.Fatalf("count = %d after a refused attempt, want 20", st.Failures)
	}
	clear := memory.New()
	l2, c2 := newLimiter(t, clear, throttle.Policy{})
	if err := l2.AttemptFrom(ctx, "u", storage.ThrottleState{Failures: throttle.MaxFailures}); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("attempt from a seen state at the ceiling: %v", err)
	}
	if st, _ := clear.Throttle(ctx, "u"); st.Failures != 0 {
		t.Fatalf("a refused attempt counted: %d", st.Failures)
	}
	// A seen state the store never had: the swap loses, the limiter
	// reads the real one and counts from it.
	if err := l2.AttemptFrom(ctx, "u", storage.ThrottleState{Failures: 2, Last: c2.t}); err != nil {
		t.Fatal(err)
	}
	if st, _ := clear.Throttle(ctx, "u"); st.Failures != 1 {
		t.Fatalf("count = %d after an attempt from a made-up state, want 1", st.Failures)
	}
}

// CountsIn tells the limiter's own store from any other, and never
// panics on a store of a type that cannot be compared.
func TestCountsIn(t *testing.T) {
	s := memory.New()
	l, _ := newLimiter(t, s, throttle.Policy{})
	type uncomparable struct {
		storage.ThrottleStore
		f func()
	}
	for _, tc := range []struct {
		name  string
		store any
		want  bool
	}{
		{"own", s, true},
		{"other", memory.New(), false},
		{"nil", nil, false},
		{"uncomparable", uncomparable{ThrottleStore: s, f: func() {}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.CountsIn(tc.store); got != tc.want {
				t.Fatalf("CountsIn = %v, want %v", got, tc.want)
			}
		})
	}
	l3, _ := newLimiter(t, uncomparable{ThrottleStore: s, f: func() {}}, throttle.Policy{})
	if l3.CountsIn(s) {
		t.Fatal("a limiter over an uncomparable store counts in another")
	}
}
