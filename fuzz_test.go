package twofa_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/storage/memory"
)

// FuzzVerify feeds the login page's one input to Verify for a user with an
// app, backup codes and e-mail codes: any string, any bytes. It never
// panics; input that is no valid code never passes, and fails as an invalid
// code (not as a missing method or a store error); input that passes is a
// valid code of the method Verify names. Whatever came before, the app's
// code of the next time step then passes once, and only once.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, memory.New())
	fx.setUp(f, "u")
	used := map[string]bool{} // codes that passed, canonical
	for _, seed := range []string{
		"", " ", "0", "12345", "123456", "000000", "1234567", "12 34 56", " 123456 ",
		"0123456789", "abcde-fghij", "ABCDE FGHIJ", "abcdefghij", "iiiii-iiiii",
		"\x00", "\xff\xfe", "１２３４５６", "٣٤٥٦٧٨", "12345\x00", "123456\n",
		strings.Repeat("9", 5000), strings.Repeat("a", 65), "-----", "<script>",
		fx.codes[0], strings.ToUpper(fx.codes[1]), strings.ReplaceAll(fx.codes[2], "-", " "),
		fx.appCode(f), fx.appCode(f)[:3] + " " + fx.appCode(f)[3:],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// A fresh time step each round, after the last one used: the
		// fuzzer finds the next step's app code, which the skew accepts,
		// and a round cut short (a failure, a minimization) may have used
		// one; the store, not this process's memory, says which.
		fx.now = fx.now.Add(30 * time.Second)
		rec, err := fx.store.TOTP(ctx, "u")
		must(t, err)
		if last := time.Unix(rec.LastStep, 0).UTC(); !fx.now.After(last.Add(30 * time.Second)) {
			fx.now = last.Add(60 * time.Second)
		}
		// Two neighbouring steps have the same 6-digit code once in a
		// million, which a run of this many rounds meets: the skew then
		// takes a code "again" for the other step, rightly. The rounds
		// skip such steps, so that every code here names one step.
		for fx.sameCodeNear(t) {
			fx.now = fx.now.Add(30 * time.Second)
		}
		must(t, fx.tf.Unlock(ctx, "u"))
		valid := fx.validNow(t, used)
		m, err := fx.tf.Verify(ctx, "u", login, input)
		switch {
		case err != nil && m != "":
			t.Fatalf("Verify(%q) = %q with %v", input, m, err)
		case err != nil && !errors.Is(err, twofa.ErrInvalidCode):
			t.Fatalf("Verify(%q): %v, want ErrInvalidCode", input, err)
		case err == nil && !slices.Contains(valid[m], canonical(m, input)):
			t.Fatalf("Verify(%q) passed as %s, which it is not, or no more", input, m)
		case err == nil:
			used[canonical(m, input)] = true
		}
		must(t, fx.tf.Unlock(ctx, "u"))
		app := fx.appCode(t)
		next := fake.AppCode(t, fx.secret.Secret, fx.now.Add(30*time.Second))
		got, err := fx.tf.Verify(ctx, "u", login, app)
		switch {
		case m == twofa.TOTP && (canonical(m, input) == app || canonical(m, input) == next):
			// This step's code, or the next step's, which the skew takes
			// and after which this step's is too old.
			if !errors.Is(err, twofa.ErrInvalidCode) {
				t.Fatalf("the app's code after %q passed with it: %v", input, err)
			}
		case err != nil || got != twofa.TOTP:
			rec, _ := fx.store.TOTP(ctx, "u")
			t.Fatalf("the app's code after %q: %q, %v (the last used step began %v, now is %v)", input, got, err, time.Unix(rec.LastStep, 0).UTC(), fx.now)
		}
		used[app] = true
		if _, err := fx.tf.Verify(ctx, "u", login, app); !errors.Is(err, twofa.ErrInvalidCode) {
			t.Fatalf("the app's code a second time: %v", err)
		}
	})
}

// sameCodeNear reports two neighbouring time steps, from the one before
// now to two after it, whose app codes are the same.
func (f *fixture) sameCodeNear(t testing.TB) bool {
	var prev string
	for i := -1; i <= 2; i++ {
		c := fake.AppCode(t, f.secret.Secret, f.now.Add(time.Duration(i)*30*time.Second))
		if c == prev {
			return true
		}
		prev = c
	}
	return false
}

// validNow returns, per method, the codes that may pass now, in canonical
// form: the app's at ±1 step and the backup codes, but none that passed
// before.
func (f *fixture) validNow(t *testing.T, used map[string]bool) map[twofa.Method][]string {
	valid := map[twofa.Method][]string{}
	add := func(m twofa.Method, code string) {
		if !used[code] {
			valid[m] = append(valid[m], code)
		}
	}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		add(twofa.TOTP, fake.AppCode(t, f.secret.Secret, f.now.Add(d)))
	}
	for _, c := range f.codes {
		add(twofa.Backup, canonical(twofa.Backup, c))
	}
	return valid
}

// canonical is input as method m reads it.
func canonical(m twofa.Method, input string) string {
	if m == twofa.Backup {
		n, _ := backup.Normalize(input)
		return n
	}
	return strings.ReplaceAll(input, " ", "")
}
