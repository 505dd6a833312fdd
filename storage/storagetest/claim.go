package storagetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// claimKind is one factor's single-use write that also clears the
// throttle, with what it needs around it: arm makes item i claimable for
// user "u" (a later step, an unused code, a live code), claim and plain
// claim it with and without the reset, and read reads the factor's record
// with the throttle state that comes with it.
type claimKind struct {
	name  string
	setup func(t *testing.T, s storage.Store)
	arm   func(t *testing.T, s storage.Store, i int)
	claim func(s storage.Store, i int) (bool, error)
	plain func(s storage.Store, i int) (bool, error)
	read  func(s storage.Store) (storage.ThrottleState, error)
}

// claimSteps are TOTP steps, 30 s apart.
func claimStep(i int) int64 { return 1_800_000_000 + int64(i)*30 }

var claimKinds = []claimKind{
	{
		name: "TOTP",
		setup: func(t *testing.T, s storage.Store) {
			mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		},
		arm: func(*testing.T, storage.Store, int) {},
		claim: func(s storage.Store, i int) (bool, error) {
			return s.AdvanceTOTPStepAndResetThrottle(ctx, "u", claimStep(i))
		},
		plain: func(s storage.Store, i int) (bool, error) { return s.AdvanceTOTPStep(ctx, "u", claimStep(i)) },
		read: func(s storage.Store) (storage.ThrottleState, error) {
			rec, err := s.TOTP(ctx, "u")
			return rec.Throttle, err
		},
	},
	{
		name: "Backup",
		setup: func(t *testing.T, s storage.Store) {
			if ok, err := s.ReplaceBackupSet(ctx, backupSet("u", "set1", 20), ""); !ok || err != nil {
				t.Fatalf("ReplaceBackupSet: %v, %v", ok, err)
			}
		},
		arm: func(*testing.T, storage.Store, int) {},
		claim: func(s storage.Store, i int) (bool, error) {
			return s.UseBackupCodeAndResetThrottle(ctx, "u", "set1", i, when)
		},
		plain: func(s storage.Store, i int) (bool, error) { return s.UseBackupCode(ctx, "u", "set1", i, when) },
		read: func(s storage.Store) (storage.ThrottleState, error) {
			set, err := s.BackupSet(ctx, "u")
			return set.Throttle, err
		},
	},
	{
		name: "Email",
		setup: func(t *testing.T, s storage.Store) {
			if err := s.PutEmail(ctx, "u", false, when); err != nil {
				t.Fatal(err)
			}
		},
		arm: func(t *testing.T, s storage.Store, i int) {
			t.Helper()
			st, err := s.Email(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := s.SwapEmailCode(ctx, "u", st.Code, emailCode(fmt.Sprint("c", i), 0)); !ok || err != nil {
				t.Fatalf("SwapEmailCode: %v, %v", ok, err)
			}
		},
		claim: func(s storage.Store, i int) (bool, error) {
			return s.ConsumeEmailCodeAndResetThrottle(ctx, "u", fmt.Sprint("c", i), 5)
		},
		plain: func(s storage.Store, i int) (bool, error) { return s.ConsumeEmailCode(ctx, "u", fmt.Sprint("c", i), 5) },
		read: func(s storage.Store) (storage.ThrottleState, error) {
			st, err := s.Email(ctx, "u")
			return st.Throttle, err
		},
	},
}

// runClaims checks, for each factor, the read that brings the throttle
// state along and the single-use write that clears it.
func runClaims(t *testing.T, newStore func(t *testing.T) storage.Store) {
	zero := storage.ThrottleState{}
	three := storage.ThrottleState{Failures: 3, Last: when}
	for _, k := range claimKinds {
		t.Run(k.name, func(t *testing.T) {
			mustRead := func(t *testing.T, s storage.Store, want storage.ThrottleState) {
				t.Helper()
				got, err := k.read(s)
				if err != nil {
					t.Fatal(err)
				}
				if !sameState(got, want) {
					t.Fatalf("the record's Throttle = %+v, want %+v", got, want)
				}
			}
			mustClaim := func(t *testing.T, s storage.Store, i int, want bool) {
				t.Helper()
				if ok, err := k.claim(s, i); ok != want || err != nil {
					t.Fatalf("claim %d = %v, %v; want %v, nil", i, ok, err, want)
				}
			}

			t.Run("ReadsThrottle", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				mustRead(t, s, zero)
				mustSwap(t, s, "u", zero, three)
				mustSwap(t, s, "v", zero, storage.ThrottleState{Failures: 9, Last: when})
				mustRead(t, s, three)
				if err := s.ResetThrottle(ctx, "u"); err != nil {
					t.Fatal(err)
				}
				mustRead(t, s, zero)
			})

			t.Run("ClearsOnWin", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				other := storage.ThrottleState{Failures: 9, Last: when}
				mustSwap(t, s, "u", zero, three)
				mustSwap(t, s, "v", zero, other)
				k.arm(t, s, 0)
				mustClaim(t, s, 0, true)
				if st := mustThrottle(t, s, "u"); !sameState(st, zero) {
					t.Fatalf("after a won claim the state is %+v, want zero", st)
				}
				mustRead(t, s, zero)
				if st := mustThrottle(t, s, "v"); !sameState(st, other) {
					t.Fatalf("a claim of u changed v's state to %+v", st)
				}
				// The item is spent, with or without a reset.
				mustClaim(t, s, 0, false)
				if ok, err := k.plain(s, 0); ok || err != nil {
					t.Fatalf("plain claim of a spent item = %v, %v", ok, err)
				}
			})

			t.Run("KeepsOnLoss", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				k.arm(t, s, 0)
				mustClaim(t, s, 0, true)
				mustSwap(t, s, "u", zero, three)
				mustClaim(t, s, 0, false) // spent: a replay
				if st := mustThrottle(t, s, "u"); !sameState(st, three) {
					t.Fatalf("a lost claim changed the state to %+v", st)
				}
			})

			t.Run("PlainKeeps", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				mustSwap(t, s, "u", zero, three)
				k.arm(t, s, 0)
				if ok, err := k.plain(s, 0); !ok || err != nil {
					t.Fatalf("plain claim = %v, %v", ok, err)
				}
				if st := mustThrottle(t, s, "u"); !sameState(st, three) {
					t.Fatalf("a claim without reset changed the state to %+v", st)
				}
			})

			// A cleared state is the zero state to every method: a swap
			// from zero to zero holds, a swap from the state before the
			// clear loses, and counting starts over from zero, again and
			// again.
			t.Run("CountsAfterClear", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				for i := range 3 {
					mustSwap(t, s, "u", zero, three)
					k.arm(t, s, i)
					mustClaim(t, s, i, true)
					mustSwap(t, s, "u", zero, zero)
					if ok, err := s.SwapThrottle(ctx, "u", three, storage.ThrottleState{Failures: 4, Last: when}); ok || err != nil {
						t.Fatalf("swap from the state before the clear = %v, %v", ok, err)
					}
					one := storage.ThrottleState{Failures: 1, Last: when.Add(time.Duration(i))}
					mustSwap(t, s, "u", zero, one)
					mustRead(t, s, one)
					mustSwap(t, s, "u", one, zero)
				}
			})

			// Of Racers first failures counted at once after a clear,
			// exactly one lands: the row of zeros a clear leaves is the
			// zero state to a compare-and-set too.
			t.Run("RaceCountAfterClear", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				mustSwap(t, s, "u", zero, three)
				k.arm(t, s, 0)
				mustClaim(t, s, 0, true)
				var next atomic.Int64
				won := race(t, func() (bool, error) {
					return s.SwapThrottle(ctx, "u", zero, storage.ThrottleState{Failures: 1, Last: when.Add(time.Duration(next.Add(1)))})
				})
				if won != 1 {
					t.Fatalf("%d of %d first failures after a clear counted, want exactly 1", won, Racers)
				}
				if st := mustThrottle(t, s, "u"); st.Failures != 1 {
					t.Fatalf("state %+v after the race, want 1 failure", st)
				}
			})

			t.Run("RaceClaim", func(t *testing.T) {
				s := newStore(t)
				k.setup(t, s)
				mustSwap(t, s, "u", zero, three)
				k.arm(t, s, 0)
				won := race(t, func() (bool, error) { return k.claim(s, 0) })
				if won != 1 {
					t.Fatalf("%d of %d claims of one item won, want exactly 1", won, Racers)
				}
				if st := mustThrottle(t, s, "u"); !sameState(st, zero) {
					t.Fatalf("state %+v after the race, want zero", st)
				}
			})
		})
	}

	t.Run("TOTPNotFound", func(t *testing.T) {
		s := newStore(t)
		mustSwap(t, s, "nobody", zero, three)
		if ok, err := s.AdvanceTOTPStepAndResetThrottle(ctx, "nobody", claimStep(0)); ok || !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("AdvanceTOTPStepAndResetThrottle without a record = %v, %v; want false, ErrNotFound", ok, err)
		}
		if st := mustThrottle(t, s, "nobody"); !sameState(st, three) {
			t.Fatalf("a claim without a record changed the state to %+v", st)
		}
	})

	t.Run("NotAfterStep", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "u", Account: "a", Active: secret(1, when)})
		if ok, err := s.AdvanceTOTPStep(ctx, "u", claimStep(5)); !ok || err != nil {
			t.Fatal(ok, err)
		}
		mustSwap(t, s, "u", zero, three)
		for _, step := range []int64{claimStep(4), claimStep(5)} {
			if ok, err := s.AdvanceTOTPStepAndResetThrottle(ctx, "u", step); ok || err != nil {
				t.Fatalf("step %d at or before the last = %v, %v; want false, nil", step, ok, err)
			}
		}
		if st := mustThrottle(t, s, "u"); !sameState(st, three) {
			t.Fatalf("a step not advanced changed the state to %+v", st)
		}
	})
}
