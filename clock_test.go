package twofa_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage/memory"
)

// A clock that cannot be right — the zero time, before 1970, the epoch
// itself — denies every method, uses up nothing and counts nothing; the
// same codes pass once the clock is right again. A remembered browser does
// not skip the second step on such a clock either.
func TestBrokenClockDenies(t *testing.T) {
	for name, broken := range map[string]time.Time{
		"zero time":     {},
		"before 1970":   time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC),
		"one before":    time.Unix(-1, 0),
		"the epoch":     time.Unix(0, 0),
		"far in the BC": time.Date(-3000, 1, 1, 0, 0, 0, 0, time.UTC),
		"past 2262":     time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.setUp(t, "u")
			mailed := f.mailCode(t, "u")
			token, err := f.tf.Browsers.Remember(ctx, "u", "Firefox on Linux")
			if err != nil {
				t.Fatal(err)
			}
			good := f.now
			app := f.appCode(t)
			f.now = broken
			for _, code := range []string{app, f.codes[0], mailed, "000000", "zzzzz-zzzzz", "junk!"} {
				if m, err := f.tf.Verify(ctx, "u", login, code); !errors.Is(err, twofa.ErrInvalidTime) || m != "" {
					t.Errorf("Verify(%q) at %v: %q, %v; want ErrInvalidTime", code, broken, m, err)
				}
			}
			// The far future is Verify's alone here: package remember
			// treats it as the end of the browser's window.
			farFuture := broken.After(good)
			if !farFuture {
				if err := f.tf.Browsers.Check(ctx, "u", token); err == nil {
					t.Errorf("a remembered browser passed at %v", broken)
				}
			}
			if n := f.events.Count(event.Verified) + f.events.Count(event.BackupUsed); n != 0 {
				t.Fatalf("%d passes on a broken clock", n)
			}
			f.now = good
			if st, _ := f.store.Throttle(ctx, "u"); st.Failures != 0 {
				t.Fatalf("the broken clock counted %d failures", st.Failures)
			}
			for _, c := range []struct {
				code string
				m    twofa.Method
			}{{mailed, twofa.Email}, {app, twofa.TOTP}, {f.codes[0], twofa.Backup}} {
				if m, err := f.tf.Verify(ctx, "u", login, c.code); err != nil || m != c.m {
					t.Fatalf("%s code once the clock is right: %v, %v", c.m, m, err)
				}
			}
			if err := f.tf.Browsers.Check(ctx, "u", token); err != nil && !farFuture {
				t.Fatalf("the remembered browser once the clock is right: %v", err)
			}
		})
	}
}
