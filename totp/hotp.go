package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is the HMAC hash codes are computed with. The zero value is
// SHA1, the one every authenticator app supports.
type Algorithm int

// The algorithms of RFC 6238.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// ParseAlgorithm reads "SHA1", "SHA256" or "SHA512", in any case.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToUpper(s) {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("totp: unknown algorithm (want SHA1, SHA256 or SHA512)")
}

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA1:
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("totp: unknown algorithm %d", int(a))
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// hotp holds a keyed HMAC and computes RFC 4226 codes as integers, so that
// checking several time steps keys the HMAC once and formats nothing.
type hotp struct {
	mac    hash.Hash
	used   bool // a fresh HMAC needs no Reset, which is costly the first time
	mod    uint32
	buf    [8]byte
	sumBuf [sha512.Size]byte
}

func newHOTP(a Algorithm, secret []byte, digits int) (*hotp, error) {
	h, err := a.hash()
	if err != nil {
		return nil, err
	}
	if digits < 6 || digits > 8 {
		return nil, fmt.Errorf("totp: %d digits (want 6 to 8)", digits)
	}
	return &hotp{mac: hmac.New(h, secret), mod: pow10[digits]}, nil
}

// code returns the RFC 4226 value for counter: dynamic truncation of the
// HMAC, reduced modulo 10^digits.
func (h *hotp) code(counter uint64) uint32 {
	binary.BigEndian.PutUint64(h.buf[:], counter)
	if h.used {
		h.mac.Reset()
	}
	h.used = true
	h.mac.Write(h.buf[:])
	sum := h.mac.Sum(h.sumBuf[:0])
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return v % h.mod
}

// formatCode writes a code with its leading zeros.
func formatCode(v uint32, digits int) string {
	return fmt.Sprintf("%0*d", digits, v)
}

// GenerateCode returns the code for secret at counter, as an authenticator
// app shows it. It is exported for tests and tools; a server checks codes
// with [Service.Verify].
func GenerateCode(a Algorithm, secret []byte, digits int, counter uint64) (string, error) {
	h, err := newHOTP(a, secret, digits)
	if err != nil {
		return "", err
	}
	return formatCode(h.code(counter), digits), nil
}
