package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// A store in the process's memory, for tests and for an application of one
// process that may lose its second factors at each restart: nothing is
// written anywhere. Every store behaves alike (storage/storagetest).
func Example() {
	ctx := context.Background()
	s := memory.New()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ok, err := s.SwapThrottle(ctx, "alice", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: at})
	fmt.Println(ok, err)
	// A second writer that read the same state loses.
	ok, err = s.SwapThrottle(ctx, "alice", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: at})
	fmt.Println(ok, err)
	st, err := s.Throttle(ctx, "alice")
	fmt.Println(st.Failures, err)
	// Output:
	// true <nil>
	// false <nil>
	// 1 <nil>
}

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
