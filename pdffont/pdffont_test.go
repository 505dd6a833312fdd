package pdffont_test

import (
	"errors"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/twofa-go/twofa/internal/fonttest"
	"github.com/twofa-go/twofa/pdffont"
)

func TestParseRefuses(t *testing.T) {
	// A font whose only character map is of format 12, which the PDF
	// library cannot read: the format-4 subtable's tag turned into 12.
	noFormat4 := func() []byte {
		b, err := fonttest.Remap(goregular.TTF, map[rune]rune{'A': 'A'})
		if err != nil {
			t.Fatal(err)
		}
		i := fonttest.TableOffset(t, b, "cmap")
		b[i+12], b[i+13] = 0, 12
		return b
	}
	for _, tc := range []struct {
		name string
		ttf  []byte
	}{
		{"nothing", nil},
		{"text", []byte("not a font at all, just words")},
		{"a CFF font", append([]byte("OTTO"), goregular.TTF[4:]...)},
		{"cut short", goregular.TTF[:len(goregular.TTF)/2]},
		{"directory only", goregular.TTF[:40]},
		{"over the size limit", make([]byte, pdffont.MaxSize+1)},
		{"no format-4 character map", noFormat4()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := pdffont.Parse(tc.ttf)
			if !errors.Is(err, pdffont.ErrFont) || f != nil {
				t.Fatalf("Parse = %v, %v; want nil and ErrFont", f, err)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	goFont, err := pdffont.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	if goFont.Name() == "" {
		t.Error("the Go font has no name")
	}
	cjk := fonttest.CJK(t)
	for _, tc := range []struct {
		font *pdffont.Font
		r    rune
		want bool
	}{
		{goFont, 'Ł', true}, {goFont, 'Д', true}, {goFont, 'λ', true}, {goFont, '李', false},
		{cjk, '李', true}, {cjk, 'A', false},
		{goFont, 0x1F600, false}, // beyond the BMP: never, whatever the font has
		{goFont, -1, false},
		{nil, 'A', false},
	} {
		if got := tc.font.Covers(tc.r); got != tc.want {
			t.Errorf("%v.Covers(%U) = %v, want %v", tc.font.Name(), tc.r, got, tc.want)
		}
	}
}
