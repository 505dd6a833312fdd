// Package fake has the stand-ins tests share: a clock the test moves by
// hand, a fast hash in place of argon2id, the phone that reads a secret off
// a set-up page, a recorder of events, and a key ring.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/totp"
)

// Ring returns a ring of one fresh key named "k1", for a test that keeps
// it no longer than itself: not keyring.Random, which twofa.New refuses
// beside a database.
func Ring(t testing.TB) *keyring.Ring {
	t.Helper()
	key, err := keyring.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

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

// pageSecret finds the grouped secret on the set-up page of httpmw (or of a
// page that keeps its id).
var pageSecret = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)

// PageSecret returns the secret shown on a set-up page's HTML, as a person
// reads it to type into an app.
func PageSecret(t testing.TB, html string) string {
	t.Helper()
	m := pageSecret.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no secret on the set-up page: %.300s", html)
	}
	return m[1]
}

// AppCode is the code an authenticator app shows at at for secret, in
// base32 and grouped or not, with every app's defaults (SHA-1, 6 digits,
// 30 s).
func AppCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(secret, " ", ""))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	code, err := totp.GenerateCode(totp.SHA1, raw, 6, uint64(at.Unix()/30))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Events records the events a service emits. It is safe for concurrent use.
type Events struct {
	mu   sync.Mutex
	list []event.Event
}

// Hook records e; pass it as a Config's Events.
func (r *Events) Hook(_ context.Context, e event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, e)
}

// All returns the events recorded so far, oldest first.
func (r *Events) All() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// Kinds returns the kinds of the events recorded so far, oldest first.
func (r *Events) Kinds() []event.Kind {
	var ks []event.Kind
	for _, e := range r.All() {
		ks = append(ks, e.Kind)
	}
	return ks
}

// Count returns how many events of kind k were recorded.
func (r *Events) Count(k event.Kind) int {
	return len(slices.DeleteFunc(r.Kinds(), func(got event.Kind) bool { return got != k }))
}

// Log is a writer for a logger that several goroutines (a server's
// handlers) write to at once, and a test reads afterwards.
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
