package totp_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/internal/fonttest"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/pdffont"
	"github.com/twofa-go/twofa/totp"
)

func needTool(t *testing.T, name string) string { return testdb.NeedTool(t, name) }

// run runs a program found with needTool and returns its standard output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.Bytes())
	}
	return string(out)
}

// zbar returns what zbarimg reads from the QR code in a PNG file.
func zbar(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "zbarimg", "--raw", "-q", path))
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// enrollment parses an otpauth URL built here, as a service would hand one
// over, so the tests depend on nothing but the public API.
func enrollment(t *testing.T, raw string) *totp.Enrollment {
	t.Helper()
	e, err := totp.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const sampleURL = "otpauth://totp/Acme%20Photos:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Photos"

var backupDate = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

func TestQRCodeDecodesToURL(t *testing.T) {
	needTool(t, "zbarimg")
	e := enrollment(t, sampleURL)
	for _, tc := range []struct{ size, want int }{
		{0, 256}, {60, 60}, {200, 200}, {256, 256}, {333, 333}, {2048, 2048},
	} {
		b, err := e.QRCode(tc.size)
		if err != nil {
			t.Fatalf("size %d: %v", tc.size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: not a PNG: %v", tc.size, err)
		}
		if got := img.Bounds(); got.Dx() != tc.want || got.Dy() != tc.want {
			t.Fatalf("size %d: image is %v, want %d×%[3]d", tc.size, got, tc.want)
		}
		checkQuietZone(t, img)
		if got := zbar(t, writeFile(t, "qr.png", b)); got != e.URL() {
			t.Fatalf("size %d: QR code reads %q, want %q", tc.size, got, e.URL())
		}
	}
}

// checkQuietZone measures the white border from the image alone: the top
// left finder pattern starts with a dark run seven modules long, which gives
// the module size, and the border before it must be at least four modules.
func checkQuietZone(t *testing.T, img image.Image) {
	t.Helper()
	dark := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 }
	b := img.Bounds()
	off := 0
	for off < b.Dx() && !dark(off, off) {
		off++
	}
	run := 0
	for off+run < b.Dx() && dark(off+run, off) {
		run++
	}
	if run == 0 || run%7 != 0 {
		t.Fatalf("no finder pattern at the top left (dark run %d at %d)", run, off)
	}
	for x := 0; x < b.Dx(); x++ {
		if dark(x, 0) || dark(0, x) || dark(x, b.Dy()-1) || dark(b.Dx()-1, x) {
			t.Fatalf("dark pixel on the image's edge near %d", x)
		}
	}
	if module := run / 7; off < 4*module {
		t.Errorf("white border is %d pixels, want at least 4 modules of %d", off, module)
	}
}

func TestQRCodeBadSizes(t *testing.T) {
	e := enrollment(t, sampleURL)
	// A 160-bit secret's URL needs a QR code of at least 29 modules (version
	// 3), so 36 pixels with the border.
	for _, size := range []int{-1, 1, 20, 36, 2049, 1 << 30} {
		b, err := e.QRCode(size)
		if err == nil {
			t.Errorf("size %d: accepted, %d bytes", size, len(b))
			continue
		}
		if !strings.HasPrefix(err.Error(), "totp: QR code: ") {
			t.Errorf("size %d: error %q lacks the package prefix", size, err)
		}
		if strings.Contains(err.Error(), e.Secret) {
			t.Errorf("size %d: error carries the secret: %v", size, err)
		}
	}
}

func TestQRCodeTooMuchData(t *testing.T) {
	e := enrollment(t, sampleURL)
	e.Account = strings.Repeat("a", 3000) + "@example.com"
	_, err := e.QRCode(0)
	if err == nil {
		t.Fatal("3 kB URL encoded")
	}
	var buf bytes.Buffer
	pdfErr := e.WritePDF(&buf, backupDate)
	if pdfErr == nil {
		t.Fatal("WritePDF of a 3 kB URL succeeded")
	}
	for _, err := range []error{err, pdfErr} {
		if strings.Contains(err.Error(), e.Secret) {
			t.Errorf("error carries the secret: %v", err)
		}
	}
	if !strings.HasPrefix(pdfErr.Error(), "totp: paper backup: ") {
		t.Errorf("WritePDF error %q lacks its prefix", pdfErr)
	}
}

func TestPaperBackup(t *testing.T) {
	needTool(t, "pdftoppm")
	needTool(t, "pdftotext")
	needTool(t, "zbarimg")
	for _, tc := range []struct {
		name string
		url  string
		want []string // text that must appear on the page
		not  []string // text that must not
	}{{
		name: "default settings",
		url:  sampleURL,
		want: []string{"Acme Photos", "jane@example.com"},
		not:  []string{"Settings", "SHA1"},
	}, {
		// Latin, Greek and Cyrillic print as written, in the Go fonts.
		name: "names in three scripts",
		url:  "otpauth://totp/%C5%81ukasz%20%D0%94%D0%BC%D0%B8%D1%82%D1%80%D0%BE:%CE%95%CE%BB%CE%AD%CE%BD%CE%B7@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
		want: []string{"Łukasz Дмитро", "Ελένη@example.com"},
		not:  []string{"\uFFFD", "could not", "U+"},
	}, {
		// Letters no font has print as U+FFFD, and the page names them,
		// without breaking the PDF.
		name: "letters without a font",
		url:  "otpauth://totp/Z%C3%BCrich%20%C3%9Cn%C3%AFcode:%E7%94%A8%E6%88%B7@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
		want: []string{"Zürich Ünïcode", "\uFFFD\uFFFD@example.com", "U+7528, U+6237"},
		not:  []string{"?@example.com"},
	}, {
		name: "other settings",
		url:  "otpauth://totp/Acme:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60",
		want: []string{"Settings", "SHA256", "8 digits", "every 60 seconds"},
	}, {
		// 512 bits, as some services issue: the key wraps instead of
		// running off the page.
		name: "long secret",
		url:  "otpauth://totp/Acme:jane@example.com?secret=" + strings.Repeat("JBSWY3DPEHPK3PXP", 6) + "GEZDGNBV",
		want: []string{"Acme", "jane@example.com"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e := enrollment(t, tc.url)
			var buf bytes.Buffer
			if err := e.WritePDF(&buf, backupDate); err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "backup.pdf", buf.Bytes())

			text := run(t, "pdftotext", "-enc", "UTF-8", "-layout", path, "-")
			if pages := strings.Count(text, "\f"); pages != 1 {
				t.Errorf("%d pages, want 1", pages)
			}
			for _, s := range append(tc.want, "23 November 2026") {
				if !strings.Contains(text, s) {
					t.Errorf("page lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(text, s) {
					t.Errorf("page has %q:\n%s", s, text)
				}
			}
			// The key may wrap; read it as a person would, line after line.
			if words := strings.Join(strings.Fields(text), " "); !strings.Contains(words, e.GroupedSecret()) {
				t.Errorf("page lacks the key %q:\n%s", e.GroupedSecret(), text)
			}
			// -layout keeps the page's columns: every line must fit on A4.
			for line := range strings.Lines(text) {
				if n := len([]rune(strings.TrimRight(line, "\n\f"))); n > 110 {
					t.Errorf("line of %d characters runs off the page: %q", n, line)
				}
			}

			run(t, "pdftoppm", "-png", "-r", "150", "-singlefile", path, filepath.Join(filepath.Dir(path), "page"))
			if got := zbar(t, filepath.Join(filepath.Dir(path), "page.png")); got != e.URL() {
				t.Fatalf("printed QR code reads %q, want %q", got, e.URL())
			}
		})
	}
}

func TestPaperBackupReproducible(t *testing.T) {
	e := enrollment(t, sampleURL)
	pdf := func(date time.Time) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := e.WritePDF(&buf, date); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first, second := pdf(backupDate), pdf(backupDate)
	if !bytes.Equal(first, second) {
		t.Error("two PDFs of the same enrollment and date differ")
	}
	if !bytes.HasPrefix(first, []byte("%PDF-")) {
		t.Errorf("output starts %q, not a PDF header", first[:min(len(first), 8)])
	}
	if bytes.Equal(first, pdf(backupDate.AddDate(0, 0, 1))) {
		t.Error("the date does not reach the PDF")
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestPaperBackupWriteError(t *testing.T) {
	e := enrollment(t, sampleURL)
	disk := errors.New("disk full")
	err := e.WritePDF(failingWriter{disk}, backupDate)
	if !errors.Is(err, disk) {
		t.Fatalf("err = %v, want it to wrap %v", err, disk)
	}
	if !strings.HasPrefix(err.Error(), "totp: paper backup: ") || strings.Contains(err.Error(), e.Secret) {
		t.Errorf("err = %q, want the package prefix and no secret", err)
	}
}

// A name in a script the Go fonts lack prints in the application's font;
// without it, the page shows U+FFFD and names the letter.
func TestPaperBackupFont(t *testing.T) {
	needTool(t, "pdftotext")
	e := enrollment(t, "otpauth://totp/Acme:%E6%9D%8E%20%C5%81ukasz?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
	for _, tc := range []struct {
		name      string
		font      *pdffont.Font
		want, not []string
	}{
		{"no font", nil, []string{"\uFFFD Łukasz", "U+674E"}, []string{"李"}},
		{"the application's font", fonttest.CJK(t), []string{"李 Łukasz"}, []string{"U+674E", "\uFFFD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := e.WritePaper(&buf, totp.Paper{Date: backupDate, Font: tc.font}); err != nil {
				t.Fatal(err)
			}
			text := run(t, "pdftotext", "-enc", "UTF-8", writeFile(t, "backup.pdf", buf.Bytes()), "-")
			for _, s := range tc.want {
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

// The paper backup in each shipped language: its own title, labels and
// date, none of English's, and every letter printable in the Go fonts.
func TestPaperBackupLanguages(t *testing.T) {
	needTool(t, "pdftotext")
	e := enrollment(t, "otpauth://totp/Acme:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme&period=60")
	cat := i18n.Default()
	english := []string{"Authenticator app backup", "Account", "Printed", "Keep this sheet", "every 60 seconds"}
	for _, tc := range []struct {
		tag  language.Tag
		want []string
	}{
		{language.English, append([]string{"23 November 2026"}, english...)},
		{language.German, []string{"Sicherung der Authenticator-App", "Dienst", "Konto", "Gedruckt", "23. November 2026", "Bewahren Sie", "alle 60 Sekunden"}},
		{language.French, []string{"Sauvegarde de l’application", "Compte", "23 novembre 2026", "Conservez cette feuille", "toutes les 60 secondes"}},
		{language.Spanish, []string{"Copia de seguridad", "Cuenta", "23 de noviembre de 2026", "Guarda esta hoja", "cada 60 segundos"}},
		{language.Ukrainian, []string{"Резервна копія", "Обліковий запис", "23 листопада 2026 р.", "Зберігайте цей аркуш", "кожні 60 секунд"}},
	} {
		t.Run(tc.tag.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := e.WritePaper(&buf, totp.Paper{Date: backupDate, Printer: cat.Printer(tc.tag)}); err != nil {
				t.Fatal(err)
			}
			text := run(t, "pdftotext", "-enc", "UTF-8", writeFile(t, "backup.pdf", buf.Bytes()), "-")
			// Read as a person would: lines joined.
			words := strings.Join(strings.Fields(text), " ")
			for _, s := range tc.want {
				if !strings.Contains(words, s) {
					t.Errorf("page lacks %q:\n%s", s, text)
				}
			}
			if tc.tag != language.English {
				for _, s := range english {
					if strings.Contains(words, s) {
						t.Errorf("page has English %q:\n%s", s, text)
					}
				}
			}
			if strings.ContainsRune(text, '\uFFFD') || strings.Contains(text, "U+") {
				t.Errorf("a letter of the translation did not print:\n%s", text)
			}
		})
	}
}
