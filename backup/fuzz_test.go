package backup_test

import (
	"strings"
	"testing"

	"github.com/twofa-go/twofa/backup"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"abcde-fghij", "ABCDE FGHIJ", "abcdefghij", "abcde-fgh0j", "", "\xff", "l1IiL-23456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := backup.Normalize(in)
		if err != nil {
			return
		}
		// What is accepted is ten characters of the alphabet, and
		// normalising it again changes nothing.
		if len(out) != backup.CodeLen || strings.Trim(out, backup.Alphabet) != "" {
			t.Fatalf("Normalize(%q) = %q", in, out)
		}
		if again, err := backup.Normalize(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q, %v", out, again, err)
		}
	})
}
