package pdffont_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/internal/fonttest"
	"github.com/twofa-go/twofa/pdffont"
)

// FuzzFont feeds Parse font files: each is refused with ErrFont, or
// prints a sheet without a panic (the PDF library parses the font again
// for each document, and a failure there is ErrFont too).
func FuzzFont(f *testing.F) {
	small, err := fonttest.Remap(goregular.TTF, map[rune]rune{'李': 'L', 'A': 'A'})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(small[:len(small)/3])
	f.Add([]byte("\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00cmap\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x04"))
	f.Fuzz(func(t *testing.T, ttf []byte) {
		font, err := pdffont.Parse(ttf)
		if err != nil {
			if !errors.Is(err, pdffont.ErrFont) {
				t.Fatalf("Parse: %v, want ErrFont", err)
			}
			return
		}
		s := backup.Sheet{Issuer: "Acme", Account: "李 A", Date: time.Unix(0, 0), Codes: []string{"abcd-efgh"}, Font: font}
		var buf bytes.Buffer
		if err := s.WritePDF(&buf); err != nil && !errors.Is(err, pdffont.ErrFont) {
			t.Fatalf("WritePDF: %v, want nil or ErrFont", err)
		}
	})
}
