package twofa_test

import (
	"strings"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

// A demonstration's random key beside a database would seal secrets that
// no restart can open: New refuses it, and accepts it beside the memory
// store, whose records end with the process as the key does.
func TestRandomKeysOnlyWithMemory(t *testing.T) {
	kept, err := keyring.Parse("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range testdb.Backends {
		t.Run(b.Name, func(t *testing.T) {
			store, _ := b.Open(t)
			_, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: keyring.Random()})
			_, memoryStore := store.(*memory.Store)
			switch {
			case memoryStore && err != nil:
				t.Fatalf("New with keyring.Random on the memory store: %v", err)
			case !memoryStore && (err == nil || !strings.Contains(err.Error(), "keyring.Parse")):
				t.Fatalf("New with keyring.Random on %s: %v; want a refusal naming keyring.Parse", b.Name, err)
			}
			if _, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: kept}); err != nil {
				t.Fatalf("New with loaded keys: %v", err)
			}
		})
	}
}
