package emailotp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/storage/memory"
)

// FuzzNormalize holds Normalize to its documented rule for any input: no
// panic; accepted only when the input is ASCII digits and spaces, at most
// 64 bytes, with exactly Digits digits, and then the result is those digits
// in order; refused with ErrMalformed otherwise; and a result normalizes to
// itself.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"123456", "123 456", " 1 2 3 4 5 6 ", "000000", "", " ", "12345", "1234567",
		"12345678", "123456789", "1234567890", "123-456", "123\t456", "123456\n",
		"１２３４５６", "١٢٣٤٥٦", "12345\x00", "\xff\xfe", "123456" + strings.Repeat(" ", 58),
		"123456" + strings.Repeat(" ", 59), "+123456", "0x1234", "1e5678", "12 34 56 78 9",
	} {
		for d := range uint8(4) {
			f.Add(seed, d)
		}
	}
	services := map[int]*emailotp.Service{}
	for d := 6; d <= 9; d++ {
		svc, err := emailotp.New(emailotp.Config{Store: memory.New(), Digits: d})
		if err != nil {
			f.Fatal(err)
		}
		services[d] = svc
	}
	f.Fuzz(func(t *testing.T, input string, d uint8) {
		digits := 6 + int(d%4)
		svc := services[digits]
		got, err := svc.Normalize(input)

		// The rule, written out apart from the code under test.
		want, ok := strings.ReplaceAll(input, " ", ""), len(input) <= 64
		for _, r := range want {
			ok = ok && r >= '0' && r <= '9'
		}
		ok = ok && len(want) == digits

		switch {
		case ok && err != nil:
			t.Fatalf("Normalize(%q) with %d digits: %v, want %q", input, digits, err, want)
		case ok && got != want:
			t.Fatalf("Normalize(%q) with %d digits = %q, want %q", input, digits, got, want)
		case !ok && err == nil:
			t.Fatalf("Normalize(%q) with %d digits accepted %q", input, digits, got)
		case !ok && (!errors.Is(err, emailotp.ErrMalformed) || got != ""):
			t.Fatalf("Normalize(%q) with %d digits: %q, %v, want ErrMalformed", input, digits, got, err)
		case !ok:
			return
		}
		if again, err := svc.Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v: not idempotent", got, again, err)
		}
	})
}
