package keyring_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/twofa-go/twofa/keyring"
)

// A ring from one value, such as an environment variable: the new key
// first, the old one after it. A value sealed under the old key still opens,
// and says it should be sealed again under the new one.
func Example() {
	older, _ := keyring.NewKey("2025-11")
	newer, _ := keyring.NewKey("2026-11")
	before, _ := keyring.New(older)
	sealed, err := before.Seal("totp/secret", "alice", []byte("JBSWY3DPEHPK3PXP"))
	if err != nil {
		log.Fatal(err)
	}

	// As os.Getenv("TWOFA_KEYS") would return it: "2026-11:... 2025-11:...".
	keys := newer.Encode() + " " + older.Encode()
	ring, err := keyring.Parse(keys)
	if err != nil {
		log.Fatal(err)
	}
	secret, current, err := ring.Open("totp/secret", "alice", sealed)
	fmt.Println(ring.PrimaryID(), string(secret), current, err)

	// Bound to its user: bob's record cannot carry alice's secret.
	_, _, err = ring.Open("totp/secret", "bob", sealed)
	fmt.Println(err)
	// Output:
	// 2026-11 JBSWY3DPEHPK3PXP false <nil>
	// keyring: sealed value does not open
}

// A ring from a file, one key a line, the primary one first.
func ExampleLoad() {
	key, _ := keyring.NewKey("2026-11")
	path := filepath.Join(os.TempDir(), "twofa-example.keys")
	defer os.Remove(path)
	text := "# twofa's keys: the primary one first\n" + key.Encode() + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ring.PrimaryID())
	// Output:
	// 2026-11
}

// The key that signs httpmw's mark comes from the ring: one secret to keep,
// and two keys that have nothing in common.
func ExampleRing_DeriveKey() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	mark := ring.DeriveKey("httpmw/mark")
	fmt.Println(len(mark), string(mark) == string(key.Secret), string(mark) == string(ring.DeriveKey("httpmw/mark")))
	// Output:
	// 32 false true
}

// A new key, written as an environment variable or a secret store keeps it.
func ExampleKey_Encode() {
	key, _ := keyring.NewKey("2026-11")
	text := key.Encode() // "2026-11:" and 44 characters of base64
	back, err := keyring.ParseKey(text)
	fmt.Println(len(text), back.ID, string(back.Secret) == string(key.Secret), err)
	// Output:
	// 52 2026-11 true <nil>
}

// A ring of a fresh key, for a test or a demonstration on the memory store:
// what it seals is lost with the process, as the store's records are.
func ExampleRandom() {
	ring := keyring.Random()
	sealed, _ := ring.Seal("totp/secret", "alice", []byte("JBSWY3DPEHPK3PXP"))
	secret, _, err := ring.Open("totp/secret", "alice", sealed)
	fmt.Println(string(secret), err)
	_, _, err = keyring.Random().Open("totp/secret", "alice", sealed)
	fmt.Println(err)
	// Output:
	// JBSWY3DPEHPK3PXP <nil>
	// keyring: sealed value does not open: key not in ring
}
