package i18n_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/i18n"
)

// FuzzMatch: any application choice and Accept-Language header match one
// of the catalogue's languages, the same each time, never panic, and a
// header longer than the bound decides only by its first bytes.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"", "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"},
		{"uk", ""},
		{"pt-BR", "fr-CA;q=0.5,*;q=0.1"},
		{"", "xa-YA;q=0.9,es;q=0.5,en-XX"},
		{"x-klingon", "de;q=1.5,,;;q=,-"},
		{"\x00", strings.Repeat("en-GB;q=0.1,", 100) + "de"},
		{"zh-Hant-TW-u-ca-chinese", "sr-Latn-RS,ar-EG;q=0.3"},
	} {
		f.Add(seed[0], seed[1])
	}
	c := i18n.Default()
	langs := c.Languages()
	f.Fuzz(func(t *testing.T, choice, header string) {
		tag := c.Match(choice, header)
		if !slices.Contains(langs, tag) {
			t.Fatalf("Match(%q, %q) = %v, not a language of the catalogue", choice, header, tag)
		}
		if again := c.Match(choice, header); again != tag {
			t.Fatalf("Match(%q, %q) = %v, then %v", choice, header, tag, again)
		}
		if p := c.Printer(tag); p.Tag() != tag || p.T("date.never") == "" {
			t.Fatalf("Printer(%v) = %v", tag, p.Tag())
		}
		if len(header) > 600 {
			if long := c.Match(choice, header+",uk,de,fr,es"); long != tag {
				t.Fatalf("bytes past the bound changed the match: %v, then %v", tag, long)
			}
		}
	})
}
