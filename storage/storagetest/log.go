package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// entry returns a log entry of user at when plus d, whose Detail names n
// so that entries of one instant tell apart, and whose text a store keeping
// it as anything but UTF-8 would change.
func entry(user string, d time.Duration, n int) storage.LogEntry {
	return storage.LogEntry{
		UserID: user,
		Time:   when.Add(d),
		Kind:   "backup_used",
		Method: "backup",
		Detail: fmt.Sprintf("n°%d — 'ünïcødé' ?", n),
	}
}

func sameEntry(a, b storage.LogEntry) bool {
	return a.UserID == b.UserID && a.Time.Equal(b.Time) && a.Kind == b.Kind && a.Method == b.Method && a.Detail == b.Detail
}

func mustAppend(t *testing.T, s storage.LogStore, keep int, before time.Time, es ...storage.LogEntry) {
	t.Helper()
	for _, e := range es {
		if err := s.AppendLog(ctx, e, keep, before); err != nil {
			t.Fatalf("AppendLog(%s, %q, keep %d): %v", e.UserID, e.Detail, keep, err)
		}
	}
}

// checkLog reads at most limit of the user's entries and compares them, in
// order, with want.
func checkLog(t *testing.T, s storage.LogStore, user string, limit int, want ...storage.LogEntry) {
	t.Helper()
	got, err := s.Log(ctx, user, limit)
	if err != nil {
		t.Fatalf("Log(%s, %d): %v", user, limit, err)
	}
	if got == nil {
		t.Fatalf("Log(%s) returned a nil list", user)
	}
	if !slices.EqualFunc(got, want, sameEntry) {
		t.Fatalf("log of %s (limit %d):\nread %+v\nwant %+v", user, limit, got, want)
	}
}

// longAgo is a retention cut-off before every entry of these tests.
var longAgo = when.Add(-365 * 24 * time.Hour)

func runLog(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		checkLog(t, s, "u", 10)
		if err := s.DeleteLog(ctx, "u"); err != nil {
			t.Fatalf("DeleteLog of an empty log: %v", err)
		}
	})

	t.Run("NewestFirst", func(t *testing.T) {
		s := newStore(t)
		e1, e2, e3 := entry("u", 0, 1), entry("u", time.Hour, 2), entry("u", 2*time.Hour, 3)
		e3.Method, e3.Detail = "", ""
		theirs := entry("v", time.Hour, 9)
		// Appended out of order: the order read is by Time.
		mustAppend(t, s, 100, longAgo, e2, theirs, e1, e3)
		checkLog(t, s, "u", 10, e3, e2, e1)
		checkLog(t, s, "u", 2, e3, e2)
		checkLog(t, s, "u", 1, e3)
		checkLog(t, s, "v", 10, theirs)
	})

	t.Run("TiesByAppendOrder", func(t *testing.T) {
		s := newStore(t)
		var es []storage.LogEntry
		for n := range 5 {
			es = append(es, entry("u", time.Minute, n))
		}
		mustAppend(t, s, 100, longAgo, es...)
		slices.Reverse(es)
		checkLog(t, s, "u", 10, es...)
	})

	t.Run("Cap", func(t *testing.T) {
		s := newStore(t)
		var es []storage.LogEntry
		for n := range 8 {
			es = append(es, entry("u", time.Duration(n)*time.Minute, n))
		}
		theirs := entry("v", 0, 9)
		mustAppend(t, s, 100, longAgo, theirs)
		mustAppend(t, s, 5, longAgo, es...)
		checkLog(t, s, "u", 100, es[7], es[6], es[5], es[4], es[3])
		// An entry older than the newest keep goes at once.
		old := entry("u", -time.Hour, 10)
		mustAppend(t, s, 5, longAgo, old)
		checkLog(t, s, "u", 100, es[7], es[6], es[5], es[4], es[3])
		// A smaller keep trims further; the other user keeps theirs.
		mustAppend(t, s, 2, longAgo, es[0])
		checkLog(t, s, "u", 100, es[7], es[6])
		checkLog(t, s, "v", 100, theirs)
		// Of entries of one instant, the ones appended first go first.
		tied := []storage.LogEntry{entry("w", 0, 1), entry("w", 0, 2), entry("w", 0, 3)}
		mustAppend(t, s, 2, longAgo, tied...)
		checkLog(t, s, "w", 100, tied[2], tied[1])
	})

	t.Run("Retention", func(t *testing.T) {
		s := newStore(t)
		e1, e2, e3 := entry("u", 0, 1), entry("u", time.Hour, 2), entry("u", 2*time.Hour, 3)
		theirs := entry("v", 0, 9)
		mustAppend(t, s, 100, longAgo, e1, e2, theirs)
		// Strictly before the cut-off goes; at the cut-off stays.
		mustAppend(t, s, 100, e2.Time, e3)
		checkLog(t, s, "u", 100, e3, e2)
		// An entry older than the cut-off is trimmed as it is appended.
		mustAppend(t, s, 100, e2.Time, entry("u", -time.Hour, 4))
		checkLog(t, s, "u", 100, e3, e2)
		// Only the appending user's log is trimmed.
		checkLog(t, s, "v", 100, theirs)
		// A cut-off after everything leaves an empty log.
		mustAppend(t, s, 100, e3.Time.Add(time.Nanosecond), entry("u", 0, 5))
		checkLog(t, s, "u", 100)
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		theirs := entry("v", 0, 9)
		mustAppend(t, s, 100, longAgo, entry("u", 0, 1), entry("u", time.Second, 2), theirs)
		if err := s.DeleteLog(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		checkLog(t, s, "u", 100)
		checkLog(t, s, "v", 100, theirs)
	})

	t.Run("CapUnderRace", func(t *testing.T) {
		// Racers appends at once for one user, keep 10: whatever the
		// interleaving, no append fails, the user ends with at most
		// keep+Racers entries, and the next append trims to keep exactly,
		// the newest ones.
		s := newStore(t)
		const keep = 10
		var wg sync.WaitGroup
		errs := make(chan error, Racers)
		for i := range Racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.AppendLog(ctx, entry("u", time.Duration(i)*time.Second, i), keep, longAgo)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a concurrent AppendLog: %v", err)
			}
		}
		got, err := s.Log(ctx, "u", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < keep || len(got) > keep+Racers {
			t.Fatalf("after %d appends with keep %d: %d entries", Racers, keep, len(got))
		}
		last := entry("u", time.Hour, 100)
		mustAppend(t, s, keep, longAgo, last)
		want := []storage.LogEntry{last}
		for i := Racers - 1; len(want) < keep; i-- {
			want = append(want, entry("u", time.Duration(i)*time.Second, i))
		}
		checkLog(t, s, "u", 1000, want...)
	})

	t.Run("Refusals", func(t *testing.T) {
		s := newStore(t)
		kept := entry("u", 0, 1)
		mustAppend(t, s, 100, longAgo, kept)
		good := entry("u", time.Hour, 2)
		with := func(f func(*storage.LogEntry)) storage.LogEntry {
			e := good
			f(&e)
			return e
		}
		long := strings.Repeat("x", storage.MaxLogText+1)
		for _, c := range []struct {
			name   string
			e      storage.LogEntry
			keep   int
			before time.Time
			want   error
		}{
			{"EmptyUser", with(func(e *storage.LogEntry) { e.UserID = "" }), 100, longAgo, storage.ErrInvalidUserID},
			{"NULUser", with(func(e *storage.LogEntry) { e.UserID = "u\x00" }), 100, longAgo, storage.ErrInvalidUserID},
			{"LongUser", with(func(e *storage.LogEntry) { e.UserID = strings.Repeat("u", storage.MaxUserIDLen+1) }), 100, longAgo, storage.ErrInvalidUserID},
			{"ZeroTime", with(func(e *storage.LogEntry) { e.Time = time.Time{} }), 100, longAgo, storage.ErrInvalidTime},
			{"Before1970", with(func(e *storage.LogEntry) { e.Time = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }), 100, longAgo, storage.ErrInvalidTime},
			{"Past2262", with(func(e *storage.LogEntry) { e.Time = time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC) }), 100, longAgo, storage.ErrInvalidTime},
			{"ZeroBefore", good, 100, time.Time{}, storage.ErrInvalidTime},
			{"FarBefore", good, 100, time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC), storage.ErrInvalidTime},
			{"KeepZero", good, 0, longAgo, storage.ErrInvalidArgument},
			{"KeepNegative", good, -1, longAgo, storage.ErrInvalidArgument},
			{"NoKind", with(func(e *storage.LogEntry) { e.Kind = "" }), 100, longAgo, storage.ErrInvalidArgument},
			{"LongKind", with(func(e *storage.LogEntry) { e.Kind = long }), 100, longAgo, storage.ErrInvalidArgument},
			{"LongMethod", with(func(e *storage.LogEntry) { e.Method = long }), 100, longAgo, storage.ErrInvalidArgument},
			{"LongDetail", with(func(e *storage.LogEntry) { e.Detail = long }), 100, longAgo, storage.ErrInvalidArgument},
			{"NULDetail", with(func(e *storage.LogEntry) { e.Detail = "a\x00b" }), 100, longAgo, storage.ErrInvalidArgument},
			{"BadUTF8Method", with(func(e *storage.LogEntry) { e.Method = "\xff" }), 100, longAgo, storage.ErrInvalidArgument},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := s.AppendLog(ctx, c.e, c.keep, c.before)
				if !errors.Is(err, c.want) {
					t.Fatalf("AppendLog: %v, want %v", err, c.want)
				}
				// Refused: nothing written, nothing trimmed (keep 0 and a
				// cut-off after everything would have trimmed kept).
				checkLog(t, s, "u", 100, kept)
			})
		}
		if _, err := s.Log(ctx, "u", 0); !errors.Is(err, storage.ErrInvalidArgument) {
			t.Errorf("Log with limit 0: %v, want ErrInvalidArgument", err)
		}
		for _, id := range []string{"", "u\x00", "\xff", strings.Repeat("u", storage.MaxUserIDLen+1)} {
			if _, err := s.Log(ctx, id, 10); !errors.Is(err, storage.ErrInvalidUserID) {
				t.Errorf("Log(%q): %v, want ErrInvalidUserID", id, err)
			}
			if err := s.DeleteLog(ctx, id); !errors.Is(err, storage.ErrInvalidUserID) {
				t.Errorf("DeleteLog(%q): %v, want ErrInvalidUserID", id, err)
			}
		}
		checkLog(t, s, "u", 100, kept)
	})
}
