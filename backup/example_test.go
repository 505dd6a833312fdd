package backup_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/storage/memory"
)

// Generate a set, show it once, use a code, and see it refused the second
// time.
func Example() {
	ctx := context.Background()
	svc, err := backup.New(backup.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	set, _ := svc.Generate(ctx, "user-42")
	fmt.Println(len(set), "codes, shaped like", len(set[0]), "characters")

	// The user types one of them, in any case, with or without the dash.
	fmt.Println("first use:", svc.Verify(ctx, "user-42", set[0]))
	n, _ := svc.Remaining(ctx, "user-42")
	fmt.Printf("You have %d unused backup codes\n", n)
	err = svc.Verify(ctx, "user-42", set[0])
	fmt.Println("second use refused:", errors.Is(err, backup.ErrUsed))
	// Output:
	// 10 codes, shaped like 11 characters
	// first use: <nil>
	// You have 9 unused backup codes
	// second use refused: true
}

func ExampleNormalize() {
	for _, typed := range []string{"ABCDE FGHIJ", "abcde-fghij", "abcdefghij", "abcde-fgh0j"} {
		code, err := backup.Normalize(typed)
		fmt.Printf("%q -> %q %v\n", typed, code, err)
	}
	// Output:
	// "ABCDE FGHIJ" -> "abcdefghij" <nil>
	// "abcde-fghij" -> "abcdefghij" <nil>
	// "abcdefghij" -> "abcdefghij" <nil>
	// "abcde-fgh0j" -> "" backup: malformed code: unexpected character
}

// Services that share one gate share its bound: here, at most four
// argon2id evaluations (4 × 19 MiB) at once over both. A second set for
// the same user within a minute is refused, whichever Service asks.
func ExampleNewGate() {
	ctx := context.Background()
	gate := backup.NewGate(4)
	store := memory.New()
	site, err := backup.New(backup.Config{Store: store, Gate: gate})
	if err != nil {
		panic(err)
	}
	admin, err := backup.New(backup.Config{Store: store, Gate: gate})
	if err != nil {
		panic(err)
	}
	fmt.Println("slots:", gate.Slots())
	if _, err := site.Generate(ctx, "user-42"); err != nil {
		panic(err)
	}
	_, err = admin.Generate(ctx, "user-42")
	fmt.Println("again at once:", errors.Is(err, backup.ErrTooSoon))
	// Output:
	// slots: 4
	// again at once: true
}
