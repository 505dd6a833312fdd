// Package sheet lays out the one-page A4 documents twofa prints: the
// authenticator paper backup and the backup codes. Both share a header, a
// table of labelled rows and the embedded Go fonts, which cover Latin,
// Greek and Cyrillic; an application's font (package pdffont) prints the
// letters they lack, and a letter neither has prints as U+FFFD, named in a
// closing line.
package sheet

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/twofa-go/twofa/pdffont"
)

// Margin is the page margin in millimetres.
const Margin = 25.0

// Face is a role a font plays on the page.
type Face int

// The faces. Each is a Go font; the application's font stands in for any
// of them where the Go font lacks a letter.
const (
	Regular Face = iota
	Bold
	Mono // codes and secrets: every character unambiguous on paper
)

// family is the fpdf family name of each face, and of the application's
// font.
var family = [...]string{Regular: "goregular", Bold: "gobold", Mono: "gomono"}

const appFamily = "appfont"

// goFonts are the Go fonts, parsed once: every PDF then only looks letters
// up in them. fpdf parses its own copy for each document.
var goFonts = sync.OnceValue(func() [3]*pdffont.Font {
	var fs [3]*pdffont.Font
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF, gomono.TTF} {
		f, err := pdffont.Parse(ttf)
		if err != nil {
			panic("sheet: a Go font does not parse: " + err.Error()) // a broken build, not input
		}
		fs[i] = f
	}
	return fs
})

// Replacement is what prints in place of a letter no font has.
const Replacement = '\uFFFD'

// maxNamed bounds the code points the closing line lists.
const maxNamed = 12

// Options are what a page needs besides its content.
type Options struct {
	Title    string
	Subtitle string
	// Date is the document's creation and modification date, so the same
	// content gives the same bytes.
	Date time.Time
	// Font is the application's, for letters the Go fonts lack; nil for
	// none.
	Font *pdffont.Font
	// Unprintable returns the closing line naming the code points no font
	// could print, such as "U+674E, U+5B50". Nil uses English.
	Unprintable func(codes string) string
}

// Doc is a page being written. Its PDF is fpdf's, for what the two
// documents do differently.
type Doc struct {
	PDF   *fpdf.Fpdf
	TextW float64 // the width between the margins, in millimetres

	o       Options
	fonts   [3]*pdffont.Font
	buf     sfnt.Buffer
	missing []rune
	seen    map[rune]bool
	quiet   bool // the closing line itself: its own gaps are not listed
	added   map[string]bool
}

// setFont selects a font family, adding it to the document on first use:
// a font no text uses is not embedded, and the application's font, which
// may be large, is parsed only for a document that needs it.
func (d *Doc) setFont(fam string, size float64) {
	if !d.added[fam] {
		d.added[fam] = true
		var f *pdffont.Font
		switch fam {
		case appFamily:
			f = d.o.Font
		default:
			for i, name := range family {
				if name == fam {
					f = d.fonts[i]
				}
			}
		}
		// fpdf writes into the bytes it is given while it cuts the font
		// down to the letters used: it gets its own copy, or the shared
		// font would change under the next document.
		d.PDF.AddUTF8FontFromBytes(fam, "", bytes.Clone(f.TTF()))
	}
	d.PDF.SetFont(fam, "", size)
}

// ErrFont matches an error of a font that failed while the PDF was being
// written.
var ErrFont = pdffont.ErrFont

// slots bounds the documents built at once in the process. The PDF
// library parses each embedded font again for each document, which costs
// about 15 MB of short-lived memory per page: without a bound, many users
// downloading at once (or one application's worth of parallel requests)
// would each hold that much at the same moment. A document waits for a
// slot; each takes tens of milliseconds.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// Build writes a page: the header, then what body adds, then the closing
// line if any letter could not be printed. At most GOMAXPROCS pages are
// built at once in the process; others wait (see slots). With an application's font, a
// panic in the PDF library (which parses that font again for each
// document) is returned as an error matching ErrFont, not passed on;
// without one, a panic is a bug of ours and goes on.
func Build(w io.Writer, o Options, body func(d *Doc)) (err error) {
	slots <- struct{}{}
	defer func() { <-slots }()
	defer func() {
		if o.Font == nil {
			return
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the PDF library failed on it: %v", ErrFont, r)
		}
	}()
	d := start(o)
	body(d)
	return d.finish(w)
}

func start(o Options) *Doc {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(o.Date)
	pdf.SetModificationDate(o.Date)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(o.Title, true)
	pdf.SetMargins(Margin, Margin, Margin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	pageW, _ := pdf.GetPageSize()
	d := &Doc{PDF: pdf, TextW: pageW - 2*Margin, o: o, fonts: goFonts(), seen: map[rune]bool{}, added: map[string]bool{}}

	d.Text(Bold, 20, 12, o.Title, "L")
	pdf.SetTextColor(90, 90, 90)
	d.Text(Regular, 11, 6, o.Subtitle, "L")
	pdf.Ln(6)
	pdf.SetTextColor(0, 0, 0)
	return d
}

// run is text printed in one font.
type run struct {
	family string
	text   string
}

// runs splits s into runs of the face's Go font and the application's
// font, each letter in the Go font when it has it. A letter neither has
// becomes Replacement, and is recorded.
func (d *Doc) runs(face Face, s string) []run {
	var out []run
	var b strings.Builder
	cur := ""
	flush := func() {
		if b.Len() > 0 {
			out = append(out, run{cur, b.String()})
			b.Reset()
		}
	}
	for _, r := range s {
		fam := family[face]
		switch {
		case r == '\n' || d.fonts[face].Lookup(&d.buf, r):
		case !unicode.IsControl(r) && d.o.Font.Lookup(&d.buf, r):
			fam = appFamily
		default:
			d.unprintable(r)
			r = Replacement
		}
		if fam != cur {
			flush()
			cur = fam
		}
		b.WriteRune(r)
	}
	flush()
	return out
}

func (d *Doc) unprintable(r rune) {
	if d.quiet || d.seen[r] {
		return
	}
	d.seen[r] = true
	d.missing = append(d.missing, r)
}

// Text writes s in face at size points, in lines lineH millimetres apart,
// between the margins, wrapping at spaces; align "C" centres a line that
// fits, and "R" sets it flush right. The current position moves to the start of the next line.
func (d *Doc) Text(face Face, size, lineH float64, s string, align string) {
	d.TextAt(face, size, lineH, s, align, Margin, d.TextW)
}

// TextAt is Text in the column of width w from x.
func (d *Doc) TextAt(face Face, size, lineH float64, s, align string, x, w float64) {
	pdf := d.PDF
	pageW, _ := pdf.GetPageSize()
	rs := d.runs(face, s)
	// Write pads each line with the cell margin on both sides: a line
	// fits when it fits with them.
	start, pad := x, pdf.GetCellMargin()
	if (align == "C" || align == "R") && !strings.Contains(s, "\n") {
		var width float64
		for _, r := range rs {
			d.setFont(r.family, size)
			width += pdf.GetStringWidth(r.text)
		}
		// A tenth of a millimetre to spare: Write's own sum of the widths
		// may round above GetStringWidth's and wrap the last letter.
		if free := w - width - 2*pad - 0.1; free >= 0 && align == "C" {
			start += free / 2
		} else if free >= 0 {
			start += free
		}
	}
	left, _, right, _ := pdf.GetMargins()
	pdf.SetLeftMargin(x)
	pdf.SetRightMargin(pageW - x - w)
	pdf.SetX(start)
	for _, r := range rs {
		d.setFont(r.family, size)
		pdf.Write(lineH, r.text)
	}
	pdf.SetLeftMargin(left)
	pdf.SetRightMargin(right)
	pdf.Ln(lineH)
}

// Rows writes label/value rows; values wrap, and empty ones are left out.
// The labels' column is as wide as the widest label needs.
func (d *Doc) Rows(rows [][2]string) {
	labelW := 30.0
	for _, row := range rows {
		var w float64
		for _, r := range d.runs(Bold, row[0]) {
			d.setFont(r.family, 11)
			w += d.PDF.GetStringWidth(r.text)
		}
		labelW = max(labelW, min(w+5, d.TextW/2))
	}
	for _, row := range rows {
		if row[1] == "" {
			continue
		}
		y := d.PDF.GetY()
		d.TextAt(Bold, 11, 7, row[0], "L", Margin, labelW)
		below := d.PDF.GetY()
		d.PDF.SetY(y)
		d.TextAt(Regular, 11, 7, row[1], "L", Margin+labelW, d.TextW-labelW)
		d.PDF.SetY(max(below, d.PDF.GetY()))
	}
}

// Paragraph writes wrapped body text.
func (d *Doc) Paragraph(s string) {
	d.Text(Regular, 10.5, 5.5, s, "L")
}

// finish adds the closing line, if any letter could not be printed, and
// writes the page into w, returning the first error met while building it.
func (d *Doc) finish(w io.Writer) error {
	if len(d.missing) > 0 {
		codes := make([]string, 0, min(len(d.missing), maxNamed)+1)
		for i, r := range d.missing {
			if i == maxNamed {
				codes = append(codes, "…")
				break
			}
			codes = append(codes, fmt.Sprintf("U+%04X", r))
		}
		line := d.o.Unprintable
		if line == nil {
			line = English
		}
		d.quiet = true
		d.PDF.Ln(4)
		d.PDF.SetTextColor(150, 0, 0)
		d.Text(Regular, 9, 4.5, line(strings.Join(codes, ", ")), "L")
		d.PDF.SetTextColor(0, 0, 0)
	}
	if err := d.PDF.Error(); err != nil {
		return err
	}
	if err := d.PDF.Output(w); err != nil {
		return err
	}
	return nil
}

// English is the closing line in English.
func English(codes string) string {
	return "This page's font has no letter for some characters of this document, printed as " +
		string(Replacement) + " above: " + codes + "."
}
