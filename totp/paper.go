package totp

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf"
)

// quietModules is the white border a QR code needs around it to scan
// reliably (ISO/IEC 18004 asks for four modules).
const quietModules = 4

const maxQRSize = 2048

// QRCode returns a size×size PNG of the QR code of e.URL(), with its white
// border, for the user's phone to scan. A size of 0 means 256 pixels.
func (e *Enrollment) QRCode(size int) ([]byte, error) {
	img, err := e.qrImage(size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return buf.Bytes(), nil
}

func (e *Enrollment) qrImage(size int) (image.Image, error) {
	if size == 0 {
		size = 256
	}
	if size < 0 || size > maxQRSize {
		return nil, fmt.Errorf("totp: QR code size must be 1 to %d pixels", maxQRSize)
	}
	code, err := qr.Encode(e.URL(), qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	modules := code.Bounds().Dx()
	scale := size / (modules + 2*quietModules)
	if scale < 1 {
		return nil, fmt.Errorf("totp: QR code needs at least %d pixels", modules+2*quietModules)
	}
	scaled, err := barcode.Scale(code, modules*scale, modules*scale)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	canvas := image.NewGray(image.Rect(0, 0, size, size))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	off := (size - modules*scale) / 2
	draw.Draw(canvas, image.Rect(off, off, off+modules*scale, off+modules*scale), scaled, scaled.Bounds().Min, draw.Src)
	return canvas, nil
}

// WritePDF writes a one-page A4 paper backup of the set-up to w: the QR
// code, the secret as text, the issuer, the account and date. Printed and
// kept somewhere safe, it restores the authenticator on a new phone. The
// document's dates are date, so the same input gives the same bytes.
func (e *Enrollment) WritePDF(w io.Writer, date time.Time) error {
	png, err := e.QRCode(720)
	if err != nil {
		return err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Authenticator app backup", true)
	pdf.SetMargins(25, 25, 25)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	// The core fonts know only cp1252; anything else becomes a '?' rather
	// than broken bytes.
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pageW, _ := pdf.GetPageSize()
	textW := pageW - 50

	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(textW, 12, "Authenticator app backup", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	pdf.SetTextColor(90, 90, 90)
	pdf.CellFormat(textW, 6, "Two-factor authentication", "", 1, "L", false, 0, "")
	pdf.Ln(6)

	pdf.SetTextColor(0, 0, 0)
	for _, row := range [][2]string{
		{"Service", e.Issuer},
		{"Account", e.Account},
		{"Printed", date.Format("2 January 2006")},
	} {
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(30, 7, row[0], "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 11)
		pdf.CellFormat(textW-30, 7, tr(row[1]), "", 1, "L", false, 0, "")
	}
	if e.Algorithm != SHA1 || e.Digits != 6 || e.Period != 30*time.Second {
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(30, 7, "Settings", "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 11)
		pdf.CellFormat(textW-30, 7, fmt.Sprintf("%s, %d digits, every %d seconds", e.Algorithm, e.Digits, int(e.Period/time.Second)), "", 1, "L", false, 0, "")
	}

	const qrSide = 70.0
	y := pdf.GetY() + 10
	pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	pdf.ImageOptions("qr", (pageW-qrSide)/2, y, qrSide, qrSide, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	pdf.SetY(y + qrSide + 6)

	pdf.SetFont("Helvetica", "", 10)
	pdf.SetTextColor(90, 90, 90)
	pdf.CellFormat(textW, 6, "Or type this key into the app:", "", 1, "C", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Courier", "B", 15)
	pdf.CellFormat(textW, 9, e.GroupedSecret(), "", 1, "C", false, 0, "")
	pdf.Ln(10)

	pdf.SetFont("Helvetica", "", 10.5)
	pdf.MultiCell(textW, 5.5, "Keep this sheet somewhere safe, such as with your important papers. "+
		"Anyone who has it can make your sign-in codes, so do not photograph it or share it.\n\n"+
		"To restore your codes on a new phone, open your authenticator app, choose to add an account, "+
		"and scan the QR code above or type the key. If you move to a new phone through the "+
		tr(e.Issuer)+" settings instead, this sheet stops working: print the new one.", "", "L", false)

	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("totp: paper backup: %w", err)
	}
	return nil
}
