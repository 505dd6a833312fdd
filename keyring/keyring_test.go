package keyring_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twofa-go/twofa/keyring"
)

func key(t *testing.T, id string) keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	r, err := keyring.New(key(t, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("twenty bytes secret!")
	sealed, err := r.Seal("totp/secret", "alice", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, current, err := r.Open("totp/secret", "alice", sealed)
	if err != nil || !current || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v, %v; want the secret, true, nil", got, current, err)
	}
	again, _ := r.Seal("totp/secret", "alice", secret)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are identical: nonce not random")
	}
}

func TestBinding(t *testing.T) {
	r, _ := keyring.New(key(t, "k1"))
	sealed, _ := r.Seal("totp/secret", "alice", []byte("secret"))
	for _, tc := range []struct{ name, purpose, user string }{
		{"other user", "totp/secret", "bob"},
		{"other purpose", "backup/set", "alice"},
		// Length prefixes keep the parts apart.
		{"shifted boundary", "totp/secretalice", ""},
	} {
		if _, _, err := r.Open(tc.purpose, tc.user, sealed); !errors.Is(err, keyring.ErrOpen) {
			t.Errorf("%s: Open err = %v, want ErrOpen", tc.name, err)
		}
	}
}

func TestTamperAndGarbage(t *testing.T) {
	r, _ := keyring.New(key(t, "k1"))
	sealed, _ := r.Seal("p", "u", []byte("secret"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, _, err := r.Open("p", "u", bad); err == nil {
			t.Fatalf("flipping byte %d still opens", i)
		}
	}
	for _, in := range [][]byte{nil, {}, {1}, {1, 200}, {2, 2, 'k', '1'}, bytes.Repeat([]byte{1}, 10000)} {
		if _, _, err := r.Open("p", "u", in); !errors.Is(err, keyring.ErrOpen) {
			t.Errorf("Open(%x...) err = %v, want ErrOpen", in[:min(len(in), 4)], err)
		}
	}
}

func TestRotation(t *testing.T) {
	old, next := key(t, "2025"), key(t, "2026")
	r1, _ := keyring.New(old)
	sealed, _ := r1.Seal("p", "u", []byte("secret"))

	r2, err := keyring.New(next, old)
	if err != nil {
		t.Fatal(err)
	}
	got, current, err := r2.Open("p", "u", sealed)
	if err != nil || current || string(got) != "secret" {
		t.Fatalf("Open under old key = %q, current=%v, %v; want secret, false, nil", got, current, err)
	}
	resealed, _ := r2.Seal("p", "u", got)
	if _, current, err := r2.Open("p", "u", resealed); err != nil || !current {
		t.Fatalf("re-sealed value: current=%v err=%v", current, err)
	}
	// Once the old key is dropped its values no longer open.
	r3, _ := keyring.New(next)
	if _, _, err := r3.Open("p", "u", sealed); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestNewValidates(t *testing.T) {
	good := key(t, "a")
	for _, tc := range []struct {
		name string
		keys []keyring.Key
	}{
		{"short secret", []keyring.Key{{ID: "a", Secret: make([]byte, 16)}}},
		{"empty id", []keyring.Key{{ID: "", Secret: good.Secret}}},
		{"space in id", []keyring.Key{{ID: "a b", Secret: good.Secret}}},
		{"long id", []keyring.Key{{ID: string(make([]byte, 65)), Secret: good.Secret}}},
		{"duplicate id", []keyring.Key{good, good}},
	} {
		if _, err := keyring.New(tc.keys[0], tc.keys[1:]...); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		} else if bytes.Contains([]byte(err.Error()), good.Secret) {
			t.Errorf("%s: error carries the key", tc.name)
		}
	}
}
