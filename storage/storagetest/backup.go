package storagetest

import (
	"bytes"
	"errors"
	"fmt"
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
