package backup_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/internal/fonttest"
	"github.com/twofa-go/twofa/pdffont"
)

// pdfText is what pdftotext reads from the sheet's PDF.
func pdfText(t *testing.T, s backup.Sheet) string {
	t.Helper()
	var pdf bytes.Buffer
	if err := s.WritePDF(&pdf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "codes.pdf")
	if err := os.WriteFile(path, pdf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(needTool(t, "pdftotext"), "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Every name prints: Latin, Greek and Cyrillic in the Go fonts, Chinese in
// the application's font, and a letter no font has as U+FFFD, named on the
// page.
func TestPrintNames(t *testing.T) {
	date := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	codes := []string{"abcd-efgh", "ijkl-mnop"}
	for _, tc := range []struct {
		name            string
		issuer, account string
		font            *pdffont.Font
		want, not       []string
	}{
		{"three scripts", "Ελένη Co", "Łukasz Дмитро", nil,
			[]string{"Ελένη Co", "Łukasz Дмитро"}, []string{"\uFFFD", "U+"}},
		{"no font for a letter", "Acme", "李 Łukasz", nil,
			[]string{"\uFFFD Łukasz", "U+674E"}, []string{"李"}},
		{"the application's font", "Acme", "李 Łukasz", fonttest.CJK(t),
			[]string{"李 Łukasz"}, []string{"\uFFFD", "U+674E"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := pdfText(t, backup.Sheet{Issuer: tc.issuer, Account: tc.account, Date: date, Codes: codes, Font: tc.font})
			for _, s := range append(tc.want, codes...) {
				if !strings.Contains(text, s) {
					t.Errorf("page lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(text, s) {
					t.Errorf("page has %q:\n%s", s, text)
				}
			}
		})
	}
}

// The same sheet gives the same bytes, the application's font included:
// the PDF library writes into the font bytes it gets, which must not be
// the shared ones.
func TestPrintReproducible(t *testing.T) {
	s := backup.Sheet{Issuer: "Acme", Account: "李 Дмитро", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Codes: []string{"abcd-efgh"}, Font: fonttest.CJK(t)}
	var first, second bytes.Buffer
	if err := s.WritePDF(&first); err != nil {
		t.Fatal(err)
	}
	if err := s.WritePDF(&second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two PDFs of the same sheet differ")
	}
}
