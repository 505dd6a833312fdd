package httpmw_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// barrier holds the single-use writes of a store (a code's step, a set of
// backup codes) until n of them wait, or until a while has passed, so
// that parallel requests overlap where a race would hurt: each has read
// the state before any of them writes. The wait only widens the race; no
// result depends on its length.
type barrier struct {
	storage.Store
	n       int
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func newBarrier() *barrier { return &barrier{Store: memory.New()} }

// arm makes the next n writes wait for each other.
func (b *barrier) arm(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n, b.waiting, b.open = n, 0, make(chan struct{})
}

func (b *barrier) wait() {
	b.mu.Lock()
	if b.open == nil {
		b.mu.Unlock()
		return
	}
	b.waiting++
	if b.waiting == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-time.After(time.Second):
	}
}

func (b *barrier) AdvanceTOTPStep(ctx context.Context, u string, step int64) (bool, error) {
	b.wait()
	return b.Store.AdvanceTOTPStep(ctx, u, step)
}

func (b *barrier) AdvanceTOTPStepAndResetThrottle(ctx context.Context, u string, step int64) (bool, error) {
	b.wait()
	return b.Store.AdvanceTOTPStepAndResetThrottle(ctx, u, step)
}

func (b *barrier) ReplaceBackupSet(ctx context.Context, set storage.BackupSet, prev string) (bool, error) {
	b.wait()
	return b.Store.ReplaceBackupSet(ctx, set, prev)
}

func withStore(s storage.Store) option {
	return func(tc *twofa.Config, _ *httpmw.Config) { tc.Store = s }
}

// parallel runs f n times at once, each with its index, and returns their
// answers.
func parallel(n int, f func(i int) answer) []answer {
	out := make([]answer, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			out[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	return out
}

// One app code sent by 50 logins of the user at once: exactly one passes,
// every other is refused with a problem.
func TestAPIParallelVerify(t *testing.T) {
	st := newBarrier()
	a := newApp(t, withStore(st))
	code := a.enroll("alice")
	bs := make([]*browser, 50)
	for i := range bs {
		bs[i] = a.browser()
		bs[i].login("alice")
	}
	c := code()
	st.arm(50)
	got := parallel(len(bs), func(i int) answer {
		return bs[i].call("POST", "verify", map[string]any{"code": c})
	})
	passed := 0
	for i, g := range got {
		switch g.status {
		case http.StatusOK:
			passed++
		case http.StatusUnauthorized, http.StatusTooManyRequests:
			if g.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("answer %d: %d %q", i, g.status, g.body)
			}
		default:
			t.Fatalf("answer %d: %d %s", i, g.status, g.body)
		}
	}
	if passed != 1 {
		t.Fatalf("%d of 50 parallel verifies of one code passed, want exactly 1", passed)
	}
	if a.renewCount() != 1 {
		t.Fatalf("%d sessions renewed, want 1", a.renewCount())
	}
}

// 50 requests for new backup codes at once from one session: one set is
// made, the others are told to wait.
func TestAPIParallelBackup(t *testing.T) {
	st := newBarrier()
	a := newApp(t, withStore(st))
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "verify", nil)
	st.arm(50)
	got := parallel(50, func(int) answer { return b.call("POST", "backup", nil) })
	made := 0
	for i, g := range got {
		switch g.status {
		case http.StatusOK:
			made++
		case http.StatusTooManyRequests:
			g.problem(t, "parallel backup", httpmw.ProblemThrottled, http.StatusTooManyRequests)
		default:
			t.Fatalf("answer %d: %d %s", i, g.status, g.body)
		}
	}
	log, err := a.tf.Activity(ctx, "alice", 100)
	if err != nil {
		t.Fatal(err)
	}
	sets := 0
	for _, e := range log {
		if e.Kind == event.BackupGenerated {
			sets++
		}
	}
	if made != 1 || sets != 1 {
		t.Fatalf("%d answers with codes, %d sets made, want 1 of each", made, sets)
	}
}
