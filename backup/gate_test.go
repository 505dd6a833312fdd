package backup_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// overlap is a Hasher that records how many evaluations run at once. Each
// evaluation yields the processor many times, so that evaluations a gate
// does not hold back do overlap.
type overlap struct {
	inside, max atomic.Int64
	calls       atomic.Int64
}

func (o *overlap) hash(code, salt []byte, p backup.Params) []byte {
	o.calls.Add(1)
	n := o.inside.Add(1)
	for {
		m := o.max.Load()
		if n <= m || o.max.CompareAndSwap(m, n) {
			break
		}
	}
	for range 50 {
		runtime.Gosched()
	}
	o.inside.Add(-1)
	return fake.FastHash(code, salt, p)
}

// 128 parallel requests, half of them making a set and half checking a
// code, never run more evaluations at once than the gate has slots —
// across Services that share the gate, and with the process's default
// gate.
func TestGateBoundsKDF(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate func() *backup.Gate
		want int
	}{
		{"NewGate(3)", func() *backup.Gate { return backup.NewGate(3) }, 3},
		{"default", func() *backup.Gate { return nil }, runtime.GOMAXPROCS(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := memory.New()
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			const n = 128
			// The codes to check are made beforehand, outside the count.
			setup := newFixture(t, store)
			codes := make([][]string, n/2)
			for i := range codes {
				codes[i] = setup.generate(t, fmt.Sprint("checker-", i))
			}
			o := &overlap{}
			gate := tc.gate()
			var servers []*backup.Service
			for range 4 {
				svc, err := backup.New(backup.Config{Store: store, Hash: o.hash, Gate: gate, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				servers = append(servers, svc)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				svc := servers[i%len(servers)]
				wg.Go(func() {
					<-start
					if i%2 == 0 {
						if _, err := svc.Generate(ctx, fmt.Sprint("maker-", i)); err != nil {
							t.Errorf("Generate: %v", err)
						}
					} else if err := svc.Verify(ctx, fmt.Sprint("checker-", i/2), codes[i/2][0]); err != nil {
						t.Errorf("Verify: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if got, want := o.calls.Load(), int64(n/2*backup.DefaultCount+n/2); got != want {
				t.Fatalf("%d evaluations, want %d", got, want)
			}
			if got := o.max.Load(); got > int64(tc.want) {
				t.Fatalf("%d evaluations ran at once through a gate of %d", got, tc.want)
			}
			t.Logf("at most %d of %d slots in use at once", o.max.Load(), tc.want)
		})
	}
}

// held is a Hasher whose first evaluation waits for the test: it holds a
// slot of the gate for as long as the test wants.
type held struct {
	first   atomic.Bool
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int64
}

func newHeld() *held { return &held{entered: make(chan struct{}), release: make(chan struct{})} }

func (h *held) hash(code, salt []byte, p backup.Params) []byte {
	h.calls.Add(1)
	if h.first.CompareAndSwap(false, true) {
		close(h.entered)
		<-h.release
	}
	return fake.FastHash(code, salt, p)
}

// A request waiting for a slot gives up when its context ends, with the
// context's error, and has made or consumed nothing.
func TestGateHonoursContext(t *testing.T) {
	store := memory.New()
	f := newFixture(t, store)
	codes := f.generate(t, "checker")

	h := newHeld()
	svc, err := backup.New(backup.Config{Store: store, Hash: h.hash, Gate: backup.NewGate(1), Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	busy := make(chan error)
	go func() { _, err := svc.Generate(ctx, "holder"); busy <- err }()
	<-h.entered // the only slot is taken

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	waiting, stop := context.WithCancel(ctx)
	late := make(chan error, 2)
	go func() { _, err := svc.Generate(waiting, "waiter"); late <- err }()
	go func() { late <- svc.Verify(waiting, "checker", codes[0]) }()
	stop()

	for name, err := range map[string]error{
		"Generate, cancelled before": func() error { _, err := svc.Generate(cancelled, "early"); return err }(),
		"Verify, cancelled before":   svc.Verify(cancelled, "checker", codes[1]),
		"waiting, cancelled":         <-late,
		"waiting, cancelled too":     <-late,
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
	if got := h.calls.Load(); got != 1 {
		t.Fatalf("%d evaluations ran, want only the holder's first", got)
	}
	close(h.release)
	if err := <-busy; err != nil {
		t.Fatalf("the holder: %v", err)
	}
	for _, u := range []string{"early", "waiter"} {
		if _, err := store.BackupSet(ctx, u); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a cancelled Generate stored a set for %s: %v", u, err)
		}
	}
	if n, _ := f.svc.Remaining(ctx, "checker"); n != len(codes) {
		t.Fatalf("a cancelled Verify consumed a code: %d left", n)
	}
	// With the context alive and a slot free, the same calls work.
	if _, err := svc.Generate(ctx, "waiter"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour) // out of the back-off the cancelled checks earned
	if err := svc.Verify(ctx, "checker", codes[0]); err != nil {
		t.Fatal(err)
	}
	// A free slot is still refused to a context that has ended. A select
	// with both ready would pick either: 32 sets of one code, one
	// evaluation each, catch that.
	one, err := backup.New(backup.Config{Store: store, Count: 1, Hash: fake.FastHash, Gate: backup.NewGate(1), Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 32 {
		if _, err := one.Generate(cancelled, fmt.Sprint("late-", i)); !errors.Is(err, context.Canceled) {
			t.Fatalf("free slot, cancelled context: %v", err)
		}
	}
}

// While a set is being made for a user, another request of that user on
// the same gate is refused at once, without a KDF; other users go on.
func TestOneGenerationPerUser(t *testing.T) {
	store := memory.New()
	h := newHeld()
	gate := backup.NewGate(4)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var servers []*backup.Service
	for range 2 {
		svc, err := backup.New(backup.Config{Store: store, Hash: h.hash, Gate: gate, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, svc)
	}
	done := make(chan error)
	go func() { _, err := servers[0].Generate(ctx, "u"); done <- err }()
	<-h.entered
	before := h.calls.Load()
	for i, svc := range servers {
		if _, err := svc.Generate(ctx, "u"); !errors.Is(err, backup.ErrInProgress) || !errors.Is(err, backup.ErrTooSoon) {
			t.Fatalf("server %d, second request: %v, want ErrInProgress", i, err)
		}
	}
	if got := h.calls.Load(); got != before {
		t.Fatalf("a refused request ran %d evaluations", got-before)
	}
	if _, err := servers[1].Generate(ctx, "v"); err != nil {
		t.Fatalf("another user: %v", err)
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := store.BackupSet(ctx, "u"); err != nil {
		t.Fatalf("the first request's set: %v", err)
	}
}

// A user gets one new set per MinInterval, counted from the stored set's
// creation; a refused request runs no KDF and keeps the set it had.
func TestMinInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     time.Duration // 0: no limit
	}{
		{"default", 0, backup.DefaultMinInterval},
		{"ten minutes", 10 * time.Minute, 10 * time.Minute},
		{"off", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memory.New(), func(c *backup.Config) { c.MinInterval = tc.interval })
			made := f.now
			f.generate(t, "u")
			first, _ := f.store.BackupSet(ctx, "u")
			for _, after := range []time.Duration{0, tc.want - time.Second, -time.Hour} {
				if tc.want == 0 {
					break
				}
				f.now = made.Add(after)
				evals := f.kdf.n.Load()
				if _, err := f.svc.Generate(ctx, "u"); !errors.Is(err, backup.ErrTooSoon) {
					t.Fatalf("%v after the last set: %v, want ErrTooSoon", after, err)
				}
				if f.kdf.n.Load() != evals {
					t.Fatal("a refused request ran the KDF")
				}
				if set, _ := f.store.BackupSet(ctx, "u"); set.SetID != first.SetID {
					t.Fatal("a refused request replaced the set")
				}
			}
			f.now = made.Add(tc.want)
			f.generate(t, "u")
			if set, _ := f.store.BackupSet(ctx, "u"); set.SetID == first.SetID || !set.Created.Equal(f.now) {
				t.Fatalf("no new set after %v", tc.want)
			}
		})
	}
}

// Of 50 parallel requests for a new set of one user, spread over several
// servers (Services with a gate each, over one store), exactly one makes a
// set; every other gets ErrTooSoon. All the first requests of each server
// read the store before any writes, so with one request per server only
// the store's compare-and-set decides.
func TestParallelGenerateMakesOneSet(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for _, tc := range []struct {
			name    string
			servers int
			old     bool // the user has a set from an hour ago
		}{
			{"50 servers, first set", 50, false},
			{"50 servers, replacing", 50, true},
			{"5 servers of 10, first set", 5, false},
			{"5 servers of 10, replacing", 5, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				store, _ := b.Open(t)
				now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
				var old storage.BackupSet
				if tc.old {
					f := newFixture(t, store)
					f.now = now.Add(-time.Hour)
					f.generate(t, "u")
					old, _ = store.BackupSet(ctx, "u")
				}
				racing := newBarrierStore(store, tc.servers)
				var servers []*backup.Service
				for range tc.servers {
					svc, err := backup.New(backup.Config{Store: racing, Hash: fake.FastHash, Gate: backup.NewGate(0), Now: func() time.Time { return now }})
					if err != nil {
						t.Fatal(err)
					}
					servers = append(servers, svc)
				}
				const n = 50
				var (
					mu      sync.Mutex
					winners [][]string
					wg      sync.WaitGroup
				)
				start := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-start
						codes, err := servers[i%len(servers)].Generate(ctx, "u")
						switch {
						case err == nil:
							mu.Lock()
							winners = append(winners, codes)
							mu.Unlock()
						case !errors.Is(err, backup.ErrTooSoon):
							t.Errorf("request %d: %v, want ErrTooSoon", i, err)
						}
					})
				}
				close(start)
				wg.Wait()
				if len(winners) != 1 {
					t.Fatalf("%d of %d parallel requests made a set, want exactly 1", len(winners), n)
				}
				set, err := store.BackupSet(ctx, "u")
				if err != nil || set.SetID == old.SetID {
					t.Fatalf("stored set %q (old %q): %v", set.SetID, old.SetID, err)
				}
				// The stored set is the winner's: its codes work.
				check := newFixture(t, store, func(c *backup.Config) { c.Now = func() time.Time { return now } })
				if err := check.svc.Verify(ctx, "u", winners[0][0]); err != nil {
					t.Fatalf("the winner's code: %v", err)
				}
			})
		}
	})
}

func TestGateSize(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct{ n, want int }{{0, procs}, {-3, procs}, {1, 1}, {7, 7}} {
		if got := backup.NewGate(tc.n).Slots(); got != tc.want {
			t.Errorf("NewGate(%d).Slots() = %d, want %d", tc.n, got, tc.want)
		}
	}
	if first, again := backup.DefaultGate(), backup.DefaultGate(); first != again || first.Slots() != procs {
		t.Fatal("the default gate is not one gate of GOMAXPROCS slots")
	}
}
