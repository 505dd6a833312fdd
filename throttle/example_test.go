package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
)

// An attacker who guesses as fast as the default policy allows: five free
// failures, waits that double, a lock of an hour at 20 failures that ends
// by itself, and at 100 a lock that only an administrator lifts.
func ExampleLimiter() {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	start := now
	l, err := throttle.New(memory.New(), throttle.Policy{}, func() time.Time { return now })
	if err != nil {
		panic(err)
	}
	guesses := 0
	for {
		err := l.Attempt(ctx, "user-42")
		var te *throttle.Error
		switch {
		case err == nil:
			guesses++ // the guess is checked here, and is wrong
			if until, locked, _ := l.Lock(ctx, "user-42"); locked && !until.IsZero() {
				fmt.Printf("after %d failures: locked for %v\n", guesses, until.Sub(now))
			}
			continue
		case errors.As(err, &te) && te.Locked:
			fmt.Printf("after %d failures, %v later: locked until an administrator unlocks\n", guesses, now.Sub(start).Round(time.Hour))
		case errors.As(err, &te):
			now = te.RetryAt
			continue
		}
		break
	}
	_ = l.Unlock(ctx, "user-42")
	fmt.Println("after Unlock:", l.Attempt(ctx, "user-42"))
	// Output:
	// after 20 failures: locked for 1h0m0s
	// after 30 failures: locked for 2h0m0s
	// after 40 failures: locked for 4h0m0s
	// after 50 failures: locked for 8h0m0s
	// after 60 failures: locked for 16h0m0s
	// after 70 failures: locked for 32h0m0s
	// after 80 failures: locked for 64h0m0s
	// after 90 failures: locked for 128h0m0s
	// after 100 failures, 275h0m0s later: locked until an administrator unlocks
	// after Unlock: <nil>
}

// A factor's check in three store calls: the record read with the user's
// throttle state, the attempt counted from that state before the code is
// looked at, and the single-use write that clears the count with it, when
// the limiter counts in the factor's own store.
func ExampleLimiter_AttemptFrom() {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	store := memory.New()
	l, err := throttle.New(store, throttle.Policy{}, func() time.Time { return now })
	if err != nil {
		panic(err)
	}
	if _, err := store.PutTOTP(ctx, storage.TOTPRecord{UserID: "user-42", Account: "jane"}); err != nil {
		panic(err)
	}
	fmt.Println("counts in the store:", l.CountsIn(store))
	for _, right := range []bool{false, false, true} {
		rec, err := store.TOTP(ctx, "user-42") // the record, and rec.Throttle
		if err != nil {
			panic(err)
		}
		if err := l.AttemptFrom(ctx, "user-42", rec.Throttle); err != nil {
			fmt.Println("refused:", err)
			continue
		}
		if !right {
			fmt.Println("wrong code; failures before it:", rec.Throttle.Failures)
			continue
		}
		now = now.Add(30 * time.Second)
		ok, err := store.AdvanceTOTPStepAndResetThrottle(ctx, "user-42", now.Unix())
		st, _ := store.Throttle(ctx, "user-42")
		fmt.Println("right code:", ok, err, "failures after it:", st.Failures)
	}
	// Output:
	// counts in the store: true
	// wrong code; failures before it: 0
	// wrong code; failures before it: 1
	// right code: true <nil> failures after it: 0
}
