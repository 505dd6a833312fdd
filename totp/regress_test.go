package totp_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// Replays that shipped in other TOTP verifiers, kept as regression tests.
func TestReplayRegressions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		replay func(t *testing.T, f *fixture, code string) error
	}{
		// Plain reuse inside the validity window, after a successful login
		// (CVE-2024-5658; GHSA-p747-qc5p-773r, a pquerna/otp user without a
		// used-code check).
		{"same code again", func(t *testing.T, f *fixture, code string) error {
			return f.svc.Verify(ctx, "u", code)
		}},
		// A used-code cache keyed on the raw input was bypassed by adding
		// white space, which the verifier then stripped (CVE-2025-6014,
		// OpenBao GHSA-f7c3-mhj2-9pvg).
		{"with a trailing space", func(t *testing.T, f *fixture, code string) error {
			return f.svc.Verify(ctx, "u", code+" ")
		}},
		{"with spaces inside", func(t *testing.T, f *fixture, code string) error {
			return f.svc.Verify(ctx, "u", code[:2]+" "+code[2:4]+" "+code[4:])
		}},
		// Reuse across login requests racing each other, where a check and
		// a later write let several through (CVE-2025-6015).
		{"racing requests", func(t *testing.T, f *fixture, code string) error {
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range errs {
				wg.Go(func() { errs[i] = f.svc.Verify(ctx, "u", code) })
			}
			wg.Wait()
			for _, err := range errs {
				if err == nil {
					return nil
				}
			}
			return errs[0]
		}},
		// An earlier step's code after a later one was used (RFC 6238 §5.2:
		// only strictly later steps).
		{"earlier step after a later one", func(t *testing.T, f *fixture, code string) error {
			return f.svc.Verify(ctx, "u", codeAt(t, f.enrolled, f.clock.Now().Add(-30*time.Second)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.enrolled = f.enroll(t, "u")
			code := codeAt(t, f.enrolled, f.clock.Now())
			if err := f.svc.Verify(ctx, "u", code); err != nil {
				t.Fatalf("first use: %v", err)
			}
			err := tc.replay(t, f, code)
			if !errors.Is(err, totp.ErrInvalidCode) && !errors.Is(err, throttle.ErrThrottled) {
				t.Fatalf("replay accepted or wrongly refused: %v", err)
			}
		})
	}
}
