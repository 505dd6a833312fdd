package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// BenchmarkSQLiteVerify is a successful login with an app code through
// twofa.Service.Verify on SQLite, as an application makes it: the method
// look-up, the waiting e-mail check, the record, the throttle, the
// single-use step and the throttle's reset. goroutines=1 is one login at a
// time; goroutines=32 is 32 users logging in at once, each with codes of
// their own, all on one *sql.DB. It reports the latency of single calls
// (p50, p99, max, in ms), the verifies per second, the logins denied, and
// stall-ms (see watchStalls), on a file in a
// temporary directory, opened with sql.Open and SQLiteDSN, and with
// OpenSQLite:
//
//	go test -run '^$' -bench BenchmarkSQLiteVerify -benchtime 4000x -count 5 ./storage/sqlstore
func BenchmarkSQLiteVerify(b *testing.B) {
	opens := []struct {
		name string
		open func(path string) (*sql.DB, error)
	}{
		{"sql.Open", func(path string) (*sql.DB, error) { return sql.Open("sqlite", sqlstore.SQLiteDSN(path)) }},
		{"OpenSQLite", sqlstore.OpenSQLite},
	}
	for _, o := range opens {
		for _, n := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", o.name, n), func(b *testing.B) {
				db, err := o.open(filepath.Join(b.TempDir(), "twofa.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				benchVerify(b, db, n)
			})
		}
	}
}

// verifier is one user logging in again and again: a service of its own,
// whose clock moves a step per login, over the shared store.
type verifier struct {
	tf     *twofa.Service
	user   string
	secret string
	now    time.Time
}

func benchVerify(b *testing.B, db *sql.DB, n int) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, db, sqlstore.SQLite)
	if err != nil {
		b.Fatal(err)
	}
	ring := fake.Ring(b)
	vs := make([]*verifier, n)
	for i := range vs {
		v := &verifier{user: fmt.Sprintf("user-%d", i), now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
		v.tf, err = twofa.New(twofa.Config{Issuer: "Bench", Store: store, Keys: ring, Now: func() time.Time { return v.now }})
		if err != nil {
			b.Fatal(err)
		}
		enr, err := v.tf.TOTP.Begin(ctx, v.user, v.user+"@example.com", "s")
		if err != nil {
			b.Fatal(err)
		}
		v.secret = enr.Secret
		if err := v.tf.TOTP.Confirm(ctx, v.user, "s", fake.AppCode(b, v.secret, v.now)); err != nil {
			b.Fatal(err)
		}
		vs[i] = v
	}
	lat := make([][]time.Duration, n)
	var left, denied atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	stall := watchStalls()
	b.ResetTimer()
	start := time.Now()
	for i, v := range vs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				v.now = v.now.Add(30 * time.Second)
				code := fake.AppCode(b, v.secret, v.now)
				t0 := time.Now()
				m, err := v.tf.Verify(ctx, v.user, "login", code)
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil || m != twofa.TOTP {
					denied.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	longest := stall()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	at := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "verifies/s")
	b.ReportMetric(ms(at(0.50)), "p50-ms")
	b.ReportMetric(ms(at(0.99)), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	b.ReportMetric(float64(denied.Load()), "denied")
	b.ReportMetric(ms(longest), "stall-ms")
}

// watchStalls starts a goroutine that wakes every millisecond, and returns
// the function that stops it and reports the longest it went without
// waking: a stall of the whole process (the machine's scheduler on a
// loaded host, a pause of the runtime) that no code under test caused.
// With 32 logins in flight, one stall holds 32 of them, so on 4000 logins
// two stalls of d put p99 at d or more: read p99 beside it.
func watchStalls() (stop func() time.Duration) {
	done := make(chan struct{})
	result := make(chan time.Duration)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var longest time.Duration
		last := time.Now()
		for {
			select {
			case <-done:
				result <- longest
				return
			case <-tick.C:
				// Not the tick's own time: after a stall, that is
				// when the tick fired, not when this goroutine woke.
				now := time.Now()
				longest = max(longest, now.Sub(last))
				last = now
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-result
	}
}
