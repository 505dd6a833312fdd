package backup

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Alphabet holds the characters codes are made of: lower-case letters and
// digits without the ones people misread. There is no 0 or o, no 1 or l, so
// "0"/"O" is never part of a code and input holding one is refused as
// malformed; an upper-case I is read as i, and 1, l and L — which never
// appear in a code — are read as i too, the letter a reader most likely
// mistook for them. 32 characters carry 5 bits each.
const Alphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// CodeLen is the number of characters in a code: 50 bits.
const CodeLen = 10

// ErrMalformed reports input that cannot be a backup code.
var ErrMalformed = errors.New("backup: malformed code")

// newCode draws one code from r, unbiased, formatted "abcde-fghij".
func newCode(r io.Reader) (string, error) {
	var b [CodeLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("backup: random: %w", err)
	}
	var out [CodeLen + 1]byte
	j := 0
	for i, v := range b {
		if i == CodeLen/2 {
			out[j] = '-'
			j++
		}
		// 256 is a multiple of 32: the low five bits are uniform.
		out[j] = Alphabet[v&31]
		j++
	}
	return string(out[:]), nil
}

// maxInput bounds the input read: a code with generous spacing is far
// shorter.
const maxInput = 64

// Normalize turns what a person typed into the code's canonical form, ten
// characters of Alphabet without separators: it lower-cases, drops spaces
// and dashes, and reads I, L, l and 1 as i. Anything else outside Alphabet
// (0, o, punctuation, non-ASCII) makes it ErrMalformed.
func Normalize(input string) (string, error) {
	if len(input) > maxInput {
		return "", fmt.Errorf("%w: too long", ErrMalformed)
	}
	var b strings.Builder
	b.Grow(CodeLen)
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		switch c {
		case 'l', '1':
			c = 'i'
		}
		if strings.IndexByte(Alphabet, c) < 0 {
			return "", fmt.Errorf("%w: unexpected character", ErrMalformed)
		}
		if b.Len() == CodeLen {
			return "", fmt.Errorf("%w: too long", ErrMalformed)
		}
		b.WriteByte(c)
	}
	if b.Len() != CodeLen {
		return "", fmt.Errorf("%w: want %d characters", ErrMalformed, CodeLen)
	}
	return b.String(), nil
}

// generate makes n distinct codes. Two equal codes in a set of 100 have a
// chance near 2^-37; a source that keeps repeating itself is broken, and
// after a bounded number of draws Generate says so instead of looping.
func generate(r io.Reader, n int) ([]string, error) {
	seen := make(map[string]bool, n)
	codes := make([]string, 0, n)
	for tries := 0; len(codes) < n; tries++ {
		if tries == 4*n {
			return nil, errors.New("backup: random source repeats itself")
		}
		c, err := newCode(r)
		if err != nil {
			return nil, err
		}
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes, nil
}
