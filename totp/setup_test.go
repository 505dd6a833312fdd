package totp_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// A pending set-up is shown to, and confirmed by, only the session that
// began it. Any other session gets exactly what a user with no set-up gets,
// and its tries count for nothing.
func TestSetupBoundToSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		_, none := f.svc.Pending(ctx, "nobody", sess)
		if !errors.Is(none, totp.ErrNotSetUp) {
			t.Fatalf("Pending without a set-up: %v", none)
		}
		e, err := f.svc.Begin(ctx, "u", "u@example.com", sess)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := f.svc.Pending(ctx, "u", sess); err != nil || *again != *e {
			t.Fatalf("Pending in the session that began it = %+v, %v", again, err)
		}
		code := codeAt(t, e, f.clock.Now())
		for _, other := range []string{"session-b", sess + "x", strings.ToUpper(sess), sess[:len(sess)-1]} {
			if got, err := f.svc.Pending(ctx, "u", other); got != nil || err == nil || err.Error() != none.Error() {
				t.Fatalf("Pending in session %q = %+v, %v; want %v as for no set-up", other, got, err, none)
			}
			// Ten tries with the right code: refused, and not counted.
			for range 10 {
				if err := f.svc.Confirm(ctx, "u", other, code); err == nil || err.Error() != none.Error() {
					t.Fatalf("Confirm in session %q = %v; want %v as for no set-up", other, err, none)
				}
			}
		}
		if th, _ := f.store.Throttle(ctx, "u"); th.Failures != 0 {
			t.Fatalf("other sessions' tries were counted: %d", th.Failures)
		}
		// The same session ID of another user does not open u's set-up.
		if _, err := f.svc.Begin(ctx, "v", "", "session-b"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Pending(ctx, "v", sess); !errors.Is(err, totp.ErrNotSetUp) {
			t.Fatalf("u's session on v's set-up: %v", err)
		}
		if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusPending {
			t.Fatalf("state after other sessions tried: %v", st.Status)
		}
		// The store keeps a digest of the session, never the session.
		rec, err := f.store.TOTP(ctx, "u")
		if err != nil || rec.Pending == nil || len(rec.Pending.Binding) != 32 || bytes.Contains(rec.Pending.Binding, []byte(sess)) {
			t.Fatalf("stored binding %x, %v", rec.Pending.Binding, err)
		}
		if err := f.svc.Confirm(ctx, "u", sess, code); err != nil {
			t.Fatalf("Confirm in the session that began it: %v", err)
		}
		if rec, _ := f.store.TOTP(ctx, "u"); rec.Active == nil || rec.Active.Binding != nil {
			t.Fatalf("the active secret keeps a session binding: %+v", rec.Active)
		}
	})
	f := newFixture(t, memory.New())
	if _, err := f.svc.Begin(ctx, "u", "", ""); !errors.Is(err, totp.ErrNoSession) {
		t.Errorf("Begin without a session: %v", err)
	}
	f.svc.Begin(ctx, "u", "", sess)
	if _, err := f.svc.Pending(ctx, "u", ""); !errors.Is(err, totp.ErrNoSession) {
		t.Errorf("Pending without a session: %v", err)
	}
	if err := f.svc.Confirm(ctx, "u", "", "123456"); !errors.Is(err, totp.ErrNoSession) {
		t.Errorf("Confirm without a session: %v", err)
	}
}

// A pending set-up lasts SetupValidity from Begin, to the nanosecond: at
// the boundary it is as if there were none, and a new Begin replaces it.
func TestSetupExpires(t *testing.T) {
	for _, validity := range []time.Duration{0, 10 * time.Minute, 24 * time.Hour} {
		want := validity
		if want == 0 {
			want = totp.DefaultSetupValidity
		}
		t.Run(want.String(), func(t *testing.T) {
			// Just before the boundary: everything still works.
			f := newFixture(t, memory.New(), func(c *totp.Config) { c.SetupValidity = validity })
			e, _ := f.svc.Begin(ctx, "u", "", sess)
			f.clock.Add(want - time.Nanosecond)
			if _, err := f.svc.Pending(ctx, "u", sess); err != nil {
				t.Fatalf("Pending 1ns before expiry: %v", err)
			}
			if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusPending {
				t.Fatalf("State 1ns before expiry: %v", st.Status)
			}
			if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, e, f.clock.Now())); err != nil {
				t.Fatalf("Confirm 1ns before expiry: %v", err)
			}

			// At the boundary: gone.
			f = newFixture(t, memory.New(), func(c *totp.Config) { c.SetupValidity = validity })
			e, _ = f.svc.Begin(ctx, "u", "", sess)
			f.clock.Add(want)
			if _, err := f.svc.Pending(ctx, "u", sess); !errors.Is(err, totp.ErrSetupExpired) || !errors.Is(err, totp.ErrNotSetUp) {
				t.Fatalf("Pending at expiry: %v, want ErrSetupExpired", err)
			}
			// Another session learns nothing, not even that it expired.
			if _, err := f.svc.Pending(ctx, "u", "session-b"); !errors.Is(err, totp.ErrNotSetUp) || errors.Is(err, totp.ErrSetupExpired) {
				t.Fatalf("Pending of another session at expiry: %v, want plain ErrNotSetUp", err)
			}
			if st, err := f.svc.State(ctx, "u"); err != nil || st != (totp.State{}) {
				t.Fatalf("State at expiry = %+v, %v; want none", st, err)
			}
			if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrSetupExpired) {
				t.Fatalf("Confirm at expiry: %v, want ErrSetupExpired", err)
			}
			if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrNotEnabled) {
				t.Fatalf("Verify with the expired secret: %v", err)
			}
			// A new Begin replaces it, from any session, and lasts anew.
			e2, err := f.svc.Begin(ctx, "u", "", "session-b")
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(want - time.Nanosecond)
			if err := f.svc.Confirm(ctx, "u", "session-b", codeAt(t, e2, f.clock.Now())); err != nil {
				t.Fatalf("Confirm of the new set-up: %v", err)
			}
		})
	}
}

// Moving to a new phone: the old secret logs in before, during and after
// the move's set-up expires, and while other sessions begin set-ups.
func TestMoveKeepsOldSecret(t *testing.T) {
	f := newFixture(t, memory.New())
	old := f.enroll(t, "u")
	step := func(what string) {
		t.Helper()
		f.clock.Add(old.Period)
		if err := f.svc.Verify(ctx, "u", codeAt(t, old, f.clock.Now())); err != nil {
			t.Fatalf("old phone %s: %v", what, err)
		}
	}
	neu, _ := f.svc.Begin(ctx, "u", "", sess)
	step("during the move")
	if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusEnabled || !st.Moving {
		t.Fatalf("state during the move = %+v", st)
	}
	f.clock.Add(totp.DefaultSetupValidity)
	step("after the move expired")
	if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusEnabled || st.Moving {
		t.Fatalf("state after the move expired = %+v", st)
	}
	if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, neu, f.clock.Now())); !errors.Is(err, totp.ErrSetupExpired) {
		t.Fatalf("confirming the expired move: %v", err)
	}
	step("after confirming the expired move failed")
	if _, err := f.svc.Begin(ctx, "u", "", "session-b"); err != nil {
		t.Fatal(err)
	}
	step("while another session moves")
	if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, neu, f.clock.Now())); !errors.Is(err, totp.ErrNotSetUp) {
		t.Fatalf("confirming a move replaced by another session: %v", err)
	}
	step("after that")
}

// A clock no store can trust denies every call that reads it, and writes
// nothing.
func TestBadClock(t *testing.T) {
	for name, at := range map[string]time.Time{
		"zero":        {},
		"before 1970": time.Unix(-1, 0),
		"after 2262":  time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			e := f.enroll(t, "u")
			pending, _ := f.svc.Begin(ctx, "p", "", sess)
			good := f.clock.Now()
			before, _ := f.store.TOTP(ctx, "u")
			g := newFixture(t, f.store, func(c *totp.Config) { c.Keys, c.Now = f.ring, func() time.Time { return at } })
			for call, err := range map[string]error{
				"Verify":  g.svc.Verify(ctx, "u", codeAt(t, e, good)),
				"Confirm": g.svc.Confirm(ctx, "p", sess, codeAt(t, pending, good)),
				"Begin":   func() error { _, err := g.svc.Begin(ctx, "w", "", sess); return err }(),
				"Pending": func() error { _, err := g.svc.Pending(ctx, "p", sess); return err }(),
				"State":   func() error { _, err := g.svc.State(ctx, "p"); return err }(),
			} {
				if !errors.Is(err, totp.ErrClock) || !errors.Is(err, storage.ErrInvalidTime) {
					t.Errorf("%s: %v, want ErrClock and storage.ErrInvalidTime", call, err)
				}
			}
			if after, _ := f.store.TOTP(ctx, "u"); after.LastStep != before.LastStep {
				t.Error("Verify consumed a step")
			}
			if _, err := f.store.TOTP(ctx, "w"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Begin stored a set-up: %v", err)
			}
			if rec, _ := f.store.TOTP(ctx, "p"); rec.Active != nil {
				t.Error("Confirm enabled the set-up")
			}
			if th, _ := f.store.Throttle(ctx, "u"); th.Failures != 0 {
				t.Errorf("an attempt was counted: %d", th.Failures)
			}
			// The codes still work once the clock is right.
			if err := f.svc.Verify(ctx, "u", codeAt(t, e, good)); err != nil {
				t.Fatalf("Verify with a good clock after: %v", err)
			}
		})
	}
}

// refuseAll fails the test on any store call: a bad user ID is refused
// before the store is asked.
type refuseAll struct{ t *testing.T }

func (s refuseAll) fail() { s.t.Helper(); s.t.Error("the store was called") }
func (s refuseAll) TOTP(context.Context, string) (storage.TOTPRecord, error) {
	s.fail()
	return storage.TOTPRecord{}, errDown
}
func (s refuseAll) PutTOTP(context.Context, storage.TOTPRecord) (int64, error) {
	s.fail()
	return 0, errDown
}
func (s refuseAll) AdvanceTOTPStep(context.Context, string, int64) (bool, error) {
	s.fail()
	return false, errDown
}
func (s refuseAll) AdvanceTOTPStepAndResetThrottle(context.Context, string, int64) (bool, error) {
	s.fail()
	return false, errDown
}
func (s refuseAll) DeleteTOTP(context.Context, string) error { s.fail(); return errDown }
func (s refuseAll) Throttle(context.Context, string) (storage.ThrottleState, error) {
	s.fail()
	return storage.ThrottleState{}, errDown
}
func (s refuseAll) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	s.fail()
	return false, errDown
}
func (s refuseAll) ResetThrottle(context.Context, string) error { s.fail(); return errDown }

func TestInvalidUserIDs(t *testing.T) {
	ring, _ := newRing(t, "k")
	svc, err := totp.New(totp.Config{Issuer: "X", Store: refuseAll{t}, Keys: ring, Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{
		"empty": "", "NUL": "a\x00b", "not UTF-8": "a\xffb", "256 bytes": strings.Repeat("u", 256),
	} {
		t.Run(name, func(t *testing.T) {
			for call, err := range map[string]error{
				"State":   func() error { _, err := svc.State(ctx, id); return err }(),
				"Begin":   func() error { _, err := svc.Begin(ctx, id, "a", sess); return err }(),
				"Pending": func() error { _, err := svc.Pending(ctx, id, sess); return err }(),
				"Confirm": svc.Confirm(ctx, id, sess, "123456"),
				"Verify":  svc.Verify(ctx, id, "123456"),
				"Disable": svc.Disable(ctx, id),
				"Enable":  svc.Enable(ctx, id),
				"Cancel":  svc.Cancel(ctx, id),
				"Remove":  svc.Remove(ctx, id),
			} {
				if !errors.Is(err, storage.ErrInvalidUserID) {
					t.Errorf("%s: %v, want storage.ErrInvalidUserID", call, err)
				}
			}
		})
	}
}

// Fifty confirmations of one set-up at once, half from the session that
// began it and half from another, all with the right code: exactly one
// enables the method, and it is one of the owner's.
func TestConcurrentConfirm(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		e, err := f.svc.Begin(ctx, "u", "", sess)
		if err != nil {
			t.Fatal(err)
		}
		code := codeAt(t, e, f.clock.Now())
		const n = 50
		// Every racer reads the record before any writes: only the store's
		// compare-and-set tells them apart.
		g := newFixture(t, newBarrierStore(store, n), func(c *totp.Config) { c.Keys, c.Now = f.ring, f.clock.Now })
		var owner, other atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			session := sess
			if i%2 == 1 {
				session = "session-b"
			}
			wg.Go(func() {
				switch err := g.svc.Confirm(ctx, "u", session, code); {
				case err == nil && session == sess:
					owner.Add(1)
				case err == nil:
					other.Add(1)
				case errors.Is(err, totp.ErrReplay), errors.Is(err, totp.ErrConcurrentChange),
					errors.Is(err, totp.ErrNotSetUp), errors.Is(err, throttle.ErrThrottled):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		if owner.Load() != 1 || other.Load() != 0 {
			t.Fatalf("%d confirmations of the owner and %d of another session succeeded, want 1 and 0", owner.Load(), other.Load())
		}
		if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusEnabled {
			t.Fatalf("state = %v", st.Status)
		}
	})
}
