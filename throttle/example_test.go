package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

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
