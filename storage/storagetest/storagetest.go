// Package storagetest is the conformance suite every twofa store passes.
//
// A backend's test calls [Run] with a function that returns a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return mystore.New(...) })
//	}
//
// The suite checks each sentence of the contracts in package storage,
// including the races: N goroutines competing for one single-use operation,
// of which exactly one may win.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Racers is how many goroutines compete in the race cases.
const Racers = 50

var ctx = context.Background()

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("TOTP", func(t *testing.T) { runTOTP(t, newStore) })
	t.Run("Throttle", func(t *testing.T) { runThrottle(t, newStore) })
}

func secret(b byte, created time.Time) *storage.TOTPSecret {
	return &storage.TOTPSecret{Sealed: []byte{b, b + 1, b + 2, 0, 0xff}, Algorithm: "SHA256", Digits: 8, Period: 60, Created: created}
}

// when is a time with nanoseconds, which every store must keep.
var when = time.Date(2026, 11, 23, 10, 11, 12, 123456789, time.UTC)

func sameSecret(a, b *storage.TOTPSecret) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.Sealed, b.Sealed) && a.Algorithm == b.Algorithm && a.Digits == b.Digits &&
		a.Period == b.Period && a.Created.Equal(b.Created)
}

func mustPut(t *testing.T, s storage.TOTPStore, rec storage.TOTPRecord) int64 {
	t.Helper()
	v, err := s.PutTOTP(ctx, rec)
	if err != nil {
		t.Fatalf("PutTOTP: %v", err)
	}
	if v == 0 {
		t.Fatal("PutTOTP returned version 0")
	}
	return v
}

func runTOTP(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.TOTP(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("TOTP of a missing user: %v, want ErrNotFound", err)
		}
		if _, err := s.AdvanceTOTPStep(ctx, "nobody", 30); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("AdvanceTOTPStep of a missing user: %v, want ErrNotFound", err)
		}
		if err := s.DeleteTOTP(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteTOTP of a missing user: %v", err)
		}
		if _, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "nobody", Account: "a", Version: 42}); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("update of a missing record: %v, want ErrConflict", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		for _, rec := range []storage.TOTPRecord{
			{UserID: "pending-only", Account: "p@example.com", Pending: secret(1, when)},
			{UserID: "active-only", Account: "a@example.com", Active: secret(2, when)},
			{UserID: "both", Account: "b@example.com", Active: secret(3, when), Pending: secret(4, when.Add(time.Hour)), Disabled: true},
			{UserID: "ünïcødé 用户", Account: "ü@example.com", Active: secret(5, when)},
		} {
			v := mustPut(t, s, rec)
			got, err := s.TOTP(ctx, rec.UserID)
			if err != nil {
				t.Fatalf("%s: %v", rec.UserID, err)
			}
			if got.UserID != rec.UserID || got.Account != rec.Account || got.Disabled != rec.Disabled ||
				!sameSecret(got.Active, rec.Active) || !sameSecret(got.Pending, rec.Pending) ||
				got.Version != v || got.LastStep != 0 {
				t.Fatalf("%s: read %+v (active %+v, pending %+v), wrote %+v", rec.UserID, got, got.Active, got.Pending, rec)
			}
		}
	})

	t.Run("Versions", func(t *testing.T) {
		s := newStore(t)
		rec := storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)}
		v1 := mustPut(t, s, rec)
		if _, err := s.PutTOTP(ctx, rec); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("second insert: %v, want ErrConflict", err)
		}
		rec.Version = v1
		rec.Active, rec.Pending = rec.Pending, nil
		v2 := mustPut(t, s, rec)
		if v2 == v1 {
			t.Fatal("version did not change")
		}
		// A writer holding the old version loses and changes nothing.
		stale := rec
		stale.Version, stale.Account = v1, "stale"
		if _, err := s.PutTOTP(ctx, stale); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		got, _ := s.TOTP(ctx, "u")
		if got.Account != "a" || got.Pending != nil || !sameSecret(got.Active, secret(1, when)) {
			t.Fatalf("record after a lost update: %+v", got)
		}
		// Deleted and made again, the record never repeats an old version.
		if err := s.DeleteTOTP(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		rec.Version = 0
		v3 := mustPut(t, s, rec)
		if v3 == v1 || v3 == v2 {
			t.Fatalf("re-created record reuses version %d", v3)
		}
	})

	t.Run("StepOnlyAdvances", func(t *testing.T) {
		s := newStore(t)
		v := mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		for _, tc := range []struct {
			step int64
			want bool
		}{{60, true}, {60, false}, {30, false}, {90, true}, {0, false}, {1 << 40, true}} {
			got, err := s.AdvanceTOTPStep(ctx, "u", tc.step)
			if err != nil || got != tc.want {
				t.Fatalf("AdvanceTOTPStep(%d) = %v, %v; want %v", tc.step, got, err, tc.want)
			}
		}
		// PutTOTP leaves the step alone, whatever the record it writes says.
		rec, _ := s.TOTP(ctx, "u")
		if rec.LastStep != 1<<40 {
			t.Fatalf("LastStep = %d", rec.LastStep)
		}
		rec.LastStep = 0
		rec.Version = v
		mustPut(t, s, rec)
		if rec, _ := s.TOTP(ctx, "u"); rec.LastStep != 1<<40 {
			t.Fatalf("PutTOTP changed LastStep to %d", rec.LastStep)
		}
		if ok, _ := s.AdvanceTOTPStep(ctx, "u", 90); ok {
			t.Fatal("an old step advanced after PutTOTP")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		mustPut(t, s, storage.TOTPRecord{UserID: "v", Account: "b", Active: secret(2, when)})
		if err := s.DeleteTOTP(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TOTP(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if _, err := s.TOTP(ctx, "v"); err != nil {
			t.Fatalf("delete touched another user: %v", err)
		}
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		in := storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)}
		mustPut(t, s, in)
		in.Active.Sealed[0] = 99
		out, _ := s.TOTP(ctx, "u")
		if out.Active.Sealed[0] == 99 {
			t.Fatal("the store shares memory with the record it was given")
		}
		out.Active.Sealed[0] = 98
		out.Active.Digits = 7
		again, _ := s.TOTP(ctx, "u")
		if again.Active.Sealed[0] == 98 || again.Active.Digits == 7 {
			t.Fatal("the store shares memory with the record it returned")
		}
	})

	t.Run("RaceAdvance", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		won := race(t, func() (bool, error) { return s.AdvanceTOTPStep(ctx, "u", 1_800_000_000) })
		if won != 1 {
			t.Fatalf("%d of %d goroutines advanced the same step, want exactly 1", won, Racers)
		}
	})

	t.Run("RacePut", func(t *testing.T) {
		s := newStore(t)
		v := mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)})
		won := race(t, func() (bool, error) {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when), Version: v})
			if errors.Is(err, storage.ErrConflict) {
				return false, nil
			}
			return err == nil, err
		})
		if won != 1 {
			t.Fatalf("%d of %d writers with one version succeeded, want exactly 1", won, Racers)
		}
	})

	t.Run("RaceInsert", func(t *testing.T) {
		s := newStore(t)
		won := race(t, func() (bool, error) {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "u", Account: "a", Pending: secret(1, when)})
			if errors.Is(err, storage.ErrConflict) {
				return false, nil
			}
			return err == nil, err
		})
		if won != 1 {
			t.Fatalf("%d of %d inserts of one user succeeded, want exactly 1", won, Racers)
		}
	})
}

// race runs f in Racers goroutines released together and returns how many
// reported true. Any error fails the test.
func race(t *testing.T, f func() (bool, error)) int {
	t.Helper()
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, Racers)
	for range Racers {
		wg.Go(func() {
			<-start
			ok, err := f()
			if err != nil {
				errs <- err
			}
			if ok {
				won.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("racer: %v", err)
	}
	return int(won.Load())
}

func runThrottle(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("ZeroState", func(t *testing.T) {
		s := newStore(t)
		st, err := s.Throttle(ctx, "nobody")
		if err != nil || st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("Throttle of a user without failures = %+v, %v", st, err)
		}
		if err := s.ResetThrottle(ctx, "nobody"); err != nil {
			t.Fatalf("ResetThrottle of a user without failures: %v", err)
		}
	})

	t.Run("Swap", func(t *testing.T) {
		s := newStore(t)
		one := storage.ThrottleState{Failures: 1, Last: when}
		two := storage.ThrottleState{Failures: 2, Last: when.Add(time.Nanosecond)}
		if ok, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, one); !ok || err != nil {
			t.Fatalf("swap from zero: %v, %v", ok, err)
		}
		if ok, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, one); ok || err != nil {
			t.Fatalf("second swap from zero: %v, %v; want false", ok, err)
		}
		got, err := s.Throttle(ctx, "u")
		if err != nil || got.Failures != 1 || !got.Last.Equal(when) {
			t.Fatalf("read back %+v, %v; want %+v (to the nanosecond)", got, err, one)
		}
		// The state read back swaps: times compare exactly.
		if ok, err := s.SwapThrottle(ctx, "u", got, two); !ok || err != nil {
			t.Fatalf("swap from the state read: %v, %v", ok, err)
		}
		if ok, _ := s.SwapThrottle(ctx, "u", one, storage.ThrottleState{Failures: 9, Last: when}); ok {
			t.Fatal("stale swap succeeded")
		}
		// Same count, other time: still stale.
		if ok, _ := s.SwapThrottle(ctx, "u", storage.ThrottleState{Failures: 2, Last: when}, one); ok {
			t.Fatal("swap with the right count but the wrong time succeeded")
		}
		if st, _ := s.Throttle(ctx, "v"); st.Failures != 0 {
			t.Fatal("another user's state changed")
		}
		if err := s.ResetThrottle(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Throttle(ctx, "u"); st.Failures != 0 || !st.Last.IsZero() {
			t.Fatalf("after reset: %+v", st)
		}
		// After a reset the count starts from zero again.
		if ok, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, one); !ok || err != nil {
			t.Fatalf("swap from zero after reset: %v, %v", ok, err)
		}
		// Swapping to the zero state clears.
		if ok, err := s.SwapThrottle(ctx, "u", one, storage.ThrottleState{}); !ok || err != nil {
			t.Fatalf("swap to zero: %v, %v", ok, err)
		}
		if st, _ := s.Throttle(ctx, "u"); st.Failures != 0 {
			t.Fatalf("after swap to zero: %+v", st)
		}
	})

	t.Run("RaceSwap", func(t *testing.T) {
		s := newStore(t)
		start := storage.ThrottleState{Failures: 3, Last: when}
		if ok, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, start); !ok || err != nil {
			t.Fatalf("set-up swap: %v, %v", ok, err)
		}
		won := race(t, func() (bool, error) {
			return s.SwapThrottle(ctx, "u", start, storage.ThrottleState{Failures: 4, Last: when.Add(time.Second)})
		})
		if won != 1 {
			t.Fatalf("%d of %d swaps from one state succeeded, want exactly 1", won, Racers)
		}
	})

	t.Run("RaceSwapFromZero", func(t *testing.T) {
		s := newStore(t)
		won := race(t, func() (bool, error) {
			return s.SwapThrottle(ctx, "u", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: when})
		})
		if won != 1 {
			t.Fatalf("%d of %d first failures counted, want exactly 1", won, Racers)
		}
	})
}
