package remember_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

var ctx = context.Background()

const day = 24 * time.Hour

type fixture struct {
	svc    *remember.Service
	store  *memory.Store
	clock  *fake.Clock
	events fake.Events
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), clock: fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	svc, err := remember.New(remember.Config{
		Store:  f.store,
		Now:    f.clock.Now,
		Events: f.events.Hook,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) remember(t *testing.T, userID string) string {
	t.Helper()
	token, err := f.svc.Remember(ctx, userID, "Firefox on Linux")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestSlidingWindow(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")

	// Used on day 27: still remembered, and the 28 days start again.
	f.clock.Add(27 * day)
	if err := f.svc.Check(ctx, "alice", token); err != nil {
		t.Fatalf("day 27: %v", err)
	}
	f.clock.Add(27 * day)
	if err := f.svc.Check(ctx, "alice", token); err != nil {
		t.Fatalf("day 27 after the last use: %v", err)
	}

	// 28 days without use: forgotten, and gone from the store.
	f.clock.Add(28 * day)
	if err := f.svc.Check(ctx, "alice", token); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("after 28 idle days: %v, want ErrNotRemembered", err)
	}
	if list, _ := f.store.Browsers(ctx, "alice"); len(list) != 0 {
		t.Fatalf("expired browser still stored: %+v", list)
	}
	// Even with the clock turned back, it stays forgotten.
	f.clock.Add(-28 * day)
	if err := f.svc.Check(ctx, "alice", token); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("expired token passed later: %v", err)
	}
}

func TestWindowIsConfigurable(t *testing.T) {
	f := newFixture(t)
	svc, err := remember.New(remember.Config{Store: f.store, Now: f.clock.Now, Window: 7 * day})
	if err != nil {
		t.Fatal(err)
	}
	token, err := svc.Remember(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(7*day - time.Second)
	if err := svc.Check(ctx, "alice", token); err != nil {
		t.Fatalf("within the window: %v", err)
	}
	f.clock.Add(7 * day)
	if err := svc.Check(ctx, "alice", token); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("past the window: %v", err)
	}
	if _, err := remember.New(remember.Config{Store: f.store, Window: -time.Hour}); err == nil {
		t.Fatal("a negative window was accepted")
	}
	if _, err := remember.New(remember.Config{}); err == nil {
		t.Fatal("a missing store was accepted")
	}
}

func TestTokenStaysWithItsUser(t *testing.T) {
	f := newFixture(t)
	alice := f.remember(t, "alice")
	if err := f.svc.Check(ctx, "bob", alice); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("alice's token for bob: %v, want ErrNotRemembered", err)
	}
	// Bob's attempt neither revokes alice's browser nor logs her out of it.
	if err := f.svc.Forget(ctx, "bob", alice); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Check(ctx, "alice", alice); err != nil {
		t.Fatalf("alice's own token after bob presented it: %v", err)
	}
	if err := f.svc.Revoke(ctx, "bob", onlyID(t, f, "alice")); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Check(ctx, "alice", alice); err != nil {
		t.Fatalf("bob revoked alice's browser by its id: %v", err)
	}
}

func onlyID(t *testing.T, f *fixture, userID string) string {
	t.Helper()
	list, err := f.svc.List(ctx, userID)
	if err != nil || len(list) != 1 {
		t.Fatalf("List(%s) = %+v, %v; want one browser", userID, list, err)
	}
	return list[0].ID
}

func TestMalformedTokens(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	for _, bad := range []string{
		"", "x", token + "A", token[:len(token)-1], strings.ToUpper(token), "\xff\xfe",
		strings.Repeat("A", 1<<16), base64.RawURLEncoding.EncodeToString(raw[:31]),
		base64.StdEncoding.EncodeToString(raw), " " + token,
		// The base64 decoder skips CR and LF: found by FuzzCheckToken.
		token + "\n", token[:20] + "\r\n" + token[20:], "\n" + token,
	} {
		if err := f.svc.Check(ctx, "alice", bad); !errors.Is(err, remember.ErrNotRemembered) {
			t.Errorf("Check(%.20q): %v, want ErrNotRemembered", bad, err)
		}
		if err := f.svc.Forget(ctx, "alice", bad); err != nil {
			t.Errorf("Forget(%.20q): %v", bad, err)
		}
	}
	if err := f.svc.Check(ctx, "alice", token); err != nil {
		t.Fatalf("the real token after bad ones: %v", err)
	}
}

func TestOnlyTheHashIsStored(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	if len(raw) < 16 {
		t.Fatalf("token has %d bytes, want at least 128 bits", len(raw))
	}
	list, _ := f.store.Browsers(ctx, "alice")
	if len(list) != 1 {
		t.Fatalf("stored %d browsers", len(list))
	}
	b := list[0]
	sum := sha256.Sum256(raw)
	if !bytes.Equal(b.Hash, sum[:]) {
		t.Fatal("stored hash is not the token's SHA-256")
	}
	for _, field := range []string{b.ID, b.Label, b.UserID} {
		if strings.Contains(field, token) || strings.Contains(token, field) && len(field) > 8 {
			t.Fatalf("a stored field holds the token: %q", field)
		}
	}
	for _, e := range f.events.All() {
		if strings.Contains(e.Reason, token) {
			t.Fatalf("event holds the token: %+v", e)
		}
	}
	// Two browsers get different tokens.
	if other := f.remember(t, "alice"); other == token {
		t.Fatal("two browsers got the same token")
	}
}

func TestListRevokeForget(t *testing.T) {
	f := newFixture(t)
	first := f.remember(t, "alice")
	f.clock.Add(time.Hour)
	second := f.remember(t, "alice")
	f.clock.Add(time.Hour)
	third := f.remember(t, "alice")
	bobs := f.remember(t, "bob")

	list, err := f.svc.List(ctx, "alice")
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if !list[0].Created.Before(list[1].Created) || list[0].Expires != list[0].LastUsed.Add(remember.DefaultWindow) {
		t.Fatalf("list order or expiry wrong: %+v", list)
	}

	// Revoking by id from the list.
	if err := f.svc.Revoke(ctx, "alice", list[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Check(ctx, "alice", second); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("revoked browser: %v", err)
	}
	// Logging out on a browser forgets it.
	if err := f.svc.Forget(ctx, "alice", first); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Check(ctx, "alice", first); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("forgotten browser: %v", err)
	}
	if err := f.svc.Check(ctx, "alice", third); err != nil {
		t.Fatalf("the browser left: %v", err)
	}
	// All at once, and only alice's.
	if err := f.svc.RevokeAll(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Check(ctx, "alice", third); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("after RevokeAll: %v", err)
	}
	if err := f.svc.Check(ctx, "bob", bobs); err != nil {
		t.Fatalf("bob's browser after alice's RevokeAll: %v", err)
	}
}

func TestListDropsExpired(t *testing.T) {
	f := newFixture(t)
	f.remember(t, "alice")
	f.clock.Add(20 * day)
	f.remember(t, "alice")
	f.clock.Add(10 * day)
	list, err := f.svc.List(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("List after the first expired = %+v, %v; want one", list, err)
	}
	if stored, _ := f.store.Browsers(ctx, "alice"); len(stored) != 1 {
		t.Fatalf("the expired browser is still stored: %d", len(stored))
	}
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	if err := f.svc.Forget(ctx, "alice", token); err != nil {
		t.Fatal(err)
	}
	events := f.events.All()
	if len(events) != 2 || events[0].Kind != event.Remembered || events[1].Kind != event.Forgotten ||
		events[1].UserID != "alice" || events[0].Method != remember.Method {
		t.Fatalf("events = %+v", events)
	}
}

// failing fails every call of the browser store.
type failing struct{ storage.BrowserStore }

var errDown = errors.New("store down")

func (failing) BrowserByHash(context.Context, []byte) (storage.Browser, error) {
	return storage.Browser{}, errDown
}
func (failing) Browsers(context.Context, string) ([]storage.Browser, error) { return nil, errDown }
func (failing) AddBrowser(context.Context, storage.Browser, int) error      { return errDown }
func (failing) TouchBrowser(context.Context, string, string, time.Time) error {
	return errDown
}
func (failing) DeleteBrowser(context.Context, string, string) error { return errDown }
func (failing) DeleteBrowsers(context.Context, string) error        { return errDown }

// touchFails reads from a working store and fails to write.
type touchFails struct{ storage.BrowserStore }

func (touchFails) TouchBrowser(context.Context, string, string, time.Time) error { return errDown }

func TestStoreFailureDenies(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	for name, store := range map[string]storage.BrowserStore{"failing": failing{}, "touch fails": touchFails{f.store}} {
		svc, err := remember.New(remember.Config{Store: store, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Check(ctx, "alice", token); err == nil || errors.Is(err, remember.ErrNotRemembered) || !errors.Is(err, errDown) {
			t.Errorf("%s: Check = %v, want the store error", name, err)
		}
		if _, err := svc.Remember(ctx, "alice", "x"); name == "failing" && !errors.Is(err, errDown) {
			t.Errorf("%s: Remember = %v, want the store error", name, err)
		}
	}
}

// A clock no store can trust denies, and writes nothing: remembering a
// browser at such a time, or sliding its window from it, would make its
// expiry meaningless.
func TestBrokenClockDenies(t *testing.T) {
	for name, at := range map[string]time.Time{
		"zero":        {},
		"before 1970": time.Unix(-1, 0),
		"after 2262":  time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			token := f.remember(t, "alice")
			before, _ := f.store.Browsers(ctx, "alice")
			svc, err := remember.New(remember.Config{Store: f.store, Now: func() time.Time { return at }})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Check(ctx, "alice", token); !errors.Is(err, remember.ErrClock) || !errors.Is(err, storage.ErrInvalidTime) {
				t.Errorf("Check: %v, want ErrClock and storage.ErrInvalidTime", err)
			}
			if tok, err := svc.Remember(ctx, "alice", "x"); !errors.Is(err, remember.ErrClock) || !errors.Is(err, storage.ErrInvalidTime) || tok != "" {
				t.Errorf("Remember: %q, %v; want ErrClock and storage.ErrInvalidTime", tok, err)
			}
			if _, err := svc.List(ctx, "alice"); !errors.Is(err, remember.ErrClock) {
				t.Errorf("List: %v, want ErrClock", err)
			}
			after, _ := f.store.Browsers(ctx, "alice")
			if len(after) != 1 || !after[0].LastUsed.Equal(before[0].LastUsed) {
				t.Fatalf("a broken clock changed the store: %+v, was %+v", after, before)
			}
			// The token still works once the clock is right.
			if err := f.svc.Check(ctx, "alice", token); err != nil {
				t.Fatalf("Check with a good clock after: %v", err)
			}
		})
	}
}

// refuseAll fails the test on any call: a bad user ID must be refused
// before the store is asked.
type refuseAll struct {
	storage.BrowserStore
	t *testing.T
}

func (s refuseAll) fail() { s.t.Helper(); s.t.Error("the store was called") }
func (s refuseAll) BrowserByHash(context.Context, []byte) (storage.Browser, error) {
	s.fail()
	return storage.Browser{}, errDown
}
func (s refuseAll) Browsers(context.Context, string) ([]storage.Browser, error) {
	s.fail()
	return nil, errDown
}
func (s refuseAll) AddBrowser(context.Context, storage.Browser, int) error {
	s.fail()
	return errDown
}
func (s refuseAll) TouchBrowser(context.Context, string, string, time.Time) error {
	s.fail()
	return errDown
}
func (s refuseAll) DeleteBrowser(context.Context, string, string) error { s.fail(); return errDown }
func (s refuseAll) DeleteBrowsers(context.Context, string) error        { s.fail(); return errDown }

// Every entry point applies the one rule for user IDs before the store.
func TestInvalidUserIDs(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	svc, err := remember.New(remember.Config{Store: refuseAll{t: t}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{
		"empty": "", "NUL": "a\x00b", "not UTF-8": "a\xffb", "256 bytes": strings.Repeat("u", 256),
	} {
		t.Run(name, func(t *testing.T) {
			for call, err := range map[string]error{
				"Remember":  func() error { tok, err := svc.Remember(ctx, id, "x"); _ = tok; return err }(),
				"Check":     svc.Check(ctx, id, token),
				"Forget":    svc.Forget(ctx, id, token),
				"List":      func() error { _, err := svc.List(ctx, id); return err }(),
				"Revoke":    svc.Revoke(ctx, id, "x"),
				"RevokeAll": svc.RevokeAll(ctx, id),
			} {
				if !errors.Is(err, storage.ErrInvalidUserID) {
					t.Errorf("%s: %v, want storage.ErrInvalidUserID", call, err)
				}
			}
		})
	}
	// Against a real store: nothing is kept for the empty user ID.
	if _, err := f.svc.Remember(ctx, "", "x"); !errors.Is(err, storage.ErrInvalidUserID) {
		t.Fatalf("Remember for the empty user ID: %v", err)
	}
	if list, _ := f.store.Browsers(ctx, ""); len(list) != 0 {
		t.Fatalf("a browser was stored for the empty user ID: %+v", list)
	}
}

func TestRevokedWhileChecking(t *testing.T) {
	f := newFixture(t)
	token := f.remember(t, "alice")
	svc, _ := remember.New(remember.Config{Store: revokeOnRead{f.store}, Now: f.clock.Now})
	if err := svc.Check(ctx, "alice", token); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("browser revoked between read and touch: %v", err)
	}
}

// revokeOnRead deletes every browser it hands out, as a concurrent revoke
// would right after the read.
type revokeOnRead struct{ *memory.Store }

func (s revokeOnRead) BrowserByHash(ctx context.Context, h []byte) (storage.Browser, error) {
	b, err := s.Store.BrowserByHash(ctx, h)
	if err == nil {
		_ = s.Store.DeleteBrowsers(ctx, b.UserID)
	}
	return b, err
}

func TestLabel(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"curl/8.5.0", "Unknown browser"},
		{"", "Unknown browser"},
		{"\xff\xfe Windows", "A browser on Windows"},
	} {
		if got := remember.Label(c.ua); got != c.want {
			t.Errorf("Label(%.40q) = %q, want %q", c.ua, got, c.want)
		}
	}
}

// A user has at most MaxBrowsers remembered; one more forgets the least
// recently used, on every store, and its token stops passing.
func TestBrowserCap(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
		svc, err := remember.New(remember.Config{Store: store, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		var tokens []string
		for range remember.DefaultMaxBrowsers {
			tok, err := svc.Remember(ctx, "alice", "x")
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
			clock.Add(time.Minute)
		}
		bobs, err := svc.Remember(ctx, "bob", "x")
		if err != nil {
			t.Fatal(err)
		}
		// The oldest is used again, so the second oldest is now the least
		// recently used.
		if err := svc.Check(ctx, "alice", tokens[0]); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute)
		newest, err := svc.Remember(ctx, "alice", "x")
		if err != nil {
			t.Fatal(err)
		}
		list, err := svc.List(ctx, "alice")
		if err != nil || len(list) != remember.DefaultMaxBrowsers {
			t.Fatalf("List after %d remembers: %d browsers, %v; want %d", remember.DefaultMaxBrowsers+1, len(list), err, remember.DefaultMaxBrowsers)
		}
		if err := svc.Check(ctx, "alice", tokens[1]); !errors.Is(err, remember.ErrNotRemembered) {
			t.Fatalf("the least recently used browser: %v, want ErrNotRemembered", err)
		}
		for i, tok := range append(append([]string{tokens[0]}, tokens[2:]...), newest) {
			if err := svc.Check(ctx, "alice", tok); err != nil {
				t.Fatalf("browser %d kept: %v", i, err)
			}
		}
		if err := svc.Check(ctx, "bob", bobs); err != nil {
			t.Fatalf("bob's browser after alice's cap: %v", err)
		}
	})
}

func TestMaxBrowsersConfig(t *testing.T) {
	f := newFixture(t)
	svc, err := remember.New(remember.Config{Store: f.store, Now: f.clock.Now, MaxBrowsers: 1})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := svc.Remember(ctx, "alice", "x")
	second, _ := svc.Remember(ctx, "alice", "x")
	if err := svc.Check(ctx, "alice", first); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("MaxBrowsers 1 kept the first browser: %v", err)
	}
	if err := svc.Check(ctx, "alice", second); err != nil {
		t.Fatalf("MaxBrowsers 1 dropped the newest: %v", err)
	}
	for _, n := range []int{-1, 1001} {
		if _, err := remember.New(remember.Config{Store: f.store, MaxBrowsers: n}); err == nil {
			t.Errorf("MaxBrowsers %d accepted", n)
		}
	}
}

// TestWhich finds the ID of the browser holding a token, as List shows it,
// for its own user only.
func TestWhich(t *testing.T) {
	f := newFixture(t)
	first := f.remember(t, "alice")
	f.clock.Add(time.Minute) // List is oldest first
	second := f.remember(t, "alice")
	list, err := f.svc.List(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("List: %v, %v", list, err)
	}
	for i, token := range []string{first, second} {
		id, err := f.svc.Which(ctx, "alice", token)
		if err != nil || id != list[i].ID {
			t.Errorf("Which of browser %d: %q, %v; want %q", i, id, err, list[i].ID)
		}
	}
	for _, tc := range []struct{ user, token string }{
		{"bob", first},             // another user's token
		{"alice", "not-a-token"},   // no token at all
		{"alice", flipLast(first)}, // one character off
	} {
		if id, err := f.svc.Which(ctx, tc.user, tc.token); !errors.Is(err, remember.ErrNotRemembered) || id != "" {
			t.Errorf("Which(%q, %q) = %q, %v; want ErrNotRemembered", tc.user, tc.token, id, err)
		}
	}
}

// flipLast returns token with its last character changed.
func flipLast(token string) string {
	c := byte('A')
	if token[len(token)-1] == c {
		c = 'B'
	}
	return token[:len(token)-1] + string(c)
}
