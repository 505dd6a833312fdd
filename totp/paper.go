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
	// Font prints the letters of the issuer or account that the embedded
	// Go fonts (Latin, Greek, Cyrillic) lack, such as Chinese ones; nil
	// for none. See package pdffont.
	Font *pdffont.Font
}

// WritePaper writes a one-page A4 paper backup of the set-up to w: the QR
// code and the secret as text, with the issuer, account and date, so the
// user can restore the authenticator on a new phone after losing the old
// one.
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
	o := sheet.Options{Title: "Authenticator app backup", Subtitle: "Two-factor authentication", Date: p.Date, Font: p.Font}
	err = sheet.Build(w, o, func(d *sheet.Doc) {
		rows := [][2]string{
			{"Service", e.Issuer},
			{"Account", e.Account},
			{"Printed", p.Date.Format("2 January 2006")},
		}
		// Most apps assume the defaults; a user restoring into an app has to
		// choose anything else by hand.
		if e.Algorithm != SHA1 || e.Digits != 6 || e.Period != 30*time.Second {
			rows = append(rows, [2]string{"Settings", fmt.Sprintf("%s, %d digits, a new code every %d seconds",
				e.Algorithm, e.Digits, int(e.Period/time.Second))})
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
		d.Text(sheet.Regular, 10, 6, "Or type this key into the app:", "C")
		pdf.SetTextColor(0, 0, 0)
		// Text breaks between groups, so secrets longer than 160 bits,
		// which other services issue, stay on the page.
		d.Text(sheet.Mono, 15, 8, e.GroupedSecret(), "C")
		pdf.Ln(10)

		service := e.Issuer
		if service == "" {
			service = "the service"
		}
		d.Paragraph("Keep this sheet somewhere safe, such as with your important papers. " +
			"Anyone who has it can make your sign-in codes, so do not photograph it or share it.\n\n" +
			"To restore your codes on a new phone, open your authenticator app, choose to add an account, " +
			"and scan the QR code above or type the key. If you later move to a new phone through the " +
			service + " settings instead, this sheet stops working: print the new one.")
	})
	if err != nil {
		return fmt.Errorf("totp: paper backup: %w", err)
	}
	return nil
}
