package totp_test

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/totp"
)

// needTool returns the path of an external program the test needs. Without
// it the test is skipped on a developer's machine and fails in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; CI must install it (.ci/run)", name)
		}
		t.Skipf("%s not found", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(needTool(t, name), args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func sampleEnrollment(t *testing.T) *totp.Enrollment {
	t.Helper()
	e, err := totp.ParseURL("otpauth://totp/Acme%20Photos:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Photos")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// zbar reads the QR codes in a PNG file.
func zbar(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "zbarimg", "--raw", "-q", path))
}

func TestQRCodeDecodesToURL(t *testing.T) {
	needTool(t, "zbarimg")
	e := sampleEnrollment(t)
	for _, size := range []int{0, 200, 256, 512} {
		b, err := e.QRCode(size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want := size
		if want == 0 {
			want = 256
		}
		if img.Bounds().Dx() != want || img.Bounds().Dy() != want {
			t.Fatalf("size %d: image is %v", size, img.Bounds())
		}
		path := filepath.Join(t.TempDir(), "qr.png")
		os.WriteFile(path, b, 0o600)
		if got := zbar(t, path); got != e.URL() {
			t.Fatalf("size %d: QR decodes to %q, want %q", size, got, e.URL())
		}
	}
}

func TestQRCodeBadSizes(t *testing.T) {
	e := sampleEnrollment(t)
	for _, size := range []int{-1, 10, 40, 4096} {
		if _, err := e.QRCode(size); err == nil {
			t.Errorf("size %d accepted", size)
		} else if strings.Contains(err.Error(), e.Secret) {
			t.Errorf("error carries the secret: %v", err)
		}
	}
}

func TestPaperBackup(t *testing.T) {
	needTool(t, "pdftoppm")
	needTool(t, "pdftotext")
	needTool(t, "zbarimg")
	for _, tc := range []struct {
		name, issuer, account string
		want                  []string // text that must survive into the PDF
	}{
		{"ascii", "Acme Photos", "jane@example.com", []string{"Acme Photos", "jane@example.com"}},
		{"unicode", "Zürich Ünïcode", "用户@example.com", []string{"Zürich Ünïcode", "@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := sampleEnrollment(t)
			e.Issuer, e.Account = tc.issuer, tc.account
			date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
			var buf bytes.Buffer
			if err := e.WritePDF(&buf, date); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pdfPath := filepath.Join(dir, "backup.pdf")
			os.WriteFile(pdfPath, buf.Bytes(), 0o600)

			text := run(t, "pdftotext", "-layout", pdfPath, "-")
			for _, s := range append(tc.want, e.GroupedSecret(), "23 November 2026") {
				if !strings.Contains(text, s) {
					t.Errorf("PDF text lacks %q:\n%s", s, text)
				}
			}
			if pages := strings.Count(text, "\f"); pages != 1 {
				t.Errorf("%d pages, want 1", pages)
			}
			run(t, "pdftoppm", "-png", "-r", "150", "-singlefile", pdfPath, filepath.Join(dir, "page"))
			if got := zbar(t, filepath.Join(dir, "page.png")); got != e.URL() {
				t.Fatalf("printed QR decodes to %q, want %q", got, e.URL())
			}

			var again bytes.Buffer
			e.WritePDF(&again, date)
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("two PDFs of the same enrollment and date differ")
			}
		})
	}
}
