package totp

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/internal/sheet"
	"github.com/twofa-go/twofa/pdffont"
)

const (
	// quietModules is the white border a QR code needs on every side to
	// scan reliably (ISO/IEC 18004 asks for four modules). barcode.Scale
	// adds none of its own.
	quietModules = 4
	// defaultQRSize suits a set-up page on a screen.
	defaultQRSize = 256
	// maxQRSize keeps a caller's mistake from allocating a huge image.
	maxQRSize = 2048
	// paperQRPixels is the QR image put into the PDF: at 70 mm it is over
	// 250 dpi, so modules stay sharp on any printer.
	paperQRPixels = 720
)

// QRCode returns a size×size PNG of the QR code of [Enrollment.URL], for the
// user's phone to scan. A size of 0 means 256 pixels. The code is drawn with
// whole pixels per module, centred, with at least four modules of white
// around it, so a size too small for that, or over 2048, is an error.
func (e *Enrollment) QRCode(size int) ([]byte, error) {
	b, err := e.qrPNG(size)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return b, nil
}

// qrPNG is QRCode with errors its callers prefix. No error carries the URL,
// which holds the secret.
func (e *Enrollment) qrPNG(size int) ([]byte, error) {
	if size == 0 {
		size = defaultQRSize
	}
	if size < 0 || size > maxQRSize {
		return nil, fmt.Errorf("size %d is negative or over %d pixels", size, maxQRSize)
	}
	u := e.URL()
	code, err := qr.Encode(u, qr.M, qr.Auto)
	if err != nil {
		// qr's error quotes the whole URL, secret included: drop it. Too
		// much data is the only way Auto fails.
		return nil, fmt.Errorf("the otpauth URL (%d bytes) is too long for a QR code", len(u))
	}
	modules := code.Bounds().Dx()
	if need := modules + 2*quietModules; size < need {
		return nil, fmt.Errorf("size %d is too small: this code has %d modules and needs at least %d pixels with its white border", size, modules, need)
	}
	// Scale to whole pixels per module, leaving room for the quiet zone;
	// barcode.Scale would otherwise fill the whole size edge to edge.
	side := size / (modules + 2*quietModules) * modules
	scaled, err := barcode.Scale(code, side, side)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	off := (size - side) / 2
	draw.Draw(img, image.Rect(off, off, off+side, off+side), scaled, scaled.Bounds().Min, draw.Src)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// WritePDF writes a one-page A4 paper backup of the set-up to w, in
// English: WritePaper with only a date.
func (e *Enrollment) WritePDF(w io.Writer, date time.Time) error {
	return e.WritePaper(w, Paper{Date: date})
}

// Paper is how a paper backup is printed.
type Paper struct {
	// Date is printed on the sheet and is the document's creation and
	// modification date, so the same enrollment and date give the same
	// bytes.
	Date time.Time
	// Printer is the language of the sheet (its words, its date); nil
	// means English. Pick the user's: twofa.Service.Printer.
	Printer *i18n.Printer
	// Font prints the letters of the issuer or account that the embedded
	// Go fonts (Latin, Greek, Cyrillic) lack, such as Chinese ones; nil
	// for none. See package pdffont.
	Font *pdffont.Font
}

// WritePaper writes a one-page A4 paper backup of the set-up to w: the QR
// code and the secret as text, with the issuer, account and date, so the
// user can restore the authenticator on a new phone after losing the old
// one. Its words and date are in p.Printer's language.
//
// The text is in the Go fonts, embedded, which cover Latin, Greek and
// Cyrillic; p.Font prints other letters. A letter no font has prints as
// U+FFFD, and a closing line names its code point. The QR code carries
// every letter intact whatever the fonts. A font that fails in the PDF
// library gives an error matching pdffont.ErrFont.
func (e *Enrollment) WritePaper(w io.Writer, p Paper) error {
	qrImage, err := e.qrPNG(paperQRPixels)
	if err != nil {
		return fmt.Errorf("totp: paper backup: QR code: %w", err)
	}

	const qrSide = 70.0 // mm, including the quiet zone; the code itself is about 55 mm
	t := p.Printer
	if t == nil {
		t = i18n.Default().Printer(language.English)
	}
	o := sheet.Options{Title: t.T("pdf.paper.title"), Subtitle: t.T("pdf.subtitle"), Date: p.Date, Font: p.Font,
		Unprintable: func(codes string) string {
			return t.T("pdf.unprintable", "Replacement", string(sheet.Replacement), "Codes", codes)
		}}
	err = sheet.Build(w, o, func(d *sheet.Doc) {
		rows := [][2]string{
			{t.T("pdf.row.service"), e.Issuer},
			{t.T("pdf.row.account"), e.Account},
			{t.T("pdf.row.printed"), t.Date(p.Date)},
		}
		// Most apps assume the defaults; a user restoring into an app has to
		// choose anything else by hand.
		if e.Algorithm != SHA1 || e.Digits != 6 || e.Period != 30*time.Second {
			seconds := int(e.Period / time.Second)
			rows = append(rows, [2]string{t.T("pdf.row.settings"), t.T("pdf.paper.settings",
				"Algorithm", e.Algorithm.String(), "Digits", t.Number(e.Digits), "Count", seconds)})
		}
		d.Rows(rows)

		pdf := d.PDF
		pageW, _ := pdf.GetPageSize()
		y := pdf.GetY() + 10
		opt := fpdf.ImageOptions{ImageType: "PNG"}
		pdf.RegisterImageOptionsReader("qr", opt, bytes.NewReader(qrImage))
		pdf.ImageOptions("qr", (pageW-qrSide)/2, y, qrSide, qrSide, false, opt, 0, "")
		pdf.SetY(y + qrSide + 6)

		pdf.SetTextColor(90, 90, 90)
		d.Text(sheet.Regular, 10, 6, t.T("pdf.paper.type_key"), "C")
		pdf.SetTextColor(0, 0, 0)
		// Text breaks between groups, so secrets longer than 160 bits,
		// which other services issue, stay on the page.
		d.Text(sheet.Mono, 15, 8, e.GroupedSecret(), "C")
		pdf.Ln(10)

		restore := t.T("pdf.paper.restore.noissuer")
		if e.Issuer != "" {
			restore = t.T("pdf.paper.restore", "Service", e.Issuer)
		}
		d.Paragraph(t.T("pdf.paper.keep") + "\n\n" + restore)
	})
	if err != nil {
		return fmt.Errorf("totp: paper backup: %w", err)
	}
	return nil
}
