package httpmw_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// counting counts the reads of the store a request can make.
type counting struct {
	storage.Store
	n atomic.Int64
}

func (c *counting) TOTP(ctx context.Context, u string) (storage.TOTPRecord, error) {
	c.n.Add(1)
	return c.Store.TOTP(ctx, u)
}
func (c *counting) BackupSet(ctx context.Context, u string) (storage.BackupSet, error) {
	c.n.Add(1)
	return c.Store.BackupSet(ctx, u)
}
func (c *counting) Email(ctx context.Context, u string) (storage.EmailState, error) {
	c.n.Add(1)
	return c.Store.Email(ctx, u)
}
func (c *counting) Throttle(ctx context.Context, u string) (storage.ThrottleState, error) {
	c.n.Add(1)
	return c.Store.Throttle(ctx, u)
}
func (c *counting) WebAuthnCredentials(ctx context.Context, u string) ([]storage.WebAuthnCredential, error) {
	c.n.Add(1)
	return c.Store.WebAuthnCredentials(ctx, u)
}
func (c *counting) BrowserByHash(ctx context.Context, h []byte) (storage.Browser, error) {
	c.n.Add(1)
	return c.Store.BrowserByHash(ctx, h)
}
func (c *counting) Browsers(ctx context.Context, u string) ([]storage.Browser, error) {
	c.n.Add(1)
	return c.Store.Browsers(ctx, u)
}

// passedRequest returns a middleware over store and a request from a
// session that passed the second step with the app.
func passedRequest(tb testing.TB, store storage.Store) (*httpmw.Middleware, *http.Request) {
	key, _ := keyring.NewKey("k1")
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: ring})
	if err != nil {
		tb.Fatal(err)
	}
	markKey := make([]byte, 32)
	rand.Read(markKey)
	sessionID := func(r *http.Request) string {
		if c, err := r.Cookie("sid"); err == nil {
			return c.Value
		}
		return ""
	}
	session := &httpmw.CookieSession{Key: markKey, SessionID: sessionID}
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://example.com",
		User: func(r *http.Request) (string, string, bool) {
			if sessionID(r) == "s1" {
				return "alice", "alice@example.com", true
			}
			return "", "", false
		},
		Session: session,
	})
	if err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://example.com/account", nil)
	r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	w := httptest.NewRecorder()
	if err := session.SetMark(w, r, httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return mw, r
}

// A session past the second step reaches its page without the store.
func TestPassedPathSkipsStore(t *testing.T) {
	store := &counting{Store: memory.New()}
	mw, r := passedRequest(t, store)
	ok := 0
	h := mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ok++ }))
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if ok != 10 || store.n.Load() != 0 {
		t.Fatalf("passed %d of 10, with %d store reads; want 10 and none", ok, store.n.Load())
	}
	// The same request without its mark reads the store (and passes: alice
	// has no method), so the counter counts.
	bare := httptest.NewRequest("GET", "https://example.com/account", nil)
	bare.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	h.ServeHTTP(httptest.NewRecorder(), bare)
	if store.n.Load() == 0 {
		t.Fatal("a request without a mark read nothing: the counter is broken")
	}
}

// BenchmarkHandlerPassed measures what the middleware adds to a request
// from a session past the second step, against the bare handler.
func BenchmarkHandlerPassed(b *testing.B) {
	mw, r := passedRequest(b, memory.New())
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", next}, {"middleware", mw.Handler(next)}} {
		b.Run(c.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, r)
			}
			if w.Code != http.StatusNoContent {
				b.Fatalf("answered %d", w.Code)
			}
		})
	}
}
