package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// walkIDs are user IDs whose byte order differs from the order of a
// natural-language collation (capitals before small letters, "é" after
// "z", a digit suffix compared byte by byte), the order a PostgreSQL
// database in en_US would give if the store did not ask for bytes.
var walkIDs = []string{"zed", "Zed", "alice", "Alice", "éva", "eva", "u10", "u9", "u1", "a b", "a-b", "ü", "~", "!"}

// walkAll walks s from after in batches of limit and returns the IDs seen,
// failing on a batch out of order or over limit.
func walkAll(t *testing.T, s storage.TOTPLister, after string, limit int) []string {
	t.Helper()
	var ids []string
	for calls := 0; ; calls++ {
		if calls > 1000 {
			t.Fatal("the walk does not end")
		}
		recs, err := s.TOTPRecords(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("TOTPRecords(%q, %d): %v", after, limit, err)
		}
		if len(recs) > limit {
			t.Fatalf("TOTPRecords(%q, %d) returned %d records", after, limit, len(recs))
		}
		for _, r := range recs {
			if r.UserID <= after {
				t.Fatalf("TOTPRecords(%q, %d) returned %q, not after the cursor in byte order", after, limit, r.UserID)
			}
			after = r.UserID
			ids = append(ids, r.UserID)
		}
		if len(recs) < limit {
			return ids
		}
	}
}

func runTOTPWalk(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		recs, err := s.TOTPRecords(t.Context(), "", 10)
		if err != nil || len(recs) != 0 {
			t.Fatalf("TOTPRecords of an empty store: %d records, %v; want none, nil", len(recs), err)
		}
		if n, err := s.CountTOTP(t.Context()); n != 0 || err != nil {
			t.Fatalf("CountTOTP of an empty store: %d, %v", n, err)
		}
	})

	t.Run("OrderLimitResume", func(t *testing.T) {
		s := newStore(t)
		want := slices.Clone(walkIDs)
		for _, id := range want {
			mustPut(t, s, storage.TOTPRecord{UserID: id, Account: "acct-" + id, Active: secret(1, when)})
		}
		slices.Sort(want) // Go's string order is byte order
		if n, err := s.CountTOTP(t.Context()); n != len(want) || err != nil {
			t.Fatalf("CountTOTP: %d, %v; want %d", n, err, len(want))
		}
		for _, limit := range []int{1, 2, 3, 5, len(want) - 1, len(want), len(want) + 1, storage.MaxTOTPBatch} {
			t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
				if got := walkAll(t, s, "", limit); !slices.Equal(got, want) {
					t.Fatalf("walk in batches of %d:\n got %q\nwant %q", limit, got, want)
				}
			})
		}
		// Resuming after any ID, stored or not, gives exactly the IDs after it.
		for _, after := range append(slices.Clone(want), "a", "u", "zzz", "ÿ", "Aa") {
			var rest []string
			for _, id := range want {
				if id > after {
					rest = append(rest, id)
				}
			}
			if got := walkAll(t, s, after, 4); !slices.Equal(got, rest) {
				t.Fatalf("walk after %q:\n got %q\nwant %q", after, got, rest)
			}
		}
	})

	t.Run("WholeRecords", func(t *testing.T) {
		s := newStore(t)
		a := storage.TOTPRecord{UserID: "a", Account: "ann", Active: secret(1, when), Pending: bound(secret(7, when.Add(time.Minute)))}
		a.Version = mustPut(t, s, a)
		if ok, err := s.AdvanceTOTPStep(t.Context(), "a", 1234); !ok || err != nil {
			t.Fatalf("AdvanceTOTPStep: %v, %v", ok, err)
		}
		a.LastStep = 1234
		b := storage.TOTPRecord{UserID: "b", Account: "bob", Pending: bound(secret(3, when)), Disabled: true}
		b.Version = mustPut(t, s, b)
		recs, err := s.TOTPRecords(t.Context(), "", 10)
		if err != nil || len(recs) != 2 {
			t.Fatalf("TOTPRecords: %d records, %v; want 2", len(recs), err)
		}
		checkRecord(t, recs[0], a)
		checkRecord(t, recs[1], b)
		// The version read by the walk is one PutTOTP accepts: a walk's
		// compare-and-set wins when nothing changed, and loses otherwise.
		recs[0].Account = "ann2"
		if _, err := s.PutTOTP(t.Context(), recs[0]); err != nil {
			t.Fatalf("PutTOTP with the walk's version: %v", err)
		}
		if _, err := s.PutTOTP(t.Context(), recs[0]); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("PutTOTP with the walk's version after a change: %v, want ErrConflict", err)
		}
		// Deleted records leave the walk.
		if err := s.DeleteTOTP(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		if got := walkAll(t, s, "", 10); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("walk after a delete: %q, want [b]", got)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, storage.TOTPRecord{UserID: "a", Account: "a", Active: secret(1, when)})
		for _, limit := range []int{0, -1, storage.MaxTOTPBatch + 1, 1 << 40} {
			if recs, err := s.TOTPRecords(t.Context(), "", limit); !errors.Is(err, storage.ErrInvalidArgument) || recs != nil {
				t.Errorf("TOTPRecords with limit %d: %d records, %v; want ErrInvalidArgument", limit, len(recs), err)
			}
		}
		for _, after := range []string{"a\x00", "\xff\xfe", strings.Repeat("x", storage.MaxUserIDLen+1)} {
			if recs, err := s.TOTPRecords(t.Context(), after, 10); !errors.Is(err, storage.ErrInvalidUserID) || recs != nil {
				t.Errorf("TOTPRecords after %q: %d records, %v; want ErrInvalidUserID", after, len(recs), err)
			}
		}
	})
}
