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
// are used). Once no value is left under an old key, drop it from the ring.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
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
