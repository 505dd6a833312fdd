package backup_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/i18n"
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

// The sheet, as PDF and as text, in each shipped language: its own title,
// labels and date, none of English's, every letter printable.
func TestPrintLanguages(t *testing.T) {
	date := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	cat := i18n.Default()
	english := []string{"Backup codes", "Account", "Generated", "Each code works once"}
	for _, tc := range []struct {
		tag  language.Tag
		want []string
	}{
		{language.English, append([]string{"23 November 2026"}, english...)},
		{language.German, []string{"Backup-Codes", "Konto", "Erstellt", "23. November 2026", "Jeder Code funktioniert nur einmal"}},
		{language.French, []string{"Codes de secours", "Compte", "23 novembre 2026", "Chaque code ne sert qu’une fois"}},
		{language.Spanish, []string{"Códigos de respaldo", "Cuenta", "23 de noviembre de 2026", "Cada código sirve una sola vez"}},
		{language.Ukrainian, []string{"Резервні коди", "Обліковий запис", "23 листопада 2026 р.", "Кожен код діє лише один раз"}},
	} {
		t.Run(tc.tag.String(), func(t *testing.T) {
			s := backup.Sheet{Issuer: "Acme", Account: "jane@example.com", Date: date, Codes: []string{"abcd-efgh"}, Printer: cat.Printer(tc.tag)}
			var text bytes.Buffer
			if err := s.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			pdf := pdfText(t, s)
			// Lines joined, and in lower case: the text's title is "Acme
			// backup codes".
			for name, out := range map[string]string{"PDF": strings.Join(strings.Fields(pdf), " "), "text": strings.Join(strings.Fields(text.String()), " ")} {
				out = strings.ToLower(out)
				for _, w := range tc.want {
					if !strings.Contains(out, strings.ToLower(w)) {
						t.Errorf("%s lacks %q:\n%s", name, w, out)
					}
				}
				if tc.tag == language.English {
					continue
				}
				for _, w := range english {
					if strings.Contains(out, strings.ToLower(w)) {
						t.Errorf("%s has English %q:\n%s", name, w, out)
					}
				}
			}
			if strings.ContainsRune(pdf, '\uFFFD') || strings.Contains(pdf, "U+") {
				t.Errorf("a letter of the translation did not print:\n%s", pdf)
			}
		})
	}
}

// Sheets printed at once, with the application's font, are each the
// same bytes: the fonts parsed once are shared, and the PDF library, which
// writes into the font bytes it gets, gets its own copy.
func TestPrintConcurrently(t *testing.T) {
	s := backup.Sheet{Issuer: "Acme", Account: "李 Дмитро", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Codes: []string{"abcd-efgh"}, Font: fonttest.CJK(t)}
	var want bytes.Buffer
	if err := s.WritePDF(&want); err != nil {
		t.Fatal(err)
	}
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var buf bytes.Buffer
			if err := s.WritePDF(&buf); err != nil {
				t.Error(err)
			}
			got[i] = buf.Bytes()
		})
	}
	wg.Wait()
	for i, b := range got {
		if !bytes.Equal(b, want.Bytes()) {
			t.Errorf("sheet %d differs from the one printed alone", i)
		}
	}
}
