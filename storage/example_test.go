package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// The one rule for user IDs, the same on every store and at every entry
// point: 1 to 255 bytes of UTF-8 without a NUL byte. An application whose
// IDs are numbers writes them in decimal; one with longer IDs passes a
// digest of them.
func ExampleCheckUserID() {
	for _, id := range []string{"42", "jane@example.com", "", "a\x00b", "\xff", strings.Repeat("x", 256)} {
		err := storage.CheckUserID(id)
		fmt.Printf("%.20q %v\n", id, errors.Is(err, storage.ErrInvalidUserID))
	}
	// Output:
	// "42" false
	// "jane@example.com" false
	// "" true
	// "a\x00b" true
	// "\xff" true
	// "xxxxxxxxxxxxxxxxxxxx" true
}

// A clock that was never set, or one far in the future, is refused before
// any store is asked.
func ExampleCheckTime() {
	for _, t := range []time.Time{time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), {}, time.Unix(-1, 0), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		fmt.Println(t.Year(), storage.CheckTime(t) == nil)
	}
	// Output:
	// 2026 true
	// 1 false
	// 1969 false
	// 2300 false
}
