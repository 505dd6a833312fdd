package totp_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"
	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/internal/fonttest"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// benchCodes is how many distinct time steps a benchmark can consume; each
// accepted code uses up its step, so every iteration needs a fresh one.
const benchCodes = 1 << 21

// BenchmarkVerify measures a valid code at either end of the window (the
// previous step's and the next step's), with the replay check, the throttle
// and the unsealing, on the memory store; beside it pquerna/otp's
// ValidateCustom on the same codes, which does neither replay nor throttle
// nor unseal.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("12345678901234567890")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// The clock reads step; iteration i submits the code of step i, so
	// setting step to i+1 makes it the previous step's code.
	var step int64
	now := func() time.Time { return base.Add(time.Duration(step) * 30 * time.Second) }
	// The codes live in one string, sliced per step: millions of separate
	// strings would make every GC cycle scan them, in both benchmarks.
	var all strings.Builder
	counter0 := uint64(base.Unix() / 30)
	for i := range benchCodes {
		c, _ := totp.GenerateCode(totp.SHA1, secret, 6, counter0+uint64(i))
		all.WriteString(c)
	}
	codes := all.String()
	code := func(i int) string { return codes[i*6 : i*6+6] }

	// Both ends of the window: we try the steps earliest first, pquerna
	// tries current, next, previous.
	for _, tc := range []struct {
		name   string
		offset int // the code's step relative to the clock's
	}{{"previous", -1}, {"next", +1}} {
		b.Run("twofa/"+tc.name, func(b *testing.B) {
			svc := benchService(b, memory.New(), secret, now)
			for i := 0; b.Loop(); i++ {
				step = int64(i - tc.offset)
				if err := svc.Verify(context.Background(), "u", code(i)); err != nil {
					b.Fatalf("iteration %d: %v", i, err)
				}
			}
		})
		b.Run("pquerna/"+tc.name, func(b *testing.B) {
			key := b32(secret)
			opts := ptotp.ValidateOpts{Period: 30, Skew: 1, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
			for i := 0; b.Loop(); i++ {
				step = int64(i - tc.offset)
				ok, err := ptotp.ValidateCustom(code(i), key, now(), opts)
				if !ok || err != nil {
					b.Fatalf("iteration %d: %v %v", i, ok, err)
				}
			}
		})
	}
}

// benchService returns a service over store with secret enrolled for "u",
// written straight into the store as a confirmed record.
func benchService(b *testing.B, store storage.Store, secret []byte, now func() time.Time) *totp.Service {
	b.Helper()
	ring, _ := newRing(b, "k1")
	svc, err := totp.New(totp.Config{Issuer: "X", Store: store, Keys: ring, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := ring.Seal("totp/secret", "u", secret)
	if err != nil {
		b.Fatal(err)
	}
	rec := storage.TOTPRecord{UserID: "u", Active: &storage.TOTPSecret{Sealed: sealed, Algorithm: "SHA1", Digits: 6, Period: 30, Created: now()}}
	if _, err := store.PutTOTP(context.Background(), rec); err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkImport measures one user's import on the memory store: parsing
// the base32 secret, sealing it, the three writes (staged, steps marked
// used, enabled) and the event; a migration's cost per user.
func BenchmarkImport(b *testing.B) {
	ring, _ := newRing(b, "k1")
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	svc, err := totp.New(totp.Config{Issuer: "Example", Store: memory.New(), Keys: ring, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		im, err := totp.ParseSecret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", totp.SHA1, 6, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Import(ctx, "u"+itoa(i), "", im, totp.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkWritePDF measures the paper backup in English, with the Go
// fonts embedded: fpdf parses and cuts them down for every document.
func BenchmarkWritePDF(b *testing.B) {
	e, err := totp.ParseURL("otpauth://totp/Acme%20Photos:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Photos")
	if err != nil {
		b.Fatal(err)
	}
	date := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := e.WritePDF(&buf, date); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}

// BenchmarkWritePaperFont is BenchmarkWritePDF with a Chinese name and
// the application's font (a small one made from Go Regular): the cost of
// the font fallback.
func BenchmarkWritePaperFont(b *testing.B) {
	e, err := totp.ParseURL("otpauth://totp/Acme:%E6%9D%8E%20%C5%81ukasz?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
	if err != nil {
		b.Fatal(err)
	}
	p := totp.Paper{Date: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC), Font: fonttest.CJK(b), Printer: i18n.Default().Printer(language.German)}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := e.WritePaper(&buf, p); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}
