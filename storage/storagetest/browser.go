package storagetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// browser returns a remembered browser of user whose Hash, a SHA-256 digest
// as the library stores, starts with a zero byte and ends with 0xff, which
// a store keeping it as text would lose.
func browser(user, id string, created time.Time) storage.Browser {
	h := sha256.Sum256([]byte(user + "\x00" + id))
	h[0], h[len(h)-1] = 0, 0xff
	return storage.Browser{
		ID:       id,
		UserID:   user,
		Hash:     h[:],
		Label:    fmt.Sprintf("Firefox on Linux — %s 'ünïcødé' ?", id),
		Created:  created,
		LastUsed: created.Add(time.Minute + time.Nanosecond),
	}
}

func sameBrowser(a, b storage.Browser) bool {
	return a.ID == b.ID && a.UserID == b.UserID && bytes.Equal(a.Hash, b.Hash) && a.Label == b.Label &&
		a.Created.Equal(b.Created) && a.LastUsed.Equal(b.LastUsed)
}

func mustAddBrowser(t *testing.T, s storage.BrowserStore, b storage.Browser) {
	t.Helper()
	if err := s.AddBrowser(ctx, b, 100); err != nil {
		t.Fatalf("AddBrowser(%s, %s): %v", b.UserID, b.ID, err)
	}
}

// checkBrowsers reads the user's browsers and compares them, in order,
// with want, and looks each one up by its hash.
func checkBrowsers(t *testing.T, s storage.BrowserStore, user string, want ...storage.Browser) {
	t.Helper()
	got, err := s.Browsers(ctx, user)
	if err != nil {
		t.Fatalf("Browsers(%s): %v", user, err)
	}
	if got == nil {
		t.Fatalf("Browsers(%s) returned a nil list", user)
	}
	if !slices.EqualFunc(got, want, sameBrowser) {
		t.Fatalf("browsers of %s:\nread %+v\nwant %+v", user, got, want)
	}
	for _, w := range want {
		checkByHash(t, s, w)
	}
}

func checkByHash(t *testing.T, s storage.BrowserStore, want storage.Browser) {
	t.Helper()
	got, err := s.BrowserByHash(ctx, want.Hash)
	if err != nil || !sameBrowser(got, want) {
		t.Fatalf("BrowserByHash(%x) = %+v, %v\nwant %+v", want.Hash, got, err, want)
	}
}

func checkNoHash(t *testing.T, s storage.BrowserStore, hash []byte) {
	t.Helper()
	if b, err := s.BrowserByHash(ctx, hash); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("BrowserByHash(%x) = %+v, %v; want ErrNotFound", hash, b, err)
	}
}

func runBrowser(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		checkNoHash(t, s, browser("u", "b1", when).Hash)
		checkNoHash(t, s, nil)
		checkBrowsers(t, s, "nobody")
		if err := s.TouchBrowser(ctx, "nobody", "b1", when); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("TouchBrowser of a missing browser: %v, want ErrNotFound", err)
		}
		if err := s.DeleteBrowser(ctx, "nobody", "b1"); err != nil {
			t.Fatalf("DeleteBrowser of a missing browser: %v", err)
		}
		if err := s.DeleteBrowsers(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteBrowsers of a user without any: %v", err)
		}
		// Nothing came into being on the way.
		checkBrowsers(t, s, "nobody")
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		b := browser("ünïcødé 用户 'quoted' ?", "b1", when) // nanoseconds, not UTC
		old := browser("u", "b2", time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC))
		old.LastUsed = old.Created
		for _, x := range []storage.Browser{b, old} {
			mustAddBrowser(t, s, x)
		}
		checkBrowsers(t, s, b.UserID, b)
		checkBrowsers(t, s, "u", old)
		// A hash differing in one trailing byte is another hash.
		checkNoHash(t, s, b.Hash[:len(b.Hash)-1])
		checkNoHash(t, s, append(bytes.Clone(b.Hash), 0))
	})

	t.Run("AddConflict", func(t *testing.T) {
		s := newStore(t)
		b := browser("u", "b1", when)
		mustAddBrowser(t, s, b)
		for _, user := range []string{"u", "v"} {
			// The same ID with a hash of its own, whoever adds it.
			sameID := browser(user, "b1", when.Add(time.Hour))
			sameID.Hash[1] ^= 0xff
			sameID.Label = "same ID"
			// The same hash under an ID of its own, whoever adds it.
			sameHash := browser(user, "b2", when.Add(time.Hour))
			sameHash.Hash = bytes.Clone(b.Hash)
			sameHash.Label = "same hash"
			for _, again := range []storage.Browser{sameID, sameHash} {
				if err := s.AddBrowser(ctx, again, 100); !errors.Is(err, storage.ErrConflict) {
					t.Fatalf("AddBrowser(%s, %s) %s: %v, want ErrConflict", user, again.ID, again.Label, err)
				}
			}
			checkNoHash(t, s, sameID.Hash)
		}
		checkBrowsers(t, s, "u", b)
		checkBrowsers(t, s, "v")
		// The same browser again conflicts too.
		if err := s.AddBrowser(ctx, b, 100); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("AddBrowser of a stored browser: %v, want ErrConflict", err)
		}
		checkBrowsers(t, s, "u", b)
	})

	t.Run("Order", func(t *testing.T) {
		s := newStore(t)
		// By Created, then by ID in byte order ("A" < "B" < "a" < "b"),
		// whatever order they were added in and whatever a database's
		// collation says; one instant in two zones is one Created.
		d := browser("u", "d", when)
		a := browser("u", "a", when.Add(time.Nanosecond))
		upperA := browser("u", "A", when.Add(time.Second).UTC())
		upperB := browser("u", "B", when.Add(time.Second))
		lowerB := browser("u", "b", when.Add(time.Second))
		c := browser("u", "c", when.Add(time.Second))
		theirs := browser("v", "0", when.Add(time.Millisecond))
		for _, b := range []storage.Browser{c, lowerB, theirs, a, upperB, d, upperA} {
			mustAddBrowser(t, s, b)
		}
		checkBrowsers(t, s, "u", d, a, upperA, upperB, lowerB, c)
		checkBrowsers(t, s, "v", theirs)
	})

	t.Run("Touch", func(t *testing.T) {
		s := newStore(t)
		b, keep := browser("u", "b1", when), browser("u", "b2", when)
		keep.LastUsed = when
		mustAddBrowser(t, s, b)
		mustAddBrowser(t, s, keep)
		for _, tc := range []struct {
			at, want time.Time
		}{
			{when.Add(time.Hour), when.Add(time.Hour)},
			{when.Add(30 * time.Minute), when.Add(time.Hour)}, // earlier: kept
			{when.Add(time.Hour), when.Add(time.Hour)},        // the same instant
			{when.Add(time.Hour).UTC(), when.Add(time.Hour)},  // in another zone
			{when.Add(time.Hour + time.Nanosecond), when.Add(time.Hour + time.Nanosecond)},
			{time.Unix(1, 0), when.Add(time.Hour + time.Nanosecond)}, // the earliest valid time
			{when.Add(48 * time.Hour).UTC(), when.Add(48 * time.Hour)},
		} {
			if err := s.TouchBrowser(ctx, "u", "b1", tc.at); err != nil {
				t.Fatalf("TouchBrowser(%v): %v", tc.at, err)
			}
			// Only LastUsed changes, and only this browser's.
			want := b
			want.LastUsed = tc.want
			checkBrowsers(t, s, "u", want, keep)
		}
	})

	t.Run("TouchOtherUser", func(t *testing.T) {
		s := newStore(t)
		b := browser("u", "b1", when)
		mustAddBrowser(t, s, b)
		for _, tc := range []struct{ user, id string }{{"v", "b1"}, {"u", "b2"}, {"u", ""}, {"U", "b1"}} {
			if err := s.TouchBrowser(ctx, tc.user, tc.id, when.Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("TouchBrowser(%q, %q) of u's b1: %v, want ErrNotFound", tc.user, tc.id, err)
			}
		}
		checkBrowsers(t, s, "u", b)
		checkBrowsers(t, s, "v")
	})

	t.Run("TouchAfterDelete", func(t *testing.T) {
		// A browser revoked meanwhile stays revoked: the touch of a login
		// that found it just before does not bring it back.
		s := newStore(t)
		b, other := browser("u", "b1", when), browser("v", "b2", when)
		mustAddBrowser(t, s, b)
		mustAddBrowser(t, s, other)
		for i, remove := range []func() error{
			func() error { return s.DeleteBrowser(ctx, "u", "b1") },
			func() error { return s.DeleteBrowsers(ctx, "u") },
		} {
			if i > 0 {
				mustAddBrowser(t, s, b)
			}
			if err := remove(); err != nil {
				t.Fatal(err)
			}
			if err := s.TouchBrowser(ctx, "u", "b1", when.Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("TouchBrowser after delete #%d: %v, want ErrNotFound", i+1, err)
			}
			checkBrowsers(t, s, "u")
			checkNoHash(t, s, b.Hash)
			checkBrowsers(t, s, "v", other)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		a, b := browser("u", "b1", when), browser("u", "b2", when.Add(time.Second))
		theirs := browser("v", "b3", when)
		for _, x := range []storage.Browser{a, b, theirs} {
			mustAddBrowser(t, s, x)
		}
		// Another user cannot delete u's browser.
		if err := s.DeleteBrowser(ctx, "v", a.ID); err != nil {
			t.Fatal(err)
		}
		checkBrowsers(t, s, "u", a, b)
		for i := range 2 {
			if err := s.DeleteBrowser(ctx, "u", a.ID); err != nil {
				t.Fatalf("DeleteBrowser #%d: %v", i+1, err)
			}
		}
		checkBrowsers(t, s, "u", b)
		checkNoHash(t, s, a.Hash)
		checkBrowsers(t, s, "v", theirs)
		// The ID and the hash are free again.
		a.Created, a.LastUsed = when.Add(time.Minute), when.Add(time.Minute)
		mustAddBrowser(t, s, a)
		checkBrowsers(t, s, "u", b, a)
	})

	t.Run("DeleteAll", func(t *testing.T) {
		s := newStore(t)
		a, b := browser("u", "b1", when), browser("u", "b2", when)
		theirs := browser("v", "b3", when)
		for _, x := range []storage.Browser{a, b, theirs} {
			mustAddBrowser(t, s, x)
		}
		for i := range 2 {
			if err := s.DeleteBrowsers(ctx, "u"); err != nil {
				t.Fatalf("DeleteBrowsers #%d: %v", i+1, err)
			}
		}
		checkBrowsers(t, s, "u")
		checkNoHash(t, s, a.Hash)
		checkNoHash(t, s, b.Hash)
		checkBrowsers(t, s, "v", theirs)
		// The user starts over with the same browsers.
		mustAddBrowser(t, s, a)
		checkBrowsers(t, s, "u", a)
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		in, want := browser("u", "b1", when), browser("u", "b1", when)
		mustAddBrowser(t, s, in)
		in.Hash[1] ^= 0xff
		checkBrowsers(t, s, "u", want)
		got, err := s.BrowserByHash(ctx, want.Hash)
		if err != nil {
			t.Fatal(err)
		}
		got.Hash[1] ^= 0xff
		checkBrowsers(t, s, "u", want)
		list, err := s.Browsers(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		list[0].Hash[1] ^= 0xff
		list[0].Label = "changed"
		checkBrowsers(t, s, "u", want)
	})

	t.Run("RaceTouch", func(t *testing.T) {
		// Every racer touches at a time of its own, the latest not given
		// to the last one to start: the latest must stay, whoever writes
		// last.
		s := newStore(t)
		b := browser("u", "b1", when)
		b.LastUsed = when
		mustAddBrowser(t, s, b)
		var next atomic.Int64
		race(t, func() (bool, error) {
			i := next.Add(1)
			at := when.Add(time.Duration(i*7%Racers+1) * time.Second) // 7 and Racers are coprime
			return true, s.TouchBrowser(ctx, "u", "b1", at)
		})
		b.LastUsed = when.Add(Racers * time.Second)
		checkBrowsers(t, s, "u", b)
	})

	for _, what := range []string{"hash", "ID"} {
		t.Run("RaceAddSame"+what, func(t *testing.T) {
			// One browser, added by every racer for a user of its own,
			// under an ID or with a hash of its own.
			s := newStore(t)
			racer := func(i int64) storage.Browser {
				user := fmt.Sprint("racer ", i)
				if what == "hash" {
					b := browser(user, user, when)
					b.Hash = browser("", "", when).Hash
					return b
				}
				return browser(user, "b1", when)
			}
			won, winner := raceWrite(t, func(i int64) error {
				return s.AddBrowser(ctx, racer(i), 100)
			})
			if won != 1 {
				t.Fatalf("%d of %d goroutines added a browser with one %s, want exactly 1", won, Racers, what)
			}
			for i := range int64(Racers) {
				if b := racer(i + 1); i+1 == winner {
					checkBrowsers(t, s, b.UserID, b)
				} else {
					checkBrowsers(t, s, b.UserID)
				}
			}
		})
	}
}

// runBrowserCap checks AddBrowser's keep: the user's least recently used
// browsers go first, and the one just added always stays.
func runBrowserCap(t *testing.T, newStore func(t *testing.T) storage.Store) {
	used := func(id string, created, lastUsed time.Duration) storage.Browser {
		b := browser("u", id, when.Add(created))
		b.LastUsed = when.Add(lastUsed)
		return b
	}
	add := func(t *testing.T, s storage.BrowserStore, keep int, bs ...storage.Browser) {
		t.Helper()
		for _, b := range bs {
			if err := s.AddBrowser(ctx, b, keep); err != nil {
				t.Fatalf("AddBrowser(%s, keep %d): %v", b.ID, keep, err)
			}
		}
	}

	t.Run("LeastRecentlyUsedFirst", func(t *testing.T) {
		s := newStore(t)
		b1, b2, b3 := used("b1", 0, 4*time.Hour), used("b2", time.Second, time.Hour), used("b3", 2*time.Second, 3*time.Hour)
		theirs := browser("v", "v1", when)
		add(t, s, 3, theirs, b1, b2, b3)
		b4 := used("b4", 3*time.Second, 2*time.Hour)
		add(t, s, 3, b4)
		checkBrowsers(t, s, "u", b1, b3, b4) // b2, used an hour in, went
		checkNoHash(t, s, b2.Hash)
		// The new browser stays even if it was used least recently of all.
		b5 := used("b5", 4*time.Second, 0)
		add(t, s, 3, b5)
		checkBrowsers(t, s, "u", b1, b3, b5) // b4 went
		// A touch counts as a use: b1, the oldest, now outlives b3.
		if err := s.TouchBrowser(ctx, "u", "b1", when.Add(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		b1.LastUsed = when.Add(5 * time.Hour)
		b6 := used("b6", 5*time.Second, 5*time.Hour)
		add(t, s, 2, b6) // a smaller keep trims further
		checkBrowsers(t, s, "u", b1, b6)
		checkBrowsers(t, s, "v", theirs)
	})

	t.Run("Ties", func(t *testing.T) {
		// One LastUsed: the earlier Created goes first; one Created too:
		// the smaller ID in byte order ("B" < "a" < "b").
		s := newStore(t)
		a, upperB, b := used("a", time.Second, time.Hour), used("B", time.Second, time.Hour), used("b", time.Second, time.Hour)
		early := used("early", 0, time.Hour)
		add(t, s, 10, b, early, a, upperB)
		last := used("last", 0, 0)
		add(t, s, 3, last)
		checkBrowsers(t, s, "u", last, a, b) // early, then B, went
	})

	t.Run("KeepOne", func(t *testing.T) {
		s := newStore(t)
		add(t, s, 5, used("b1", 0, time.Hour), used("b2", 0, 2*time.Hour))
		b3 := used("b3", 0, 0)
		add(t, s, 1, b3)
		checkBrowsers(t, s, "u", b3)
	})

	t.Run("RefusedAddDropsNothing", func(t *testing.T) {
		s := newStore(t)
		b1, b2 := used("b1", 0, time.Hour), used("b2", time.Second, 2*time.Hour)
		add(t, s, 2, b1, b2)
		dup := used("b1", 2*time.Second, 3*time.Hour)
		dup.Hash[1] ^= 0xff
		if err := s.AddBrowser(ctx, dup, 2); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("AddBrowser of a stored ID: %v, want ErrConflict", err)
		}
		for _, keep := range []int{0, -1} {
			b := used(fmt.Sprint("k", keep), 2*time.Second, 3*time.Hour)
			if err := s.AddBrowser(ctx, b, keep); !errors.Is(err, storage.ErrInvalidArgument) {
				t.Fatalf("AddBrowser with keep %d: %v, want ErrInvalidArgument", keep, err)
			}
		}
		checkBrowsers(t, s, "u", b1, b2)
	})

	t.Run("Race", func(t *testing.T) {
		// Adds under way at once may leave up to keep plus their number;
		// the next add trims to keep, and keeps its own browser.
		s := newStore(t)
		const keep = 5
		won, _ := raceWrite(t, func(i int64) error {
			return s.AddBrowser(ctx, used(fmt.Sprint("r", i), time.Duration(i), time.Duration(i)*time.Second), keep)
		})
		if won != Racers {
			t.Fatalf("%d of %d adds of distinct browsers succeeded", won, Racers)
		}
		if list, err := s.Browsers(ctx, "u"); err != nil || len(list) > keep+Racers {
			t.Fatalf("after %d adds at once: %d browsers, %v; want at most %d", Racers, len(list), err, keep+Racers)
		}
		last := used("last", time.Hour, time.Hour)
		add(t, s, keep, last)
		list, err := s.Browsers(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > keep || !slices.ContainsFunc(list, func(b storage.Browser) bool { return sameBrowser(b, last) }) {
			t.Fatalf("after %d adds at once and one more: %d browsers %+v, want at most %d with the last one", Racers, len(list), list, keep)
		}
	})
}
