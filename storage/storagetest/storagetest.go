// Package storagetest is the conformance suite every twofa store passes.
//
// A backend's test calls [Run] with a function that returns a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return mystore.New() })
//	}
//
// The suite checks each sentence of the contracts in package storage through
// their public methods only, including the races: dozens of goroutines
// competing for one conditional write, of which exactly one may win. A store
// shared by several application servers should also run the suite with
// newStore handing out a second handle on the same data, where it can.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Racers is how many goroutines compete in each race.
const Racers = 50

// ctx is for calls that need no cancellation.
var ctx = context.Background()

// Run runs the whole suite against stores made by newStore, which is called
// once in every subtest and must return a store of its own, with no records.
// The subtests do not run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("TOTP", func(t *testing.T) { runTOTP(t, newStore) })
	t.Run("TOTPWalk", func(t *testing.T) { runTOTPWalk(t, newStore) })
	t.Run("Throttle", func(t *testing.T) { runThrottle(t, newStore) })
	t.Run("Backup", func(t *testing.T) { runBackup(t, newStore) })
	t.Run("BackupReplace", func(t *testing.T) { runBackupReplace(t, newStore) })
	t.Run("Email", func(t *testing.T) { runEmail(t, newStore) })
	t.Run("WebAuthn", func(t *testing.T) { runWebAuthn(t, newStore) })
	t.Run("WebAuthnDisabled", func(t *testing.T) { runWebAuthnDisabled(t, newStore) })
	t.Run("WebAuthnOrder", func(t *testing.T) { runWebAuthnOrder(t, newStore) })
	t.Run("CeremonyBounds", func(t *testing.T) { runCeremonyBounds(t, newStore) })
	t.Run("Browser", func(t *testing.T) { runBrowser(t, newStore) })
	t.Run("BrowserCap", func(t *testing.T) { runBrowserCap(t, newStore) })
	t.Run("Log", func(t *testing.T) { runLog(t, newStore) })
	t.Run("Refusals", func(t *testing.T) { runRefusals(t, newStore) })
	t.Run("UserIDs", func(t *testing.T) { runUserIDs(t, newStore) })
}

// when has nanoseconds and a location other than UTC, both of which a store
// must keep or at least compare by instant.
var when = time.Date(2026, 11, 23, 10, 11, 12, 123456789, time.FixedZone("UTC+5:30", 5*3600+1800))

func secret(b byte, created time.Time) *storage.TOTPSecret {
	return &storage.TOTPSecret{
		// Zero and 0xff bytes catch a store that keeps the secret as text.
		Sealed:    []byte{b, b + 1, b + 2, 0, 0xff},
		Algorithm: "SHA256",
		Digits:    8,
		Period:    60,
		Created:   created,
	}
}

// bound returns s with a binding of its own.
func bound(s *storage.TOTPSecret) *storage.TOTPSecret {
	s.Binding = []byte{'s', 0, s.Sealed[0], 0xff}
	return s
}

func sameSecret(a, b *storage.TOTPSecret) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.Sealed, b.Sealed) && a.Algorithm == b.Algorithm && a.Digits == b.Digits &&
		a.Period == b.Period && a.Created.Equal(b.Created) && bytes.Equal(a.Binding, b.Binding)
}

func fmtSecret(s *storage.TOTPSecret) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("%+v", *s)
}

// checkRecord compares everything PutTOTP writes, and the version and step.
func checkRecord(t *testing.T, got, want storage.TOTPRecord) {
	t.Helper()
	if got.UserID != want.UserID || got.Account != want.Account || got.Disabled != want.Disabled ||
		!sameSecret(got.Active, want.Active) || !sameSecret(got.Pending, want.Pending) ||
		got.LastStep != want.LastStep || got.Version != want.Version {
		t.Fatalf("read  %+v (active %s, pending %s)\nwant %+v (active %s, pending %s)",
			got, fmtSecret(got.Active), fmtSecret(got.Pending),
			want, fmtSecret(want.Active), fmtSecret(want.Pending))
	}
}

func mustPut(t *testing.T, s storage.TOTPStore, rec storage.TOTPRecord) int64 {
	t.Helper()
	v, err := s.PutTOTP(t.Context(), rec)
	if err != nil {
		t.Fatalf("PutTOTP(%s, version %d): %v", rec.UserID, rec.Version, err)
	}
	if v == 0 {
		t.Fatal("PutTOTP returned version 0, which means no record")
	}
	return v
}

func mustGet(t *testing.T, s storage.TOTPStore, userID string) storage.TOTPRecord {
	t.Helper()
	rec, err := s.TOTP(t.Context(), userID)
	if err != nil {
		t.Fatalf("TOTP(%s): %v", userID, err)
	}
	return rec
}

func runTOTP(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		if _, err := s.TOTP(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("TOTP of a missing user: %v, want ErrNotFound", err)
		}
		if ok, err := s.AdvanceTOTPStep(ctx, "nobody", 30); ok || !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("AdvanceTOTPStep of a missing user: %v, %v; want false, ErrNotFound", ok, err)
		}
		// An update expects a record; with none there, it loses.
		if _, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "nobody", Account: "a", Version: 42}); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("update of a missing record: %v, want ErrConflict", err)
		}
		if _, err := s.TOTP(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after a lost update of a missing record: %v, want ErrNotFound", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		for _, rec := range []storage.TOTPRecord{
			{UserID: "pending-only", Account: "p@example.com", Pending: secret(1, when)},
			{UserID: "active-only", Account: "a@example.com", Active: secret(2, when)},
			{UserID: "both-disabled", Account: "b@example.com", Active: secret(3, when), Pending: secret(4, when.Add(time.Hour)), Disabled: true},
			{UserID: "neither", Account: "n@example.com"},
			// A secret with every other field zero is still a secret, not nil.
			{UserID: "zero-secret", Active: &storage.TOTPSecret{Created: when}},
			{UserID: "ünïcødé 用户 'quoted' ?", Account: "ü@example.com", Active: secret(5, when)},
			// Bindings, on either secret or both.
			{UserID: "bound-pending", Account: "p@example.com", Active: secret(6, when), Pending: bound(secret(7, when))},
			{UserID: "bound-active", Account: "a@example.com", Active: bound(secret(8, when))},
			{UserID: "bound-both", Account: "b@example.com", Active: bound(secret(9, when)), Pending: bound(secret(10, when))},
		} {
			t.Run(rec.UserID, func(t *testing.T) {
				s := newStore(t)
				want := rec
				want.Version = mustPut(t, s, rec)
				checkRecord(t, mustGet(t, s, rec.UserID), want)
			})
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		rec := storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)}
		rec.Version = mustPut(t, s, rec)
		// Every field PutTOTP writes changes, and a group goes to nil.
		next := storage.TOTPRecord{UserID: "u", Account: "b", Active: secret(1, when), Disabled: true, Version: rec.Version}
		v := mustPut(t, s, next)
		if v == rec.Version {
			t.Fatal("the version did not change")
		}
		next.Version = v
		checkRecord(t, mustGet(t, s, "u"), next)
		// And back again: a nil group becomes a secret.
		back := storage.TOTPRecord{UserID: "u", Account: "c", Active: secret(2, when), Pending: bound(secret(3, when)), Version: v}
		back.Version = mustPut(t, s, back)
		checkRecord(t, mustGet(t, s, "u"), back)
		// A binding goes, and another comes, with the secret it is on.
		moved := storage.TOTPRecord{UserID: "u", Account: "c", Active: bound(secret(3, when)), Version: back.Version}
		moved.Version = mustPut(t, s, moved)
		checkRecord(t, mustGet(t, s, "u"), moved)
		unbound := storage.TOTPRecord{UserID: "u", Account: "c", Active: secret(3, when), Version: moved.Version}
		unbound.Version = mustPut(t, s, unbound)
		checkRecord(t, mustGet(t, s, "u"), unbound)
	})

	t.Run("InsertTwice", func(t *testing.T) {
		s := newStore(t)
		first := storage.TOTPRecord{UserID: "u", Account: "first", Pending: secret(1, when)}
		first.Version = mustPut(t, s, first)
		second := storage.TOTPRecord{UserID: "u", Account: "second", Active: secret(2, when)}
		if _, err := s.PutTOTP(t.Context(), second); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("second insert: %v, want ErrConflict", err)
		}
		checkRecord(t, mustGet(t, s, "u"), first) // nothing written
	})

	t.Run("StaleVersion", func(t *testing.T) {
		s := newStore(t)
		rec := storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)}
		v1 := mustPut(t, s, rec)
		rec.Version = v1
		rec.Active, rec.Pending = rec.Pending, nil
		rec.Version = mustPut(t, s, rec)
		// A writer still holding the first version loses and changes nothing.
		stale := storage.TOTPRecord{UserID: "u", Account: "stale", Pending: secret(9, when), Version: v1}
		if _, err := s.PutTOTP(t.Context(), stale); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		checkRecord(t, mustGet(t, s, "u"), rec)
		// So does one with a version the store never gave.
		stale.Version = rec.Version + 1000
		if _, err := s.PutTOTP(t.Context(), stale); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("update with an unknown version: %v, want ErrConflict", err)
		}
		checkRecord(t, mustGet(t, s, "u"), rec)
	})

	t.Run("VersionNotReusedAfterDelete", func(t *testing.T) {
		// A reader that loaded the record before it was deleted and made
		// again must not overwrite the new one: its version must not match.
		s := newStore(t)
		rec := storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)}
		var old []int64
		rec.Version = mustPut(t, s, rec)
		old = append(old, rec.Version)
		rec.Version = mustPut(t, s, rec)
		old = append(old, rec.Version)
		if err := s.DeleteTOTP(t.Context(), "u"); err != nil {
			t.Fatal(err)
		}
		fresh := storage.TOTPRecord{UserID: "u", Account: "fresh", Pending: secret(2, when)}
		fresh.Version = mustPut(t, s, fresh)
		for _, v := range old {
			stale := rec
			stale.Version = v
			if _, err := s.PutTOTP(t.Context(), stale); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("write with version %d of the deleted record: %v, want ErrConflict", v, err)
			}
		}
		checkRecord(t, mustGet(t, s, "u"), fresh)
	})

	t.Run("AdvanceStrictlyLater", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		for _, tc := range []struct {
			step int64
			want bool
		}{
			{60, true},
			{60, false}, // the same step again
			{30, false}, // an earlier one
			{90, true},
			{0, false},
			{-30, false},
			{1 << 40, true},
		} {
			got, err := s.AdvanceTOTPStep(t.Context(), "u", tc.step)
			if err != nil || got != tc.want {
				t.Fatalf("AdvanceTOTPStep(%d) = %v, %v; want %v, nil", tc.step, got, err, tc.want)
			}
		}
		if got := mustGet(t, s, "u").LastStep; got != 1<<40 {
			t.Fatalf("LastStep = %d, want %d", got, int64(1<<40))
		}
	})

	t.Run("AdvanceFromZero", func(t *testing.T) {
		// A new record starts at 0, so the first positive step advances.
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)})
		if ok, err := s.AdvanceTOTPStep(t.Context(), "u", 1); !ok || err != nil {
			t.Fatalf("AdvanceTOTPStep(1) on a new record = %v, %v; want true, nil", ok, err)
		}
	})

	t.Run("PutLeavesLastStep", func(t *testing.T) {
		s := newStore(t)
		// An insert starts at 0, whatever the record says.
		v := mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when), LastStep: 1 << 41})
		if got := mustGet(t, s, "u").LastStep; got != 0 {
			t.Fatalf("a new record starts at LastStep %d, want 0", got)
		}
		if ok, err := s.AdvanceTOTPStep(t.Context(), "u", 1<<40); !ok || err != nil {
			t.Fatalf("AdvanceTOTPStep: %v, %v", ok, err)
		}
		// An update keeps the stored step, lower or higher than its own.
		for _, step := range []int64{0, 1<<40 - 30, 1 << 42} {
			v = mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when), LastStep: step, Version: v})
			if got := mustGet(t, s, "u").LastStep; got != 1<<40 {
				t.Fatalf("PutTOTP with LastStep %d changed the stored step to %d", step, got)
			}
		}
		if ok, _ := s.AdvanceTOTPStep(t.Context(), "u", 1<<40); ok {
			t.Fatal("a used step advanced again after PutTOTP")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		other := storage.TOTPRecord{UserID: "v", Account: "b", Active: secret(2, when)}
		other.Version = mustPut(t, s, other)
		if _, err := s.AdvanceTOTPStep(ctx, "u", 600); err != nil {
			t.Fatal(err)
		}
		// Deleting is idempotent: the second time, and for a user who
		// never had a record, is not an error.
		for i := range 2 {
			if err := s.DeleteTOTP(ctx, "u"); err != nil {
				t.Fatalf("DeleteTOTP #%d: %v", i+1, err)
			}
		}
		if err := s.DeleteTOTP(ctx, "never"); err != nil {
			t.Fatalf("DeleteTOTP of a user without a record: %v", err)
		}
		if _, err := s.TOTP(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("TOTP after delete: %v, want ErrNotFound", err)
		}
		if _, err := s.AdvanceTOTPStep(ctx, "u", 900); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("AdvanceTOTPStep after delete: %v, want ErrNotFound", err)
		}
		checkRecord(t, mustGet(t, s, "v"), other)
		// A record made again starts over, step included.
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(3, when)})
		if got := mustGet(t, s, "u").LastStep; got != 0 {
			t.Fatalf("a re-created record starts at LastStep %d, want 0", got)
		}
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		in := storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when), Pending: bound(secret(4, when))}
		mustPut(t, s, in)
		in.Pending.Binding[0] = 99
		if out := mustGet(t, s, "u"); out.Pending.Binding[0] == 99 {
			t.Fatal("the store shares the binding it was given")
		}
		in.Active.Sealed[0], in.Pending.Sealed[0] = 99, 99
		in.Active.Digits = 7
		out := mustGet(t, s, "u")
		if out.Active.Sealed[0] == 99 || out.Pending.Sealed[0] == 99 || out.Active.Digits == 7 {
			t.Fatal("the store shares memory with the record it was given")
		}
		out.Active.Sealed[0], out.Pending.Sealed[0] = 98, 98
		out.Active.Digits, out.Pending.Period = 7, 7
		again := mustGet(t, s, "u")
		if again.Active.Sealed[0] == 98 || again.Pending.Sealed[0] == 98 || again.Active.Digits == 7 || again.Pending.Period == 7 {
			t.Fatal("the store shares memory with the record it returned")
		}
	})

	t.Run("RaceAdvance", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		const step = 1_800_000_000
		won := race(t, func() (bool, error) { return s.AdvanceTOTPStep(t.Context(), "u", step) })
		if won != 1 {
			t.Fatalf("%d of %d goroutines advanced to the same step, want exactly 1", won, Racers)
		}
		if got := mustGet(t, s, "u").LastStep; got != step {
			t.Fatalf("LastStep = %d after the race, want %d", got, step)
		}
	})

	t.Run("RacePut", func(t *testing.T) {
		s := newStore(t)
		read := storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)}
		read.Version = mustPut(t, s, read)
		// Every racer read the same version and writes its own record.
		var next, winner, wonVersion atomic.Int64
		won := race(t, func() (bool, error) {
			i := next.Add(1)
			rec := read
			rec.Account = fmt.Sprint("racer ", i)
			v, err := s.PutTOTP(t.Context(), rec)
			if errors.Is(err, storage.ErrConflict) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			winner.Store(i)
			wonVersion.Store(v)
			return true, nil
		})
		if won != 1 {
			t.Fatalf("%d of %d writers of one version succeeded, want exactly 1", won, Racers)
		}
		want := read
		want.Account = fmt.Sprint("racer ", winner.Load())
		want.Version = wonVersion.Load()
		checkRecord(t, mustGet(t, s, "u"), want)
	})

	t.Run("RaceInsert", func(t *testing.T) {
		s := newStore(t)
		won, winner := raceWrite(t, func(i int64) error {
			_, err := s.PutTOTP(t.Context(), storage.TOTPRecord{UserID: "u", Account: fmt.Sprint("racer ", i), Pending: secret(1, when)})
			return err
		})
		if won != 1 {
			t.Fatalf("%d of %d inserts for one user succeeded, want exactly 1", won, Racers)
		}
		if got, want := mustGet(t, s, "u").Account, fmt.Sprint("racer ", winner); got != want {
			t.Fatalf("stored account %q, but %q won", got, want)
		}
	})
}

// raceWrite races Racers writers through race, numbered from 1: one whose
// write gets ErrConflict lost, one whose write gets nil won, any other error
// fails the test. It returns how many won, and the number of one that did.
func raceWrite(t *testing.T, write func(i int64) error) (won int, winner int64) {
	t.Helper()
	var next, last atomic.Int64
	won = race(t, func() (bool, error) {
		i := next.Add(1)
		err := write(i)
		if errors.Is(err, storage.ErrConflict) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last.Store(i)
		return true, nil
	})
	return won, last.Load()
}

// race runs f in Racers goroutines released at once, and returns how many
// reported true. Any error fails the test: losing is reported as false,
// never as an error.
func race(t *testing.T, f func() (bool, error)) int {
	t.Helper()
	var (
		won   atomic.Int32
		wg    sync.WaitGroup
		ready sync.WaitGroup
	)
	start := make(chan struct{})
	errs := make(chan error, Racers)
	ready.Add(Racers)
	for i := range Racers {
		wg.Go(func() {
			ready.Done()
			<-start
			ok, err := f()
			if err != nil {
				errs <- fmt.Errorf("racer %d: %w", i, err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	// Release them only when all are running, so they do overlap.
	ready.Wait()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return int(won.Load())
}

func sameState(a, b storage.ThrottleState) bool {
	return a.Failures == b.Failures && a.Last.Equal(b.Last)
}

func mustThrottle(t *testing.T, s storage.ThrottleStore, userID string) storage.ThrottleState {
	t.Helper()
	st, err := s.Throttle(t.Context(), userID)
	if err != nil {
		t.Fatalf("Throttle(%s): %v", userID, err)
	}
	return st
}

func mustSwap(t *testing.T, s storage.ThrottleStore, userID string, old, next storage.ThrottleState) {
	t.Helper()
	if ok, err := s.SwapThrottle(t.Context(), userID, old, next); !ok || err != nil {
		t.Fatalf("SwapThrottle(%s, %+v, %+v) = %v, %v; want true, nil", userID, old, next, ok, err)
	}
}

func runThrottle(t *testing.T, newStore func(t *testing.T) storage.Store) {
	zero := storage.ThrottleState{}
	one := storage.ThrottleState{Failures: 1, Last: when}
	two := storage.ThrottleState{Failures: 2, Last: when.Add(time.Nanosecond)}

	t.Run("ZeroState", func(t *testing.T) {
		s := newStore(t)
		if st := mustThrottle(t, s, "nobody"); st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("Throttle of a user without failures = %+v, want the zero state", st)
		}
		if err := s.ResetThrottle(t.Context(), "nobody"); err != nil {
			t.Fatalf("ResetThrottle of a user without failures: %v", err)
		}
		// The zero state stands for no record: swapping it for itself holds.
		mustSwap(t, s, "nobody", zero, zero)
		if st := mustThrottle(t, s, "nobody"); st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("after a swap from zero to zero: %+v", st)
		}
	})

	t.Run("SwapFromZero", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "u", zero, one)
		if st := mustThrottle(t, s, "u"); !sameState(st, one) {
			t.Fatalf("read back %+v, want %+v", st, one)
		}
		// The zero state is stale now.
		for _, next := range []storage.ThrottleState{one, two, zero} {
			if ok, err := s.SwapThrottle(t.Context(), "u", zero, next); ok || err != nil {
				t.Fatalf("swap from zero to %+v with a state stored = %v, %v; want false, nil", next, ok, err)
			}
		}
		if st := mustThrottle(t, s, "u"); !sameState(st, one) {
			t.Fatalf("a lost swap changed the state to %+v", st)
		}
	})

	t.Run("ExactTime", func(t *testing.T) {
		s := newStore(t)
		// Nanoseconds, a location and a monotonic clock reading: the
		// instant must come back, and the state as the caller holds it or
		// as it was read back must both still swap.
		now := time.Now()
		for i, st := range []storage.ThrottleState{
			{Failures: 1, Last: when},
			{Failures: 2, Last: now},
			{Failures: 3, Last: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		} {
			user := fmt.Sprint("u", i)
			mustSwap(t, s, user, zero, st)
			got := mustThrottle(t, s, user)
			if !sameState(got, st) {
				t.Fatalf("read back %+v, want %+v (to the nanosecond)", got, st)
			}
			next := storage.ThrottleState{Failures: st.Failures + 1, Last: st.Last.Add(time.Nanosecond)}
			mustSwap(t, s, user, st, next)
			mustSwap(t, s, user, mustThrottle(t, s, user), st)
		}
	})

	t.Run("Stale", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "u", zero, one)
		mustSwap(t, s, "u", one, two)
		for _, old := range []storage.ThrottleState{
			one,                           // a state that was
			{Failures: 2, Last: when},     // the right count, the wrong time
			{Failures: 3, Last: two.Last}, // the right time, the wrong count
			{Failures: 2, Last: two.Last.Add(time.Nanosecond)},
		} {
			if ok, err := s.SwapThrottle(t.Context(), "u", old, storage.ThrottleState{Failures: 9, Last: when}); ok || err != nil {
				t.Fatalf("swap from %+v while %+v is stored = %v, %v; want false, nil", old, two, ok, err)
			}
			if ok, err := s.SwapThrottle(t.Context(), "u", old, zero); ok || err != nil {
				t.Fatalf("swap from %+v to zero while %+v is stored = %v, %v; want false, nil", old, two, ok, err)
			}
		}
		if st := mustThrottle(t, s, "u"); !sameState(st, two) {
			t.Fatalf("lost swaps changed the state to %+v", st)
		}
	})

	t.Run("SwapToZero", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "u", zero, one)
		mustSwap(t, s, "u", one, zero)
		if st := mustThrottle(t, s, "u"); st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("after a swap to zero: %+v", st)
		}
		mustSwap(t, s, "u", zero, two) // counting starts over
	})

	t.Run("Reset", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "u", zero, one)
		mustSwap(t, s, "v", zero, two)
		for i := range 2 {
			if err := s.ResetThrottle(t.Context(), "u"); err != nil {
				t.Fatalf("ResetThrottle #%d: %v", i+1, err)
			}
		}
		if st := mustThrottle(t, s, "u"); st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("after reset: %+v", st)
		}
		if ok, _ := s.SwapThrottle(t.Context(), "u", one, two); ok {
			t.Fatal("a swap from the state before the reset succeeded")
		}
		if st := mustThrottle(t, s, "v"); !sameState(st, two) {
			t.Fatalf("resetting one user changed another's state to %+v", st)
		}
		mustSwap(t, s, "u", zero, one) // counting starts over
	})

	t.Run("UsersApart", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "u", zero, one)
		if st := mustThrottle(t, s, "v"); st.Failures != 0 {
			t.Fatalf("another user's state is %+v", st)
		}
		mustSwap(t, s, "v", zero, two)
		if st := mustThrottle(t, s, "u"); !sameState(st, one) {
			t.Fatalf("a swap for another user changed the state to %+v", st)
		}
	})

	t.Run("RaceSwap", func(t *testing.T) {
		s := newStore(t)
		start := storage.ThrottleState{Failures: 3, Last: when}
		mustSwap(t, s, "u", zero, start)
		var next, winner atomic.Int64
		won := race(t, func() (bool, error) {
			i := next.Add(1)
			ok, err := s.SwapThrottle(t.Context(), "u", start, storage.ThrottleState{Failures: 4, Last: when.Add(time.Duration(i))})
			if ok {
				winner.Store(i)
			}
			return ok, err
		})
		if won != 1 {
			t.Fatalf("%d of %d swaps from one state succeeded, want exactly 1", won, Racers)
		}
		want := storage.ThrottleState{Failures: 4, Last: when.Add(time.Duration(winner.Load()))}
		if st := mustThrottle(t, s, "u"); !sameState(st, want) {
			t.Fatalf("state %+v after the race, want the winner's %+v", st, want)
		}
	})

	t.Run("RaceSwapFromZero", func(t *testing.T) {
		s := newStore(t)
		var next, winner atomic.Int64
		won := race(t, func() (bool, error) {
			i := next.Add(1)
			ok, err := s.SwapThrottle(t.Context(), "u", zero, storage.ThrottleState{Failures: 1, Last: when.Add(time.Duration(i))})
			if ok {
				winner.Store(i)
			}
			return ok, err
		})
		if won != 1 {
			t.Fatalf("%d of %d first failures counted, want exactly 1", won, Racers)
		}
		want := storage.ThrottleState{Failures: 1, Last: when.Add(time.Duration(winner.Load()))}
		if st := mustThrottle(t, s, "u"); !sameState(st, want) {
			t.Fatalf("state %+v after the race, want the winner's %+v", st, want)
		}
	})
}
