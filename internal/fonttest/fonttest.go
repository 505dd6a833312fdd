// Package fonttest makes TrueType fonts for tests: a font that "covers" a
// script no font on the test machine has, made from a Go font by giving
// its letters the Go font's glyphs. Nothing here is for production: the
// letters print in the wrong shapes, but they print, which is what a
// test of font fallback needs to see.
package fonttest

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/twofa-go/twofa/pdffont"
)

// Remap returns base with its character map replaced by one that maps
// each rune of m (all in the Basic Multilingual Plane, none 0xFFFF) to the
// glyph base has for m's value, and nothing else.
func Remap(base []byte, m map[rune]rune) ([]byte, error) {
	f, err := sfnt.Parse(base)
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	keys := make([]rune, 0, len(m))
	for r := range m {
		if r < 0 || r >= 0xFFFF {
			return nil, fmt.Errorf("fonttest: %U is outside the Basic Multilingual Plane", r)
		}
		keys = append(keys, r)
	}
	slices.Sort(keys)

	// A format-4 subtable with one segment per rune, each mapped through
	// idDelta, and the closing 0xFFFF segment.
	seg := len(keys) + 1
	var ends, starts, deltas []uint16
	for _, r := range keys {
		g, err := f.GlyphIndex(&buf, m[r])
		if err != nil || g == 0 {
			return nil, fmt.Errorf("fonttest: the base font has no glyph for %U", m[r])
		}
		ends, starts, deltas = append(ends, uint16(r)), append(starts, uint16(r)), append(deltas, uint16(int(g)-int(r)))
	}
	ends, starts, deltas = append(ends, 0xFFFF), append(starts, 0xFFFF), append(deltas, 1)
	search := 2
	for search*2 <= seg*2 {
		search *= 2
	}
	selector := 0
	for 1<<(selector+1) <= seg {
		selector++
	}
	sub := []uint16{4, uint16(16 + 8*seg), 0, uint16(2 * seg), uint16(search), uint16(selector), uint16(2*seg - search)}
	sub = append(sub, ends...)
	sub = append(sub, 0)
	sub = append(sub, starts...)
	sub = append(sub, deltas...)
	sub = append(sub, make([]uint16, seg)...) // idRangeOffset: none
	cmap := []uint16{0, 1, 3, 1, 0, 12}       // one encoding record, (3, 1), at offset 12
	cmap = append(cmap, sub...)
	table := make([]byte, 2*len(cmap))
	for i, v := range cmap {
		binary.BigEndian.PutUint16(table[2*i:], v)
	}
	return replace(base, "cmap", table)
}

// replace returns the font with one table's data replaced, every table
// laid out again, four-byte aligned.
func replace(font []byte, tag string, data []byte) ([]byte, error) {
	if len(font) < 12 {
		return nil, fmt.Errorf("fonttest: not a font")
	}
	n := int(binary.BigEndian.Uint16(font[4:]))
	head := 12 + 16*n
	if len(font) < head {
		return nil, fmt.Errorf("fonttest: the table directory is cut short")
	}
	dir := slices.Clone(font[:head])
	var tables []byte
	for i := range n {
		rec := dir[12+16*i:]
		off, size := int(binary.BigEndian.Uint32(rec[8:])), int(binary.BigEndian.Uint32(rec[12:]))
		if off > len(font) || size > len(font)-off {
			return nil, fmt.Errorf("fonttest: a table lies outside the file")
		}
		body := font[off : off+size]
		if string(rec[:4]) == tag {
			body = data
		}
		for (head+len(tables))%4 != 0 {
			tables = append(tables, 0)
		}
		binary.BigEndian.PutUint32(rec[4:], checksum(body))
		binary.BigEndian.PutUint32(rec[8:], uint32(head+len(tables)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(body)))
		tables = append(tables, body...)
	}
	for len(tables)%4 != 0 {
		tables = append(tables, 0)
	}
	return append(dir, tables...), nil
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// CJK returns a font, made from Go Regular, that has 李 and 王 (drawn as
// Go's L and W) and no other letter: the font an application would supply
// for Chinese names, small enough to build in every test.
func CJK(t testing.TB) *pdffont.Font {
	t.Helper()
	ttf, err := Remap(goregular.TTF, map[rune]rune{'李': 'L', '王': 'W'})
	if err != nil {
		t.Fatal(err)
	}
	f, err := pdffont.Parse(ttf)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TableOffset returns where the table tag starts in font.
func TableOffset(t testing.TB, font []byte, tag string) int {
	t.Helper()
	n := int(binary.BigEndian.Uint16(font[4:]))
	for i := range n {
		rec := font[12+16*i:]
		if string(rec[:4]) == tag {
			return int(binary.BigEndian.Uint32(rec[8:]))
		}
	}
	t.Fatalf("no %q table", tag)
	return 0
}
