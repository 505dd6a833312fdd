package totp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

var ctx = context.Background()

func TestRFC4226Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for count, w := range want {
		got, err := totp.GenerateCode(totp.SHA1, secret, 6, uint64(count))
		if err != nil || got != w {
			t.Errorf("count %d: got %q, %v; want %s", count, got, err, w)
		}
	}
}

func TestRFC6238Vectors(t *testing.T) {
	secrets := map[totp.Algorithm][]byte{
		totp.SHA1:   []byte("12345678901234567890"),
		totp.SHA256: []byte("12345678901234567890123456789012"),
		totp.SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	vectors := []struct {
		time                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		for alg, want := range map[totp.Algorithm]string{totp.SHA1: v.sha1, totp.SHA256: v.sha256, totp.SHA512: v.sha512} {
			got, err := totp.GenerateCode(alg, secrets[alg], 8, uint64(v.time/30))
			if err != nil || got != want {
				t.Errorf("%v at %d: got %q, %v; want %s", alg, v.time, got, err, want)
			}
		}
	}
}

// The RFC 6238 vectors also pass through the service: a record set up with
// the RFC's parameters accepts the RFC's code at the RFC's time.
func TestRFC6238ThroughService(t *testing.T) {
	for _, alg := range []totp.Algorithm{totp.SHA1, totp.SHA256, totp.SHA512} {
		t.Run(alg.String(), func(t *testing.T) {
			f := newFixture(t, memory.New(), func(c *totp.Config) { c.Algorithm, c.Digits = alg, 8 })
			e, err := f.svc.Begin(ctx, "u", "", sess)
			if err != nil {
				t.Fatal(err)
			}
			if e.Algorithm != alg || e.Digits != 8 {
				t.Fatalf("enrollment has %v/%d", e.Algorithm, e.Digits)
			}
			if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, e, f.clock.Now())); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Minute)
			if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Our codes agree with pquerna/otp's for random secrets, times and options.
func TestMatchesPquerna(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	algs := map[totp.Algorithm]potp.Algorithm{totp.SHA1: potp.AlgorithmSHA1, totp.SHA256: potp.AlgorithmSHA256, totp.SHA512: potp.AlgorithmSHA512}
	for i := range 300 {
		secret := make([]byte, 20)
		for j := range secret {
			secret[j] = byte(r.IntN(256))
		}
		alg := totp.Algorithm(i % 3)
		digits := []int{6, 8}[i%2]
		at := time.Unix(r.Int64N(4e9), 0)
		want, err := ptotp.GenerateCodeCustom(b32(secret), at, ptotp.ValidateOpts{Period: 30, Digits: potp.Digits(digits), Algorithm: algs[alg]})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := totp.GenerateCode(alg, secret, digits, uint64(at.Unix()/30))
		if got != want {
			t.Fatalf("secret %x alg %v digits %d at %d: got %s, pquerna %s", secret, alg, digits, at.Unix(), got, want)
		}
	}
}

func TestEnrollAndVerify(t *testing.T) {
	f := newFixture(t, memory.New())
	e, err := f.svc.Begin(ctx, "alice", "alice@example.com", sess)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != 32 { // 160 bits in base32
		t.Fatalf("secret is %d base32 characters, want 32", len(e.Secret))
	}
	if e.Algorithm != totp.SHA1 || e.Digits != 6 || e.Period != 30*time.Second {
		t.Fatalf("defaults: %v/%d/%v, want SHA1/6/30s", e.Algorithm, e.Digits, e.Period)
	}
	if st, _ := f.svc.State(ctx, "alice"); st.Status != totp.StatusPending {
		t.Fatalf("status after Begin = %v, want pending", st.Status)
	}
	// Nothing is active before the confirming code.
	if err := f.svc.Verify(ctx, "alice", codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrNotEnabled) {
		t.Fatalf("Verify before confirm: %v, want ErrNotEnabled", err)
	}
	if err := f.svc.Confirm(ctx, "alice", sess, "000000"); !errors.Is(err, totp.ErrInvalidCode) && codeAt(t, e, f.clock.Now()) != "000000" {
		t.Fatalf("Confirm with a wrong code: %v", err)
	}
	code := codeAt(t, e, f.clock.Now())
	if err := f.svc.Confirm(ctx, "alice", sess, code); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	st, _ := f.svc.State(ctx, "alice")
	if st.Status != totp.StatusEnabled || st.Account != "alice@example.com" || !st.Since.Equal(f.clock.Now()) {
		t.Fatalf("state after confirm = %+v", st)
	}
	// The confirming code does not log in.
	if err := f.svc.Verify(ctx, "alice", code); !errors.Is(err, totp.ErrReplay) {
		t.Fatalf("Verify with the confirming code: %v, want ErrReplay", err)
	}
	// Once confirmed, the secret is not available again.
	if _, err := f.svc.Pending(ctx, "alice", sess); !errors.Is(err, totp.ErrNotSetUp) {
		t.Fatalf("Pending after confirm: %v, want ErrNotSetUp", err)
	}
	f.clock.Add(30 * time.Second)
	if err := f.svc.Verify(ctx, "alice", codeAt(t, e, f.clock.Now())); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := []event.Kind{event.SetupStarted, event.Failed, event.Enrolled, event.ReplayRefused, event.Verified}
	if got := f.events.Kinds(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}

// The account labels the secret in the app; what Begin accepts comes back
// from the URL unchanged, and what no URL can carry is refused.
func TestBeginAccount(t *testing.T) {
	f := newFixture(t, memory.New())
	for _, tc := range []struct{ account, want string }{
		{"jane@example.com", "jane@example.com"},
		{"  jane doe ", "jane doe"},
		{"", "u"},
		{" ", "u"},
		{"a/b#c?d%", "a/b#c?d%"},
	} {
		e, err := f.svc.Begin(ctx, "u", tc.account, sess)
		if err != nil {
			t.Fatalf("Begin(%q): %v", tc.account, err)
		}
		if e.Account != tc.want {
			t.Fatalf("Begin(%q): account %q, want %q", tc.account, e.Account, tc.want)
		}
		back, err := totp.ParseURL(e.URL())
		if err != nil || *back != *e {
			t.Fatalf("URL of Begin(%q) reads back as %+v, %v", tc.account, back, err)
		}
	}
	for _, account := range []string{"a:b", "a\x00b", "a\nb", strings.Repeat("x", 256)} {
		if _, err := f.svc.Begin(ctx, "v", account, sess); !errors.Is(err, totp.ErrBadAccount) {
			t.Errorf("Begin(%.20q): %v, want ErrBadAccount", account, err)
		}
	}
	if _, err := f.store.TOTP(ctx, "v"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a refused account left a record: %v", err)
	}
	// A user ID used as the account follows the same rule.
	if _, err := f.svc.Begin(ctx, "tenant:42", "", sess); !errors.Is(err, totp.ErrBadAccount) {
		t.Fatalf("Begin with a user ID holding a colon as account: %v, want ErrBadAccount", err)
	}
}

func TestPendingShowsSetUpAgain(t *testing.T) {
	f := newFixture(t, memory.New())
	e, _ := f.svc.Begin(ctx, "u", "u@example.com", sess)
	again, err := f.svc.Pending(ctx, "u", sess)
	if err != nil || *again != *e {
		t.Fatalf("Pending = %+v, %v; want %+v", again, err, e)
	}
	// A second Begin replaces the pending secret.
	e2, _ := f.svc.Begin(ctx, "u", "u@example.com", sess)
	if e2.Secret == e.Secret {
		t.Fatal("second Begin reused the secret")
	}
	if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrInvalidCode) {
		t.Fatalf("confirming the replaced secret: %v, want ErrInvalidCode", err)
	}
	if err := f.svc.Cancel(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusNone {
		t.Fatalf("status after cancelling a first set-up = %v", st.Status)
	}
	if _, err := f.store.TOTP(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("cancelled first set-up left a record: %v", err)
	}
}

func TestReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		e := f.enroll(t, "u")
		code := codeAt(t, e, f.clock.Now())
		if err := f.svc.Verify(ctx, "u", code); err != nil {
			t.Fatal(err)
		}
		// The same code, however spelt, is refused inside its window; the
		// spellings with spaces are the same code, not a cache miss.
		for _, again := range []string{code, " " + code, code + " ", code[:3] + " " + code[3:]} {
			if err := f.svc.Verify(ctx, "u", again); !errors.Is(err, totp.ErrReplay) {
				t.Errorf("Verify(%q) again: %v, want ErrReplay", again, err)
			}
		}
		// A code of an earlier step is refused once a later one was used.
		f.clock.Add(30 * time.Second)
		next := codeAt(t, e, f.clock.Now().Add(30*time.Second))
		if err := f.svc.Verify(ctx, "u", next); err != nil {
			t.Fatalf("next step's code: %v", err)
		}
		if cur := codeAt(t, e, f.clock.Now()); cur != next {
			if err := f.svc.Verify(ctx, "u", cur); !errors.Is(err, totp.ErrReplay) {
				t.Fatalf("current step after next was used: %v, want ErrReplay", err)
			}
		}
	})
}

func TestSkew(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		noSkew bool
		ok     bool
	}{
		{-60 * time.Second, false, false},
		{-30 * time.Second, false, true},
		{0, false, true},
		{30 * time.Second, false, true},
		{60 * time.Second, false, false},
		{-30 * time.Second, true, false},
		{30 * time.Second, true, false},
		{0, true, true},
	} {
		t.Run(fmt.Sprintf("%v/noskew=%v", tc.offset, tc.noSkew), func(t *testing.T) {
			f := newFixture(t, memory.New(), func(c *totp.Config) { c.NoSkew = tc.noSkew })
			e := f.enroll(t, "u")
			f.clock.Add(5 * time.Minute)
			code := codeAt(t, e, f.clock.Now().Add(tc.offset))
			err := f.svc.Verify(ctx, "u", code)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestMalformedInput(t *testing.T) {
	f := newFixture(t, memory.New())
	f.enroll(t, "u")
	inputs := []string{"", " ", "12345", "1234567", "12345a", "123456789", "-12345", "+123456",
		"12345\t6", "12345\n6", "１２３４５６", "123\x00456", strings.Repeat("1", 10<<10),
		strings.Repeat(" ", 10<<10) + "123456", "\xff\xfe123456", "12345\xff"}
	for _, in := range inputs {
		err := f.svc.Verify(ctx, "u", in)
		if !errors.Is(err, totp.ErrMalformed) {
			t.Errorf("Verify(%.20q): %v, want ErrMalformed", in, err)
		}
		if err != nil && len(strings.TrimSpace(in)) >= 3 && strings.Contains(err.Error(), in) {
			t.Errorf("error repeats the input: %v", err)
		}
	}
	// Malformed input is refused before anything is counted.
	if st, _ := f.store.Throttle(ctx, "u"); st.Failures != 0 {
		t.Fatalf("malformed input counted %d failures", st.Failures)
	}
	// An 8-digit code for a 6-digit record is malformed too.
	if err := f.svc.Verify(ctx, "u", "12345678"); !errors.Is(err, totp.ErrMalformed) {
		t.Fatalf("8 digits for a 6-digit record: %v", err)
	}
}

func TestConcurrentSubmissions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		e := f.enroll(t, "u")
		code := codeAt(t, e, f.clock.Now())
		const n = 50
		// Every racer reads the record before any of them writes, so the
		// service's own look at the last used step cannot tell them apart:
		// only the store's compare-and-set can.
		racing := newBarrierStore(store, n)
		g := newFixture(t, racing, func(c *totp.Config) { c.Keys, c.Now = f.ring, f.clock.Now })
		var ok atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				switch err := g.svc.Verify(ctx, "u", code); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, totp.ErrReplay), errors.Is(err, throttle.ErrThrottled):
				default:
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("unexpected error: %v", err)
		}
		if ok.Load() != 1 {
			t.Fatalf("%d of %d concurrent submissions accepted, want exactly 1", ok.Load(), n)
		}
	})
}

// barrierStore holds the first n TOTP reads until all n have happened.
type barrierStore struct {
	storage.Store
	*testdb.Barrier
}

func newBarrierStore(s storage.Store, n int) *barrierStore {
	return &barrierStore{s, testdb.NewBarrier(n)}
}

func (b *barrierStore) TOTP(ctx context.Context, userID string) (storage.TOTPRecord, error) {
	rec, err := b.Store.TOTP(ctx, userID)
	b.Arrive()
	return rec, err
}

// Two application servers, each with its own service and its own handle on
// one database: a code used on one is refused on the other, and the failure
// count is shared.
func TestTwoServers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store1, second := b.Open(t)
		store2 := second(t)
		ring, _ := newRing(t, "k1")
		clk := newClock()
		mk := func(s storage.Store) *totp.Service {
			svc, err := totp.New(totp.Config{Issuer: "X", Store: s, Keys: ring, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		a, bsvc := mk(store1), mk(store2)
		e, _ := a.Begin(ctx, "u", "", sess)
		if err := bsvc.Confirm(ctx, "u", sess, codeAt(t, e, clk.Now())); err != nil {
			t.Fatalf("confirm on the second server: %v", err)
		}
		clk.Add(30 * time.Second)
		code := codeAt(t, e, clk.Now())
		if err := a.Verify(ctx, "u", code); err != nil {
			t.Fatal(err)
		}
		if err := bsvc.Verify(ctx, "u", code); !errors.Is(err, totp.ErrReplay) {
			t.Fatalf("second server accepted a used code: %v", err)
		}

		// Throttling: failures on both servers add up to one count.
		wrong := wrongCode(t, e, clk.Now())
		var throttled error
		for i := 0; i < 12 && throttled == nil; i++ {
			svc := []*totp.Service{a, bsvc}[i%2]
			if err := svc.Verify(ctx, "u", wrong); errors.Is(err, throttle.ErrThrottled) {
				throttled = err
			}
		}
		var te *throttle.Error
		if !errors.As(throttled, &te) {
			t.Fatalf("alternating servers were never throttled: %v", throttled)
		}
		if st, _ := store1.Throttle(ctx, "u"); st.Failures != 5 {
			t.Fatalf("shared count = %d, want 5 (the free failures)", st.Failures)
		}
		if !te.RetryAt.After(clk.Now()) {
			t.Fatalf("RetryAt %v is not after now %v", te.RetryAt, clk.Now())
		}
	})
}

// wrongCode returns a well-formed code valid in no step around at.
func wrongCode(t *testing.T, e *totp.Enrollment, at time.Time) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-e.Period, 0, e.Period} {
		valid[codeAt(t, e, at.Add(d))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%0*d", e.Digits, i)
		if !valid[c] {
			return c
		}
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t, memory.New())
	e := f.enroll(t, "u")
	wrong := wrongCode(t, e, f.clock.Now())
	for i := range 5 {
		if err := f.svc.Verify(ctx, "u", wrong); !errors.Is(err, totp.ErrInvalidCode) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// Past the free failures even the right code waits.
	err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now()))
	var te *throttle.Error
	if !errors.As(err, &te) || te.Locked || !te.RetryAt.Equal(f.clock.Now().Add(time.Second)) {
		t.Fatalf("sixth attempt: %v, want a wait of 1s", err)
	}
	if f.events.Count(event.Throttled) != 1 {
		t.Fatal("no throttled event")
	}
	f.clock.Add(time.Second)
	if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// A success clears the count.
	if st, _ := f.store.Throttle(ctx, "u"); st.Failures != 0 {
		t.Fatalf("count after success = %d", st.Failures)
	}
}

func TestThrottleLocks(t *testing.T) {
	f := newFixture(t, memory.New())
	e := f.enroll(t, "u")
	var err error
	for range 100 {
		f.clock.Add(20 * time.Minute) // wait out every back-off, not a lock
		if err = f.svc.Verify(ctx, "u", wrongCode(t, e, f.clock.Now())); errors.Is(err, throttle.ErrThrottled) {
			break
		}
	}
	var te *throttle.Error
	if !errors.As(err, &te) || te.RetryAfter(f.clock.Now()) < 30*time.Minute {
		t.Fatalf("after many spaced failures: %v, want locked for a while", err)
	}
	if st, _ := f.store.Throttle(ctx, "u"); st.Failures != 20 {
		t.Fatalf("locked after %d failures, want the default 20", st.Failures)
	}
	if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); !errors.Is(err, throttle.ErrThrottled) {
		t.Fatalf("the right code while locked: %v", err)
	}
}

func TestMovePhone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		old := f.enroll(t, "u")
		neu, err := f.svc.Begin(ctx, "u", "u@example.com", sess)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusEnabled || !st.Moving {
			t.Fatalf("state while moving = %+v", st)
		}
		// The old phone keeps working; the new one does not log in yet.
		if err := f.svc.Verify(ctx, "u", codeAt(t, old, f.clock.Now())); err != nil {
			t.Fatalf("old phone during the move: %v", err)
		}
		f.clock.Add(30 * time.Second)
		if c := codeAt(t, neu, f.clock.Now()); c != codeAt(t, old, f.clock.Now()) {
			if err := f.svc.Verify(ctx, "u", c); !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("new phone before confirmation: %v", err)
			}
		}
		f.clock.Add(30 * time.Second)
		if err := f.svc.Confirm(ctx, "u", sess, codeAt(t, neu, f.clock.Now())); err != nil {
			t.Fatalf("confirm new phone: %v", err)
		}
		f.clock.Add(30 * time.Second)
		if c := codeAt(t, old, f.clock.Now()); c != codeAt(t, neu, f.clock.Now()) {
			if err := f.svc.Verify(ctx, "u", c); !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("old phone after the move: %v", err)
			}
		}
		if err := f.svc.Verify(ctx, "u", codeAt(t, neu, f.clock.Now())); err != nil {
			t.Fatalf("new phone after the move: %v", err)
		}
		if st, _ := f.svc.State(ctx, "u"); st.Moving {
			t.Fatal("still moving after confirmation")
		}
	})
}

func TestDisableEnableRemove(t *testing.T) {
	f := newFixture(t, memory.New())
	e := f.enroll(t, "u")
	if err := f.svc.Disable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.State(ctx, "u"); st.Status != totp.StatusDisabled {
		t.Fatalf("status = %v", st.Status)
	}
	if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrNotEnabled) {
		t.Fatalf("Verify while disabled: %v", err)
	}
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	// The kept secret works without a new set-up.
	if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); err != nil {
		t.Fatalf("Verify after enable: %v", err)
	}
	if err := f.svc.Remove(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Enable(ctx, "u"); !errors.Is(err, totp.ErrNotSetUp) {
		t.Fatalf("Enable after remove: %v", err)
	}
	f.clock.Add(30 * time.Second)
	if err := f.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrNotEnabled) {
		t.Fatalf("Verify after remove: %v", err)
	}
	if _, err := f.store.TOTP(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("record after remove: %v", err)
	}
	for _, k := range []event.Kind{event.Disabled, event.EnabledAgain, event.Removed} {
		if f.events.Count(k) != 1 {
			t.Errorf("%s events: %d, want 1", k, f.events.Count(k))
		}
	}
}

// A sealed secret copied onto another user's record does not open there.
func TestSealedSecretBoundToUser(t *testing.T) {
	f := newFixture(t, memory.New())
	ea := f.enroll(t, "alice")
	f.enroll(t, "bob")
	a, _ := f.store.TOTP(ctx, "alice")
	b, _ := f.store.TOTP(ctx, "bob")
	b.Active.Sealed = a.Active.Sealed
	if _, err := f.store.PutTOTP(ctx, b); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Verify(ctx, "bob", codeAt(t, ea, f.clock.Now()))
	if err == nil || !errors.Is(err, keyring.ErrOpen) {
		t.Fatalf("alice's secret on bob's record: %v, want a keyring.ErrOpen", err)
	}
}

func TestKeyRotation(t *testing.T) {
	store := memory.New()
	clk := newClock()
	old, oldKeys := newRing(t, "2025")
	svc1, _ := totp.New(totp.Config{Issuer: "X", Store: store, Keys: old, Now: clk.Now})
	e, _ := svc1.Begin(ctx, "u", "", sess)
	if err := svc1.Confirm(ctx, "u", sess, codeAt(t, e, clk.Now())); err != nil {
		t.Fatal(err)
	}
	newKey, _ := keyring.NewKey("2026")
	rotated, err := keyring.New(newKey, oldKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	evs := &fake.Events{}
	svc2, _ := totp.New(totp.Config{Issuer: "X", Store: store, Keys: rotated, Now: clk.Now, Events: evs.Hook})
	clk.Add(30 * time.Second)
	if err := svc2.Verify(ctx, "u", codeAt(t, e, clk.Now())); err != nil {
		t.Fatalf("verify under the rotated ring: %v", err)
	}
	if evs.Count(event.Resealed) != 1 {
		t.Fatalf("events %v: want one resealed", evs.Kinds())
	}
	rec, _ := store.TOTP(ctx, "u")
	if _, current, err := rotated.Open("totp/secret", "u", rec.Active.Sealed); err != nil || !current {
		t.Fatalf("stored secret not re-sealed under the primary key: current=%v err=%v", current, err)
	}
	// The old key can now be dropped.
	onlyNew, _ := keyring.New(newKey)
	svc3, _ := totp.New(totp.Config{Issuer: "X", Store: store, Keys: onlyNew, Now: clk.Now})
	clk.Add(30 * time.Second)
	if err := svc3.Verify(ctx, "u", codeAt(t, e, clk.Now())); err != nil {
		t.Fatalf("verify with only the new key: %v", err)
	}
}

// The database file never holds the secret, neither as base32 nor raw.
func TestSQLiteFileHoldsNoSecret(t *testing.T) {
	db, path := testdb.SQLite(t)
	store := testdb.Migrated(t, db, sqlstore.SQLite)
	f := newFixture(t, store)
	var enrolled []*totp.Enrollment
	for i := range 5 {
		enrolled = append(enrolled, f.enroll(t, "user"+itoa(i)))
	}
	pending, _ := f.svc.Begin(ctx, "user0", "", sess) // a pending secret too
	enrolled = append(enrolled, pending)
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var files []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err == nil {
			files = append(files, b...)
		}
	}
	if len(files) == 0 {
		t.Fatal("read nothing from the database file")
	}
	for _, e := range enrolled {
		raw, _ := b32dec(e.Secret)
		for _, needle := range [][]byte{[]byte(e.Secret), []byte(strings.ToLower(e.Secret)), raw} {
			if bytes.Contains(files, needle) {
				t.Fatalf("database file contains a secret (%d bytes)", len(needle))
			}
		}
	}
}

// failingStore fails every call.
type failingStore struct{}

var errDown = errors.New("store down")

func (failingStore) TOTP(context.Context, string) (storage.TOTPRecord, error) {
	return storage.TOTPRecord{}, errDown
}
func (failingStore) PutTOTP(context.Context, storage.TOTPRecord) (int64, error) { return 0, errDown }
func (failingStore) AdvanceTOTPStep(context.Context, string, int64) (bool, error) {
	return false, errDown
}
func (failingStore) AdvanceTOTPStepAndResetThrottle(context.Context, string, int64) (bool, error) {
	return false, errDown
}
func (failingStore) DeleteTOTP(context.Context, string) error { return errDown }
func (failingStore) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, errDown
}
func (failingStore) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	return false, errDown
}
func (failingStore) ResetThrottle(context.Context, string) error { return errDown }

// flakyStore wraps a working store and fails the calls named in fail.
type flakyStore struct {
	storage.Store
	fail string
}

func (s flakyStore) AdvanceTOTPStep(ctx context.Context, u string, step int64) (bool, error) {
	if s.fail == "advance" {
		return false, errDown
	}
	return s.Store.AdvanceTOTPStep(ctx, u, step)
}

// AdvanceTOTPStepAndResetThrottle is the advance and the reset in one:
// either failing fails it.
func (s flakyStore) AdvanceTOTPStepAndResetThrottle(ctx context.Context, u string, step int64) (bool, error) {
	if s.fail == "advance" || s.fail == "reset" {
		return false, errDown
	}
	return s.Store.AdvanceTOTPStepAndResetThrottle(ctx, u, step)
}

func (s flakyStore) SwapThrottle(ctx context.Context, u string, o, n storage.ThrottleState) (bool, error) {
	if s.fail == "swap" {
		return false, errDown
	}
	return s.Store.SwapThrottle(ctx, u, o, n)
}

func (s flakyStore) ResetThrottle(ctx context.Context, u string) error {
	if s.fail == "reset" {
		return errDown
	}
	return s.Store.ResetThrottle(ctx, u)
}

func TestStoreFailureDenies(t *testing.T) {
	ring, _ := newRing(t, "k")
	svc, err := totp.New(totp.Config{Issuer: "X", Store: failingStore{}, Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Verify":  func() error { return svc.Verify(ctx, "u", "123456") },
		"Confirm": func() error { return svc.Confirm(ctx, "u", sess, "123456") },
		"Begin":   func() error { _, err := svc.Begin(ctx, "u", "", sess); return err },
		"State":   func() error { _, err := svc.State(ctx, "u"); return err },
		"Disable": func() error { return svc.Disable(ctx, "u") },
		"Remove":  func() error { return svc.Remove(ctx, "u") },
	} {
		if err := call(); !errors.Is(err, errDown) {
			t.Errorf("%s with a failing store: %v, want the store error", name, err)
		}
	}
	// A store that fails part-way through a valid verification denies too.
	for _, fail := range []string{"advance", "swap", "reset"} {
		t.Run(fail, func(t *testing.T) {
			mem := memory.New()
			f := newFixture(t, mem)
			e := f.enroll(t, "u")
			g := newFixture(t, flakyStore{mem, fail}, func(c *totp.Config) { c.Keys = f.ring; c.Now = f.clock.Now })
			if err := g.svc.Verify(ctx, "u", codeAt(t, e, f.clock.Now())); !errors.Is(err, errDown) {
				t.Fatalf("valid code with %s failing: %v, want the store error", fail, err)
			}
		})
	}
}

func TestBrokenClockDenies(t *testing.T) {
	f := newFixture(t, memory.New())
	e := f.enroll(t, "u")
	code := codeAt(t, e, f.clock.Now())
	g := newFixture(t, f.store, func(c *totp.Config) { c.Keys = f.ring; c.Now = func() time.Time { return time.Time{} } })
	if err := g.svc.Verify(ctx, "u", code); !errors.Is(err, totp.ErrClock) {
		t.Fatalf("zero clock: %v, want ErrClock", err)
	}
}

// No event, log line or error carries a code or the secret.
func TestNothingSecretLeaks(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, memory.New())
	slogHook := event.Slog(newTextLogger(&logs))
	g := newFixture(t, f.store, func(c *totp.Config) {
		c.Keys, c.Now = f.ring, f.clock.Now
		c.Events = func(ctx context.Context, e event.Event) { f.events.Hook(ctx, e); slogHook(ctx, e) }
	})
	e, _ := g.svc.Begin(ctx, "u", "u@example.com", sess)
	var errs []string
	var codes []string
	try := func(code string) {
		codes = append(codes, strings.TrimSpace(code))
		if err := g.svc.Confirm(ctx, "u", sess, code); err != nil {
			errs = append(errs, err.Error())
		}
	}
	try(wrongCode(t, e, f.clock.Now()))
	try(codeAt(t, e, f.clock.Now()))
	f.clock.Add(30 * time.Second)
	for _, c := range []string{codeAt(t, e, f.clock.Now()), codeAt(t, e, f.clock.Now()), wrongCode(t, e, f.clock.Now())} {
		codes = append(codes, c)
		if err := g.svc.Verify(ctx, "u", c); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) < 3 {
		t.Fatalf("expected several errors, got %v", errs)
	}
	haystack := logs.String() + strings.Join(errs, "\n") + fmt.Sprintf("%+v", f.events.All())
	for _, needle := range append(codes, e.Secret, e.GroupedSecret()) {
		if strings.Contains(haystack, needle) {
			t.Fatalf("%q appears in logs, errors or events", needle)
		}
	}
	if !strings.Contains(logs.String(), "replay_refused") {
		t.Fatalf("slog adapter wrote no replay event: %s", logs.String())
	}
}

func TestNewValidates(t *testing.T) {
	ring, _ := newRing(t, "k")
	good := totp.Config{Issuer: "X", Store: memory.New(), Keys: ring}
	for name, mod := range map[string]func(*totp.Config){
		"no issuer":     func(c *totp.Config) { c.Issuer = "" },
		"no store":      func(c *totp.Config) { c.Store = nil },
		"no keys":       func(c *totp.Config) { c.Keys = nil },
		"7 digits":      func(c *totp.Config) { c.Digits = 7 },
		"bad alg":       func(c *totp.Config) { c.Algorithm = 9 },
		"sub-second":    func(c *totp.Config) { c.Period = 1500 * time.Millisecond },
		"long period":   func(c *totp.Config) { c.Period = time.Hour },
		"no throttle":   func(c *totp.Config) { c.Store = onlyTOTP{memory.New()} },
		"neg duration":  func(c *totp.Config) { c.Period = -time.Second },
		"issuer colon":  func(c *totp.Config) { c.Issuer = "Acme:Photos" },
		"issuer space":  func(c *totp.Config) { c.Issuer = " Acme" },
		"neg validity":  func(c *totp.Config) { c.SetupValidity = -time.Second },
		"long validity": func(c *totp.Config) { c.SetupValidity = 25 * time.Hour },
	} {
		cfg := good
		mod(&cfg)
		if _, err := totp.New(cfg); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
	if _, err := totp.New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

// onlyTOTP hides every capability of a store but TOTPStore.
type onlyTOTP struct{ storage.TOTPStore }
