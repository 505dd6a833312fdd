package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/throttle"
)

var ctx = context.Background()

// fastParams keep the tests quick; the defaults are checked separately.
// They are still at OWASP's floor: the floor is what New accepts.
var fastParams = backup.Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// counting wraps a hasher and counts its evaluations. The tests use the
// fast hash unless the real argon2id is what they check: a set costs ten
// argon2id of 19 MiB, which under -race is most of the package's time.
type counting struct {
	n     atomic.Int64
	inner backup.Hasher
}

func (c *counting) hash(code, salt []byte, p backup.Params) []byte {
	c.n.Add(1)
	return c.inner(code, salt, p)
}

type fixture struct {
	svc    *backup.Service
	store  storage.Store
	kdf    *counting
	events *fake.Events
	now    time.Time
}

func newFixture(t testing.TB, store storage.Store, mod ...func(*backup.Config)) *fixture {
	t.Helper()
	f := &fixture{store: store, kdf: &counting{inner: fake.FastHash}, events: &fake.Events{}, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	cfg := backup.Config{Store: store, Params: fastParams, Hash: f.kdf.hash, Events: f.events.Hook, Now: func() time.Time { return f.now }}
	for _, m := range mod {
		m(&cfg)
	}
	svc, err := backup.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) generate(t testing.TB, user string) []string {
	t.Helper()
	codes, err := f.svc.Generate(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func TestGenerate(t *testing.T) {
	f := newFixture(t, memory.New())
	codes := f.generate(t, "u")
	if len(codes) != backup.DefaultCount {
		t.Fatalf("%d codes, want %d", len(codes), backup.DefaultCount)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("code %q is not formatted abcde-fghij", c)
		}
		for _, r := range strings.ReplaceAll(c, "-", "") {
			if !strings.ContainsRune(backup.Alphabet, r) || strings.ContainsRune("0O1lI", r) {
				t.Fatalf("code %q has %q", c, r)
			}
		}
		if seen[c] {
			t.Fatalf("code %q twice", c)
		}
		seen[c] = true
	}
	// 10 characters from 32: 50 bits each.
	if len(backup.Alphabet) != 32 || backup.CodeLen != 10 {
		t.Fatalf("alphabet %d, length %d: under 50 bits", len(backup.Alphabet), backup.CodeLen)
	}
	if st, _ := f.svc.State(ctx, "u"); st.Status != backup.StatusEnabled || st.Remaining != 10 || st.Total != 10 || !st.Created.Equal(f.now) {
		t.Fatalf("state %+v", st)
	}
}

func TestUseEachOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		codes := f.generate(t, "u")
		other := f.generate(t, "v")
		for i, c := range codes {
			if err := f.svc.Verify(ctx, "u", c); err != nil {
				t.Fatalf("code %d: %v", i, err)
			}
			if n, _ := f.svc.Remaining(ctx, "u"); n != len(codes)-i-1 {
				t.Fatalf("after %d uses, Remaining = %d", i+1, n)
			}
			if err := f.svc.Verify(ctx, "u", c); !errors.Is(err, backup.ErrUsed) && !errors.Is(err, backup.ErrNotEnabled) {
				t.Fatalf("code %d again: %v, want ErrUsed", i, err)
			}
		}
		// All used: the method has nothing left to offer.
		if err := f.svc.Verify(ctx, "u", other[0]); !errors.Is(err, backup.ErrNotEnabled) {
			t.Fatalf("with no codes left: %v", err)
		}
		// Another user's codes are not ours; v's are untouched.
		f.now = f.now.Add(backup.DefaultMinInterval)
		f.generate(t, "u")
		if err := f.svc.Verify(ctx, "u", other[1]); !errors.Is(err, backup.ErrInvalidCode) {
			t.Fatalf("v's code for u: %v", err)
		}
		if n, _ := f.svc.Remaining(ctx, "v"); n != 10 {
			t.Fatalf("v has %d codes left", n)
		}
		if got := f.events.Count(event.BackupUsed); got != 10 {
			t.Fatalf("%d backup_used events, want 10", got)
		}
	})
}

func TestNewSetReplacesOld(t *testing.T) {
	f := newFixture(t, memory.New())
	old := f.generate(t, "u")
	f.svc.Verify(ctx, "u", old[0])
	f.now = f.now.Add(backup.DefaultMinInterval)
	fresh := f.generate(t, "u")
	for _, c := range old {
		f.now = f.now.Add(time.Hour) // out of any back-off earned so far
		if err := f.svc.Verify(ctx, "u", c); !errors.Is(err, backup.ErrInvalidCode) {
			t.Fatalf("old code %q: %v", c, err)
		}
	}
	if n, _ := f.svc.Remaining(ctx, "u"); n != len(fresh) {
		t.Fatalf("Remaining = %d after a new set", n)
	}
	f.now = f.now.Add(time.Hour) // out of the back-off the failures above earned
	if err := f.svc.Verify(ctx, "u", fresh[0]); err != nil {
		t.Fatal(err)
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abcde-fghij", "abcdefghij", true},
		{"ABCDE FGHIJ", "abcdefghij", true},
		{"abcdefghij", "abcdefghij", true},
		{"  ab cd-e f-ghij ", "abcdefghij", true},
		{"Abcde-Fghij", "abcdefghij", true},
		// I, l, L and 1 are read as i, the only one of them in codes.
		{"abcde-fghIj", "abcdefghij", true},
		{"abcde-fgh1j", "abcdefghij", true},
		{"abcde-fghlj", "abcdefghij", true},
		{"abcde-fghLj", "abcdefghij", true},
		// 0 and O are in no code: refused, not guessed.
		{"abcde-fgh0j", "", false},
		{"abcde-fghOj", "", false},
		{"abcde-fghi", "", false},
		{"abcde-fghijk", "", false},
		{"abcde_fghij", "", false},
		{"abcdé-fghij", "", false},
		{"", "", false},
		{strings.Repeat("a", 10000), "", false},
		{"abcde\xff-fghij", "", false},
	} {
		got, err := backup.Normalize(tc.in)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && !errors.Is(err, backup.ErrMalformed) {
			t.Errorf("Normalize(%.30q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestTypedVariantsMatch(t *testing.T) {
	f := newFixture(t, memory.New())
	codes := f.generate(t, "u")
	for i, variant := range []string{
		strings.ToUpper(strings.ReplaceAll(codes[0], "-", " ")),
		strings.ReplaceAll(codes[1], "-", ""),
		codes[2],
		" " + strings.ToUpper(codes[3]) + " ",
	} {
		if err := f.svc.Verify(ctx, "u", variant); err != nil {
			t.Fatalf("variant %d %q: %v", i, variant, err)
		}
	}
}

// One check costs one KDF evaluation, whatever the number of codes.
func TestOneKDFPerCheck(t *testing.T) {
	for _, n := range []int{1, 10, backup.MaxCount} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, memory.New(), func(c *backup.Config) { c.Count = n })
			codes := f.generate(t, "u")
			if got := f.kdf.n.Load(); got != int64(n) {
				t.Fatalf("generating %d codes took %d evaluations", n, got)
			}
			for _, code := range []string{"zzzzz-zzzzz", codes[n-1]} {
				before := f.kdf.n.Load()
				f.svc.Verify(ctx, "u", code)
				if got := f.kdf.n.Load() - before; got != 1 {
					t.Fatalf("a check of %q against %d codes took %d evaluations, want 1", code, n, got)
				}
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		codes := f.generate(t, "u")
		const n = 30
		// Every racer reads the set before any consumes a code, so only the
		// store's conditional update can keep the code single-use.
		g := newFixture(t, newBarrierStore(store, n), func(c *backup.Config) { c.Now = func() time.Time { return f.now } })
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				switch err := g.svc.Verify(ctx, "u", codes[0]); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, backup.ErrUsed), errors.Is(err, throttle.ErrThrottled):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of %d concurrent uses of one code succeeded, want exactly 1", ok.Load(), n)
		}
	})
}

// barrierStore holds the first n BackupSet reads until all n have happened.
type barrierStore struct {
	storage.Store
	*testdb.Barrier
}

func newBarrierStore(s storage.Store, n int) *barrierStore {
	return &barrierStore{s, testdb.NewBarrier(n)}
}

func (b *barrierStore) BackupSet(ctx context.Context, userID string) (storage.BackupSet, error) {
	set, err := b.Store.BackupSet(ctx, userID)
	b.Arrive()
	return set, err
}

// The database file never holds a code in the clear.
func TestDatabaseHoldsNoCode(t *testing.T) {
	db, path := testdb.SQLite(t)
	f := newFixture(t, testdb.Migrated(t, db, sqlstore.SQLite))
	var codes []string
	for _, u := range []string{"a", "b", "c"} {
		codes = append(codes, f.generate(t, u)...)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var files []byte
	for _, p := range []string{path, path + "-wal"} {
		if b, err := os.ReadFile(p); err == nil {
			files = append(files, b...)
		}
	}
	if len(files) == 0 {
		t.Fatal("read nothing from the database file")
	}
	for _, c := range codes {
		for _, form := range []string{c, strings.ReplaceAll(c, "-", ""), strings.ToUpper(c)} {
			if bytes.Contains(files, []byte(form)) {
				t.Fatalf("database file holds code %q", form)
			}
		}
	}
}

func TestDisableEnableRemove(t *testing.T) {
	f := newFixture(t, memory.New())
	codes := f.generate(t, "u")
	if err := f.svc.Disable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Verify(ctx, "u", codes[0]); !errors.Is(err, backup.ErrNotEnabled) {
		t.Fatalf("while disabled: %v", err)
	}
	if st, _ := f.svc.State(ctx, "u"); st.Status != backup.StatusDisabled || st.Remaining != 10 {
		t.Fatalf("state while disabled: %+v", st)
	}
	if err := f.svc.Enable(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Verify(ctx, "u", codes[0]); err != nil {
		t.Fatalf("after enable: %v", err)
	}
	if err := f.svc.Remove(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Enable(ctx, "u"); !errors.Is(err, backup.ErrNotSetUp) {
		t.Fatalf("enable after remove: %v", err)
	}
	if err := f.svc.Verify(ctx, "u", codes[1]); !errors.Is(err, backup.ErrNotEnabled) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestThrottled(t *testing.T) {
	f := newFixture(t, memory.New())
	codes := f.generate(t, "u")
	for range 5 {
		if err := f.svc.Verify(ctx, "u", "zzzzz-zzzzz"); !errors.Is(err, backup.ErrInvalidCode) {
			t.Fatal(err)
		}
	}
	before := f.kdf.n.Load()
	err := f.svc.Verify(ctx, "u", codes[0])
	var te *throttle.Error
	if !errors.As(err, &te) || !te.RetryAt.After(f.now) {
		t.Fatalf("sixth attempt: %v, want a throttle error with a retry time", err)
	}
	if f.kdf.n.Load() != before {
		t.Fatal("a throttled attempt still ran the KDF")
	}
	if n, _ := f.svc.Remaining(ctx, "u"); n != 10 {
		t.Fatal("a throttled attempt consumed a code")
	}
}

// failing fails every call.
type failing struct{ storage.Store }

var errDown = errors.New("store down")

func (failing) BackupSet(context.Context, string) (storage.BackupSet, error) {
	return storage.BackupSet{}, errDown
}
func (failing) ReplaceBackupSet(context.Context, storage.BackupSet, string) (bool, error) {
	return false, errDown
}
func (failing) UseBackupCode(context.Context, string, string, int, time.Time) (bool, error) {
	return false, errDown
}
func (failing) UseBackupCodeAndResetThrottle(context.Context, string, string, int, time.Time) (bool, error) {
	return false, errDown
}
func (failing) SetBackupDisabled(context.Context, string, bool) error { return errDown }
func (failing) DeleteBackupSet(context.Context, string) error         { return errDown }
func (failing) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, errDown
}
func (failing) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	return false, errDown
}
func (failing) ResetThrottle(context.Context, string) error { return errDown }

// partly fails only UseBackupCode, after a real read.
type partly struct{ storage.Store }

func (partly) UseBackupCode(context.Context, string, string, int, time.Time) (bool, error) {
	return false, errDown
}
func (partly) UseBackupCodeAndResetThrottle(context.Context, string, string, int, time.Time) (bool, error) {
	return false, errDown
}

func TestStoreFailureDenies(t *testing.T) {
	f := newFixture(t, failing{})
	for name, call := range map[string]func() error{
		"Verify":   func() error { return f.svc.Verify(ctx, "u", "abcde-fghij") },
		"Generate": func() error { _, err := f.svc.Generate(ctx, "u"); return err },
		"State":    func() error { _, err := f.svc.State(ctx, "u"); return err },
		"Disable":  func() error { return f.svc.Disable(ctx, "u") },
		"Remove":   func() error { return f.svc.Remove(ctx, "u") },
	} {
		if err := call(); !errors.Is(err, errDown) {
			t.Errorf("%s: %v, want the store error", name, err)
		}
	}
	mem := memory.New()
	g := newFixture(t, mem)
	codes := g.generate(t, "u")
	h := newFixture(t, partly{mem})
	if err := h.svc.Verify(ctx, "u", codes[0]); !errors.Is(err, errDown) {
		t.Fatalf("right code, failing consume: %v", err)
	}
}

func TestNothingSecretLeaks(t *testing.T) {
	f := newFixture(t, memory.New())
	codes := f.generate(t, "u")
	var errs []string
	for _, c := range []string{codes[0], codes[0], "zzzzz-zzzzz", codes[1] + "x"} {
		if err := f.svc.Verify(ctx, "u", c); err != nil {
			errs = append(errs, err.Error())
		}
	}
	hay := strings.Join(errs, "\n") + fmt.Sprintf("%+v", f.events.All())
	for _, c := range codes {
		if strings.Contains(hay, c) || strings.Contains(hay, strings.ReplaceAll(c, "-", "")) {
			t.Fatalf("code %q appears in an error or event", c)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]backup.Config{
		"no store":   {},
		"weak argon": {Store: memory.New(), Params: backup.Params{Time: 1}},
		"low memory": {Store: memory.New(), Params: backup.Params{MemoryKiB: 1024}},
		"too many":   {Store: memory.New(), Count: 1000},
		"no counts":  {Store: onlyBackup{memory.New()}},
	} {
		if _, err := backup.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A store that keeps no counts does with a throttle of its own.
	l, err := throttle.New(memory.New(), throttle.Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.New(backup.Config{Store: onlyBackup{memory.New()}, Throttle: l}); err != nil {
		t.Errorf("a store without counts and a Throttle: %v", err)
	}
}

// onlyBackup hides every capability of a store but BackupStore.
type onlyBackup struct{ storage.BackupStore }

func needTool(t *testing.T, name string) string { return testdb.NeedTool(t, name) }

func TestPrint(t *testing.T) {
	for _, n := range []int{backup.DefaultCount, backup.MaxCount} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testPrint(t, n) })
	}
}

func testPrint(t *testing.T, n int) {
	f := newFixture(t, memory.New(), func(c *backup.Config) { c.Count = n })
	sheet := backup.Sheet{Issuer: "Acme Photos", Account: "jane@example.com", Date: f.now, Codes: f.generate(t, "u")}

	var text bytes.Buffer
	if err := sheet.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range append(slices.Clone(sheet.Codes), "Acme Photos", "jane@example.com", "23 November 2026") {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("text lacks %q:\n%s", want, text.String())
		}
	}

	var pdf bytes.Buffer
	if err := sheet.WritePDF(&pdf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "codes.pdf")
	os.WriteFile(path, pdf.Bytes(), 0o600)
	out, err := exec.Command(needTool(t, "pdftotext"), "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(slices.Clone(sheet.Codes), "Acme Photos", "jane@example.com") {
		if !strings.Contains(string(out), want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if pages := strings.Count(string(out), "\f"); pages != 1 {
		t.Errorf("%d pages, want 1", pages)
	}
	if err := exec.Command(needTool(t, "pdftoppm"), "-png", "-r", "50", "-singlefile", path, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "page.png")); err != nil || st.Size() < 1000 {
		t.Fatalf("rendered page: %v", err)
	}
}

// Each set has one random salt of at least 32 bits (we use 128), and a new
// set gets a new one.
func TestSaltPerSet(t *testing.T) {
	f := newFixture(t, memory.New())
	f.generate(t, "u")
	first, _ := f.store.BackupSet(ctx, "u")
	f.now = f.now.Add(backup.DefaultMinInterval)
	f.generate(t, "u")
	second, _ := f.store.BackupSet(ctx, "u")
	if len(first.Salt) < 4 || len(second.Salt) < 16 {
		t.Fatalf("salts of %d and %d bytes", len(first.Salt), len(second.Salt))
	}
	if bytes.Equal(first.Salt, second.Salt) || first.SetID == second.SetID {
		t.Fatal("a new set reused the old salt or ID")
	}
}

// A clock that cannot be trusted denies: no code passes, none is used up,
// no set is made, and the attempt is not even counted. With the memory
// store a code "used" at the zero time would otherwise stay unused and pass
// again and again.
func TestBadClockDenies(t *testing.T) {
	f := newFixture(t, memory.New())
	good := f.now
	codes := f.generate(t, "u")
	before, _ := f.store.BackupSet(ctx, "u")
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"zero", time.Time{}},
		{"1969", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"epoch", time.Unix(0, 0)},
		{"2263", time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.now = tc.at
			evals := f.kdf.n.Load()
			for range 3 {
				err := f.svc.Verify(ctx, "u", codes[0])
				if !errors.Is(err, backup.ErrClock) || !errors.Is(err, storage.ErrInvalidTime) {
					t.Fatalf("Verify at %v: %v, want ErrClock", tc.at, err)
				}
				if n, err := f.svc.Remaining(ctx, "u"); err != nil || n != len(codes) {
					t.Fatalf("after Verify at %v: Remaining = %d, %v; want %d", tc.at, n, err, len(codes))
				}
			}
			if _, err := f.svc.Generate(ctx, "u"); !errors.Is(err, backup.ErrClock) {
				t.Fatalf("Generate at %v: %v, want ErrClock", tc.at, err)
			}
			if _, err := f.svc.Generate(ctx, "fresh"); !errors.Is(err, backup.ErrClock) {
				t.Fatalf("Generate for a new user at %v: %v, want ErrClock", tc.at, err)
			}
			if got := f.kdf.n.Load(); got != evals {
				t.Fatalf("%d KDF evaluations at a bad clock", got-evals)
			}
			if set, _ := f.store.BackupSet(ctx, "u"); set.SetID != before.SetID {
				t.Fatal("a set was replaced at a bad clock")
			}
			if _, err := f.store.BackupSet(ctx, "fresh"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a set was made at a bad clock: %v", err)
			}
			if st, err := f.store.Throttle(ctx, "u"); err != nil || st.Failures != 0 {
				t.Fatalf("throttle after refusals at a bad clock: %+v, %v", st, err)
			}
		})
	}
	f.now = good
	if err := f.svc.Verify(ctx, "u", codes[0]); err != nil {
		t.Fatalf("with the clock good again: %v", err)
	}
	if err := f.svc.Verify(ctx, "u", codes[0]); !errors.Is(err, backup.ErrUsed) {
		t.Fatalf("the same code again: %v, want ErrUsed", err)
	}
}

// tripwire is a store that reports every call to called; the tests make
// that fail the test.
type tripwire struct {
	storage.Store
	called func(method string)
}

func (w tripwire) BackupSet(context.Context, string) (storage.BackupSet, error) {
	w.called("BackupSet")
	return storage.BackupSet{}, errDown
}
func (w tripwire) ReplaceBackupSet(context.Context, storage.BackupSet, string) (bool, error) {
	w.called("ReplaceBackupSet")
	return false, errDown
}
func (w tripwire) UseBackupCode(context.Context, string, string, int, time.Time) (bool, error) {
	w.called("UseBackupCode")
	return false, errDown
}
func (w tripwire) UseBackupCodeAndResetThrottle(context.Context, string, string, int, time.Time) (bool, error) {
	w.called("UseBackupCodeAndResetThrottle")
	return false, errDown
}
func (w tripwire) SetBackupDisabled(context.Context, string, bool) error {
	w.called("SetBackupDisabled")
	return errDown
}
func (w tripwire) DeleteBackupSet(context.Context, string) error {
	w.called("DeleteBackupSet")
	return errDown
}
func (w tripwire) Throttle(context.Context, string) (storage.ThrottleState, error) {
	w.called("Throttle")
	return storage.ThrottleState{}, errDown
}
func (w tripwire) SwapThrottle(context.Context, string, storage.ThrottleState, storage.ThrottleState) (bool, error) {
	w.called("SwapThrottle")
	return false, errDown
}
func (w tripwire) ResetThrottle(context.Context, string) error {
	w.called("ResetThrottle")
	return errDown
}

// Every entry point applies the one rule for user IDs before the store
// sees the ID.
func TestUserIDCheckedFirst(t *testing.T) {
	f := newFixture(t, tripwire{called: func(m string) { t.Errorf("store called: %s", m) }})
	for _, id := range []struct{ name, id string }{
		{"empty", ""},
		{"256 bytes", strings.Repeat("a", storage.MaxUserIDLen+1)},
		{"invalid UTF-8", "user\xff"},
		{"NUL", "us\x00er"},
	} {
		for name, call := range map[string]func() error{
			"Generate":  func() error { _, err := f.svc.Generate(ctx, id.id); return err },
			"Verify":    func() error { return f.svc.Verify(ctx, id.id, "abcde-fghij") },
			"State":     func() error { _, err := f.svc.State(ctx, id.id); return err },
			"Remaining": func() error { _, err := f.svc.Remaining(ctx, id.id); return err },
			"Disable":   func() error { return f.svc.Disable(ctx, id.id) },
			"Enable":    func() error { return f.svc.Enable(ctx, id.id) },
			"Remove":    func() error { return f.svc.Remove(ctx, id.id) },
		} {
			t.Run(id.name+"/"+name, func(t *testing.T) {
				if err := call(); !errors.Is(err, storage.ErrInvalidUserID) {
					t.Fatalf("%v, want ErrInvalidUserID", err)
				}
			})
		}
	}
	// The wrapper does catch a call: a valid ID reaches it.
	var reached []string
	g := newFixture(t, tripwire{called: func(m string) { reached = append(reached, m) }})
	if _, err := g.svc.State(ctx, "u"); !errors.Is(err, errDown) || len(reached) != 1 {
		t.Fatalf("a valid ID did not reach the store: %v, calls %v", err, reached)
	}
}

// Without a Hash in the Config, codes are stored as argon2id at OWASP's
// minimum, with the parameters kept beside the set. (The other tests use
// the fast hash: this is where the real KDF is the point.)
func TestArgon2idIsTheDefault(t *testing.T) {
	store := memory.New()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	svc, err := backup.New(backup.Config{Store: store, Count: 1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := svc.Generate(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	set, err := store.BackupSet(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	want := argon2.IDKey([]byte(strings.ReplaceAll(codes[0], "-", "")), set.Salt, 2, 19*1024, 1, 32)
	if set.KDF != "argon2id$t=2$m=19456$p=1" || len(set.Hashes) != 1 || !bytes.Equal(set.Hashes[0], want) {
		t.Fatalf("stored %q %x, want argon2id t=2 m=19456 p=1 %x", set.KDF, set.Hashes, want)
	}
	if err := svc.Verify(ctx, "u", codes[0]); err != nil {
		t.Fatal(err)
	}
}
