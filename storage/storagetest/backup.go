package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func backupSet(user, id string, n int) storage.BackupSet {
	set := storage.BackupSet{UserID: user, SetID: id, Salt: []byte("salt-" + id), KDF: "argon2id$t=2$m=19456$p=1", Created: when}
	for i := range n {
		set.Hashes = append(set.Hashes, []byte(fmt.Sprintf("hash-%s-%02d-\x00\xff", id, i)))
	}
	return set
}

func runBackup(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.BackupSet(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("BackupSet of a missing user: %v, want ErrNotFound", err)
		}
		if ok, err := s.UseBackupCode(ctx, "nobody", "x", 0, when); ok || err != nil {
			t.Fatalf("UseBackupCode of a missing user: %v, %v; want false, nil", ok, err)
		}
		if err := s.SetBackupDisabled(ctx, "nobody", true); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("SetBackupDisabled of a missing user: %v, want ErrNotFound", err)
		}
		if err := s.DeleteBackupSet(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteBackupSet of a missing user: %v", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		in := backupSet("u", "set1", 10)
		in.UsedAt = make([]time.Time, 10)
		in.UsedAt[3] = when // ignored: a new set is all unused
		if ok, err := s.ReplaceBackupSet(ctx, in, ""); !ok || err != nil {
			t.Fatal(err)
		}
		got, err := s.BackupSet(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != "u" || got.SetID != "set1" || !bytes.Equal(got.Salt, in.Salt) || got.KDF != in.KDF ||
			!got.Created.Equal(when) || got.Disabled || len(got.Hashes) != 10 || len(got.UsedAt) != 10 {
			t.Fatalf("read %+v", got)
		}
		for i := range got.Hashes {
			if !bytes.Equal(got.Hashes[i], in.Hashes[i]) || !got.UsedAt[i].IsZero() {
				t.Fatalf("code %d: hash %q used %v", i, got.Hashes[i], got.UsedAt[i])
			}
		}
	})

	t.Run("UseOnce", func(t *testing.T) {
		s := newStore(t)
		s.ReplaceBackupSet(ctx, backupSet("u", "set1", 3), "")
		s.ReplaceBackupSet(ctx, backupSet("v", "set1", 3), "")
		if ok, err := s.UseBackupCode(ctx, "u", "set1", 1, when); !ok || err != nil {
			t.Fatalf("first use: %v, %v", ok, err)
		}
		for _, tc := range []struct {
			name, user, set string
			index           int
		}{{"again", "u", "set1", 1}, {"other set", "u", "set2", 2}, {"index too big", "u", "set1", 3}, {"negative index", "u", "set1", -1}} {
			if ok, err := s.UseBackupCode(ctx, tc.user, tc.set, tc.index, when); ok || err != nil {
				t.Errorf("%s: %v, %v; want false, nil", tc.name, ok, err)
			}
		}
		got, _ := s.BackupSet(ctx, "u")
		if !got.UsedAt[1].Equal(when) || !got.UsedAt[0].IsZero() || !got.UsedAt[2].IsZero() {
			t.Fatalf("used times %v", got.UsedAt)
		}
		// Another user's code with the same set ID and index is untouched.
		if other, _ := s.BackupSet(ctx, "v"); !other.UsedAt[1].IsZero() {
			t.Fatal("using u's code marked v's")
		}
	})

	t.Run("Replace", func(t *testing.T) {
		s := newStore(t)
		s.ReplaceBackupSet(ctx, backupSet("u", "old", 10), "")
		s.UseBackupCode(ctx, "u", "old", 0, when)
		s.SetBackupDisabled(ctx, "u", true)
		if ok, err := s.ReplaceBackupSet(ctx, backupSet("u", "new", 5), "old"); !ok || err != nil {
			t.Fatal(err)
		}
		got, _ := s.BackupSet(ctx, "u")
		if got.SetID != "new" || len(got.Hashes) != 5 || got.Disabled || !got.UsedAt[0].IsZero() {
			t.Fatalf("after replace: %+v", got)
		}
		// A request that read the old set cannot consume a code now.
		if ok, _ := s.UseBackupCode(ctx, "u", "old", 1, when); ok {
			t.Fatal("a code of the replaced set was consumed")
		}
	})

	t.Run("DisableDelete", func(t *testing.T) {
		s := newStore(t)
		s.ReplaceBackupSet(ctx, backupSet("u", "set1", 2), "")
		if err := s.SetBackupDisabled(ctx, "u", true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.BackupSet(ctx, "u"); !got.Disabled || len(got.Hashes) != 2 {
			t.Fatalf("disabled set: %+v", got)
		}
		s.SetBackupDisabled(ctx, "u", false)
		if got, _ := s.BackupSet(ctx, "u"); got.Disabled {
			t.Fatal("still disabled")
		}
		if err := s.DeleteBackupSet(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BackupSet(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if ok, _ := s.UseBackupCode(ctx, "u", "set1", 0, when); ok {
			t.Fatal("a deleted set's code was consumed")
		}
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		in := backupSet("u", "set1", 2)
		s.ReplaceBackupSet(ctx, in, "")
		in.Hashes[0][0] = '!'
		in.Salt[0] = '!'
		out, _ := s.BackupSet(ctx, "u")
		if out.Hashes[0][0] == '!' || out.Salt[0] == '!' {
			t.Fatal("the store shares memory with the set it was given")
		}
		out.Hashes[1][0] = '!'
		out.UsedAt[1] = when
		again, _ := s.BackupSet(ctx, "u")
		if again.Hashes[1][0] == '!' || !again.UsedAt[1].IsZero() {
			t.Fatal("the store shares memory with the set it returned")
		}
	})

	t.Run("RaceUse", func(t *testing.T) {
		s := newStore(t)
		s.ReplaceBackupSet(ctx, backupSet("u", "set1", 10), "")
		won := race(t, func() (bool, error) { return s.UseBackupCode(ctx, "u", "set1", 4, when) })
		if won != 1 {
			t.Fatalf("%d of %d goroutines consumed one code, want exactly 1", won, Racers)
		}
	})
}

// runBackupReplace checks ReplaceBackupSet's compare-and-set on the
// previous set ID.
func runBackupReplace(t *testing.T, newStore func(t *testing.T) storage.Store) {
	replace := func(t *testing.T, s storage.BackupStore, set storage.BackupSet, prev string, want bool) {
		t.Helper()
		if ok, err := s.ReplaceBackupSet(ctx, set, prev); ok != want || err != nil {
			t.Fatalf("ReplaceBackupSet(%s, previous %q) = %v, %v; want %v, nil", set.SetID, prev, ok, err, want)
		}
	}
	current := func(t *testing.T, s storage.BackupStore, want storage.BackupSet) {
		t.Helper()
		got, err := s.BackupSet(ctx, want.UserID)
		if err != nil || got.SetID != want.SetID || len(got.Hashes) != len(want.Hashes) || !bytes.Equal(got.Salt, want.Salt) {
			t.Fatalf("BackupSet(%s) = %+v, %v; want set %s", want.UserID, got, err, want.SetID)
		}
		for i := range got.Hashes {
			if !bytes.Equal(got.Hashes[i], want.Hashes[i]) || !got.UsedAt[i].IsZero() {
				t.Fatalf("code %d of set %s: hash %q used %v", i, got.SetID, got.Hashes[i], got.UsedAt[i])
			}
		}
	}

	t.Run("CompareAndSet", func(t *testing.T) {
		s := newStore(t)
		one, two, three := backupSet("u", "one", 3), backupSet("u", "two", 4), backupSet("u", "three", 5)
		// No set: only "" is the previous one.
		replace(t, s, one, "never", false)
		if _, err := s.BackupSet(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a lost replacement made a set: %v", err)
		}
		replace(t, s, one, "", true)
		current(t, s, one)
		// A set now: "" and any other ID are stale.
		for _, prev := range []string{"", "three", "ONE", "one "} {
			replace(t, s, two, prev, false)
			current(t, s, one)
		}
		if ok, _ := s.UseBackupCode(ctx, "u", "one", 0, when); !ok {
			t.Fatal("could not use a code of the set")
		}
		replace(t, s, two, "one", true)
		current(t, s, two) // all unused
		replace(t, s, three, "one", false)
		current(t, s, two)
		// After a delete there is no set again.
		if err := s.DeleteBackupSet(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		replace(t, s, three, "two", false)
		replace(t, s, three, "", true)
		current(t, s, three)
		// Another user's set is another compare.
		theirs := backupSet("v", "one", 2)
		replace(t, s, theirs, "", true)
		current(t, s, theirs)
		current(t, s, three)
	})

	t.Run("InvalidSetID", func(t *testing.T) {
		s := newStore(t)
		one := backupSet("u", "one", 3)
		replace(t, s, one, "", true)
		for _, tc := range []struct {
			id, prev string
		}{{"", ""}, {"", "one"}, {"one", "one"}} {
			set := backupSet("u", tc.id, 2)
			if ok, err := s.ReplaceBackupSet(ctx, set, tc.prev); ok || !errors.Is(err, storage.ErrInvalidArgument) {
				t.Fatalf("ReplaceBackupSet(set %q, previous %q) = %v, %v; want ErrInvalidArgument", tc.id, tc.prev, ok, err)
			}
		}
		current(t, s, one)
	})

	// Every racer reads the same set, waits until all have read it, and
	// replaces it with a set of its own: exactly one may win, and the set
	// stored is the winner's, whole.
	for _, first := range []bool{true, false} {
		name := "RaceReplace"
		if first {
			name = "RaceFirstSet"
		}
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			if !first {
				replace(t, s, backupSet("u", "old", 10), "", true)
			}
			read := newBarrier(Racers)
			won, winner := raceWrite(t, func(i int64) error {
				prev := ""
				cur, err := s.BackupSet(ctx, "u")
				switch {
				case err == nil:
					prev = cur.SetID
				case !errors.Is(err, storage.ErrNotFound):
					return err
				}
				read.arrive()
				ok, err := s.ReplaceBackupSet(ctx, backupSet("u", fmt.Sprint("racer ", i), 10), prev)
				if err == nil && !ok {
					return storage.ErrConflict // lost: raceWrite counts it so
				}
				return err
			})
			if won != 1 {
				t.Fatalf("%d of %d replacements of one set succeeded, want exactly 1", won, Racers)
			}
			current(t, s, backupSet("u", fmt.Sprint("racer ", winner), 10))
		})
	}
}

// barrier holds the first n callers of arrive until all n have arrived.
type barrier struct {
	arrived sync.WaitGroup
	left    atomic.Int32
}

func newBarrier(n int) *barrier {
	b := &barrier{}
	b.arrived.Add(n)
	b.left.Store(int32(n))
	return b
}

func (b *barrier) arrive() {
	if b.left.Add(-1) >= 0 {
		b.arrived.Done()
		b.arrived.Wait()
	}
}
