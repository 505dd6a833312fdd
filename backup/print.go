package backup

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twofa-go/twofa/internal/sheet"
	"github.com/twofa-go/twofa/pdffont"
)

// Sheet is a set of codes ready to print or download, right after
// Generate: the only moment the codes exist in the clear.
type Sheet struct {
	Issuer  string
	Account string
	Date    time.Time
	Codes   []string
	// Font prints the letters of the issuer or account that the embedded
	// Go fonts (Latin, Greek, Cyrillic) lack, such as Chinese ones; nil
	// for none. See package pdffont.
	Font *pdffont.Font
}

const advice = "Each code works once. Keep them somewhere safe, such as with your important papers " +
	"or in a password manager. Generating new codes makes all of these stop working."

// WriteText writes the sheet as plain text, for a download.
func (s Sheet) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s backup codes\n", s.Issuer)
	fmt.Fprintf(&b, "Account: %s\n", s.Account)
	fmt.Fprintf(&b, "Generated: %s\n\n", s.Date.Format("2 January 2006"))
	for i, c := range s.Codes {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, c)
	}
	b.WriteString("\n" + advice + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("backup: write text: %w", err)
	}
	return nil
}

// WritePDF writes the sheet as a one-page A4 PDF ready for a printer. The
// document's dates are s.Date, so the same sheet gives the same bytes.
//
// The text is in the Go fonts, embedded, which cover Latin, Greek and
// Cyrillic; s.Font prints other letters. A letter no font has prints as
// U+FFFD, and a closing line names its code point. A font that fails in
// the PDF library gives an error matching pdffont.ErrFont.
func (s Sheet) WritePDF(w io.Writer) error {
	o := sheet.Options{Title: "Backup codes", Subtitle: "Two-factor authentication", Date: s.Date, Font: s.Font}
	err := sheet.Build(w, o, func(d *sheet.Doc) {
		d.Rows([][2]string{
			{"Service", s.Issuer},
			{"Account", s.Account},
			{"Generated", s.Date.Format("2 January 2006")},
		})
		pdf := d.PDF
		pdf.Ln(8)

		// Two columns of codes in a box, numbered, in a monospaced face so
		// that every character is unambiguous on paper.
		const rowH = 11.0
		rows := (len(s.Codes) + 1) / 2
		top := pdf.GetY()
		pdf.SetDrawColor(160, 160, 160)
		pdf.Rect(sheet.Margin, top, d.TextW, float64(rows)*rowH+8, "D")
		for i, c := range s.Codes {
			col, row := i/rows, i%rows
			x := sheet.Margin + 12 + float64(col)*d.TextW/2
			pdf.SetXY(x, top+4+float64(row)*rowH)
			pdf.SetTextColor(120, 120, 120)
			d.TextAt(sheet.Regular, 10, rowH, fmt.Sprintf("%d.", i+1), "R", x, 10)
			pdf.SetTextColor(0, 0, 0)
			pdf.SetXY(x+12, top+4+float64(row)*rowH)
			d.TextAt(sheet.Mono, 15, rowH, c, "L", x+12, d.TextW/2-24)
		}
		pdf.SetXY(sheet.Margin, top+float64(rows)*rowH+16)
		d.Paragraph(advice)
	})
	if err != nil {
		return fmt.Errorf("backup: write PDF: %w", err)
	}
	return nil
}
