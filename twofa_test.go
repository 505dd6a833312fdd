package twofa_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
	"github.com/twofa-go/twofa/webauthn"
)

var ctx = context.Background()

// login is the login attempt of every test: e-mailed codes are bound to it.
const login = "login-1"

type fixture struct {
	tf     *twofa.Service
	store  storage.Store
	mail   *inbox
	addrs  map[string]string // user → address, as the application keeps them
	now    time.Time
	mu     sync.Mutex // guards addrs
	events fake.Events
	secret *totp.Enrollment // the confirmed authenticator secret
	codes  []string         // the backup codes
}

func (f *fixture) clock() time.Time { return f.now }

// newFixture makes a service over store; each of opts may change its
// configuration, e.g. its mailer.
func newFixture(t testing.TB, store storage.Store, opts ...func(*twofa.Config)) *fixture {
	t.Helper()
	key, _ := keyring.NewKey("k1")
	ring, _ := keyring.New(key)
	f := &fixture{store: store, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), mail: &inbox{},
		addrs: map[string]string{"u": "u@example.com", "other": "other@example.com"}}
	cfg := twofa.Config{
		Issuer: "Acme", Store: store, Keys: ring, Now: f.clock,
		Backup: backup.Config{Hash: fake.FastHash},
		Mailer: f.mail, Notify: true,
		WebAuthn: webauthn.Config{RPID: "example.com", Origins: []string{"https://example.com"}},
		Address: func(_ context.Context, user string) (string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.addrs[user], nil
		},
		Events: f.events.Hook,
	}
	for _, o := range opts {
		o(&cfg)
	}
	tf, err := twofa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.tf = tf
	return f
}

func (f *fixture) appCode(t testing.TB) string {
	t.Helper()
	return fake.AppCode(t, f.secret.Secret, f.now)
}

// setUp enrolls an authenticator and generates backup codes for user.
func (f *fixture) setUp(t testing.TB, user string) {
	t.Helper()
	e, err := f.tf.TOTP.Begin(ctx, user, user+"@example.com", "test-session")
	if err != nil {
		t.Fatal(err)
	}
	f.secret = e
	if err := f.tf.TOTP.Confirm(ctx, user, "test-session", f.appCode(t)); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(30 * time.Second)
	if f.codes, err = f.tf.Backup.Generate(ctx, user); err != nil {
		t.Fatal(err)
	}
	if err := f.tf.Email.Enable(ctx, user); err != nil {
		t.Fatal(err)
	}
}

// mailCode sends an e-mail code to user and reads it from the message.
func (f *fixture) mailCode(t testing.TB, user string) string {
	t.Helper()
	f.now = f.now.Add(time.Minute) // past any cooldown
	if err := f.tf.Email.Send(ctx, user, f.addrs[user], login); err != nil {
		t.Fatal(err)
	}
	return mailtest.ReadCode(t, f.mail.Last(t).Text)
}

type inbox = mailtest.Inbox

func TestAccountView(t *testing.T) {
	f := newFixture(t, memory.New())
	a, err := f.tf.Account(ctx, "u")
	if err != nil || a.Requires() || a.Status(twofa.TOTP) != twofa.NotSetUp || a.Status(twofa.Backup) != twofa.NotSetUp {
		t.Fatalf("new user: %+v, %v", a, err)
	}
	f.tf.TOTP.Begin(ctx, "u", "", "test-session")
	if a, _ := f.tf.Account(ctx, "u"); a.Status(twofa.TOTP) != twofa.Pending || a.Requires() {
		t.Fatalf("pending set-up: %+v", a)
	}
	if r, err := f.tf.Requires(ctx, "u"); r || err != nil {
		t.Fatalf("Requires with a pending set-up: %v, %v", r, err)
	}
	f.setUp(t, "u")
	if r, err := f.tf.Requires(ctx, "u"); !r || err != nil {
		t.Fatalf("Requires once set up: %v, %v", r, err)
	}
	a, _ = f.tf.Account(ctx, "u")
	if a.Status(twofa.TOTP) != twofa.Enabled || a.Status(twofa.Backup) != twofa.Enabled || a.Status(twofa.Email) != twofa.Enabled ||
		a.BackupRemaining != 10 || fmt.Sprint(a.Offered) != "[totp email backup]" || !a.Requires() {
		t.Fatalf("set up: %+v", a)
	}
	if len(a.Methods) != len(twofa.Methods) || a.Status(twofa.WebAuthn) != twofa.NotSetUp || a.Methods[1].Since.IsZero() {
		t.Fatalf("methods: %+v", a.Methods)
	}
	f.tf.Verify(ctx, "u", login, f.codes[0])
	if a, _ := f.tf.Account(ctx, "u"); a.BackupRemaining != 9 {
		t.Fatalf("after one code: %d left", a.BackupRemaining)
	}
	f.tf.Disable(ctx, "u", twofa.TOTP)
	if a, _ := f.tf.Account(ctx, "u"); a.Status(twofa.TOTP) != twofa.Disabled || fmt.Sprint(a.Offered) != "[email backup]" {
		t.Fatalf("totp disabled: %+v", a)
	}
	// Moving phone shows while the old secret still works.
	f.tf.Enable(ctx, "u", twofa.TOTP)
	f.tf.TOTP.Begin(ctx, "u", "", "test-session")
	if a, _ := f.tf.Account(ctx, "u"); !a.MovingPhone || a.Status(twofa.TOTP) != twofa.Enabled {
		t.Fatalf("moving: %+v", a)
	}
}

// codeMethods are the methods setUp sets up; security keys have their own
// test.
var codeMethods = []twofa.Method{twofa.TOTP, twofa.Email, twofa.Backup}

func TestDisableRemovePerMethod(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	for _, m := range codeMethods {
		if err := f.tf.Disable(ctx, "u", m); err != nil {
			t.Fatalf("disable %s: %v", m, err)
		}
	}
	if _, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); !errors.Is(err, twofa.ErrNoMethod) {
		t.Fatalf("all disabled: %v, want ErrNoMethod", err)
	}
	for _, m := range codeMethods {
		if err := f.tf.Enable(ctx, "u", m); err != nil {
			t.Fatalf("enable %s: %v", m, err)
		}
	}
	// Enabled again without a new set-up: the kept secret and codes work.
	if m, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); err != nil || m != twofa.TOTP {
		t.Fatalf("app code after enable: %v, %v", m, err)
	}
	if m, err := f.tf.Verify(ctx, "u", login, f.codes[0]); err != nil || m != twofa.Backup {
		t.Fatalf("backup code after enable: %v, %v", m, err)
	}
	for _, m := range codeMethods {
		if err := f.tf.Remove(ctx, "u", m); err != nil {
			t.Fatalf("remove %s: %v", m, err)
		}
	}
	if err := f.tf.Enable(ctx, "u", twofa.TOTP); !errors.Is(err, totp.ErrNotSetUp) {
		t.Fatalf("enable removed totp: %v", err)
	}
	if err := f.tf.Enable(ctx, "u", twofa.Backup); !errors.Is(err, backup.ErrNotSetUp) {
		t.Fatalf("enable removed backup: %v", err)
	}
	if err := f.tf.Disable(ctx, "u", "sms"); !errors.Is(err, twofa.ErrUnknownMethod) {
		t.Fatalf("unknown method: %v", err)
	}
}

// Removing any factor forgets the user's remembered browsers, and only
// theirs; turning one off for a while does not.
func TestRemoveForgetsBrowsers(t *testing.T) {
	for _, m := range codeMethods {
		t.Run(string(m), func(t *testing.T) {
			f := newFixture(t, memory.New())
			f.setUp(t, "u")
			token, err := f.tf.Browsers.Remember(ctx, "u", "Firefox on Linux")
			if err != nil {
				t.Fatal(err)
			}
			other, _ := f.tf.Browsers.Remember(ctx, "other", "Chrome on Windows")
			if a, _ := f.tf.Account(ctx, "u"); len(a.Browsers) != 1 || a.Browsers[0].Label != "Firefox on Linux" {
				t.Fatalf("account view browsers: %+v", a.Browsers)
			}
			if err := f.tf.Disable(ctx, "u", m); err != nil {
				t.Fatal(err)
			}
			if err := f.tf.Browsers.Check(ctx, "u", token); err != nil {
				t.Fatalf("after disabling %s: %v", m, err)
			}
			if err := f.tf.Remove(ctx, "u", m); err != nil {
				t.Fatal(err)
			}
			if err := f.tf.Browsers.Check(ctx, "u", token); !errors.Is(err, remember.ErrNotRemembered) {
				t.Fatalf("after removing %s: %v, want ErrNotRemembered", m, err)
			}
			if a, _ := f.tf.Account(ctx, "u"); len(a.Browsers) != 0 {
				t.Fatalf("account view still lists: %+v", a.Browsers)
			}
			if err := f.tf.Browsers.Check(ctx, "other", other); err != nil {
				t.Fatalf("another user's browser: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	if m, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); err != nil || m != twofa.TOTP {
		t.Fatalf("app code: %v, %v", m, err)
	}
	if m, err := f.tf.Verify(ctx, "u", login, strings.ToUpper(f.codes[3])); err != nil || m != twofa.Backup {
		t.Fatalf("backup code: %v, %v", m, err)
	}
	// Replays are invalid codes that keep their factor's own error too.
	if _, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); !errors.Is(err, twofa.ErrInvalidCode) || !errors.Is(err, totp.ErrReplay) {
		t.Fatalf("replayed app code: %v, want ErrInvalidCode and totp.ErrReplay", err)
	}
	if _, err := f.tf.Verify(ctx, "u", login, f.codes[3]); !errors.Is(err, twofa.ErrInvalidCode) || !errors.Is(err, backup.ErrUsed) {
		t.Fatalf("used backup code: %v, want ErrInvalidCode and backup.ErrUsed", err)
	}
	for _, wrong := range []string{f.appCode(t), f.codes[3], "zzzzz-zzzzz", "000000", "12345", "", "\xff", strings.Repeat("9", 5000)} {
		if _, err := f.tf.Verify(ctx, "u", login, wrong); !errors.Is(err, twofa.ErrInvalidCode) && !errors.Is(err, twofa.ErrThrottled) {
			t.Fatalf("Verify(%.20q): %v, want ErrInvalidCode", wrong, err)
		}
	}
	_, err := f.tf.Verify(ctx, "v", login, "123456")
	if !errors.Is(err, twofa.ErrNoMethod) {
		t.Fatalf("user without methods: %v, want ErrNoMethod", err)
	}
	if _, err := f.tf.Verify(ctx, "v", login, "abcde-fghij"); !errors.Is(err, twofa.ErrNoMethod) {
		t.Fatalf("user without methods, backup-shaped: %v", err)
	}
	if _, err := f.tf.Verify(ctx, "v", login, "nonsense!"); !errors.Is(err, twofa.ErrNoMethod) {
		t.Fatalf("user without methods, junk: %v", err)
	}
}

func TestVerifyThrottled(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	// Failures of both methods add up to one count.
	for i := range 5 {
		wrong := []string{"000000", "zzzzz-zzzzz"}[i%2]
		if wrong == f.appCode(t) {
			wrong = "000001"
		}
		f.tf.Verify(ctx, "u", login, wrong)
	}
	_, err := f.tf.Verify(ctx, "u", login, f.codes[0])
	var te *twofa.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, twofa.ErrThrottled) || !te.RetryAt.After(f.now) {
		t.Fatalf("after 5 mixed failures: %v, want a ThrottledError", err)
	}
	if a, _ := f.tf.Account(ctx, "u"); a.Throttle == nil {
		t.Fatal("account view does not show the throttle")
	}
	if err := f.tf.Unlock(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if m, err := f.tf.Verify(ctx, "u", login, f.codes[0]); err != nil || m != twofa.Backup {
		t.Fatalf("after unlock: %v, %v", m, err)
	}
}

type failing struct{ storage.Store }

var errDown = errors.New("store down")

func (failing) TOTP(context.Context, string) (storage.TOTPRecord, error) {
	return storage.TOTPRecord{}, errDown
}
func (failing) BackupSet(context.Context, string) (storage.BackupSet, error) {
	return storage.BackupSet{}, errDown
}
func (failing) Throttle(context.Context, string) (storage.ThrottleState, error) {
	return storage.ThrottleState{}, errDown
}
func (failing) DeleteTOTP(context.Context, string) error      { return errDown }
func (failing) DeleteBackupSet(context.Context, string) error { return errDown }

func TestStoreFailureDenies(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	g := newFixture(t, failing{f.store})
	for _, code := range []string{f.appCode(t), f.codes[0], "junk!"} {
		if m, err := g.tf.Verify(ctx, "u", login, code); !errors.Is(err, errDown) || m != "" {
			t.Errorf("Verify(%q) with a failing store: %q, %v; want the store error", code, m, err)
		}
	}
	if _, err := g.tf.Account(ctx, "u"); !errors.Is(err, errDown) {
		t.Errorf("Account: %v", err)
	}
	// An application that reads only the answer still asks for the
	// second step, of a user with a method and of one without.
	for _, user := range []string{"u", "other"} {
		if r, err := g.tf.Requires(ctx, user); !r || !errors.Is(err, errDown) {
			t.Errorf("Requires(%q) with a failing store: %v, %v; want true and the store error", user, r, err)
		}
	}
	if r, err := g.tf.Requires(ctx, "bad\x00id"); !r || !errors.Is(err, twofa.ErrInvalidUserID) {
		t.Errorf("Requires of an invalid ID: %v, %v; want true and ErrInvalidUserID", r, err)
	}
	if err := g.tf.Reset(ctx, "u"); !errors.Is(err, errDown) {
		t.Errorf("Reset: %v", err)
	}
}

// An administrator reset leaves no row of the user in any twofa table.
func TestResetLeavesNothing(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		f.setUp(t, "u")
		f.setUp(t, "other")
		f.tf.TOTP.Begin(ctx, "u", "", "test-session") // a pending move too
		f.tf.Verify(ctx, "u", login, "000000")
		token, err := f.tf.Browsers.Remember(ctx, "u", "Safari on iOS")
		if err != nil {
			t.Fatal(err)
		}
		// Ceremonies begun and never finished: two registrations and a
		// login of u, a registration of another user.
		f.addKey(t, "u", "YubiKey")
		var begun []string
		for range 2 {
			id, _, err := f.tf.WebAuthn.BeginRegistration(ctx, "u", "u", "Laptop")
			if err != nil {
				t.Fatal(err)
			}
			begun = append(begun, id)
		}
		id, _, err := f.tf.WebAuthn.BeginLogin(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		begun = append(begun, id)
		otherID, _, err := f.tf.WebAuthn.BeginRegistration(ctx, "other", "other", "Phone")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.tf.Reset(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		for _, id := range begun {
			if _, err := store.TakeCeremony(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a ceremony of u after reset: %v, want ErrNotFound", err)
			}
		}
		if c, err := store.TakeCeremony(ctx, otherID); err != nil || c.UserID != "other" {
			t.Fatalf("another user's ceremony after reset: %+v, %v", c, err)
		}
		a, err := f.tf.Account(ctx, "u")
		if err != nil || a.Requires() || a.Status(twofa.TOTP) != twofa.NotSetUp || a.Status(twofa.Backup) != twofa.NotSetUp || a.Throttle != nil {
			t.Fatalf("after reset: %+v, %v", a, err)
		}
		if _, err := f.tf.Verify(ctx, "u", login, f.codes[1]); !errors.Is(err, twofa.ErrNoMethod) {
			t.Fatalf("login after reset: %v, want ErrNoMethod", err)
		}
		if err := f.tf.Browsers.Check(ctx, "u", token); !errors.Is(err, remember.ErrNotRemembered) || len(a.Browsers) != 0 {
			t.Fatalf("remembered browser after reset: %v, %+v", err, a.Browsers)
		}
		if a, _ := f.tf.Account(ctx, "other"); !a.Requires() {
			t.Fatal("reset touched another user")
		}
		if db := testdb.DBOf(store); db != nil {
			assertNoRows(t, db, b.Name, "u")
		}
		if f.events.Count(event.Reset) != 1 {
			t.Fatal("no reset event")
		}
		if log, err := f.tf.Activity(ctx, "u", 1); err != nil || len(log) != 1 || log[0].Kind != event.Reset {
			t.Fatalf("the log after a reset: %+v, %v; want the reset, newest", log, err)
		}
	})
}

// assertNoRows checks every twofa table with a user_id column.
func assertNoRows(t *testing.T, db *sql.DB, dialect, user string) {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'twofa_%'`
	switch dialect {
	case "postgres":
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'twofa_%'`
	case "mariadb":
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'twofa_%'`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	checked := 0
	for _, table := range tables {
		// The security log outlives a reset, which it records.
		// The migration lock (MySQL) holds no user's rows.
		if table == "twofa_schema_migrations" || table == "twofa_schema_lock" || table == "twofa_log" {
			continue
		}
		ph := "?"
		if dialect == "postgres" {
			ph = "$1"
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE user_id = "+ph, user).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Errorf("%s still has %d rows of %s", table, n, user)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d tables: %v", checked, tables)
	}
}

// No exported method of the service, or of its factors, returns the
// confirmed secret or a backup code once they were shown at set-up. Every
// method is called, with plausible arguments, on a fresh set-up, and all it
// returns — values, errors, nested fields — is searched.
func TestNoAPIReturnsSecrets(t *testing.T) {
	targets := map[string]func(*twofa.Service) any{
		"twofa.Service":    func(s *twofa.Service) any { return s },
		"totp.Service":     func(s *twofa.Service) any { return s.TOTP },
		"backup.Service":   func(s *twofa.Service) any { return s.Backup },
		"email.Service":    func(s *twofa.Service) any { return s.Email },
		"webauthn.Service": func(s *twofa.Service) any { return s.WebAuthn },
	}
	calls := 0
	for name, target := range targets {
		typ := reflect.TypeOf(target(newFixture(t, memory.New()).tf))
		for i := range typ.NumMethod() {
			method := typ.Method(i).Name
			t.Run(name+"."+method, func(t *testing.T) {
				f := newFixture(t, memory.New())
				f.setUp(t, "u")
				mailed := f.mailCode(t, "u")
				raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.secret.Secret)
				needles := [][]byte{[]byte(f.secret.Secret), []byte(strings.ToLower(f.secret.Secret)), []byte(f.secret.GroupedSecret()), raw}
				for _, c := range f.codes {
					needles = append(needles, []byte(c), []byte(strings.ReplaceAll(c, "-", "")))
				}
				needles = append(needles, []byte(mailed))
				m := reflect.ValueOf(target(f.tf)).MethodByName(method)
				var args []reflect.Value
				for j := range m.Type().NumIn() {
					args = append(args, argFor(m.Type().In(j)))
				}
				out := m.Call(args)
				var hay bytes.Buffer
				for _, v := range out {
					collect(&hay, v, 0)
				}
				for _, n := range needles {
					if bytes.Contains(hay.Bytes(), n) {
						t.Fatalf("%s returned a secret or code", method)
					}
				}
			})
			calls++
		}
	}
	if calls < 30 {
		t.Fatalf("walked only %d methods", calls)
	}
}

// argFor makes a plausible argument: the context, the enrolled user, a
// method name, or the zero value.
func argFor(t reflect.Type) reflect.Value {
	switch {
	case t == reflect.TypeOf((*context.Context)(nil)).Elem():
		return reflect.ValueOf(ctx)
	case t == reflect.TypeOf(twofa.Method("")):
		return reflect.ValueOf(twofa.TOTP)
	case t.Kind() == reflect.String:
		return reflect.ValueOf("u").Convert(t)
	}
	return reflect.Zero(t)
}

// collect writes everything reachable from v into w.
func collect(w *bytes.Buffer, v reflect.Value, depth int) {
	if depth > 8 || !v.IsValid() {
		return
	}
	if v.CanInterface() {
		if err, ok := v.Interface().(error); ok && err != nil {
			w.WriteString(err.Error())
		}
	}
	switch v.Kind() {
	case reflect.String:
		w.WriteString(v.String())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice || v.CanAddr() {
				w.Write(v.Bytes())
				return
			}
			// A byte array held by value (webauthn.AAGUID in a Key)
			// has no address for Bytes.
			for i := range v.Len() {
				w.WriteByte(byte(v.Index(i).Uint()))
			}
			return
		}
		for i := range v.Len() {
			collect(w, v.Index(i), depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collect(w, v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			collect(w, v.Field(i), depth+1)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			collect(w, k, depth+1)
			collect(w, v.MapIndex(k), depth+1)
		}
	}
}

func TestEmailListedOnlyWhereItCanBeSent(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	for _, addr := range []string{"", "no-at-sign", "a@b@c"} {
		f.mu.Lock()
		f.addrs["u"] = addr
		f.mu.Unlock()
		a, err := f.tf.Account(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range a.Methods {
			if m.Method == twofa.Email {
				t.Fatalf("address %q: e-mail listed", addr)
			}
		}
		if fmt.Sprint(a.Offered) != "[totp backup]" {
			t.Fatalf("address %q: offered %v", addr, a.Offered)
		}
	}
	// Without a mailer, never.
	key, _ := keyring.NewKey("k")
	ring, _ := keyring.New(key)
	tf, _ := twofa.New(twofa.Config{Issuer: "X", Store: f.store, Keys: ring, Address: func(context.Context, string) (string, error) { return "u@example.com", nil }})
	if a, _ := tf.Account(ctx, "u"); a.Status(twofa.Email) != twofa.NotSetUp || len(a.Methods) != 2 {
		t.Fatalf("without a mailer: %+v", a)
	}
}

func TestVerifyEmailCode(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	code := f.mailCode(t, "u")
	if m, err := f.tf.Verify(ctx, "u", login, code); err != nil || m != twofa.Email {
		t.Fatalf("e-mailed code: %v, %v", m, err)
	}
	if _, err := f.tf.Verify(ctx, "u", login, code); !errors.Is(err, twofa.ErrInvalidCode) {
		t.Fatalf("e-mailed code again: %v", err)
	}
	// While an e-mailed code waits, the app's code still passes.
	f.mailCode(t, "u")
	if m, err := f.tf.Verify(ctx, "u", login, f.appCode(t)); err != nil || m != twofa.TOTP {
		t.Fatalf("app code with an e-mail code waiting: %v, %v", m, err)
	}
	// A user with only e-mail codes.
	g := newFixture(t, memory.New())
	g.tf.Email.Enable(ctx, "u")
	if m, err := g.tf.Verify(ctx, "u", login, g.mailCode(t, "u")); err != nil || m != twofa.Email {
		t.Fatalf("e-mail only: %v, %v", m, err)
	}
	if _, err := g.tf.Verify(ctx, "u", login, "123456"); !errors.Is(err, twofa.ErrInvalidCode) {
		t.Fatalf("e-mail only, no code waiting: %v", err)
	}
}

func TestNotices(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u") // adds the app and e-mail codes: two notices
	f.tf.Verify(ctx, "u", login, f.codes[0])
	f.tf.Reset(ctx, "u")
	var subjects []string
	for _, m := range f.mail.Messages() {
		subjects = append(subjects, m.Subject)
	}
	got := strings.Join(subjects, "\n")
	for _, want := range []string{"Acme: A new sign-in method was added", "Acme: One of your backup codes was used", "Acme: An administrator removed"} {
		if !strings.Contains(got, want) {
			t.Errorf("no notice %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "new sign-in method"); n != 2 {
		t.Errorf("%d notices of added methods, want 2 (app, e-mail)", n)
	}
	last := f.mail.Last(t)
	if last.To != "u@example.com" || !strings.Contains(last.Text, "If it was not you") || !strings.Contains(last.HTML, "administrator") {
		t.Fatalf("notice: %+v", last)
	}
	for _, c := range f.codes {
		if strings.Contains(got+last.Text+last.HTML, c) {
			t.Fatal("a notice holds a backup code")
		}
	}

	// A mailer that fails does not change the outcome; the failure is an
	// event.
	g := newFixture(t, memory.New())
	g.setUp(t, "u")
	g.mail.Fail(errors.New("relay down"))
	if m, err := g.tf.Verify(ctx, "u", login, g.codes[0]); err != nil || m != twofa.Backup {
		t.Fatalf("backup code with the mailer down: %v, %v", m, err)
	}
	if g.events.Count(event.NoticeFailed) != 1 || g.events.Count(event.BackupUsed) != 1 {
		t.Fatalf("events: %+v", g.events.All())
	}
}

func TestSecurityKeysInAccount(t *testing.T) {
	f := newFixture(t, memory.New())
	register := func(name string) *virtualkey.Device {
		d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
		id, options, err := f.tf.WebAuthn.BeginRegistration(ctx, "u", "u@example.com", name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tf.WebAuthn.FinishRegistration(ctx, id, "u", d.Attest(t, virtualkey.RP, options)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := register("YubiKey")
	f.now = f.now.Add(time.Second) // keys list by creation time
	register("Laptop")
	a, err := f.tf.Account(ctx, "u")
	if err != nil || a.Status(twofa.WebAuthn) != twofa.Enabled || len(a.Keys) != 2 || a.Keys[0].Name != "YubiKey" ||
		fmt.Sprint(a.Offered) != "[webauthn]" || !a.Requires() {
		t.Fatalf("account with two keys: %+v, %v", a, err)
	}
	if err := f.tf.Disable(ctx, "u", twofa.WebAuthn); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.tf.Account(ctx, "u"); a.Status(twofa.WebAuthn) != twofa.Disabled || a.Requires() {
		t.Fatalf("keys disabled: %+v", a)
	}
	f.tf.Enable(ctx, "u", twofa.WebAuthn)
	// A typed code for a user with only keys is wrong, not "no method".
	if _, err := f.tf.Verify(ctx, "u", login, "123456"); !errors.Is(err, twofa.ErrInvalidCode) {
		t.Fatalf("typed code, keys only: %v", err)
	}
	if err := f.tf.Reset(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.tf.Account(ctx, "u"); a.Requires() || len(a.Keys) != 0 {
		t.Fatalf("after reset: %+v", a)
	}
	if _, _, err := f.tf.WebAuthn.BeginLogin(ctx, "u"); !errors.Is(err, webauthn.ErrNoKeys) {
		t.Fatalf("login after reset: %v", err)
	}
	// The key itself is not the user's any more: it can be added again.
	id, options, _ := f.tf.WebAuthn.BeginRegistration(ctx, "u", "u", "YubiKey")
	if _, err := f.tf.WebAuthn.FinishRegistration(ctx, id, "u", d.Attest(t, virtualkey.RP, options)); err != nil {
		t.Fatalf("re-adding the key after reset: %v", err)
	}
}

// RemoveKey deletes one key, leaves the others, and forgets the user's
// remembered browsers.
func TestRemoveKey(t *testing.T) {
	f := newFixture(t, memory.New())
	for _, name := range []string{"YubiKey", "Laptop"} {
		d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
		id, options, err := f.tf.WebAuthn.BeginRegistration(ctx, "u", "u", name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tf.WebAuthn.FinishRegistration(ctx, id, "u", d.Attest(t, virtualkey.RP, options)); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Second)
	}
	token, _ := f.tf.Browsers.Remember(ctx, "u", "x")
	a, _ := f.tf.Account(ctx, "u")
	if err := f.tf.RemoveKey(ctx, "u", a.Keys[0].ID); err != nil {
		t.Fatal(err)
	}
	a, _ = f.tf.Account(ctx, "u")
	if len(a.Keys) != 1 || a.Keys[0].Name != "Laptop" || len(a.Browsers) != 0 {
		t.Fatalf("after removing a key: %+v", a)
	}
	if err := f.tf.Browsers.Check(ctx, "u", token); !errors.Is(err, remember.ErrNotRemembered) {
		t.Fatalf("remembered browser after removing a key: %v", err)
	}
	if err := f.tf.RemoveKey(ctx, "u", "no-such-key"); !errors.Is(err, webauthn.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

// SendCode mails to the address the application gives, and only to it.
func TestSendCode(t *testing.T) {
	f := newFixture(t, memory.New())
	if err := f.tf.SendCode(ctx, "u", login); !errors.Is(err, emailotp.ErrNotEnabled) {
		t.Fatalf("before turning e-mail on: %v", err)
	}
	f.tf.Email.Enable(ctx, "u")
	if err := f.tf.SendCode(ctx, "u", login); err != nil {
		t.Fatal(err)
	}
	if m := f.mail.Last(t); m.To != "u@example.com" {
		t.Fatalf("sent to %q", m.To)
	}
	f.mu.Lock()
	f.addrs["u"] = "not an address"
	f.mu.Unlock()
	f.now = f.now.Add(time.Hour)
	if err := f.tf.SendCode(ctx, "u", login); !errors.Is(err, emailotp.ErrUnavailable) {
		t.Fatalf("invalid address: %v", err)
	}
	if f.tf.Issuer() != "Acme" {
		t.Fatalf("Issuer() = %q", f.tf.Issuer())
	}
}

// Every Status prints, a value past the known ones too, without a panic.
func TestStatusString(t *testing.T) {
	for s, want := range map[twofa.Status]string{
		twofa.NotSetUp: "not set up", twofa.Pending: "pending", twofa.Enabled: "enabled", twofa.Disabled: "disabled",
		4: "Status(4)", -1: "Status(-1)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
