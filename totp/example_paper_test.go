package totp_test

import (
	"bytes"
	"fmt"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/totp"
)

// A paper backup in German, for a user named in Cyrillic: the Go fonts
// embedded in the PDF print the name as written. An application whose
// users have names in other scripts passes its own font as Paper.Font
// (package pdffont).
func ExampleEnrollment_WritePaper() {
	e, err := totp.ParseURL("otpauth://totp/Acme:%D0%94%D0%BC%D0%B8%D1%82%D1%80%D0%BE?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
	if err != nil {
		panic(err)
	}
	var pdf bytes.Buffer
	err = e.WritePaper(&pdf, totp.Paper{
		Date:    time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Printer: i18n.Default().Printer(language.German),
	})
	fmt.Println(err, bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")))
	// Output: <nil> true
}
