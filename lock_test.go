package twofa_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage/memory"
)

// wrongCode is a six-digit code that is not the app's code now.
func (f *fixture) wrongCode(t testing.TB) string {
	if f.appCode(t) == "000000" {
		return "000001"
	}
	return "000000"
}

// failTo makes wrong-code attempts for user, each at the earliest moment the
// throttle allows, until the user's count is n.
func (f *fixture) failTo(t testing.TB, user string, n int) {
	t.Helper()
	for {
		st, err := f.store.Throttle(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if st.Failures >= n {
			return
		}
		f.waitOut(t, user)
		// With an e-mailed code waiting, wrong digits are tried as that
		// code and then as the app's, whose attempt may find the wait the
		// first began: refused, but the count went on.
		_, err = f.tf.Verify(ctx, user, login, f.wrongCode(t))
		if !errors.Is(err, twofa.ErrInvalidCode) && !errors.Is(err, twofa.ErrThrottled) {
			t.Fatalf("wrong code at %d failures: %v", st.Failures, err)
		}
		if next, _ := f.store.Throttle(ctx, user); next.Failures <= st.Failures {
			t.Fatalf("a wrong code at %d failures was not counted: %v", st.Failures, err)
		}
	}
}

// waitOut moves the clock to the moment user may try again.
func (f *fixture) waitOut(t testing.TB, user string) {
	t.Helper()
	a, err := f.tf.Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	var te *twofa.ThrottledError
	if errors.As(a.Throttle, &te) {
		if te.Locked {
			t.Fatal("locked for good")
		}
		f.now = te.RetryAt
	}
}

// lockNotices returns the notices of locks mailed so far.
func (f *fixture) lockNotices() []string {
	var got []string
	for _, m := range f.mail.Messages() {
		if strings.Contains(m.Subject, "locked") {
			got = append(got, m.Text)
		}
	}
	return got
}

// Each lock is told once, by an event carrying its end and by a mail,
// however many parallel attempts it refuses; the count goes on after it
// ends, and the next lock is told once too.
func TestLockNoticeOncePerLock(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	f.failTo(t, "u", 19)
	f.waitOut(t, "u")
	wrong := f.wrongCode(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := f.tf.Verify(ctx, "u", login, wrong)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	invalid := 0
	for err := range errs {
		switch {
		case errors.Is(err, twofa.ErrInvalidCode):
			invalid++
		case !errors.Is(err, twofa.ErrThrottled):
			t.Fatalf("parallel attempt: %v", err)
		}
	}
	if invalid != 1 {
		t.Fatalf("%d of 50 parallel attempts were checked, want 1", invalid)
	}
	var locks []event.Event
	for _, e := range f.events.All() {
		if e.Kind == event.Locked {
			locks = append(locks, e)
		}
	}
	if len(locks) != 1 || !locks[0].Until.Equal(f.now.Add(time.Hour)) || locks[0].UserID != "u" || locks[0].Method != "totp" {
		t.Fatalf("lock events: %+v, want one ending in an hour", locks)
	}
	notices := f.lockNotices()
	if len(notices) != 1 || !strings.Contains(notices[0], "locked for a while") ||
		!strings.Contains(notices[0], "You can sign in again from "+f.now.Add(time.Hour).Format("2 January 2006 at 15:04 UTC")) {
		t.Fatalf("lock notices: %q", notices)
	}

	// The lock ends; the count goes on from 20 to the next lock at 30.
	f.failTo(t, "u", 30)
	if n := f.events.Count(event.Locked); n != 2 || len(f.lockNotices()) != 2 {
		t.Fatalf("%d lock events, %d notices after the second lock, want 2", n, len(f.lockNotices()))
	}
	if e := f.events.All(); e[len(e)-1].Kind != event.Locked || !e[len(e)-1].Until.Equal(f.now.Add(2*time.Hour)) {
		t.Fatalf("second lock: %+v, want one of two hours", e[len(e)-1])
	}

	// The hundredth failure locks for good; only an administrator helps.
	f.failTo(t, "u", 100)
	last := f.events.All()[len(f.events.All())-1]
	if f.events.Count(event.Locked) != 9 || last.Kind != event.Locked || !last.Until.IsZero() {
		t.Fatalf("after 100 failures: %d lock events, last %+v", f.events.Count(event.Locked), last)
	}
	notices = f.lockNotices()
	if len(notices) != 9 || !strings.Contains(notices[8], "until an administrator unlocks it") || strings.Contains(notices[8], "sign in again from") {
		t.Fatalf("notice of the last lock: %q", notices[len(notices)-1])
	}
	f.now = f.now.Add(365 * 24 * time.Hour)
	var te *twofa.ThrottledError
	if _, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); !errors.As(err, &te) || !te.Locked {
		t.Fatalf("the right code a year later: %v, want locked", err)
	}
	if err := f.tf.Unlock(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

// The attempt that reaches a lock's count is counted before its code is
// checked; when it passes, no lock began and nobody is told.
func TestNoLockNoticeWhenTheAttemptPasses(t *testing.T) {
	for _, m := range []twofa.Method{twofa.TOTP, twofa.Backup, twofa.Email} {
		t.Run(string(m), func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.setUp(t, "u")
			f.failTo(t, "u", 19)
			var code string
			switch m {
			case twofa.TOTP:
				f.waitOut(t, "u")
				code = f.appCode(t)
			case twofa.Backup:
				f.waitOut(t, "u")
				code = f.codes[0]
			case twofa.Email:
				code = f.mailCode(t, "u")
				f.waitOut(t, "u")
			}
			if got, err := f.tf.Verify(ctx, "u", login, code); err != nil || got != m {
				t.Fatalf("the right code at the lock's count: %v, %v", got, err)
			}
			if n := f.events.Count(event.Locked); n != 0 || len(f.lockNotices()) != 0 {
				t.Fatalf("%d lock events, notices %q", n, f.lockNotices())
			}
			if st, _ := f.store.Throttle(ctx, "u"); st.Failures != 0 {
				t.Fatalf("count after the success = %d", st.Failures)
			}
		})
	}
}

// A lock begun by a wrong backup code or e-mailed code is told as well;
// the method is the one that failed.
func TestLockNoticeEveryCountedMethod(t *testing.T) {
	for _, m := range []twofa.Method{twofa.Backup, twofa.Email} {
		t.Run(string(m), func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.setUp(t, "u")
			f.failTo(t, "u", 19)
			wrong := "zzzzz-zzzzz"
			if m == twofa.Email {
				code := f.mailCode(t, "u")
				wrong = f.wrongCode(t)
				if wrong == code {
					wrong = "000002"
				}
			}
			f.waitOut(t, "u")
			// Digits that are not the mailed code go on to the app, which
			// finds the lock the e-mail's failure began.
			if _, err := f.tf.Verify(ctx, "u", login, wrong); !errors.Is(err, twofa.ErrInvalidCode) && !errors.Is(err, twofa.ErrThrottled) {
				t.Fatal(err)
			}
			var locks []event.Event
			for _, e := range f.events.All() {
				if e.Kind == event.Locked {
					locks = append(locks, e)
				}
			}
			if len(locks) != 1 || locks[0].Method != string(m) || len(f.lockNotices()) != 1 {
				t.Fatalf("lock events %+v, %d notices", locks, len(f.lockNotices()))
			}
		})
	}
}

// A mailer that fails changes nothing of the lock: the attempt is refused
// as it would be, and the failure is an event.
func TestLockNoticeMailerDown(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	f.failTo(t, "u", 19)
	f.mail.Fail(errors.New("relay down"))
	f.waitOut(t, "u")
	if _, err := f.tf.Verify(ctx, "u", login, f.wrongCode(t)); !errors.Is(err, twofa.ErrInvalidCode) {
		t.Fatalf("the attempt that locks, mailer down: %v", err)
	}
	if _, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); !errors.Is(err, twofa.ErrThrottled) {
		t.Fatalf("the right code during the lock, mailer down: %v", err)
	}
	var failed []event.Event
	for _, e := range f.events.All() {
		if e.Kind == event.NoticeFailed {
			failed = append(failed, e)
		}
	}
	if f.events.Count(event.Locked) != 1 || len(failed) != 1 || failed[0].Reason != string(event.Locked) {
		t.Fatalf("events: locked %d, notice failures %+v", f.events.Count(event.Locked), failed)
	}
}

// A lock never opens a path around the second step (as the lockout of
// CVE-2024-32868 did): while the user is locked, for a while or for good,
// the second step is still required and every input is denied, none as
// "no method", which a caller could take for "no second step".
func TestLockOpensNoPathAround(t *testing.T) {
	for _, failures := range []int{20, 100} {
		t.Run(fmt.Sprint(failures), func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.setUp(t, "u")
			mailed := f.mailCode(t, "u")
			f.failTo(t, "u", failures)
			for _, input := range []string{f.appCode(t), f.codes[0], mailed, "000000", "zzzzz-zzzzz", "junk!", ""} {
				m, err := f.tf.Verify(ctx, "u", login, input)
				if err == nil || m != "" || errors.Is(err, twofa.ErrNoMethod) ||
					!errors.Is(err, twofa.ErrThrottled) && !errors.Is(err, twofa.ErrInvalidCode) {
					t.Errorf("Verify(%q) while locked: %q, %v", input, m, err)
				}
			}
			if r, err := f.tf.Requires(ctx, "u"); !r || err != nil {
				t.Fatalf("Requires while locked: %v, %v", r, err)
			}
			if a, err := f.tf.Account(ctx, "u"); err != nil || !a.Requires() || !errors.Is(a.Throttle, twofa.ErrThrottled) {
				t.Fatalf("account view while locked: %+v, %v", a, err)
			}
		})
	}
}
