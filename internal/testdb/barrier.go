package testdb

import (
	"sync"
	"sync/atomic"
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
