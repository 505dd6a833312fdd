package testdb

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twofa-go/twofa/storage"
)

// Barrier holds the first n callers of Arrive until all n have arrived. A
// race test puts it after a store read, so that every racer has read the
// same state before any of them writes: then only the store's atomic
// operation can keep a single-use thing single-use.
type Barrier struct {
	arrived sync.WaitGroup
	left    atomic.Int32
}

// NewBarrier returns a barrier for n callers.
func NewBarrier(n int) *Barrier {
	b := &Barrier{}
	b.arrived.Add(n)
	b.left.Store(int32(n))
	return b
}

// Arrive waits for the others, for the first n calls; later calls pass.
func (b *Barrier) Arrive() {
	if b.left.Add(-1) >= 0 {
		b.arrived.Done()
		b.arrived.Wait()
	}
}

// ThrottleBarrier is a store that, once armed, holds racing requests at
// their first call on the throttle: the compare-and-set that counts the
// attempt from the state read with the code's record (or, for a limiter
// that reads the state itself, that read). A code's check makes it after
// reading the record, so every racer has then read the same last used
// step, and only the store's atomic step keeps the code single-use.
type ThrottleBarrier struct {
	storage.Store
	b atomic.Pointer[Barrier]
}

// Arm holds the next n callers until all n have arrived.
func (s *ThrottleBarrier) Arm(n int) { s.b.Store(NewBarrier(n)) }

func (s *ThrottleBarrier) arrive() {
	if b := s.b.Load(); b != nil {
		b.Arrive()
	}
}

func (s *ThrottleBarrier) Throttle(ctx context.Context, userID string) (storage.ThrottleState, error) {
	st, err := s.Store.Throttle(ctx, userID)
	s.arrive()
	return st, err
}

func (s *ThrottleBarrier) SwapThrottle(ctx context.Context, userID string, old, next storage.ThrottleState) (bool, error) {
	s.arrive()
	return s.Store.SwapThrottle(ctx, userID, old, next)
}
