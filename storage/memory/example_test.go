package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// A put keeps the user's ceremonies that expire last, and removes every
// ceremony that has expired.
func ExampleStore_PutCeremony() {
	ctx := context.Background()
	s := memory.New()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		c := storage.Ceremony{ID: fmt.Sprint("c", i), UserID: "alice", Kind: "login", Expires: now.Add(time.Duration(5+i) * time.Minute)}
		if err := s.PutCeremony(ctx, c, now, 2); err != nil {
			fmt.Println(err)
		}
	}
	for i := range 4 {
		_, err := s.TakeCeremony(ctx, fmt.Sprint("c", i))
		fmt.Printf("c%d kept: %v\n", i, !errors.Is(err, storage.ErrNotFound))
	}
	// Output:
	// c0 kept: false
	// c1 kept: false
	// c2 kept: true
	// c3 kept: true
}

// Of two generations that read the same set, only the first replaces it.
func ExampleStore_ReplaceBackupSet() {
	ctx := context.Background()
	s := memory.New()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	set := func(id string) storage.BackupSet {
		return storage.BackupSet{UserID: "alice", SetID: id, KDF: "argon2id$t=2$m=19456$p=1", Hashes: [][]byte{[]byte("h")}, Created: now}
	}
	ok, err := s.ReplaceBackupSet(ctx, set("first"), "") // no set yet
	fmt.Println(ok, err)
	ok, err = s.ReplaceBackupSet(ctx, set("second"), "first")
	fmt.Println(ok, err)
	ok, err = s.ReplaceBackupSet(ctx, set("third"), "first") // read before "second"
	fmt.Println(ok, err)
	cur, _ := s.BackupSet(ctx, "alice")
	fmt.Println(cur.SetID)
	// Output:
	// true <nil>
	// true <nil>
	// false <nil>
	// second
}
