// Package keyring seals secrets at rest with AES-256-GCM under a ring of
// named keys, so that keys can be rotated without downtime.
//
// # Sealing
//
// [Ring.Seal] encrypts under the ring's primary key. The associated data
// binds each sealed value to its purpose (such as "totp/secret"), to the ID of
// the key and to the user it belongs to: a value copied onto another user's
// record, or used for another purpose, does not open.
//
// # Rotation
//
// Build the ring with the new key first and the old ones after it. Values
// sealed under an old key still open; [Ring.Open] reports that they are not
// under the primary key so the caller can seal them again (lazily, as they
// are used). Values nobody uses stay under the old key until a walk over
// all of them seals them again: totp.Service.RotateKeys is that walk for
// the secrets of authenticator apps, the only values twofa seals. [KeyID]
// reads which key a value is under without opening it, so a report of
// values per key (totp.Service.KeyReport) says when none is left under an
// old key; then drop it from the ring.
//
// # Where keys come from
//
// A deployment keeps its keys in its secret store and reads the ring from
// one value ([Parse]) or one file ([Load]). [Random] makes a ring of a key
// nobody keeps, for tests and demonstrations whose store ends with the
// process.
//
// # One key, several uses
//
// A key seals with one algorithm for one purpose. A key the application
// needs besides the ring, such as the one httpmw's CookieSession signs its
// mark with, must not be a key of the ring itself: a value made with one
// algorithm would then be an input to the other. [Ring.DeriveKey] makes
// such a key from the primary one, for a purpose named by the caller, so
// there is still one secret to keep.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// KeySize is the length in bytes of every key: AES-256.
const KeySize = 32

const (
	formatVersion = 1
	maxIDLen      = 64
	nonceSize     = 12
)

var (
	// ErrOpen reports that a sealed value did not open: it was altered,
	// belongs to another user or purpose, or its key is not in the ring.
	// The error never says which, and never carries the value.
	ErrOpen = errors.New("keyring: sealed value does not open")

	// ErrUnknownKey reports a sealed value whose key ID is not in the ring.
	// It wraps ErrOpen.
	ErrUnknownKey = fmt.Errorf("%w: key not in ring", ErrOpen)

	// ErrKeyText reports a key, or a ring of keys, written otherwise than
	// as ID:BASE64 (see [Parse]). The error never carries the key.
	ErrKeyText = errors.New("keyring: a key is written ID:BASE64, BASE64 being 32 random bytes in standard base64")
)

// Key is one named key. The ID is stored beside every value sealed with it
// and must never be reused for a different secret.
type Key struct {
	ID     string // 1 to 64 printable ASCII characters
	Secret []byte // KeySize random bytes
}

// Ring holds a primary key, used to seal, and older keys, used only to open.
// A Ring is safe for concurrent use.
type Ring struct {
	primary string
	aeads   map[string]cipher.AEAD
	derive  []byte // the primary secret, for DeriveKey: a copy the caller cannot change
	// ephemeral marks a ring of Random: its key is kept nowhere.
	ephemeral bool
}

// New returns a ring that seals with primary and opens values sealed with
// primary or any of older.
func New(primary Key, older ...Key) (*Ring, error) {
	r := &Ring{primary: primary.ID, aeads: make(map[string]cipher.AEAD)}
	for _, k := range append([]Key{primary}, older...) {
		if err := validID(k.ID); err != nil {
			return nil, err
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("keyring: key ID %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", k.ID, err)
		}
		r.aeads[k.ID] = aead
	}
	r.derive = append([]byte(nil), primary.Secret...)
	return r, nil
}

// NewKey returns a fresh random key with the given ID, for tools that set up
// a deployment.
func NewKey(id string) (Key, error) {
	if err := validID(id); err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Secret: make([]byte, KeySize)}
	if _, err := rand.Read(k.Secret); err != nil {
		return Key{}, fmt.Errorf("keyring: %w", err)
	}
	return k, nil
}

// Random returns a ring of one fresh random key, for tests and
// demonstrations whose sealed values live no longer than the process, such
// as an application on the memory store: what it seals never opens again
// once the process ends. A deployment takes its keys from its secret store
// with [Parse] or [Load] instead. The key's ID is "random-" and 26 random
// characters, so that a ring of another Random call reports a value it
// sealed as [ErrUnknownKey], not as altered.
func Random() *Ring {
	k, err := NewKey("random-" + rand.Text())
	if err != nil {
		// NewKey fails only on a bad ID, and this one is valid: crypto/rand
		// never returns an error (it stops the program instead).
		panic(err)
	}
	r, err := New(k)
	if err != nil {
		panic(err) // a valid ID and KeySize bytes: New cannot refuse them
	}
	r.ephemeral = true
	return r
}

// Ephemeral reports whether r came from [Random]: its key is kept nowhere,
// so what it seals opens only in this process. twofa.New refuses such a
// ring beside a store that outlives the process.
func (r *Ring) Ephemeral() bool { return r.ephemeral }

// ParseKey reads a key written as ID:BASE64, the form [Key.Encode] gives.
// It fails with an error matching [ErrKeyText] that does not carry s.
func ParseKey(s string) (Key, error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Key{}, ErrKeyText
	}
	if err := validID(id); err != nil {
		return Key{}, fmt.Errorf("%w: %v", ErrKeyText, err)
	}
	secret, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(secret) != KeySize || base64.StdEncoding.EncodedLen(KeySize) != len(b64) {
		return Key{}, fmt.Errorf("%w (key %q)", ErrKeyText, id)
	}
	return Key{ID: id, Secret: secret}, nil
}

// Encode writes k as ID:BASE64, the form [ParseKey] and [Parse] read. The
// result is the secret itself: keep it where secrets are kept.
func (k Key) Encode() string {
	return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
}

// Parse returns the ring written in s: one or more keys, each ID:BASE64
// (see [ParseKey]), separated by spaces, commas or new lines. The first
// key is the primary one; the others only open. This is how a whole ring
// comes from one environment variable:
//
//	ring, err := keyring.Parse(os.Getenv("TWOFA_KEYS"))
//
// An empty s is an error, never a ring of no keys.
func Parse(s string) (*Ring, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKeyText)
	}
	keys := make([]Key, len(fields))
	for i, f := range fields {
		k, err := ParseKey(f)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return New(keys[0], keys[1:]...)
}

// maxFile bounds what Load reads: a ring of a thousand keys fits.
const maxFile = 128 << 10

// Load returns the ring in the file at path, written as for [Parse]; lines
// that start with # are comments. A file that holds keys should be
// readable by the application alone.
func Load(path string) (*Ring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("keyring: %s is larger than %d bytes", path, maxFile)
	}
	var text strings.Builder
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			text.WriteString(line)
		}
	}
	r, err := Parse(text.String())
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return r, nil
}

// DeriveKey returns KeySize bytes for purpose, derived from the primary
// key with HKDF-SHA256, for a key the application needs besides the ring,
// such as httpmw.CookieSession.Key: one secret to keep instead of two
// (see "One key, several uses" in the package doc). The same ring and purpose always
// give the same bytes, on every server; another purpose gives an unrelated
// key, and no derived key reveals the primary key. When the primary key
// changes, so does every derived key: whatever it signed stops verifying
// (for the mark of httpmw, users pass the second step once more).
func (r *Ring) DeriveKey(purpose string) []byte {
	out, err := hkdf.Key(sha256.New, r.derive, []byte("twofa-derive-v1"), purpose+"\x00"+r.primary, KeySize)
	if err != nil {
		// Only a length past 255 hash outputs fails, and KeySize is one.
		panic("keyring: " + err.Error())
	}
	return out
}

func validID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("keyring: key ID must be 1 to %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return errors.New("keyring: key ID must be printable ASCII without spaces")
		}
	}
	return nil
}

// PrimaryID returns the ID of the key that Seal uses.
func (r *Ring) PrimaryID() string { return r.primary }

// Has reports whether the ring holds a key with this ID, so that a value
// [KeyID] names can be told apart from one the ring cannot open at all.
func (r *Ring) Has(keyID string) bool {
	_, ok := r.aeads[keyID]
	return ok
}

// KeyID returns the ID of the key a sealed value names, without opening
// it and without any key: the ID is stored in the clear before the
// ciphertext. It says which key a value needs, for a report of values per
// key before an old key is dropped; it proves nothing about the value,
// which may still fail to open. A value too short or of another format
// gives ErrOpen.
func KeyID(sealed []byte) (string, error) {
	if len(sealed) < 2 || sealed[0] != formatVersion {
		return "", ErrOpen
	}
	idLen := int(sealed[1])
	if idLen == 0 || idLen > maxIDLen || len(sealed) < 2+idLen+nonceSize {
		return "", ErrOpen
	}
	id := string(sealed[2 : 2+idLen])
	if validID(id) != nil {
		return "", ErrOpen
	}
	return id, nil
}

// Seal encrypts plaintext for userID and purpose under the primary key. The
// nonce comes from crypto/rand.
func (r *Ring) Seal(purpose, userID string, plaintext []byte) ([]byte, error) {
	id := r.primary
	aead := r.aeads[id]
	out := make([]byte, 0, 2+len(id)+nonceSize+len(plaintext)+aead.Overhead())
	out = append(out, formatVersion, byte(len(id)))
	out = append(out, id...)
	nonce := out[len(out) : len(out)+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: nonce: %w", err)
	}
	out = out[:len(out)+nonceSize]
	return aead.Seal(out, nonce, plaintext, additionalData(purpose, id, userID)), nil
}

// Open decrypts a value sealed for userID and purpose. current reports
// whether it was sealed under the primary key; when it is false the caller
// should seal the plaintext again and store the result.
func (r *Ring) Open(purpose, userID string, sealed []byte) (plaintext []byte, current bool, err error) {
	if len(sealed) < 2 || sealed[0] != formatVersion {
		return nil, false, ErrOpen
	}
	idLen := int(sealed[1])
	if len(sealed) < 2+idLen+nonceSize {
		return nil, false, ErrOpen
	}
	id := string(sealed[2 : 2+idLen])
	aead, ok := r.aeads[id]
	if !ok {
		return nil, false, ErrUnknownKey
	}
	nonce := sealed[2+idLen : 2+idLen+nonceSize]
	ct := sealed[2+idLen+nonceSize:]
	plaintext, err = aead.Open(nil, nonce, ct, additionalData(purpose, id, userID))
	if err != nil {
		return nil, false, ErrOpen
	}
	return plaintext, id == r.primary, nil
}

// additionalData binds a sealed value to its context. Each part is length
// prefixed so that no two different triples encode alike.
func additionalData(purpose, keyID, userID string) []byte {
	ad := make([]byte, 0, 16+len(purpose)+len(keyID)+len(userID))
	ad = append(ad, "twofa-seal-v1"...)
	for _, s := range [...]string{purpose, keyID, userID} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(s)))
		ad = append(ad, s...)
	}
	return ad
}
