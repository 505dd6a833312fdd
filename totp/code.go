package totp

import (
	"errors"
	"fmt"
)

// ErrMalformed reports input that is not a code at all: anything but the
// expected number of digits once spaces are removed. It is refused before
// the store is asked about replays, so a variant spelling of a used code
// ("123456 ", " 123456") is never a different code.
var ErrMalformed = errors.New("totp: malformed code")

// maxInput bounds the input scanned: no code with spaces is longer.
const maxInput = 64

// code is input that has the shape of a code: its value and how many
// digits it had.
type code struct {
	value  uint32
	digits int
}

// parseCode removes ASCII spaces from input and checks that 6 to 8 decimal
// digits are left. Nothing else is accepted: no other white space, no
// signs, no Unicode digits.
func parseCode(input string) (code, error) {
	if len(input) > maxInput {
		return code{}, fmt.Errorf("%w: too long", ErrMalformed)
	}
	var c code
	for i := 0; i < len(input); i++ {
		ch := input[i]
		if ch == ' ' {
			continue
		}
		if ch < '0' || ch > '9' {
			return code{}, fmt.Errorf("%w: only digits and spaces are allowed", ErrMalformed)
		}
		if c.digits++; c.digits > 8 {
			return code{}, fmt.Errorf("%w: too many digits", ErrMalformed)
		}
		c.value = c.value*10 + uint32(ch-'0')
	}
	if c.digits < 6 {
		return code{}, fmt.Errorf("%w: too few digits", ErrMalformed)
	}
	return c, nil
}

// NormalizeCode removes ASCII spaces from input and checks that what is left
// is exactly digits decimal digits. It returns the code as a number.
func NormalizeCode(input string, digits int) (uint32, error) {
	if digits < 6 || digits > 8 {
		return 0, fmt.Errorf("totp: %d digits (want 6 to 8)", digits)
	}
	c, err := parseCode(input)
	if err != nil {
		return 0, err
	}
	if c.digits != digits {
		return 0, fmt.Errorf("%w: want %d digits", ErrMalformed, digits)
	}
	return c.value, nil
}
