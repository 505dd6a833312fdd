package emailotp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
)

var ctx = context.Background()

const (
	addr  = "jane@example.com"
	login = "login-1" // the login attempt every test's code is sent for
)

type inbox = mailtest.Inbox

func readCode(t testing.TB, text string) string { return mailtest.ReadCode(t, text) }

type fixture struct {
	svc    *emailotp.Service
	store  storage.Store
	mail   *inbox
	now    time.Time
	mu     sync.Mutex
	events []event.Event
}

func (f *fixture) clock() time.Time { return f.now }

func newFixture(t testing.TB, store storage.Store, mod ...func(*emailotp.Config)) *fixture {
	t.Helper()
	f := &fixture{store: store, mail: &inbox{}, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	cfg := emailotp.Config{Store: store, Mailer: f.mail, Issuer: "Acme Photos", Now: f.clock,
		Events: func(_ context.Context, e event.Event) { f.mu.Lock(); f.events = append(f.events, e); f.mu.Unlock() }}
	for _, m := range mod {
		m(&cfg)
	}
	svc, err := emailotp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// count returns how many events of kind with reason were emitted.
func (f *fixture) count(kind event.Kind, reason string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.events {
		if e.Kind == kind && e.Reason == reason {
			n++
		}
	}
	return n
}

// sendCode turns the method on if needed, mails a code and reads it.
func (f *fixture) sendCode(t testing.TB, user string) string {
	t.Helper()
	if st, _ := f.svc.State(ctx, user); st.Status == emailotp.StatusNone {
		if err := f.svc.Enable(ctx, user); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Send(ctx, user, addr, login); err != nil {
		t.Fatalf("send: %v", err)
	}
	return readCode(t, f.mail.Last(t).Text)
}

func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestSendAndVerify(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	m := f.mail.Last(t)
	if m.To != addr || !strings.Contains(m.Subject, "Acme Photos") || !strings.Contains(m.HTML, code) ||
		!strings.Contains(m.Text, "15 minutes") || !strings.Contains(m.Text, "did not try to sign in") {
		t.Fatalf("message: %+v", m)
	}
	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrInvalidCode) {
		t.Fatalf("second use: %v, want ErrInvalidCode", err)
	}
}

func TestValidity(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{14*time.Minute + 59*time.Second, true}, {15 * time.Minute, false}, {time.Hour, false}} {
		t.Run(tc.after.String(), func(t *testing.T) {
			f := newFixture(t, memory.New())
			code := f.sendCode(t, "u")
			f.now = f.now.Add(tc.after)
			err := f.svc.Verify(ctx, "u", login, code)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, emailotp.ErrExpired) {
				t.Fatalf("after %v: %v, want ok=%v", tc.after, err, tc.ok)
			}
		})
	}
	// The one setting NIST's 10 minutes needs.
	f := newFixture(t, memory.New(), func(c *emailotp.Config) { c.Validity = 10 * time.Minute })
	code := f.sendCode(t, "u")
	f.now = f.now.Add(10 * time.Minute)
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrExpired) {
		t.Fatalf("10-minute validity at 10:00: %v", err)
	}
}

func TestCooldown(t *testing.T) {
	f := newFixture(t, memory.New())
	first := f.sendCode(t, "u")
	f.now = f.now.Add(59 * time.Second)
	err := f.svc.Send(ctx, "u", addr, login)
	var ce *emailotp.CooldownError
	if !errors.As(err, &ce) || !errors.Is(err, emailotp.ErrCooldown) || !ce.RetryAt.Equal(f.now.Add(time.Second)) {
		t.Fatalf("resend at 59s: %v, want a cooldown until 60s", err)
	}
	if len(f.mail.Messages()) != 1 {
		t.Fatal("a message was sent inside the cooldown")
	}
	f.now = f.now.Add(time.Second)
	second := f.sendCode(t, "u")
	// A new code replaces the old one.
	if first != second {
		if err := f.svc.Verify(ctx, "u", login, first); !errors.Is(err, emailotp.ErrInvalidCode) {
			t.Fatalf("the replaced code: %v", err)
		}
	}
	if err := f.svc.Verify(ctx, "u", login, second); err != nil {
		t.Fatalf("the new code: %v", err)
	}
}

func TestFiveWrongTries(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	for i := range 5 {
		if err := f.svc.Verify(ctx, "u", login, wrong(code)); !errors.Is(err, emailotp.ErrInvalidCode) {
			t.Fatalf("wrong try %d: %v", i+1, err)
		}
	}
	f.now = f.now.Add(time.Minute) // past the per-user back-off: this is about the code
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrTooManyFailures) {
		t.Fatalf("the right code after 5 wrong tries: %v, want ErrTooManyFailures", err)
	}
	// A new code is needed, and works.
	f.now = f.now.Add(time.Hour)
	fresh := f.sendCode(t, "u")
	if err := f.svc.Verify(ctx, "u", login, fresh); err != nil {
		t.Fatalf("a new code after the spent one: %v", err)
	}
}

func TestResendKeepsFailures(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	for range 3 {
		f.svc.Verify(ctx, "u", login, wrong(code))
	}
	f.now = f.now.Add(2 * time.Minute)
	code = f.sendCode(t, "u")
	for range 2 {
		f.now = f.now.Add(time.Minute)
		f.svc.Verify(ctx, "u", login, wrong(code))
	}
	f.now = f.now.Add(time.Minute)
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrTooManyFailures) {
		t.Fatalf("3 + 2 wrong tries across a resend: %v, want ErrTooManyFailures", err)
	}
}

func TestConcurrentVerify(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		code := f.sendCode(t, "u")
		const n = 30
		g := newFixture(t, &barrierStore{store, testdb.NewBarrier(n)}, func(c *emailotp.Config) { c.Now = f.clock })
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				switch err := g.svc.Verify(ctx, "u", login, code); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, emailotp.ErrInvalidCode), errors.Is(err, throttle.ErrThrottled):
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of %d concurrent verifications succeeded, want exactly 1", ok.Load(), n)
		}
	})
}

// barrierStore holds the first n Email reads until all n have happened.
type barrierStore struct {
	storage.Store
	*testdb.Barrier
}

func (b *barrierStore) Email(ctx context.Context, userID string) (storage.EmailState, error) {
	st, err := b.Store.Email(ctx, userID)
	b.Arrive()
	return st, err
}

func TestAvailability(t *testing.T) {
	f := newFixture(t, memory.New())
	for _, a := range []string{"", "no-at-sign", "a@b@c", "Jane <jane@example.com>", "jane@example.com\r\nBcc: x@y.z", " jane@example.com"} {
		if f.svc.Available(a) {
			t.Errorf("Available(%q) = true", a)
		}
		f.svc.Enable(ctx, "u")
		if err := f.svc.Send(ctx, "u", a, login); !errors.Is(err, emailotp.ErrUnavailable) {
			t.Errorf("Send to %q: %v, want ErrUnavailable", a, err)
		}
	}
	if !f.svc.Available(addr) {
		t.Error("a valid address is not available")
	}
	noMailer := newFixture(t, memory.New(), func(c *emailotp.Config) { c.Mailer = nil })
	noMailer.svc.Enable(ctx, "u")
	if noMailer.svc.Available(addr) {
		t.Error("available without a mailer")
	}
	if err := noMailer.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrUnavailable) {
		t.Errorf("Send without a mailer: %v", err)
	}
	if len(f.mail.Messages()) != 0 {
		t.Fatal("a message went out")
	}
}

func TestFailedSendChangesNothing(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	f.now = f.now.Add(2 * time.Minute)
	f.mail.Fail(errors.New("relay down"))
	err := f.svc.Send(ctx, "u", addr, login)
	if !errors.Is(err, emailotp.ErrSend) {
		t.Fatalf("send with a failing mailer: %v, want ErrSend", err)
	}
	// The code from before still works: nothing was replaced or spent.
	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("the earlier code after a failed send: %v", err)
	}
}

func TestNotEnabled(t *testing.T) {
	f := newFixture(t, memory.New())
	if err := f.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrNotEnabled) {
		t.Fatalf("send before enable: %v", err)
	}
	code := f.sendCode(t, "u")
	f.svc.Disable(ctx, "u")
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrNotEnabled) {
		t.Fatalf("verify while disabled: %v", err)
	}
	f.svc.Enable(ctx, "u")
	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("verify after enabling again: %v", err)
	}
	f.svc.Remove(ctx, "u")
	if st, _ := f.svc.State(ctx, "u"); st.Status != emailotp.StatusNone {
		t.Fatalf("after remove: %+v", st)
	}
}

func TestMalformed(t *testing.T) {
	f := newFixture(t, memory.New())
	f.sendCode(t, "u")
	for _, in := range []string{"", "12345", "1234567", "12345a", "１２３４５６", strings.Repeat("1", 10000), "\xff"} {
		if err := f.svc.Verify(ctx, "u", login, in); !errors.Is(err, emailotp.ErrMalformed) {
			t.Errorf("Verify(%.20q): %v", in, err)
		}
	}
}

// No code appears in an event, a log line or an error.
func TestCodeNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logHook := event.Slog(slog.New(slog.NewTextHandler(&logs, nil)))
	f := newFixture(t, memory.New(), func(c *emailotp.Config) { c.Events = logHook })
	var codes, errs []string
	for range 3 {
		code := f.sendCode(t, "u")
		codes = append(codes, code)
		for _, try := range []string{wrong(code), code, code} {
			if err := f.svc.Verify(ctx, "u", login, try); err != nil {
				errs = append(errs, err.Error())
			}
		}
		f.now = f.now.Add(time.Hour)
	}
	f.mail.Fail(errors.New("relay down"))
	if err := f.svc.Send(ctx, "u", addr, login); err != nil {
		errs = append(errs, err.Error())
	}
	hay := logs.String() + strings.Join(errs, "\n")
	for _, c := range codes {
		if strings.Contains(hay, c) {
			t.Fatalf("code %s appears in a log line or error", c)
		}
	}
	if !strings.Contains(logs.String(), "code_sent") || len(errs) < 4 {
		t.Fatalf("the test saw too little: %d errors, logs %q", len(errs), logs.String())
	}
}

type failing struct{ storage.Store }

var errDown = errors.New("store down")

func (failing) Email(context.Context, string) (storage.EmailState, error) {
	return storage.EmailState{}, errDown
}
func (failing) ConsumeEmailCode(context.Context, string, string, int) (bool, error) {
	return false, errDown
}
func (failing) ConsumeEmailCodeAndResetThrottle(context.Context, string, string, int) (bool, error) {
	return false, errDown
}

type consumeFails struct{ storage.Store }

func (consumeFails) ConsumeEmailCode(context.Context, string, string, int) (bool, error) {
	return false, errDown
}
func (consumeFails) ConsumeEmailCodeAndResetThrottle(context.Context, string, string, int) (bool, error) {
	return false, errDown
}

func TestStoreFailureDenies(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	g := newFixture(t, failing{f.store}, func(c *emailotp.Config) { c.Now = f.clock })
	if err := g.svc.Verify(ctx, "u", login, code); !errors.Is(err, errDown) {
		t.Fatalf("verify with a failing store: %v", err)
	}
	if err := g.svc.Send(ctx, "u", addr, login); !errors.Is(err, errDown) {
		t.Fatalf("send with a failing store: %v", err)
	}
	h := newFixture(t, consumeFails{f.store}, func(c *emailotp.Config) { c.Now = f.clock })
	if err := h.svc.Verify(ctx, "u", login, code); !errors.Is(err, errDown) {
		t.Fatalf("the right code, failing consume: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]emailotp.Config{
		"no store":      {},
		"short":         {Store: memory.New(), Validity: time.Second},
		"long":          {Store: memory.New(), Validity: 2 * time.Hour},
		"5 digits":      {Store: memory.New(), Digits: 5},
		"cooldown":      {Store: memory.New(), Cooldown: time.Hour},
		"many failures": {Store: memory.New(), MaxFailures: 50},
		"no counts":     {Store: onlyEmail{memory.New()}},
	} {
		if _, err := emailotp.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A store that keeps no counts does with a throttle of its own.
	l, err := throttle.New(memory.New(), throttle.Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emailotp.New(emailotp.Config{Store: onlyEmail{memory.New()}, Throttle: l}); err != nil {
		t.Errorf("a store without counts and a Throttle: %v", err)
	}
}

// onlyEmail hides every capability of a store but EmailStore.
type onlyEmail struct{ storage.EmailStore }

func TestDigits(t *testing.T) {
	f := newFixture(t, memory.New(), func(c *emailotp.Config) { c.Digits = 8 })
	code := f.sendCode(t, "u")
	if len(code) != 8 {
		t.Fatalf("code %q", code)
	}
	if err := f.svc.Verify(ctx, "u", login, code[:4]+" "+code[4:]); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 50 {
		f.now = f.now.Add(time.Hour)
		seen[f.sendCode(t, fmt.Sprint("user", i))] = true
	}
	if len(seen) < 45 {
		t.Fatalf("50 codes, only %d distinct", len(seen))
	}
}

// The store keeps a salted hash, never the code.
func TestStoredHashed(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	st, err := f.store.Email(ctx, "u")
	if err != nil || st.Code == nil {
		t.Fatalf("state: %+v, %v", st, err)
	}
	if bytes.Contains(st.Code.Hash, []byte(code)) || len(st.Code.Hash) < 32 {
		t.Fatalf("stored %d bytes that hold the code or are too short to be a hash", len(st.Code.Hash))
	}
	// Two sends of what could be the same code never store the same bytes.
	f.now = f.now.Add(time.Hour)
	f.sendCode(t, "u")
	again, _ := f.store.Email(ctx, "u")
	if bytes.Equal(again.Code.Hash, st.Code.Hash) {
		t.Fatal("two codes stored with the same hash: no salt")
	}
}

// A code works only for the user it was sent to.
func TestCodeBoundToUser(t *testing.T) {
	f := newFixture(t, memory.New())
	forU := f.sendCode(t, "u")
	forV := f.sendCode(t, "v")
	for forU == forV { // one chance in a million: ask v for another
		f.now = f.now.Add(time.Minute)
		forV = f.sendCode(t, "v")
	}
	if err := f.svc.Verify(ctx, "v", login, forU); !errors.Is(err, emailotp.ErrInvalidCode) {
		t.Fatalf("u's code for v: %v, want ErrInvalidCode", err)
	}
	if err := f.svc.Verify(ctx, "u", login, forU); err != nil {
		t.Fatalf("u's code for u: %v", err)
	}
}
