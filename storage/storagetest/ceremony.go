package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// mustPutCeremony stores c as of now, keeping keep of its user's.
func mustPutCeremony(t *testing.T, s storage.CeremonyStore, c storage.Ceremony, now time.Time, keep int) {
	t.Helper()
	if err := s.PutCeremony(ctx, c, now, keep); err != nil {
		t.Fatalf("PutCeremony(%s of %q, now %v, keep %d): %v", c.ID, c.UserID, now, keep, err)
	}
}

// takeAll takes every ceremony of ids that is still stored, and returns
// the IDs it found, in the order of ids. It empties the store of them, so
// it comes last in a test.
func takeAll(t *testing.T, s storage.CeremonyStore, ids []string) []string {
	t.Helper()
	var found []string
	for _, id := range ids {
		_, err := s.TakeCeremony(ctx, id)
		switch {
		case err == nil:
			found = append(found, id)
		case !errors.Is(err, storage.ErrNotFound):
			t.Fatalf("TakeCeremony(%s): %v", id, err)
		}
	}
	return found
}

func runCeremonyBounds(t *testing.T, newStore func(t *testing.T) storage.Store) {
	// Every put is as of one time, before any of the ceremonies expires, so
	// that only the bound removes any.
	now := when

	// Sequential puts never leave more than keep, and the ones they leave
	// are the last: each expires later than the one before.
	for _, tc := range []struct {
		name       string
		user       string
		keep, puts int
	}{
		{"User", "u", 5, 2000},
		{"PasskeyPool", "", 50, 500},
	} {
		t.Run("Sequential"+tc.name, func(t *testing.T) {
			s := newStore(t)
			var ids []string
			for i := range tc.puts {
				c := ceremony(fmt.Sprintf("c%05d", i), tc.user)
				c.Expires = now.Add(5*time.Minute + time.Duration(i)*time.Millisecond)
				mustPutCeremony(t, s, c, now, tc.keep)
				ids = append(ids, c.ID)
			}
			// Another user's ceremony is not counted against this one.
			other := ceremony("other", "v")
			mustPutCeremony(t, s, other, now, 1)
			found := takeAll(t, s, ids)
			if want := ids[len(ids)-tc.keep:]; !slices.Equal(found, want) {
				t.Fatalf("%d puts with keep %d left %d ceremonies %v, want the last %d", tc.puts, tc.keep, len(found), found, tc.keep)
			}
			checkTake(t, s, other)
		})
	}

	t.Run("KeepsThoseExpiringLast", func(t *testing.T) {
		// Put in an order other than their expiry: a put that expires
		// before the ones kept is itself the one dropped.
		s := newStore(t)
		var ids []string
		for _, min := range []int{5, 1, 9, 3, 7, 2, 8} {
			c := ceremony(fmt.Sprint("m", min), "u")
			c.Expires = now.Add(time.Duration(min) * time.Minute)
			mustPutCeremony(t, s, c, now, 3)
			ids = append(ids, c.ID)
		}
		if found := takeAll(t, s, ids); !slices.Equal(found, []string{"m9", "m7", "m8"}) {
			t.Fatalf("kept %v, want m7, m8 and m9, which expire last", found)
		}
	})

	t.Run("TiesByID", func(t *testing.T) {
		// One expiry: the greater IDs in byte order stay ("B" < "C" < "a"
		// < "b"), whatever a database's collation says.
		s := newStore(t)
		ids := []string{"b", "B", "a", "C"}
		for _, id := range ids {
			mustPutCeremony(t, s, ceremony(id, "u"), now, 2)
		}
		if found := takeAll(t, s, ids); !slices.Equal(found, []string{"b", "a"}) {
			t.Fatalf("kept %v, want a and b", found)
		}
	})

	t.Run("ExpiredOfEveryUser", func(t *testing.T) {
		s := newStore(t)
		at := func(id, user string, d time.Duration) storage.Ceremony {
			c := ceremony(id, user)
			c.Expires = now.Add(d)
			return c
		}
		early, edge, live := at("early", "a", time.Minute), at("edge", "b", 2*time.Minute), at("live", "c", 10*time.Minute)
		pool := at("pool", "", time.Minute)
		lateNano := at("late", "b", 2*time.Minute+time.Nanosecond)
		for _, c := range []storage.Ceremony{early, edge, live, pool, lateNano} {
			mustPutCeremony(t, s, c, now, 5)
		}
		// A put for someone else, two minutes on: whatever expired at or
		// before then goes, of any user and of the pool.
		next := at("next", "d", 12*time.Minute)
		mustPutCeremony(t, s, next, now.Add(2*time.Minute), 5)
		for _, c := range []storage.Ceremony{early, edge, pool} {
			if got, err := s.TakeCeremony(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("ceremony %s, expired at or before the put, is still there: %+v, %v", c.ID, got, err)
			}
		}
		for _, c := range []storage.Ceremony{lateNano, live, next} {
			checkTake(t, s, c)
		}
	})

	t.Run("DeleteCeremonies", func(t *testing.T) {
		s := newStore(t)
		u1, u2, v1, p1 := ceremony("u1", "u"), ceremony("u2", "u"), ceremony("v1", "v"), ceremony("p1", "")
		for _, c := range []storage.Ceremony{u1, u2, v1, p1} {
			mustPutCeremony(t, s, c, now, 5)
		}
		for i := range 2 {
			if err := s.DeleteCeremonies(ctx, "u"); err != nil {
				t.Fatalf("DeleteCeremonies #%d: %v", i+1, err)
			}
		}
		if err := s.DeleteCeremonies(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteCeremonies of a user without any: %v", err)
		}
		if found := takeAll(t, s, []string{"u1", "u2"}); len(found) != 0 {
			t.Fatalf("after DeleteCeremonies: %v are left", found)
		}
		checkTake(t, s, v1)
		checkTake(t, s, p1)
		// The user starts over.
		mustPutCeremony(t, s, u1, now, 5)
		checkTake(t, s, u1)
	})

	t.Run("InvalidKeep", func(t *testing.T) {
		s := newStore(t)
		for _, keep := range []int{0, -1} {
			c := ceremony(fmt.Sprint("k", keep), "u")
			if err := s.PutCeremony(ctx, c, now, keep); !errors.Is(err, storage.ErrInvalidArgument) {
				t.Fatalf("PutCeremony with keep %d: %v, want ErrInvalidArgument", keep, err)
			}
			if got, err := s.TakeCeremony(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a refused put stored %+v, %v", got, err)
			}
		}
	})

	// Puts under way at once may leave up to keep plus their number; the
	// next put trims to keep, and keeps its own ceremony, which expires last.
	for _, user := range []string{"u", ""} {
		t.Run(fmt.Sprintf("Race%q", user), func(t *testing.T) {
			s := newStore(t)
			const keep = 5
			var ids []string
			for i := range Racers {
				ids = append(ids, fmt.Sprint("r", i+1))
			}
			won, _ := raceWrite(t, func(i int64) error {
				c := ceremony(fmt.Sprint("r", i), user)
				c.Expires = now.Add(5*time.Minute + time.Duration(i)*time.Millisecond)
				return s.PutCeremony(ctx, c, now, keep)
			})
			if won != Racers {
				t.Fatalf("%d of %d puts of distinct ceremonies succeeded", won, Racers)
			}
			last := ceremony("last", user)
			last.Expires = now.Add(time.Hour)
			mustPutCeremony(t, s, last, now, keep)
			found := takeAll(t, s, append(ids, last.ID))
			if len(found) > keep || !slices.Contains(found, last.ID) {
				t.Fatalf("after %d puts at once and one more, %d ceremonies are left (%v), want at most %d with the last put's",
					Racers, len(found), found, keep)
			}
		})
	}
}
