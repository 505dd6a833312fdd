package throttle_test

import (
	"context"
	"errors"
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

func TestLockAndUnlock(t *testing.T) {
	s := memory.New()
	l, c := newLimiter(t, s, throttle.Policy{LockAfter: 8})
	for i := range 8 {
		c.t = c.t.Add(time.Hour)
		if err := l.Attempt(ctx, "u"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	c.t = c.t.Add(24 * time.Hour)
	err := l.Attempt(ctx, "u")
	var te *throttle.Error
	if !errors.As(err, &te) || !te.Locked || te.RetryAfter(c.t) != 0 {
		t.Fatalf("after 8 failures: %v, want locked", err)
	}
	if err := l.Status(ctx, "u"); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("Status while locked: %v", err)
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
	for _, p := range []throttle.Policy{
		{LockAfter: 100},
		{FreeFailures: 10, LockAfter: 10},
		{BaseDelay: time.Minute, MaxDelay: time.Second},
		{FreeFailures: -1},
	} {
		if _, err := throttle.New(memory.New(), p, nil); err == nil {
			t.Errorf("policy %+v accepted", p)
		}
	}
	if _, err := throttle.New(nil, throttle.Policy{}, nil); err == nil {
		t.Error("nil store accepted")
	}
}

func TestForStore(t *testing.T) {
	if _, err := throttle.ForStore(struct{}{}, nil); err == nil {
		t.Fatal("a store that keeps no counts was accepted")
	}
	l, err := throttle.ForStore(memory.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Attempt(ctx, "u"); err != nil {
		t.Fatal(err)
	}
}
