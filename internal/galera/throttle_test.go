package galera_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/galera"
	"github.com/twofa-go/twofa/throttle"
)

// wrongCode returns a code that is not right, whatever right is.
func wrongCode(right string) string {
	n, _ := strconv.Atoi(right)
	return fmt.Sprintf("%06d", (n+500000)%1000000)
}

// Failures made through the applications on nodes 1 and 2 are counted
// once, in one count: node 3 sees each, makes the user wait when the
// default policy says (the 6th failure on) and locks the user at the
// 20th, for an hour, with the right code refused on every node; the lock
// ends by itself, and the next right code passes on node 3.
func TestThrottleCountedAcrossNodes(t *testing.T) {
	f := newFleet(t, true, throttle.Policy{})
	const user = "guessed"
	secret := f.enrol(t, 0, user)
	const free, lockAfter = 5, 20
	waits := 0
	for failures := 0; failures < lockAfter; {
		right := fake.AppCode(t, secret, f.clock.Now())
		node := failures % 2 // nodes 1 and 2 only
		_, err := f.apps[node].Verify(ctx, user, login, wrongCode(right))
		var te *twofa.ThrottledError
		switch {
		case errors.Is(err, twofa.ErrInvalidCode):
			failures++
			a, err := f.apps[2].Account(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if want := lockAfter - failures; failures < lockAfter && a.LockIn != want {
				t.Fatalf("after %d failures on nodes 1 and 2, node 3 counts %d left before the lock, want %d", failures, a.LockIn, want)
			}
		case errors.As(err, &te):
			// A wait, right after a failure: only past the free ones, and
			// as long as the policy says.
			want := time.Second << (failures - free)
			if failures < free || te.Locked || te.RetryAfter(f.clock.Now()) != min(want, 15*time.Minute) {
				t.Fatalf("after %d failures: %v (retry after %v), want a wait of %v", failures, err, te.RetryAfter(f.clock.Now()), want)
			}
			// Node 3 makes the user wait as well.
			if _, err := f.apps[2].Verify(ctx, user, login, right); !errors.Is(err, twofa.ErrThrottled) {
				t.Fatalf("after %d failures, node 3 let the right code be tried: %v", failures, err)
			}
			waits++
			f.clock.Add(te.RetryAfter(f.clock.Now()))
		default:
			t.Fatalf("after %d failures: %v", failures, err)
		}
	}
	if waits != lockAfter-free {
		t.Fatalf("%d waits, want one after each failure from the %dth", waits, free+1)
	}
	// Locked: the right code is refused on every node, node 3 first.
	right := fake.AppCode(t, secret, f.clock.Now())
	for _, node := range []int{2, 0, 1} {
		_, err := f.apps[node].Verify(ctx, user, login, right)
		var te *twofa.ThrottledError
		if !errors.As(err, &te) || te.Locked || te.RetryAfter(f.clock.Now()) != time.Hour {
			t.Fatalf("node %d after %d failures on nodes 1 and 2: %v, want a lock of an hour", node+1, lockAfter, err)
		}
	}
	if a, err := f.apps[2].Account(ctx, user); err != nil || !errors.Is(a.Throttle, twofa.ErrThrottled) {
		t.Fatalf("node 3's account view of the locked user: %+v, %v", a, err)
	}
	f.clock.Add(time.Hour)
	if m, err := f.apps[2].Verify(ctx, user, login, f.nextCode(t, secret)); err != nil || m != twofa.TOTP {
		t.Fatalf("after the lock, the right code on node 3: %v, %v", m, err)
	}
	if a, err := f.apps[0].Account(ctx, user); err != nil || a.LockIn != lockAfter || a.Throttle != nil {
		t.Fatalf("after a success, node 1 should count afresh: %+v, %v", a, err)
	}
}

// 51 wrong guesses at once over the three nodes, for a user with no
// failure yet: the policy lets 5 be checked before the first wait, and
// the cluster holds that bound, each checked guess counted, however the
// nodes interleave.
func TestParallelGuessesBoundedAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, throttle.Policy{})
		const free = 5
		var hist [free + 1]int
		for round := range rounds / 2 {
			user := fmt.Sprintf("burst-%d", round)
			secret := f.enrol(t, round, user)
			guess := wrongCode(fake.AppCode(t, secret, f.clock.Now()))
			out := race(func(ctx context.Context, node int) error {
				_, err := f.apps[node].Verify(ctx, user, login, guess)
				return err
			})
			checked := 0
			for _, o := range out {
				switch err := o.err; {
				case err == nil:
					t.Fatalf("round %d: a wrong code was let in on node %d", round, o.node+1)
				case errors.Is(err, twofa.ErrInvalidCode):
					checked++
				case errors.Is(err, twofa.ErrThrottled), deadlock(err):
				case !causal && errors.Is(err, twofa.ErrNoMethod):
				default:
					t.Errorf("round %d: node %d: unexpected error: %v", round, o.node+1, err)
				}
			}
			if checked > free {
				t.Fatalf("round %d: %d of %d parallel guesses were checked, the policy allows %d", round, checked, racers, free)
			}
			st, err := f.check[galera.Nodes-1].Throttle(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if st.Failures < checked || st.Failures > free {
				t.Fatalf("round %d: %d guesses checked, %d counted", round, checked, st.Failures)
			}
			hist[checked]++
		}
		t.Logf("rounds by guesses checked (0 to %d): %v; 1213s from the nodes: %d", free, hist, f.faults.deadlocks.Load())
	})
}

// With stale reads allowed, node 3 may not yet have applied the failure
// that began a lock when the right code reaches it. The test holds node 3
// behind on purpose (FLUSH TABLES WITH READ LOCK pauses its applier and
// its writes): node 2 counts the 20th failure, node 3 reads the count of
// 19, finds an attempt allowed, and its compare-and-set waits; then the
// lock is lifted. Whichever of the two writes node 3 runs first, the
// cluster refuses the stale one, by certification (Error 1213) or by its
// condition, and the store counts again from the fresh state: the lock.
// Never is the user let in.
func TestLockHoldsOnANodeBehind(t *testing.T) {
	// No wait before the 19th failure, a second before the 20th.
	const lockAfter = 20
	c := galera.Shared(t)
	f := newFleet(t, false, throttle.Policy{FreeFailures: lockAfter - 1, LockAfter: lockAfter})
	watch := c.Open(t, c.DSN(2, ""))
	for round := range rounds / 2 {
		user := fmt.Sprintf("behind-%d", round)
		secret := f.enrol(t, 0, user)
		for failures := 0; failures < lockAfter-1; failures++ {
			if _, err := f.apps[failures%2].Verify(ctx, user, login, wrongCode(fake.AppCode(t, secret, f.clock.Now()))); !errors.Is(err, twofa.ErrInvalidCode) {
				t.Fatalf("round %d: failure %d: %v", round, failures+1, err)
			}
		}
		f.clock.Add(time.Second)
		// Node 3 has the 19 failures, and nothing after.
		if st, err := f.check[2].Throttle(ctx, user); err != nil || st.Failures != lockAfter-1 {
			t.Fatalf("round %d: node 3 counts %d, %v", round, st.Failures, err)
		}
		hold, err := watch.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Released on every way out: a test that fails while node 3
		// holds the lock must not leave it held for the next.
		release := sync.OnceValue(func() error {
			defer hold.Close()
			_, err := hold.ExecContext(ctx, "UNLOCK TABLES")
			return err
		})
		t.Cleanup(func() { release() })
		if _, err := hold.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			t.Fatal(err)
		}
		right := fake.AppCode(t, secret, f.clock.Now())
		if _, err := f.apps[1].Verify(ctx, user, login, wrongCode(right)); !errors.Is(err, twofa.ErrInvalidCode) {
			t.Fatalf("round %d: the 20th failure: %v", round, err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := f.apps[2].Verify(ctx, user, login, right)
			done <- err
		}()
		// Until node 3's write waits for the lock (or the call is over).
		waiting := false
		for polls := 0; !waiting; polls++ {
			if polls == 10000 {
				t.Fatalf("round %d: node 3's write never waited for the lock", round)
			}
			select {
			case err := <-done:
				done <- err
				waiting = true
				continue
			default:
			}
			var n int
			if err := watch.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE IN ('Waiting for backup lock', 'Waiting for global read lock')").Scan(&n); err != nil {
				t.Fatal(err)
			}
			waiting = n > 0
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err == nil {
			t.Fatalf("round %d: node 3, behind, let the locked user in", round)
		}
		var te *twofa.ThrottledError
		if _, err := f.apps[2].Verify(ctx, user, login, right); !errors.As(err, &te) || te.RetryAfter(f.clock.Now()) != time.Hour {
			t.Fatalf("round %d: node 3, once in sync: %v, want a lock of an hour", round, err)
		}
	}
	t.Logf("1213s from the nodes: %d", f.faults.deadlocks.Load())
}
