package emailotp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
)

// slowMailer takes as long as an SMTP round trip before it delivers: long
// enough for every parallel send to be past its read before any mails.
type slowMailer struct {
	inbox *mailtest.Inbox
	delay time.Duration
}

func (m slowMailer) Send(ctx context.Context, msg emailotp.Message) error {
	time.Sleep(m.delay) // the round trip, not a wait for expiry
	return m.inbox.Send(ctx, msg)
}

// mailerFunc is a mailer made of a function.
type mailerFunc func(context.Context, emailotp.Message) error

func (f mailerFunc) Send(ctx context.Context, m emailotp.Message) error { return f(ctx, m) }

// parallelSends runs n sends at once, each for a login of its own, as
// many sessions of one user would, and returns the logins of those that
// passed; every other one must be a *CooldownError.
func parallelSends(t *testing.T, svc *emailotp.Service, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var passed []string
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var ce *emailotp.CooldownError
			login := fmt.Sprint("login-", i)
			switch err := svc.Send(ctx, "u", addr, login); {
			case err == nil:
				mu.Lock()
				passed = append(passed, login)
				mu.Unlock()
			case errors.As(err, &ce):
			default:
				t.Errorf("parallel send: %v, want nil or a *CooldownError", err)
			}
		})
	}
	wg.Wait()
	return passed
}

// The cooldown is claimed in the store before the mail goes out: 20
// parallel sends that all read the same state, with a mailer that takes
// 200 ms, deliver one mail, and that mail's code works.
func TestParallelSendsMailOnce(t *testing.T) {
	const n = 20
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for _, resend := range []bool{false, true} {
			name := map[bool]string{false: "first code", true: "resend past the cooldown"}[resend]
			t.Run(name, func(t *testing.T) {
				store, _ := b.Open(t)
				f := newFixture(t, store)
				var old string
				if resend {
					old = f.sendCode(t, "u")
					f.now = f.now.Add(2 * time.Minute)
				} else if err := f.svc.Enable(ctx, "u"); err != nil {
					t.Fatal(err)
				}
				inbox := &mailtest.Inbox{}
				g := newFixture(t, &barrierStore{store, testdb.NewBarrier(n)}, func(c *emailotp.Config) {
					c.Now = f.clock
					c.Mailer = slowMailer{inbox, 200 * time.Millisecond}
				})
				passed := parallelSends(t, g.svc, n)
				if len(passed) != 1 {
					t.Fatalf("%d of %d parallel sends passed, want 1", len(passed), n)
				}
				msgs := inbox.Messages()
				if len(msgs) != 1 {
					t.Fatalf("%d of %d parallel sends mailed, want 1", len(msgs), n)
				}
				code := readCode(t, msgs[0].Text)
				if resend && old != code {
					if err := f.svc.Verify(ctx, "u", login, old); !errors.Is(err, emailotp.ErrInvalidCode) {
						t.Fatalf("the replaced code: %v", err)
					}
				}
				if err := f.svc.Verify(ctx, "u", passed[0], code); err != nil {
					t.Fatalf("the one mailed code: %v", err)
				}
			})
		}
	})
}

// A send whose mailer fails spends nothing: the code from before still
// works, no cooldown starts, and a wrong try made while the mail was on
// its way stays counted.
func TestFailedSendRestores(t *testing.T) {
	relayDown := errors.New("relay down")
	t.Run("the previous code works", func(t *testing.T) {
		f := newFixture(t, memory.New())
		code := f.sendCode(t, "u")
		f.now = f.now.Add(2 * time.Minute)
		f.mail.Fail(relayDown)
		if err := f.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrSend) || !errors.Is(err, relayDown) {
			t.Fatalf("send with a failing mailer: %v, want ErrSend", err)
		}
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			t.Fatalf("the earlier code after a failed send: %v", err)
		}
	})
	t.Run("no cooldown starts", func(t *testing.T) {
		f := newFixture(t, memory.New())
		first := f.sendCode(t, "u")
		f.now = f.now.Add(2 * time.Minute)
		f.mail.Fail(relayDown)
		if err := f.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrSend) {
			t.Fatalf("send with a failing mailer: %v, want ErrSend", err)
		}
		f.mail.Fail(nil)
		second := f.sendCode(t, "u") // at once: fails on a cooldown
		if err := f.svc.Verify(ctx, "u", login, second); err != nil {
			t.Fatalf("the code sent right after the failure: %v", err)
		}
		if first != second {
			if err := f.svc.Verify(ctx, "u", login, first); !errors.Is(err, emailotp.ErrInvalidCode) {
				t.Fatalf("the replaced code: %v", err)
			}
		}
	})
	t.Run("no code before", func(t *testing.T) {
		f := newFixture(t, memory.New())
		if err := f.svc.Enable(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		f.mail.Fail(relayDown)
		if err := f.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrSend) {
			t.Fatalf("send with a failing mailer: %v, want ErrSend", err)
		}
		if st, err := f.svc.State(ctx, "u"); err != nil || st.CodeLive {
			t.Fatalf("after the failed first send: %+v, %v, want no live code", st, err)
		}
		f.mail.Fail(nil)
		code := f.sendCode(t, "u")
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			t.Fatalf("the code sent right after the failure: %v", err)
		}
	})
	// A wrong try against the claimed code, made while the failing mail is
	// on its way, changes the stored code: the undo must read again, and
	// carry the try over to the code it puts back.
	wrongWhileSending := func(t *testing.T) (*fixture, string) {
		f := newFixture(t, memory.New())
		code := f.sendCode(t, "u")
		for range 3 {
			if err := f.svc.Verify(ctx, "u", login, wrong(code)); !errors.Is(err, emailotp.ErrInvalidCode) {
				t.Fatalf("wrong try: %v", err)
			}
		}
		f.now = f.now.Add(2 * time.Minute)
		g := newFixture(t, f.store, func(c *emailotp.Config) {
			c.Now = f.clock
			c.Mailer = mailerFunc(func(context.Context, emailotp.Message) error {
				if err := f.svc.Verify(ctx, "u", login, wrong(code)); !errors.Is(err, emailotp.ErrInvalidCode) {
					t.Errorf("wrong try while sending: %v", err)
				}
				return relayDown
			})
		})
		if err := g.svc.Send(ctx, "u", addr, login); !errors.Is(err, relayDown) || strings.Contains(err.Error(), "previous code") {
			t.Fatalf("send with a failing mailer: %v, want ErrSend with the previous code put back", err)
		}
		return f, code
	}
	t.Run("a wrong try while sending, then the previous code", func(t *testing.T) {
		f, code := wrongWhileSending(t)
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			t.Fatalf("the earlier code after a failed send: %v", err)
		}
	})
	t.Run("a wrong try while sending counts", func(t *testing.T) {
		f, code := wrongWhileSending(t)
		// 3 before, 1 while sending, and this fifth one spends the code.
		if err := f.svc.Verify(ctx, "u", login, wrong(code)); !errors.Is(err, emailotp.ErrTooManyFailures) {
			t.Fatalf("fifth wrong try: %v, want ErrTooManyFailures", err)
		}
	})
}
