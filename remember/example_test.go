package remember_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage/memory"
)

// A browser remembered after the second step skips it for 28 days since
// its last use; the user's list names it, and forgetting it (at logout, or
// from the list) ends it at once.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	browsers, err := remember.New(remember.Config{Store: memory.New(), Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	label := remember.Label("Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0")
	token, err := browsers.Remember(ctx, "alice", label) // into a cookie of this browser
	if err != nil {
		log.Fatal(err)
	}

	now = now.Add(20 * 24 * time.Hour)
	fmt.Println("20 days later:", browsers.Check(ctx, "alice", token))
	fmt.Println("as bob:", browsers.Check(ctx, "bob", token))
	list, _ := browsers.List(ctx, "alice")
	fmt.Println(len(list), list[0].Label)

	now = now.Add(29 * 24 * time.Hour)
	fmt.Println("29 idle days later:", browsers.Check(ctx, "alice", token))
	// Output:
	// 20 days later: <nil>
	// as bob: remember: browser not remembered
	// 1 Firefox on Linux
	// 29 idle days later: remember: browser not remembered
}
