// Package pdffont is a TrueType font an application gives twofa for the
// letters its own fonts lack.
//
// twofa's PDFs (the authenticator paper backup of package totp and the
// backup-code sheet of package backup) embed the Go fonts, which cover
// Latin, Greek and Cyrillic. A name in another script, such as Chinese,
// Japanese, Korean, Arabic or Hebrew, needs a font that has its letters:
// parse one with Parse and pass it to twofa.Config.Font (or totp.Paper and
// backup.Sheet). Each piece of text is printed in the Go font when it has every
// letter of it, and otherwise, run by run, in the given font where the Go
// font lacks a letter.
//
// A letter neither font has prints as a visible replacement (U+FFFD) and
// the PDF ends with a line naming the code points it could not print;
// nothing is dropped or turned into a silent '?'. Only the Basic
// Multilingual Plane (U+0000 to U+FFFF) can be printed: the PDF library
// reads a font's format-4 character map only. Text is laid out left to
// right, letter after letter, without shaping: scripts that join or reorder
// letters (Arabic, Devanagari) print their letters but not as a reader
// expects them.
package pdffont

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/image/font/sfnt"
)

// ErrFont matches every error of Parse: the bytes are not a TrueType font
// the PDFs can embed.
var ErrFont = errors.New("pdffont: not a usable TrueType font")

// MaxSize bounds the font file Parse takes: 32 MiB, above the largest CJK
// fonts in common use.
const MaxSize = 32 << 20

// Font is a parsed TrueType font, safe for concurrent use. Parse it once,
// at start-up: every PDF then only looks letters up in it.
type Font struct {
	ttf  []byte
	sfnt *sfnt.Font
	name string
}

// Parse checks that ttf is a TrueType font (glyf outlines, not CFF) with a
// Unicode character map of format 4, which the PDFs need, and returns it.
// The bytes are kept, not copied: do not change them afterwards.
func Parse(ttf []byte) (*Font, error) {
	if len(ttf) == 0 {
		return nil, fmt.Errorf("%w: no bytes", ErrFont)
	}
	if len(ttf) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrFont, len(ttf), MaxSize)
	}
	if len(ttf) < 12 || binary.BigEndian.Uint32(ttf) != 0x00010000 && string(ttf[:4]) != "true" {
		return nil, fmt.Errorf("%w: not a TrueType outline font (an OpenType CFF font or a collection cannot be embedded)", ErrFont)
	}
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFont, err)
	}
	if err := checkTables(ttf); err != nil {
		return nil, err
	}
	name, _ := f.Name(nil, sfnt.NameIDFull)
	return &Font{ttf: ttf, sfnt: f, name: name}, nil
}

// Name is the font's full name, as its name table gives it.
func (f *Font) Name() string {
	if f == nil {
		return ""
	}
	return f.name
}

// TTF returns the font file's bytes, shared: do not change them.
func (f *Font) TTF() []byte { return f.ttf }

// Covers reports whether the font has a glyph for r that the PDFs can
// print.
func (f *Font) Covers(r rune) bool {
	if f == nil || r < 0 || r > 0xFFFF {
		return false
	}
	var b sfnt.Buffer
	g, err := f.sfnt.GlyphIndex(&b, r)
	return err == nil && g != 0
}

// Lookup is Covers with the caller's buffer, for many letters in a row.
func (f *Font) Lookup(b *sfnt.Buffer, r rune) bool {
	if f == nil || r < 0 || r > 0xFFFF {
		return false
	}
	g, err := f.sfnt.GlyphIndex(b, r)
	return err == nil && g != 0
}

// checkTables finds the tables the PDF library reads, and a format-4
// Unicode character map (platform 0, or 3 with encoding 1), which is all
// it understands; without them it would print nothing, silently.
func checkTables(b []byte) error {
	n := int(binary.BigEndian.Uint16(b[4:]))
	if len(b) < 12+16*n {
		return fmt.Errorf("%w: the table directory is cut short", ErrFont)
	}
	tables := make(map[string][2]int, n)
	for i := range n {
		rec := b[12+16*i:]
		off, size := int(binary.BigEndian.Uint32(rec[8:])), int(binary.BigEndian.Uint32(rec[12:]))
		if off < 0 || size < 0 || off > len(b) || size > len(b)-off {
			return fmt.Errorf("%w: table %q lies outside the file", ErrFont, rec[:4])
		}
		tables[string(rec[:4])] = [2]int{off, size}
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "name", "post"} {
		if _, ok := tables[t]; !ok {
			return fmt.Errorf("%w: no %q table", ErrFont, t)
		}
	}
	c := tables["cmap"]
	cmap := b[c[0] : c[0]+c[1]]
	if len(cmap) < 4 {
		return fmt.Errorf("%w: the cmap table is cut short", ErrFont)
	}
	subtables := int(binary.BigEndian.Uint16(cmap[2:]))
	for i := range subtables {
		rec := 4 + 8*i
		if len(cmap) < rec+8 {
			break
		}
		platform, encoding := binary.BigEndian.Uint16(cmap[rec:]), binary.BigEndian.Uint16(cmap[rec+2:])
		off := int(binary.BigEndian.Uint32(cmap[rec+4:]))
		if platform == 0 || platform == 3 && encoding == 1 {
			if off >= 0 && off+2 <= len(cmap) && binary.BigEndian.Uint16(cmap[off:]) == 4 {
				if err := checkFormat4(cmap[off:]); err != nil {
					return err
				}
				return checkComposites(b, tables)
			}
		}
	}
	return fmt.Errorf("%w: no Unicode character map of format 4", ErrFont)
}

// checkFormat4 checks the segments of the character map the PDF library
// reads: within the table, each in order and apart from the one before.
// The library walks every code point of every segment, so segments that
// overlap could make it walk billions.
func checkFormat4(sub []byte) error {
	if len(sub) < 14 {
		return fmt.Errorf("%w: the character map is cut short", ErrFont)
	}
	segs := int(binary.BigEndian.Uint16(sub[6:])) / 2
	if segs == 0 || len(sub) < 16+8*segs {
		return fmt.Errorf("%w: the character map's segments are cut short", ErrFont)
	}
	ends, starts := sub[14:], sub[16+2*segs:]
	prev := -1
	for i := range segs {
		start, end := int(binary.BigEndian.Uint16(starts[2*i:])), int(binary.BigEndian.Uint16(ends[2*i:]))
		if start > end || start <= prev {
			return fmt.Errorf("%w: the character map's segments overlap or are out of order", ErrFont)
		}
		prev = end
	}
	return nil
}

// checkComposites refuses a glyph built, directly or not, from itself, or
// from a glyph the font does not have: the PDF library follows the parts
// of each glyph it embeds without remembering where it has been.
func checkComposites(b []byte, tables map[string][2]int) error {
	bad := fmt.Errorf("%w: the glyph outlines (loca, glyf) are malformed", ErrFont)
	head, maxp, loca, glyf := tables["head"], tables["maxp"], tables["loca"], tables["glyf"]
	if head[1] < 54 || maxp[1] < 6 {
		return bad
	}
	long := binary.BigEndian.Uint16(b[head[0]+50:]) != 0
	n := int(binary.BigEndian.Uint16(b[maxp[0]+4:]))
	offset := func(i int) int {
		if long {
			return int(binary.BigEndian.Uint32(b[loca[0]+4*i:]))
		}
		return 2 * int(binary.BigEndian.Uint16(b[loca[0]+2*i:]))
	}
	if width := map[bool]int{true: 4, false: 2}[long]; loca[1] < width*(n+1) {
		return bad
	}
	parts := func(g int) ([]int, bool) {
		start, end := offset(g), offset(g+1)
		if start > end || end > glyf[1] {
			return nil, false
		}
		data := b[glyf[0]+start : glyf[0]+end]
		if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
			return nil, true // empty or simple
		}
		var out []int
		const (
			wordArgs  = 0x0001
			scale     = 0x0008
			more      = 0x0020
			xyScale   = 0x0040
			twoByTwo  = 0x0080
			maxDepths = 64
		)
		for p := 10; ; {
			if p+4 > len(data) || len(out) == maxDepths {
				return nil, false
			}
			flags, part := binary.BigEndian.Uint16(data[p:]), int(binary.BigEndian.Uint16(data[p+2:]))
			if part >= n {
				return nil, false
			}
			out = append(out, part)
			p += 4 + map[bool]int{true: 4, false: 2}[flags&wordArgs != 0]
			switch {
			case flags&scale != 0:
				p += 2
			case flags&xyScale != 0:
				p += 4
			case flags&twoByTwo != 0:
				p += 8
			}
			if flags&more == 0 {
				return out, true
			}
		}
	}
	// Depth-first, three colours: a grey glyph met again is a cycle.
	state := make([]byte, n)
	var visit func(g, depth int) bool
	visit = func(g, depth int) bool {
		if state[g] == 2 {
			return true
		}
		if state[g] == 1 || depth > 16 {
			return false
		}
		state[g] = 1
		ps, ok := parts(g)
		if !ok {
			return false
		}
		for _, p := range ps {
			if !visit(p, depth+1) {
				return false
			}
		}
		state[g] = 2
		return true
	}
	for g := range n {
		if !visit(g, 0) {
			return bad
		}
	}
	return nil
}
