// Package fake has the stand-ins tests share: a clock the test moves by
// hand, and a fast hash in place of argon2id.
package fake

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/twofa-go/twofa/backup"
)

// Clock is a clock that moves only when the test moves it. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's reading, for a Config's Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FastHash stands in for argon2id as backup.Config.Hash where a test makes
// many sets of codes and the KDF's cost is not what it checks.
func FastHash(code, salt []byte, _ backup.Params) []byte {
	h := sha256.Sum256(append(append([]byte{}, salt...), code...))
	return h[:]
}
