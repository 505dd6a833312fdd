package twofa_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// loggedKinds are the events the issue asks the security log to keep, as
// the log must hold them: a method added, removed, turned off and on, a
// code used, a lock, a reset, a browser remembered or revoked.
var loggedKinds = []event.Kind{
	event.Enrolled, event.Removed, event.Disabled, event.EnabledAgain,
	event.Verified, event.BackupUsed, event.BackupGenerated,
	event.Locked, event.ThrottleUnlock, event.Reset,
	event.Remembered, event.Forgotten,
}

// neverLogged are events the log leaves out: one per wrong code would let
// anyone with the password fill it.
var neverLogged = []event.Kind{event.Failed, event.Throttled, event.ReplayRefused, event.CodeSent, event.SetupStarted}

// lifeOfAUser walks user u through every logged event, and returns what
// must never show in the log: the secret, the codes, the browser token.
func lifeOfAUser(t *testing.T, f *fixture) []string {
	t.Helper()
	f.setUp(t, "other")
	f.setUp(t, "u") // last: f.secret and f.codes are u's
	f.now = f.now.Add(time.Minute)
	app := f.appCode(t)
	if m, err := f.tf.Verify(ctx, "u", login, app); err != nil || m != twofa.TOTP {
		t.Fatalf("Verify with the app: %q, %v", m, err)
	}
	if m, err := f.tf.Verify(ctx, "u", login, f.codes[0]); err != nil || m != twofa.Backup {
		t.Fatalf("Verify with a backup code: %q, %v", m, err)
	}
	must(t, f.tf.Disable(ctx, "u", twofa.Email))
	must(t, f.tf.Enable(ctx, "u", twofa.Email))
	token, err := f.tf.Browsers.Remember(ctx, "u", "Firefox on Linux")
	must(t, err)
	must(t, f.tf.Browsers.Forget(ctx, "u", token))
	f.failTo(t, "u", 20) // the first lock
	must(t, f.tf.Unlock(ctx, "u"))
	f.addKey(t, "u", "YubiKey")
	must(t, f.tf.Remove(ctx, "u", twofa.TOTP))
	must(t, f.tf.Reset(ctx, "u"))
	return append([]string{f.secret.Secret, app, token}, f.codes...)
}

// The log holds, newest first, exactly the user's events of the logged
// kinds, each with its method and time, in words, and nothing secret.
func TestSecurityLogRecordsEachEvent(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		secrets := lifeOfAUser(t, f)

		var want []event.Event
		for _, e := range f.events.All() {
			if e.UserID == "u" && e.Kind != event.LogFailed && !slices.Contains(neverLogged, e.Kind) {
				want = append(want, e)
			}
		}
		slices.Reverse(want)
		got, err := f.tf.Activity(ctx, "u", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d log entries, %d events:\nlog %+v\nevents %+v", len(got), len(want), got, want)
		}
		seen := map[event.Kind]bool{}
		for i, a := range got {
			w := want[i]
			if a.Kind != w.Kind || string(a.Method) != w.Method || !a.Time.Equal(w.Time) || a.What == "" {
				t.Errorf("entry %d: %+v, want the event %+v", i, a, w)
			}
			seen[a.Kind] = true
			for _, s := range secrets {
				for _, text := range []string{a.What, a.Detail, string(a.Kind), string(a.Method)} {
					if s != "" && strings.Contains(text, s) {
						t.Errorf("entry %d (%+v) holds a secret", i, a)
					}
				}
			}
		}
		for _, k := range loggedKinds {
			if !seen[k] {
				t.Errorf("no %s in the log", k)
			}
		}
		for _, k := range neverLogged {
			if seen[k] {
				t.Errorf("%s in the log", k)
			}
		}
		if got[0].Kind != event.Reset || got[0].What != "Two-factor authentication reset by an administrator" {
			t.Errorf("newest entry %+v, want the reset", got[0])
		}
		if f.events.Count(event.LogFailed) != 0 {
			t.Errorf("%d log writes failed", f.events.Count(event.LogFailed))
		}
		// Another user's log holds only their own events.
		theirs, err := f.tf.Activity(ctx, "other", 1000)
		if err != nil || len(theirs) == 0 {
			t.Fatalf("the other user's log: %+v, %v", theirs, err)
		}
		if last := theirs[0]; last.Kind == event.Reset || last.Kind == event.Locked {
			t.Errorf("u's events in the other user's log: %+v", theirs)
		}
		// A limit reads the newest few.
		if few, err := f.tf.Activity(ctx, "u", 2); err != nil || len(few) != 2 || few[0] != got[0] || few[1] != got[1] {
			t.Errorf("Activity with limit 2: %+v, %v", few, err)
		}
	})
}

// logDown is a store whose security log cannot be written.
type logDown struct{ storage.Store }

func (logDown) AppendLog(context.Context, storage.LogEntry, int, time.Time) error { return errDown }

// A log that cannot be written changes no outcome: every call succeeds as
// it would, every event still reaches the application, and each lost entry
// is told by event.LogFailed, which names the kind and holds no secret.
func TestSecurityLogDownChangesNothing(t *testing.T) {
	f := newFixture(t, logDown{memory.New()})
	secrets := lifeOfAUser(t, f) // fails the test on any error
	lost := 0
	for _, e := range f.events.All() {
		if e.Kind == event.LogFailed {
			lost++
			if !slices.Contains(loggedKinds, event.Kind(e.Reason)) && e.Reason != string(event.NoMethodLeft) && e.Reason != string(event.BackupOnly) {
				t.Errorf("LogFailed for %q", e.Reason)
			}
			for _, s := range secrets {
				if strings.Contains(e.Reason+e.Method+e.UserID, s) {
					t.Errorf("LogFailed %+v holds a secret", e)
				}
			}
		}
	}
	if lost == 0 || f.events.Count(event.Reset) != 1 || f.events.Count(event.Locked) != 1 {
		t.Fatalf("%d LogFailed, %d resets, %d locks: %v", lost, f.events.Count(event.Reset), f.events.Count(event.Locked), f.events.Kinds())
	}
	if got, err := f.tf.Activity(ctx, "u", 10); err != nil || len(got) != 0 {
		t.Fatalf("Activity: %+v, %v", got, err)
	}
}

// Each user's log keeps Config.LogKeep entries within Config.LogRetention.
func TestSecurityLogBounds(t *testing.T) {
	t.Run("Keep", func(t *testing.T) {
		f := newFixture(t, memory.New(), func(c *twofa.Config) { c.LogKeep = 3 })
		f.setUp(t, "u")
		for i := range 4 {
			f.now = f.now.Add(time.Minute)
			if _, err := f.tf.Verify(ctx, "u", login, f.codes[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.tf.Activity(ctx, "u", 100)
		if err != nil || len(got) != 3 {
			t.Fatalf("with LogKeep 3: %+v, %v", got, err)
		}
		for i, a := range got {
			if a.Kind != event.BackupUsed || !a.Time.Equal(f.now.Add(-time.Duration(i)*time.Minute)) {
				t.Errorf("entry %d: %+v, want the backup code used at %v", i, a, f.now.Add(-time.Duration(i)*time.Minute))
			}
		}
	})
	t.Run("Retention", func(t *testing.T) {
		f := newFixture(t, memory.New(), func(c *twofa.Config) { c.LogRetention = time.Hour })
		f.setUp(t, "u")
		f.now = f.now.Add(time.Hour + time.Minute)
		if _, err := f.tf.Verify(ctx, "u", login, f.codes[0]); err != nil {
			t.Fatal(err)
		}
		got, err := f.tf.Activity(ctx, "u", 100)
		if err != nil || len(got) != 1 || got[0].Kind != event.BackupUsed {
			t.Fatalf("an hour later, with LogRetention an hour: %+v, %v", got, err)
		}
	})
	t.Run("DefaultKeep", func(t *testing.T) {
		// Hundreds of logged events leave DefaultLogKeep entries.
		f := newFixture(t, memory.New())
		f.setUp(t, "u")
		for range twofa.DefaultLogKeep + 20 {
			must(t, f.tf.Disable(ctx, "u", twofa.Email))
			must(t, f.tf.Enable(ctx, "u", twofa.Email))
		}
		if got, err := f.tf.Activity(ctx, "u", 10000); err != nil || len(got) != twofa.DefaultLogKeep {
			t.Fatalf("%d entries, %v; want %d", len(got), err, twofa.DefaultLogKeep)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for _, c := range []struct {
			name string
			set  func(*twofa.Config)
		}{
			{"NegativeKeep", func(c *twofa.Config) { c.LogKeep = -1 }},
			{"KeepPastMax", func(c *twofa.Config) { c.LogKeep = twofa.MaxLogKeep + 1 }},
			{"NegativeRetention", func(c *twofa.Config) { c.LogRetention = -time.Second }},
		} {
			t.Run(c.name, func(t *testing.T) {
				cfg := twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring(t)}
				c.set(&cfg)
				if _, err := twofa.New(cfg); err == nil {
					t.Fatal("New accepted it")
				}
			})
		}
		if _, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring(t), LogKeep: twofa.MaxLogKeep}); err != nil {
			t.Fatalf("LogKeep of MaxLogKeep: %v", err)
		}
	})
	t.Run("BadArguments", func(t *testing.T) {
		f := newFixture(t, memory.New())
		if _, err := f.tf.Activity(ctx, "u\x00", 10); !errors.Is(err, twofa.ErrInvalidUserID) {
			t.Errorf("a bad user ID: %v", err)
		}
		if _, err := f.tf.Activity(ctx, "u", 0); !errors.Is(err, storage.ErrInvalidArgument) {
			t.Errorf("limit 0: %v", err)
		}
	})
}

// Racers sign in with one backup code at once: one passes, and the log
// holds that one use, once.
func TestSecurityLogOneEntryPerUse(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	before, err := f.tf.Activity(ctx, "u", 1000)
	must(t, err)
	var wg sync.WaitGroup
	var passed atomic.Int32
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.tf.Verify(ctx, "u", login, f.codes[0]); err == nil {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	after, err := f.tf.Activity(ctx, "u", 1000)
	must(t, err)
	used := 0
	for _, a := range after[:len(after)-len(before)] {
		if a.Kind == event.BackupUsed {
			used++
		}
	}
	if passed.Load() != 1 || used != 1 {
		t.Fatalf("%d passed, %d uses logged; want 1 and 1", passed.Load(), used)
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		e    storage.LogEntry
		want string
	}{
		{storage.LogEntry{Kind: "verified", Method: "totp"}, "Signed in with the authenticator app"},
		{storage.LogEntry{Kind: "enrolled", Method: "webauthn"}, "Added a security key"},
		{storage.LogEntry{Kind: "verified", Method: "email"}, "Signed in with a code by e-mail"},
		{storage.LogEntry{Kind: "enrolled", Method: "email"}, "Added codes by e-mail"},
		{storage.LogEntry{Kind: "disabled", Method: "email"}, "Turned off codes by e-mail"},
		{storage.LogEntry{Kind: "removed", Method: "backup"}, "Removed backup codes"},
		{storage.LogEntry{Kind: "backup_used", Method: "backup"}, "Signed in with a backup code"},
		{storage.LogEntry{Kind: "locked", Method: "totp", Detail: "until 2026-11-30T12:00:00Z"}, "Locked after too many wrong codes (until 30 Nov 2026, 12:00 UTC)"},
		{storage.LogEntry{Kind: "locked", Method: "totp", Detail: "until unlocked"}, "Locked after too many wrong codes (until an administrator unlocks it)"},
		{storage.LogEntry{Kind: "locked", Method: "totp", Detail: "until <b>garbage"}, "Locked after too many wrong codes"},
		{storage.LogEntry{Kind: "browser_revoked", Method: "remember", Detail: "expired"}, "A remembered browser expired"},
		{storage.LogEntry{Kind: "browser_revoked", Method: "remember", Detail: "revoked"}, "Forgot a remembered browser"},
		{storage.LogEntry{Kind: "verified", Method: "carrier-pigeon"}, "Signed in with method carrier-pigeon"},
		{storage.LogEntry{Kind: "verified"}, "Signed in with a sign-in method"},
		{storage.LogEntry{Kind: "something_new", Method: "totp"}, "something_new (totp)"},
	} {
		t.Run(c.e.Kind+"/"+c.e.Method, func(t *testing.T) {
			if got := twofa.Describe(c.e); got != c.want {
				t.Errorf("Describe(%+v) = %q, want %q", c.e, got, c.want)
			}
		})
	}
}
