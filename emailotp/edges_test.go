package emailotp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// untouchable is a store that fails the test on any call: an entry point
// must refuse a bad user ID before it reaches a store.
type untouchable struct{ t *testing.T }

var errTouched = errors.New("the store was called")

func (u untouchable) touched(name string) error {
	u.t.Helper()
	u.t.Errorf("store.%s called", name)
	return errTouched
}

func (u untouchable) Email(context.Context, string) (storage.EmailState, error) {
	return storage.EmailState{}, u.touched("Email")
}
func (u untouchable) PutEmail(context.Context, string, bool, time.Time) error {
	return u.touched("PutEmail")
}
func (u untouchable) DeleteEmail(context.Context, string) error { return u.touched("DeleteEmail") }
func (u untouchable) SwapEmailCode(context.Context, string, *storage.EmailCode, *storage.EmailCode) (bool, error) {
	return false, u.touched("SwapEmailCode")
}
func (u untouchable) FailEmailCode(context.Context, string, string) (int, error) {
	return 0, u.touched("FailEmailCode")
}
func (u untouchable) ConsumeEmailCode(context.Context, string, string, int) (bool, error) {
	return false, u.touched("ConsumeEmailCode")
}
func (u untouchable) ConsumeEmailCodeAndResetThrottle(context.Context, string, string, int) (bool, error) {
	return false, u.touched("ConsumeEmailCodeAndResetThrottle")
}
func (u untouchable) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, u.touched("Throttle")
}
func (u untouchable) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	return false, u.touched("SwapThrottle")
}
func (u untouchable) ResetThrottle(context.Context, string) error {
	return u.touched("ResetThrottle")
}

// Every entry point that takes a user ID refuses one outside
// storage.CheckUserID's rule, with ErrInvalidUserID, before any store call
// and without mailing.
func TestInvalidUserIDNeverReachesTheStore(t *testing.T) {
	mail := &mailtest.Inbox{}
	svc, err := emailotp.New(emailotp.Config{Store: untouchable{t}, Mailer: mail})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{
		"empty":      "",
		"256 bytes":  strings.Repeat("a", 256),
		"1 MB":       strings.Repeat("a", 1<<20),
		"bad UTF-8":  "jane\xff",
		"NUL inside": "jane\x00doe",
	}
	calls := map[string]func(id string) error{
		"State":   func(id string) error { _, err := svc.State(ctx, id); return err },
		"Enable":  func(id string) error { return svc.Enable(ctx, id) },
		"Disable": func(id string) error { return svc.Disable(ctx, id) },
		"Remove":  func(id string) error { return svc.Remove(ctx, id) },
		"Send":    func(id string) error { return svc.Send(ctx, id, addr, login) },
		"Verify":  func(id string) error { return svc.Verify(ctx, id, login, "123456") },
		"Waiting": func(id string) error { _, err := svc.Waiting(ctx, id, login); return err },
	}
	for call, f := range calls {
		for name, id := range ids {
			t.Run(call+"/"+name, func(t *testing.T) {
				if err := f(id); !errors.Is(err, storage.ErrInvalidUserID) {
					t.Fatalf("%s(%.20q): %v, want ErrInvalidUserID", call, id, err)
				}
			})
		}
	}
	if n := len(mail.Messages()); n != 0 {
		t.Fatalf("%d messages mailed for invalid user IDs", n)
	}
}

// A clock that cannot be right denies: no code is sent or checked, nothing
// is spent, and the code mailed before still works, once, when the clock
// is good again.
func TestBadClockDenies(t *testing.T) {
	for name, bad := range map[string]time.Time{
		"zero time":          {},
		"before 1970":        time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		"Unix epoch":         time.Unix(0, 0),
		"expiry past 2262":   time.Unix(0, 1<<63-1).Add(-time.Minute),
		"past 2262":          time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
		"far future":         time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		"far past, negative": time.Date(-200, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			code := f.sendCode(t, "u")
			good := f.now
			f.now = bad
			if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrClock) || !errors.Is(err, storage.ErrInvalidTime) {
				t.Fatalf("verify at %v: %v, want ErrClock", bad, err)
			}
			if err := f.svc.Send(ctx, "u", addr, login); !errors.Is(err, emailotp.ErrClock) {
				t.Fatalf("send at %v: %v, want ErrClock", bad, err)
			}
			if err := f.svc.Enable(ctx, "v"); !errors.Is(err, emailotp.ErrClock) {
				t.Fatalf("enable at %v: %v, want ErrClock", bad, err)
			}
			if st, err := f.svc.State(ctx, "u"); err != nil || st.CodeLive {
				t.Fatalf("state at %v: %+v, %v, want no live code", bad, st, err)
			}
			if n := len(f.mail.Messages()); n != 1 {
				t.Fatalf("%d messages, want only the one sent at a good time", n)
			}
			f.now = good.Add(time.Minute)
			if err := f.svc.Verify(ctx, "u", login, code); err != nil {
				t.Fatalf("the code with the clock good again: %v", err)
			}
			if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrInvalidCode) {
				t.Fatalf("the code a second time: %v, want ErrInvalidCode", err)
			}
		})
	}
}

// A clock that went backwards, further than servers' clocks may differ,
// takes no code, since the code would outlive its validity by as much;
// nothing is spent, and the code works once the clock is right.
func TestClockBackwardsDenies(t *testing.T) {
	f := newFixture(t, memory.New())
	code := f.sendCode(t, "u")
	sent := f.now
	for _, back := range []time.Duration{2 * time.Minute, 24 * time.Hour, 10 * 365 * 24 * time.Hour} {
		f.now = sent.Add(-back)
		if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrClock) {
			t.Fatalf("verify %v before the code was sent: %v, want ErrClock", back, err)
		}
		if ok, err := f.svc.Waiting(ctx, "u", login); ok || err != nil {
			t.Fatalf("waiting %v before the code was sent: %v, %v", back, ok, err)
		}
	}
	f.now = sent.Add(-30 * time.Second) // within the skew of two servers
	if err := f.svc.Verify(ctx, "u", login, code); err != nil {
		t.Fatalf("verify 30 s before the code was sent: %v", err)
	}
}
