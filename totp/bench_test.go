package totp_test

import (
	"context"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// benchCodes is how many distinct time steps a benchmark can consume; each
// accepted code uses up its step, so every iteration needs a fresh one.
const benchCodes = 1 << 21

// BenchmarkVerify measures the worst valid case: the previous step's code,
// with the replay check, the throttle and the unsealing, on the memory
// store; beside it pquerna/otp's ValidateCustom on the same codes, which
// tries the current, next and then previous step and does neither replay
// nor throttle nor unseal.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("12345678901234567890")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var step int64
	now := func() time.Time { return base.Add(time.Duration(step+1) * 30 * time.Second) }
	codes := make([]string, benchCodes)
	counter0 := uint64(base.Unix() / 30)
	for i := range codes {
		codes[i], _ = totp.GenerateCode(totp.SHA1, secret, 6, counter0+uint64(i))
	}

	b.Run("twofa", func(b *testing.B) {
		store := memory.New()
		svc := benchService(b, store, secret, now)
		step = 0
		for i := 0; b.Loop(); i++ {
			step = int64(i)
			if err := svc.Verify(context.Background(), "u", codes[i]); err != nil {
				b.Fatalf("iteration %d: %v", i, err)
			}
		}
	})
	b.Run("pquerna", func(b *testing.B) {
		key := b32(secret)
		opts := ptotp.ValidateOpts{Period: 30, Skew: 1, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
		for i := 0; b.Loop(); i++ {
			step = int64(i)
			ok, err := ptotp.ValidateCustom(codes[i], key, now(), opts)
			if !ok || err != nil {
				b.Fatalf("iteration %d: %v %v", i, ok, err)
			}
		}
	})
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
	rec := storage.TOTPRecord{UserID: "u", Active: &storage.TOTPSecret{Sealed: sealed, Algorithm: "SHA1", Digits: 6, Period: 30}}
	if _, err := store.PutTOTP(context.Background(), rec); err != nil {
		b.Fatal(err)
	}
	return svc
}
