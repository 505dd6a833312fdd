package httpmw_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// verifyRig is a middleware over store with alice logged in (session
// "s1") and her authenticator app set up.
type verifyRig struct {
	tf     *twofa.Service
	mw     *httpmw.Middleware
	h      http.Handler
	clock  *fake.Clock
	secret string
}

func newVerifyRig(tb testing.TB, store storage.Store) *verifyRig {
	key, _ := keyring.NewKey("k1")
	ring, _ := keyring.New(key)
	clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: ring, Now: clock.Now,
		WebAuthn: webauthn.Config{RPID: "example.com", Origins: []string{"https://example.com"}}})
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
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://example.com",
		User: func(r *http.Request) (string, string, bool) {
			if sessionID(r) == "s1" {
				return "alice", "alice@example.com", true
			}
			return "", "", false
		},
		Session: &httpmw.CookieSession{Key: markKey, SessionID: sessionID},
		// A passkey signs alice in to the one session there is.
		LogIn: func(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", Path: "/"})
			return r, nil
		},
		Now: clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := tf.TOTP.Begin(ctx, "alice", "alice", "setup")
	if err != nil {
		tb.Fatal(err)
	}
	if err := tf.TOTP.Confirm(ctx, "alice", "setup", fake.AppCode(tb, e.Secret, clock.Now())); err != nil {
		tb.Fatal(err)
	}
	return &verifyRig{tf: tf, mw: mw, h: mw.Pages(), clock: clock, secret: e.Secret}
}

// verify sends code through the form (json false) or the API, and returns
// the status.
func (v *verifyRig) verify(json bool, code string) int {
	var r *http.Request
	if json {
		r = httptest.NewRequest("POST", "https://example.com/2fa/api/verify", strings.NewReader(`{"code":"`+code+`"}`))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest("POST", "https://example.com/2fa/verify", strings.NewReader(url.Values{"code": {code}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	w := httptest.NewRecorder()
	v.h.ServeHTTP(w, r)
	return w.Code
}

// next moves the clock on to the app's next code and returns it.
func (v *verifyRig) next(tb testing.TB) string {
	v.clock.Add(30 * time.Second)
	return fake.AppCode(tb, v.secret, v.clock.Now())
}

// The JSON layer adds no store round trip: a verify through the API calls
// the store exactly as often as the same verify through the form, right
// code or wrong.
func TestVerifyJSONStoreCalls(t *testing.T) {
	calls := func(json bool, right bool) int64 {
		store := &callCounter{Store: memory.New()}
		v := newVerifyRig(t, store)
		code := v.next(t)
		if !right {
			code = "000000"
		}
		store.n.Store(0)
		status := v.verify(json, code)
		want := map[[2]bool]int{{false, true}: http.StatusSeeOther, {true, true}: http.StatusOK,
			{false, false}: http.StatusUnauthorized, {true, false}: http.StatusUnauthorized}[[2]bool{json, right}]
		if status != want {
			t.Fatalf("json %v, right code %v: %d, want %d", json, right, status, want)
		}
		return store.n.Load()
	}
	for _, right := range []bool{true, false} {
		form, api := calls(false, right), calls(true, right)
		if form == 0 || api != form {
			t.Errorf("right code %v: %d store calls through the API, %d through the form; want the same, and some", right, api, form)
		}
	}
}

// BenchmarkVerifyForm measures a right code through the challenge form,
// each iteration with the app's next code.
func BenchmarkVerifyForm(b *testing.B) { benchVerify(b, false, http.StatusSeeOther) }

// BenchmarkVerifyJSON measures the same through the JSON API.
func BenchmarkVerifyJSON(b *testing.B) { benchVerify(b, true, http.StatusOK) }

func benchVerify(b *testing.B, json bool, want int) {
	v := newVerifyRig(b, memory.New())
	b.ReportAllocs()
	for b.Loop() {
		if got := v.verify(json, v.next(b)); got != want {
			b.Fatalf("answered %d", got)
		}
	}
}
