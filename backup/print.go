package backup

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
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
	// Printer is the language of the sheet (its words, its date); nil
	// means English. Pick the user's: twofa.Service.Printer.
	Printer *i18n.Printer
	// Font prints the letters of the issuer or account that the embedded
	// Go fonts (Latin, Greek, Cyrillic) lack, such as Chinese ones; nil
	// for none. See package pdffont.
	Font *pdffont.Font
}

// printer is s.Printer, or English.
func (s Sheet) printer() *i18n.Printer {
	if s.Printer != nil {
		return s.Printer
	}
	return i18n.Default().Printer(language.English)
}

// WriteText writes the sheet as plain text, for a download, in
// s.Printer's language.
func (s Sheet) WriteText(w io.Writer) error {
	t := s.printer()
	var b strings.Builder
	if s.Issuer != "" {
		b.WriteString(t.T("pdf.codes.text_title", "Issuer", s.Issuer) + "\n")
	} else {
		b.WriteString(t.T("pdf.codes.title") + "\n")
	}
	b.WriteString(t.T("pdf.text.row", "Label", t.T("pdf.row.account"), "Value", s.Account) + "\n")
	b.WriteString(t.T("pdf.text.row", "Label", t.T("pdf.row.generated"), "Value", t.Date(s.Date)) + "\n\n")
	for i, c := range s.Codes {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, c)
	}
	b.WriteString("\n" + t.T("pdf.codes.advice") + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("backup: write text: %w", err)
	}
	return nil
}

// WritePDF writes the sheet as a one-page A4 PDF ready for a printer, in
// s.Printer's language. The document's dates are s.Date, so the same sheet
// gives the same bytes.
//
// The text is in the Go fonts, embedded, which cover Latin, Greek and
// Cyrillic; s.Font prints other letters. A letter no font has prints as
// U+FFFD, and a closing line names its code point. A font that fails in
// the PDF library gives an error matching pdffont.ErrFont.
func (s Sheet) WritePDF(w io.Writer) error {
	t := s.printer()
	o := sheet.Options{Title: t.T("pdf.codes.title"), Subtitle: t.T("pdf.subtitle"), Date: s.Date, Font: s.Font,
		Unprintable: func(codes string) string {
			return t.T("pdf.unprintable", "Replacement", string(sheet.Replacement), "Codes", codes)
		}}
	err := sheet.Build(w, o, func(d *sheet.Doc) {
		d.Rows([][2]string{
			{t.T("pdf.row.service"), s.Issuer},
			{t.T("pdf.row.account"), s.Account},
			{t.T("pdf.row.generated"), t.Date(s.Date)},
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
		d.Paragraph(t.T("pdf.codes.advice"))
	})
	if err != nil {
		return fmt.Errorf("backup: write PDF: %w", err)
	}
	return nil
}
