package throttle_test

import (
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
)

// TestLeft counts down the wrong codes before each lock, as the challenge
// tells them: to the first lock, to each later one, to the Ceiling's, and
// 0 at the Ceiling.
func TestLeft(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy throttle.Policy
		// want[i] is Left after i failures
		want map[int]int
	}{
		{"default", throttle.Policy{}, map[int]int{0: 20, 1: 19, 5: 15, 19: 1, 20: 10, 21: 9, 29: 1, 30: 10, 99: 1, 100: 0}},
		{"first lock is the last", throttle.Policy{LockAfter: 8, Ceiling: 8}, map[int]int{0: 8, 7: 1, 8: 0}},
		{"ceiling between locks", throttle.Policy{LockAfter: 10, LockEvery: 10, Ceiling: 25}, map[int]int{0: 10, 10: 10, 20: 5, 24: 1, 25: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := newLimiter(t, memory.New(), tc.policy)
			for failures := 0; failures <= 100; failures++ {
				if want, ok := tc.want[failures]; ok {
					got, err := l.Left(ctx, "u")
					if err != nil || got != want {
						t.Fatalf("after %d failures: Left = %d, %v; want %d", failures, got, err, want)
					}
				}
				// The next failure, past any wait.
				c.t = c.t.Add(8 * 24 * time.Hour)
				if err := l.Attempt(ctx, "u"); err != nil {
					break // at the Ceiling
				}
			}
		})
	}
	// Left counts nothing.
	l, _ := newLimiter(t, memory.New(), throttle.Policy{})
	for range 3 {
		if n, err := l.Left(ctx, "v"); n != 20 || err != nil {
			t.Fatalf("Left of a user with no failure: %d, %v", n, err)
		}
	}
}
