// Package sheet lays out the one-page A4 documents twofa prints: the
// authenticator paper backup and the backup codes. Both share a header, a
// table of labelled rows and fpdf's core fonts.
package sheet

import (
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// Margin is the page margin in millimetres.
const Margin = 25.0

const labelW = 30.0

// Doc is a page being written. Its PDF is fpdf's, for what the two
// documents do differently.
type Doc struct {
	PDF   *fpdf.Fpdf
	TextW float64 // the width between the margins, in millimetres
	tr    func(string) string
}

// New starts a page with a title and the usual subtitle. Creation and
// modification dates are date, so the same content gives the same bytes.
func New(title string, date time.Time) *Doc {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(title, true)
	pdf.SetMargins(Margin, Margin, Margin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	pageW, _ := pdf.GetPageSize()
	d := &Doc{PDF: pdf, TextW: pageW - 2*Margin, tr: cp1252(pdf)}

	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(d.TextW, 12, title, "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	pdf.SetTextColor(90, 90, 90)
	pdf.CellFormat(d.TextW, 6, "Two-factor authentication", "", 1, "L", false, 0, "")
	pdf.Ln(6)
	pdf.SetTextColor(0, 0, 0)
	return d
}

// Text makes s printable in the core fonts.
func (d *Doc) Text(s string) string { return d.tr(s) }

// Rows writes label/value rows; values wrap, and empty ones are left out.
func (d *Doc) Rows(rows [][2]string) {
	for _, row := range rows {
		if row[1] == "" {
			continue
		}
		d.PDF.SetFont("Helvetica", "B", 11)
		d.PDF.CellFormat(labelW, 7, row[0], "", 0, "L", false, 0, "")
		d.PDF.SetFont("Helvetica", "", 11)
		d.PDF.MultiCell(d.TextW-labelW, 7, d.tr(row[1]), "", "L", false)
		d.PDF.SetX(Margin)
	}
}

// Paragraph writes wrapped body text.
func (d *Doc) Paragraph(s string) {
	d.PDF.SetFont("Helvetica", "", 10.5)
	d.PDF.MultiCell(d.TextW, 5.5, d.tr(s), "", "L", false)
}

// Write finishes the page into w, returning the first error met while
// building it, if any.
func (d *Doc) Write(w io.Writer) error {
	if err := d.PDF.Error(); err != nil {
		return err
	}
	return d.PDF.Output(w)
}

// cp1252 returns a function that makes text safe for fpdf's core fonts.
// fpdf's own translator turns characters outside Windows-1252 into '.',
// which on an account such as "用户@example.com" reads as a real but wrong
// address; '?' shows that something could not be printed.
func cp1252(pdf *fpdf.Fpdf) func(string) string {
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	return func(s string) string {
		var b strings.Builder
		for _, r := range s {
			c := tr(string(r))
			if r != '.' && c == "." {
				c = "?"
			}
			b.WriteString(c)
		}
		return b.String()
	}
}
