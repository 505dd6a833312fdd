package backup

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// A Gate bounds the argon2id work of the Services that share it. It lets
// a fixed number of evaluations run at once — each holds 19 MiB by default,
// so the number bounds the memory the KDF can take — and lets each user
// make one set at a time. Verify and Generate both pass through it.
//
// The bound only holds process-wide if every Service in the process shares
// one Gate. A Service built with a nil Config.Gate uses the process's own
// gate ([DefaultGate]), so that is what happens unless a Config says
// otherwise; two gates in one process add up.
type Gate struct {
	slots chan struct{}

	mu     sync.Mutex
	making map[string]struct{} // users with a set being made
}

// NewGate returns a gate that lets n argon2id evaluations run at once; n
// below 1 means GOMAXPROCS, as many as can run in parallel anyway.
func NewGate(n int) *Gate {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Gate{slots: make(chan struct{}, n), making: map[string]struct{}{}}
}

// defaultGate is the one package-level value in backup: a bound on the
// process's memory has to be shared by the whole process.
var defaultGate = sync.OnceValue(func() *Gate { return NewGate(0) })

// DefaultGate returns the gate of every Service built without one: it has
// GOMAXPROCS slots, as read at its first use.
func DefaultGate() *Gate { return defaultGate() }

// Slots returns how many argon2id evaluations may run at once through g.
func (g *Gate) Slots() int { return cap(g.slots) }

// acquire waits for a slot or for ctx to end. A caller whose context has
// ended gets its error, never a slot, even when one is free.
func (g *Gate) acquire(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("backup: waiting for the KDF: %w", ctx.Err())
	}
	// A select with both cases ready picks one at random: give back a slot
	// taken by a context that had ended.
	if err := ctx.Err(); err != nil {
		g.release()
		return fmt.Errorf("backup: waiting for the KDF: %w", err)
	}
	return nil
}

func (g *Gate) release() { <-g.slots }

// begin claims userID's one generation in flight; it reports false, at
// once, if another is under way.
func (g *Gate) begin(userID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, busy := g.making[userID]; busy {
		return false
	}
	g.making[userID] = struct{}{}
	return true
}

func (g *Gate) end(userID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.making, userID)
}

// hash runs the configured Hasher in one of the gate's slots.
func (s *Service) hash(ctx context.Context, code, salt []byte, p Params) ([]byte, error) {
	if err := s.cfg.Gate.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.cfg.Gate.release()
	return s.cfg.Hash(code, salt, p), nil
}
