package keyring_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestParseKey(t *testing.T) {
	k := key(t, "2026-01")
	text := k.Encode()
	got, err := keyring.ParseKey(text)
	if err != nil || got.ID != k.ID || !bytes.Equal(got.Secret, k.Secret) {
		t.Fatalf("ParseKey(Encode()) = %v, %v; want the key back", got.ID, err)
	}
	if _, err := keyring.ParseKey(" " + text + "\n"); err != nil {
		t.Errorf("surrounding space: %v", err)
	}
	_, b64, _ := strings.Cut(text, ":")
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"no id", ":" + b64},
		{"no colon", b64},
		{"space in id", "a b:" + b64},
		{"short secret", "k:" + base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"long secret", "k:" + base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"unpadded", "k:" + strings.TrimRight(b64, "=")},
		{"url alphabet", "k:" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))},
		{"not base64", "k:" + strings.Repeat("!", 44)},
		{"line break inside", "k:" + b64[:20] + "\n" + b64[20:]},
		{"trailing garbage", text + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyring.ParseKey(tc.in)
			if !errors.Is(err, keyring.ErrKeyText) {
				t.Fatalf("err = %v, want ErrKeyText", err)
			}
			if strings.Contains(err.Error(), b64[:12]) {
				t.Fatalf("the error carries the key: %v", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	old, next := key(t, "2025"), key(t, "2026")
	r1, _ := keyring.New(old)
	sealed, _ := r1.Seal("p", "u", []byte("secret"))
	for _, sep := range []string{" ", ",", "\n", ", ", "\r\n", "\t"} {
		r, err := keyring.Parse(next.Encode() + sep + old.Encode() + "\n")
		if err != nil {
			t.Fatalf("separator %q: %v", sep, err)
		}
		if r.PrimaryID() != "2026" {
			t.Errorf("separator %q: primary %q, want the first key", sep, r.PrimaryID())
		}
		if got, current, err := r.Open("p", "u", sealed); err != nil || current || string(got) != "secret" {
			t.Errorf("separator %q: a value under the older key: %q, %v, %v", sep, got, current, err)
		}
	}
	for _, in := range []string{"", " \n, ", next.Encode() + " " + next.Encode(), next.Encode() + " nonsense"} {
		if _, err := keyring.Parse(in); err == nil {
			t.Errorf("Parse(%.30q) made a ring", in)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	old, next := key(t, "2025"), key(t, "2026")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r, err := keyring.Load(write("keys", "# the primary key first\n"+next.Encode()+"\n  # retired in March\n"+old.Encode()+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.PrimaryID() != "2026" {
		t.Fatalf("primary %q", r.PrimaryID())
	}
	if _, err := keyring.Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
	if _, err := keyring.Load(write("comments", "# nothing\n")); !errors.Is(err, keyring.ErrKeyText) {
		t.Errorf("a file of comments: %v, want ErrKeyText", err)
	}
	big := next.Encode() + "\n" + strings.Repeat("#"+strings.Repeat("x", 99)+"\n", 2000)
	if _, err := keyring.Load(write("big", big)); err == nil {
		t.Error("a file past the bound was read")
	}
}

func TestDeriveKey(t *testing.T) {
	a, b := key(t, "a"), key(t, "b")
	ra, _ := keyring.New(a)
	raOld, _ := keyring.New(a, b) // same primary, another older key
	rb, _ := keyring.New(b, a)
	mark := ra.DeriveKey("httpmw/mark")
	if len(mark) != keyring.KeySize {
		t.Fatalf("%d bytes, want %d", len(mark), keyring.KeySize)
	}
	if !bytes.Equal(mark, raOld.DeriveKey("httpmw/mark")) {
		t.Error("one primary key and purpose gave two keys")
	}
	for name, other := range map[string][]byte{
		"another purpose":     ra.DeriveKey("other"),
		"another primary key": rb.DeriveKey("httpmw/mark"),
		"the key itself":      a.Secret,
		"the empty purpose":   ra.DeriveKey(""),
	} {
		if bytes.Equal(mark, other) {
			t.Errorf("the derived key equals %s", name)
		}
	}
	// Changing the caller's slice changes neither the ring nor its keys.
	secret := bytes.Clone(a.Secret)
	a.Secret[0] ^= 0xff
	if !bytes.Equal(ra.DeriveKey("httpmw/mark"), mark) {
		t.Error("the ring follows a change to the caller's key")
	}
	copy(a.Secret, secret)
}

// TestRandom: a Random ring seals and opens, each call has a key and an ID
// of its own, so another ring reports the value as sealed under a key it
// lacks, and no two rings derive the same key.
func TestRandom(t *testing.T) {
	a, b := keyring.Random(), keyring.Random()
	sealed, err := a.Seal("totp/secret", "ada", []byte("JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	got, current, err := a.Open("totp/secret", "ada", sealed)
	if err != nil || !current || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v, %v; want the secret, true, nil", got, current, err)
	}
	if !strings.HasPrefix(a.PrimaryID(), "random-") || a.PrimaryID() == b.PrimaryID() {
		t.Errorf("IDs %q and %q: want two different IDs starting random-", a.PrimaryID(), b.PrimaryID())
	}
	if _, _, err := b.Open("totp/secret", "ada", sealed); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("another Random ring opened a value: err = %v, want ErrUnknownKey", err)
	}
	if bytes.Equal(a.DeriveKey("httpmw/mark"), b.DeriveKey("httpmw/mark")) {
		t.Error("two Random rings derive the same key")
	}
}

func TestKeyIDAndHas(t *testing.T) {
	old, cur := key(t, "old-2025"), key(t, "k"+strings.Repeat("x", 63))
	r, err := keyring.New(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	oldRing, err := keyring.New(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ring *keyring.Ring
		want string
	}{{r, cur.ID}, {oldRing, old.ID}} {
		sealed, err := tc.ring.Seal("totp/secret", "alice", []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if id, err := keyring.KeyID(sealed); id != tc.want || err != nil {
			t.Errorf("KeyID = %q, %v; want %q", id, err, tc.want)
		}
	}
	for _, id := range []string{cur.ID, old.ID} {
		if !r.Has(id) {
			t.Errorf("Has(%q) = false for a key of the ring", id)
		}
	}
	for _, id := range []string{"", "k", "old-2026", "OLD-2025"} {
		if r.Has(id) {
			t.Errorf("Has(%q) = true for a key not in the ring", id)
		}
	}

	good, _ := r.Seal("totp/secret", "alice", []byte("secret"))
	for name, v := range map[string][]byte{
		"nil":          nil,
		"one byte":     {1},
		"version 2":    append([]byte{2}, good[1:]...),
		"no ID":        append([]byte{1, 0}, good[2:]...),
		"ID too long":  append([]byte{1, 65}, bytes.Repeat([]byte{'a'}, 65+12)...),
		"cut in nonce": good[:2+len(cur.ID)+11],
		"space in ID":  append([]byte{1, 3, 'a', ' ', 'b'}, make([]byte, 12)...),
	} {
		if id, err := keyring.KeyID(v); !errors.Is(err, keyring.ErrOpen) || id != "" {
			t.Errorf("KeyID(%s) = %q, %v; want ErrOpen", name, id, err)
		}
	}
}

func FuzzKeyID(f *testing.F) {
	r, err := keyring.New(keyring.Key{ID: "k1", Secret: make([]byte, keyring.KeySize)})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := r.Seal("p", "u", []byte("x"))
	f.Add(good)
	f.Add([]byte{1, 2, 'k'})
	f.Fuzz(func(t *testing.T, v []byte) {
		id, err := keyring.KeyID(v)
		if err != nil {
			return
		}
		// A value that names a key names one the ring could hold, and
		// Open agrees on which: a ring without it says ErrUnknownKey.
		if _, err := keyring.New(keyring.Key{ID: id, Secret: make([]byte, keyring.KeySize)}); err != nil {
			t.Fatalf("KeyID returned %q, which no key can have: %v", id, err)
		}
		if id != "k1" {
			if _, _, err := r.Open("p", "u", v); !errors.Is(err, keyring.ErrUnknownKey) {
				t.Fatalf("KeyID says %q, Open of a ring without it says %v", id, err)
			}
		}
	})
}

func TestEphemeral(t *testing.T) {
	k, err := keyring.NewKey("random-looking")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	if !keyring.Random().Ephemeral() || kept.Ephemeral() {
		t.Errorf("Ephemeral: Random %v, New %v; want true, false", keyring.Random().Ephemeral(), kept.Ephemeral())
	}
}
