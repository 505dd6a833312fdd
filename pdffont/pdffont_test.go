package pdffont_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

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

// glyfOf returns where glyph r's outline starts in a copy of Go Regular.
func glyfOf(t *testing.T, ttf []byte, r rune) int {
	t.Helper()
	f, err := sfnt.Parse(ttf)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.GlyphIndex(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	head := fonttest.TableOffset(t, ttf, "head")
	loca, glyf := fonttest.TableOffset(t, ttf, "loca"), fonttest.TableOffset(t, ttf, "glyf")
	if binary.BigEndian.Uint16(ttf[head+50:]) != 0 {
		return glyf + int(binary.BigEndian.Uint32(ttf[loca+4*int(g):]))
	}
	return glyf + 2*int(binary.BigEndian.Uint16(ttf[loca+2*int(g):]))
}

// Fonts that would send the PDF library into a loop: refused.
func TestParseRefusesLoops(t *testing.T) {
	t.Run("a glyph made of itself", func(t *testing.T) {
		// Go Regular has no composite glyph: é becomes one, made of the
		// glyph part, first another (accepted), then itself (refused).
		f, err := sfnt.Parse(goregular.TTF)
		if err != nil {
			t.Fatal(err)
		}
		self, _ := f.GlyphIndex(nil, 'é')
		other, _ := f.GlyphIndex(nil, 'e')
		for _, tc := range []struct {
			part sfnt.GlyphIndex
			ok   bool
		}{{other, true}, {self, false}} {
			ttf := bytes.Clone(goregular.TTF)
			at := glyfOf(t, ttf, 'é')
			binary.BigEndian.PutUint16(ttf[at:], 0xFFFF)             // numberOfContours -1: composite
			binary.BigEndian.PutUint16(ttf[at+10:], 0)               // flags: byte offsets, the last part
			binary.BigEndian.PutUint16(ttf[at+12:], uint16(tc.part)) // the part
			_, err := pdffont.Parse(ttf)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, pdffont.ErrFont) {
				t.Errorf("é made of glyph %d: Parse = %v, want ok %v", tc.part, err, tc.ok)
			}
		}
	})
	t.Run("overlapping segments", func(t *testing.T) {
		ttf, err := fonttest.Remap(goregular.TTF, map[rune]rune{'A': 'A', 'B': 'B'})
		if err != nil {
			t.Fatal(err)
		}
		// The subtable starts 12 bytes into cmap; its second segment's
		// start code (after 14 bytes of header, 3 end codes and the pad)
		// moves back onto the first.
		sub := fonttest.TableOffset(t, ttf, "cmap") + 12
		binary.BigEndian.PutUint16(ttf[sub+14+2*3+2+2:], 'A')
		if _, err := pdffont.Parse(ttf); !errors.Is(err, pdffont.ErrFont) {
			t.Fatalf("Parse = %v, want ErrFont", err)
		}
	})
}
