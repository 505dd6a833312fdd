package totp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/totp"
)

// key80 and key160 are secrets of 80 and 160 bits.
var (
	key80  = []byte("0123456789")
	key160 = []byte("12345678901234567890")
)

func TestParseSecret(t *testing.T) {
	s160 := b32(key160) // GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
	for _, tc := range []struct {
		name string
		in   string
		want []byte
	}{
		{"upper", s160, key160},
		{"lower", strings.ToLower(s160), key160},
		{"grouped", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", key160},
		{"padded 80 bits", b32(key80) + "======", key80},
		{"80 bits unpadded lower", strings.ToLower(b32(key80)), key80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := totp.ParseSecret(tc.in, totp.SHA1, 6, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(im.Key, tc.want) {
				t.Fatalf("key %x, want %x", im.Key, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		in     string
		alg    totp.Algorithm
		digits int
		period time.Duration
		want   error
	}{
		{"empty", "", totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"spaces only", "    ", totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"not base32", "GEZDGNBVGY3TQOJ1", totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"bad length", "GEZDGNBVGY3TQOJQG", totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"64 bits", b32([]byte("01234567")), totp.SHA1, 6, 30 * time.Second, totp.ErrShortSecret},
		{"72 bits", b32([]byte("012345678")), totp.SHA1, 6, 30 * time.Second, totp.ErrShortSecret},
		{"over 1024 bits", b32(bytes.Repeat([]byte{1}, 129)), totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"huge text", strings.Repeat("A", 100000), totp.SHA1, 6, 30 * time.Second, totp.ErrBadSecret},
		{"unknown algorithm", s160, totp.Algorithm(7), 6, 30 * time.Second, totp.ErrBadParameters},
		{"7 digits", s160, totp.SHA1, 7, 30 * time.Second, totp.ErrBadParameters},
		{"0 digits", s160, totp.SHA1, 0, 30 * time.Second, totp.ErrBadParameters},
		{"zero period", s160, totp.SHA1, 6, 0, totp.ErrBadParameters},
		{"negative period", s160, totp.SHA1, 6, -30 * time.Second, totp.ErrBadParameters},
		{"part second", s160, totp.SHA1, 6, 1500 * time.Millisecond, totp.ErrBadParameters},
		{"over 5 minutes", s160, totp.SHA1, 6, 301 * time.Second, totp.ErrBadParameters},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := totp.ParseSecret(tc.in, tc.alg, tc.digits, tc.period)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && strings.TrimSpace(tc.in) != "" {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestParseImportURL(t *testing.T) {
	u80 := "otpauth://totp/Old:ann@example.com?secret=" + strings.ToLower(b32(key80)) + "&issuer=Old&algorithm=SHA256&digits=8&period=60"
	im, account, err := totp.ParseImportURL(u80)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(im.Key, key80) || im.Algorithm != totp.SHA256 || im.Digits != 8 || im.Period != time.Minute || account != "ann@example.com" {
		t.Fatalf("got %v, account %q", im, account)
	}
	// A set-up's URL keeps the 128-bit floor; an import's is 80 bits.
	if _, err := totp.ParseURL(u80); !errors.Is(err, totp.ErrShortSecret) || !errors.Is(err, totp.ErrBadURL) {
		t.Fatalf("ParseURL of an 80-bit secret: %v, want ErrBadURL and ErrShortSecret", err)
	}
	for _, tc := range []struct {
		name string
		in   string
		want []error
	}{
		{"64 bits", "otpauth://totp/a?secret=" + b32([]byte("01234567")), []error{totp.ErrBadURL, totp.ErrShortSecret}},
		{"not base32", "otpauth://totp/a?secret=GEZDGNBVGY3TQOJ1", []error{totp.ErrBadURL, totp.ErrBadSecret}},
		{"no secret", "otpauth://totp/a", []error{totp.ErrBadURL, totp.ErrBadSecret}},
		{"hotp", "otpauth://hotp/a?secret=" + b32(key160), []error{totp.ErrBadURL}},
		{"7 digits", "otpauth://totp/a?digits=7&secret=" + b32(key160), []error{totp.ErrBadURL}},
		{"not a URL", "GEZDGNBVGY3TQOJQ", []error{totp.ErrBadURL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := totp.ParseImportURL(tc.in)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("err %v, want %v", err, w)
				}
			}
			if strings.Contains(err.Error(), "GEZDGNBVGY3TQOJ") {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
}

// TestImportedPrintsNoKey: a value printed by mistake, in any verb, shows
// neither the key's bytes nor its base32.
func TestImportedPrintsNoKey(t *testing.T) {
	im, err := totp.ParseSecret(b32(key160), totp.SHA1, 6, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, im) + fmt.Sprintf(verb, &im)
		if strings.Contains(out, string(key160)) || strings.Contains(out, b32(key160)) || strings.Contains(out, fmt.Sprint(key160[:4])) || strings.Contains(out, "49 50 51") {
			t.Fatalf("%s shows the key: %s", verb, out)
		}
		if !strings.Contains(out, "160-bit") {
			t.Fatalf("%s: %s", verb, out)
		}
	}
}

// phoneCode is what a phone holding im shows at time at.
func phoneCode(t testing.TB, im totp.Imported, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(im.Algorithm, im.Key, im.Digits, uint64(at.Unix()/int64(im.Period/time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("phone keeps working, recent codes refused", func(t *testing.T) {
			for _, p := range []struct {
				alg    totp.Algorithm
				digits int
				period time.Duration
			}{{totp.SHA1, 6, 30 * time.Second}, {totp.SHA256, 8, 60 * time.Second}, {totp.SHA512, 6, 15 * time.Second}} {
				t.Run(fmt.Sprint(p.alg, p.digits, p.period), func(t *testing.T) {
					store, _ := b.Open(t)
					f := newFixture(t, store)
					im, err := totp.ParseSecret(b32(key80), p.alg, p.digits, p.period)
					if err != nil {
						t.Fatal(err)
					}
					// Mid-step, as a migration runs at any moment.
					f.clock.Add(p.period / 3)
					at := f.clock.Now()
					if err := f.svc.Import(ctx, "u1", "ann@example.com", im, totp.ImportOptions{}); err != nil {
						t.Fatal(err)
					}
					st, err := f.svc.State(ctx, "u1")
					if err != nil || st.Status != totp.StatusEnabled || st.Account != "ann@example.com" || !st.Since.Equal(at) || st.Moving {
						t.Fatalf("state %+v, %v", st, err)
					}
					// The old system may have taken the codes of the
					// step before, this one and the next.
					for _, d := range []time.Duration{-p.period, 0, p.period} {
						if err := f.svc.Verify(ctx, "u1", phoneCode(t, im, at.Add(d))); !errors.Is(err, totp.ErrReplay) {
							t.Fatalf("code of step %+d: %v, want ErrReplay", int(d/p.period), err)
						}
					}
					f.clock.Add(2 * p.period)
					if err := f.svc.Verify(ctx, "u1", phoneCode(t, im, f.clock.Now())); err != nil {
						t.Fatalf("the phone's code two periods on: %v", err)
					}
					if n := f.events.Count(event.Imported); n != 1 {
						t.Fatalf("%d imported events", n)
					}
					if n := f.events.Count(event.Enrolled); n != 0 {
						t.Fatalf("%d enrolled events: an import is not a set-up", n)
					}
				})
			}
		})

		t.Run("already set up", func(t *testing.T) {
			store, _ := b.Open(t)
			f := newFixture(t, store)
			e := f.enroll(t, "u1")
			im, _ := totp.ParseSecret(b32(key160), totp.SHA1, 6, 30*time.Second)
			if err := f.svc.Import(ctx, "u1", "", im, totp.ImportOptions{}); !errors.Is(err, totp.ErrAlreadySetUp) {
				t.Fatalf("import over a confirmed secret: %v", err)
			}
			if err := f.svc.Verify(ctx, "u1", codeAt(t, e, f.clock.Now())); err != nil {
				t.Fatalf("the old secret after a refused import: %v", err)
			}
			if err := f.svc.Disable(ctx, "u1"); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Import(ctx, "u1", "", im, totp.ImportOptions{}); !errors.Is(err, totp.ErrAlreadySetUp) {
				t.Fatalf("import over a disabled secret: %v", err)
			}
			f.clock.Add(time.Minute)
			if err := f.svc.Import(ctx, "u1", "", im, totp.ImportOptions{Replace: true}); err != nil {
				t.Fatalf("replace: %v", err)
			}
			f.clock.Add(time.Minute)
			if err := f.svc.Verify(ctx, "u1", codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("the replaced secret: %v", err)
			}
			if err := f.svc.Verify(ctx, "u1", phoneCode(t, im, f.clock.Now())); err != nil {
				t.Fatalf("the imported secret, enabled by the replace: %v", err)
			}
		})

		t.Run("set-up under way is dropped", func(t *testing.T) {
			store, _ := b.Open(t)
			f := newFixture(t, store)
			e, err := f.svc.Begin(ctx, "u1", "", sess)
			if err != nil {
				t.Fatal(err)
			}
			im, _ := totp.ParseSecret(b32(key160), totp.SHA1, 6, 30*time.Second)
			if err := f.svc.Import(ctx, "u1", "", im, totp.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Confirm(ctx, "u1", sess, codeAt(t, e, f.clock.Now())); !errors.Is(err, totp.ErrNotSetUp) {
				t.Fatalf("confirm the dropped set-up: %v", err)
			}
			if _, err := f.svc.Pending(ctx, "u1", sess); !errors.Is(err, totp.ErrNotSetUp) {
				t.Fatalf("pending after the import: %v", err)
			}
		})

		t.Run("refusals change nothing", func(t *testing.T) {
			store, _ := b.Open(t)
			f := newFixture(t, store)
			good, _ := totp.ParseSecret(b32(key160), totp.SHA1, 6, 30*time.Second)
			for _, tc := range []struct {
				name    string
				user    string
				account string
				im      totp.Imported
				clock   time.Time
				want    error
			}{
				{"short key", "u1", "", totp.Imported{Key: key80[:9], Digits: 6, Period: 30 * time.Second}, time.Time{}, totp.ErrShortSecret},
				{"no key", "u1", "", totp.Imported{Digits: 6, Period: 30 * time.Second}, time.Time{}, totp.ErrBadSecret},
				{"bad digits", "u1", "", totp.Imported{Key: key160, Digits: 5, Period: 30 * time.Second}, time.Time{}, totp.ErrBadParameters},
				{"bad account", "u1", "a:b", good, time.Time{}, totp.ErrBadAccount},
				{"bad user", "", "", good, time.Time{}, storage.ErrInvalidUserID},
				{"zero clock", "u1", "", good, time.Unix(0, 0).Add(-time.Hour), totp.ErrClock},
			} {
				t.Run(tc.name, func(t *testing.T) {
					svc := f.svc
					if !tc.clock.IsZero() {
						ring, _ := newRing(t, "k")
						s, err := totp.New(totp.Config{Issuer: "E", Store: store, Keys: ring, Now: func() time.Time { return tc.clock }})
						if err != nil {
							t.Fatal(err)
						}
						svc = s
					}
					if err := svc.Import(ctx, tc.user, tc.account, tc.im, totp.ImportOptions{}); !errors.Is(err, tc.want) {
						t.Fatalf("err %v, want %v", err, tc.want)
					}
					if _, err := store.TOTP(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
						t.Fatalf("a refused import left a record: %v", err)
					}
				})
			}
		})
	})
}

// TestImportConcurrent: 50 imports of different secrets for one user at
// once leave exactly one, and only the import that reported success wrote
// it.
func TestImportConcurrent(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, b backend) {
		store, second := b.Open(t)
		f := newFixture(t, store)
		const n = 50
		ims := make([]totp.Imported, n)
		svcs := make([]*totp.Service, n)
		for i := range ims {
			key := bytes.Repeat([]byte{byte(i + 1)}, 20)
			ims[i] = totp.Imported{Key: key, Algorithm: totp.SHA1, Digits: 6, Period: 30 * time.Second}
			svcs[i] = f.svc
			if i%2 == 1 {
				// Half go through a second handle, as a second server.
				s, err := totp.New(totp.Config{Issuer: "Example", Store: second(t), Keys: f.ring, Now: f.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				svcs[i] = s
			}
		}
		errs := make([]error, n)
		bar := testdb.NewBarrier(n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				bar.Arrive()
				errs[i] = svcs[i].Import(ctx, "u1", "", ims[i], totp.ImportOptions{})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("imports %d and %d both succeeded", winner, i)
				}
				winner = i
			case errors.Is(err, totp.ErrAlreadySetUp), errors.Is(err, totp.ErrConcurrentChange):
			default:
				t.Fatalf("import %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no import succeeded")
		}
		// One secret is active, so the winner's code verifying shows it is
		// the winner's (the codes of two keys agree once in 10^6).
		f.clock.Add(time.Minute)
		loser := (winner + 1) % n
		if err := f.svc.Verify(ctx, "u1", phoneCode(t, ims[loser], f.clock.Now())); !errors.Is(err, totp.ErrInvalidCode) {
			t.Fatalf("loser %d's secret: %v", loser, err)
		}
		if err := f.svc.Verify(ctx, "u1", phoneCode(t, ims[winner], f.clock.Now())); err != nil {
			t.Fatalf("the winner's secret: %v", err)
		}
	})
}

// importFailStore fails one kind of write, to show an import is never half
// applied.
type importFailStore struct {
	storage.Store
	failAdvance bool
	puts        int  // PutTOTP calls before failing; -1 never
	stuck       bool // once failing, fail every later PutTOTP too (no undo)
}

var errImportBroken = errors.New("store broken")

func (s *importFailStore) AdvanceTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if s.failAdvance {
		return false, errImportBroken
	}
	return s.Store.AdvanceTOTPStep(ctx, userID, step)
}

func (s *importFailStore) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	if s.puts == 0 {
		if !s.stuck {
			s.puts = -1 // fail once: the undo goes through
		}
		return 0, errImportBroken
	}
	if s.puts > 0 {
		s.puts--
	}
	return s.Store.PutTOTP(ctx, rec)
}

func TestImportStoreFailure(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name  string
			store func(storage.Store) *importFailStore
		}{
			{"stage", func(s storage.Store) *importFailStore { return &importFailStore{Store: s, puts: 0} }},
			{"advance", func(s storage.Store) *importFailStore { return &importFailStore{Store: s, failAdvance: true, puts: -1} }},
			{"final write", func(s storage.Store) *importFailStore { return &importFailStore{Store: s, puts: 1} }},
			// The undo fails too, as when the process dies between writes.
			{"advance, no undo", func(s storage.Store) *importFailStore {
				return &importFailStore{Store: s, failAdvance: true, puts: 1, stuck: true}
			}},
			{"final write, no undo", func(s storage.Store) *importFailStore { return &importFailStore{Store: s, puts: 1, stuck: true} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				store, _ := b.Open(t)
				f := newFixture(t, store)
				e := f.enroll(t, "old")
				im, _ := totp.ParseSecret(b32(key160), totp.SHA1, 6, 30*time.Second)
				for _, user := range []string{"new", "old"} {
					fs := tc.store(store)
					svc, err := totp.New(totp.Config{Issuer: "Example", Store: fs, Keys: f.ring, Now: f.clock.Now})
					if err != nil {
						t.Fatal(err)
					}
					if err := svc.Import(ctx, user, "", im, totp.ImportOptions{Replace: true}); !errors.Is(err, errImportBroken) {
						t.Fatalf("%s: err %v, want the store's", user, err)
					}
				}
				f.clock.Add(2 * time.Minute)
				if err := f.svc.Verify(ctx, "new", phoneCode(t, im, f.clock.Now())); !errors.Is(err, totp.ErrNotEnabled) {
					t.Fatalf("new user after a failed import: %v", err)
				}
				if st, err := f.svc.State(ctx, "new"); err != nil || st.Status != totp.StatusNone {
					t.Fatalf("new user's state %+v, %v", st, err)
				}
				if err := f.svc.Verify(ctx, "old", phoneCode(t, im, f.clock.Now())); !errors.Is(err, totp.ErrInvalidCode) {
					t.Fatalf("imported secret after a failed replace: %v", err)
				}
				if err := f.svc.Verify(ctx, "old", codeAt(t, e, f.clock.Now())); err != nil {
					t.Fatalf("old secret after a failed replace: %v", err)
				}
				// A retry on a sound store completes.
				if err := f.svc.Import(ctx, "new", "", im, totp.ImportOptions{}); err != nil {
					t.Fatalf("retry: %v", err)
				}
			})
		}
	})
}

func FuzzParseImport(f *testing.F) {
	f.Add(b32(key160), "otpauth://totp/Old:ann?secret="+b32(key80)+"&issuer=Old")
	f.Add("gezd gnbv gy3t qojq====", "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&digits=8&period=60&algorithm=sha512")
	f.Add("", "otpauth://totp/a?secret=")
	f.Add("A=======", "otpauth://totp/%3A?secret=AA")
	f.Fuzz(func(t *testing.T, secret, rawURL string) {
		im, err := totp.ParseSecret(secret, totp.SHA1, 6, 30*time.Second)
		if err != nil {
			if !errors.Is(err, totp.ErrBadSecret) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			// The secret's messages hold no capital letter of their own.
			if len(secret) >= 8 && strings.ContainsAny(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		} else {
			if len(im.Key) < totp.MinImportBits/8 || len(im.Key) > 128 {
				t.Fatalf("key of %d bytes accepted", len(im.Key))
			}
			again, err := totp.ParseSecret(b32(im.Key), totp.SHA1, 6, 30*time.Second)
			if err != nil || !bytes.Equal(again.Key, im.Key) {
				t.Fatalf("round trip: %v", err)
			}
		}
		im, _, err = totp.ParseImportURL(rawURL)
		if err != nil {
			if !errors.Is(err, totp.ErrBadURL) {
				t.Fatalf("error %v is not ErrBadURL", err)
			}
			return
		}
		if len(im.Key) < totp.MinImportBits/8 || (im.Digits != 6 && im.Digits != 8) || im.Period < time.Second || im.Period > 5*time.Minute {
			t.Fatalf("accepted %v", im)
		}
	})
}
