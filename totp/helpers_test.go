package totp_test

import (
	"context"
	"encoding/base32"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/totp"
)

// sess is the session ID that tests begin and confirm set-ups in.
const sess = "session-a"

func newClock() *fake.Clock { return fake.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) }

// backend is a store under test.
type backend = testdb.Backend

// forEachBackend runs f once per store.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) { testdb.ForEach(t, f) }

func newRing(t testing.TB, ids ...string) (*keyring.Ring, []keyring.Key) {
	t.Helper()
	var keys []keyring.Key
	for _, id := range ids {
		k, err := keyring.NewKey(id)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	r, err := keyring.New(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return r, keys
}

// fixture is a service with its collaborators exposed.
type fixture struct {
	svc    *totp.Service
	store  storage.Store
	clock  *fake.Clock
	events *fake.Events
	ring   *keyring.Ring
	// enrolled is the set-up of the test's main user, where a test keeps it.
	enrolled *totp.Enrollment
}

func newFixture(t *testing.T, store storage.Store, mod ...func(*totp.Config)) *fixture {
	t.Helper()
	ring, _ := newRing(t, "k1")
	f := &fixture{store: store, clock: newClock(), events: &fake.Events{}, ring: ring}
	cfg := totp.Config{Issuer: "Example", Store: store, Keys: ring, Now: f.clock.Now, Events: f.events.Hook}
	for _, m := range mod {
		m(&cfg)
	}
	svc, err := totp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// codeAt computes what the user's app shows at time at.
func codeAt(t testing.TB, e *totp.Enrollment, at time.Time) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := totp.GenerateCode(e.Algorithm, raw, e.Digits, uint64(at.Unix()/int64(e.Period/time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enroll sets up and confirms the method for user, with the clock moved one
// period on so the confirming code is out of the way.
func (f *fixture) enroll(t *testing.T, user string) *totp.Enrollment {
	t.Helper()
	ctx := context.Background()
	e, err := f.svc.Begin(ctx, user, user+"@example.com", sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Confirm(ctx, user, sess, codeAt(t, e, f.clock.Now())); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	f.clock.Add(e.Period)
	return e
}

func itoa(i int) string { return strconv.Itoa(i) }

func b32(raw []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}

func b32dec(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
