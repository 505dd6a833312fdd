package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	otptotp "github.com/pquerna/otp/totp"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// bin is the command, built once for every test: the tests run it as an
// operator would, as a separate process on a real database.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "twofa-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "twofa")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the command.
type result struct {
	stdout, stderr string
	code           int
}

// twofaCmd runs the built command with args and the environment env
// added to the test's without its TWOFA_ variables (so no TWOFA_KEYS or
// TWOFA_DB of the test's leaks in), its output going to pipes.
func twofaCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TWOFA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run twofa %v: %v", args, err)
	}
	r := result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
	// Piped output is for scripts and logs: never a progress bar's
	// carriage return or escape sequence.
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.ContainsAny(s, "\r\x1b") {
			t.Errorf("twofa %v wrote terminal control characters to a pipe: %q", args, s)
		}
	}
	return r
}

// database is an empty database, as the command and the test see it.
type database struct {
	dsn     string // what -db gets
	db      *sql.DB
	dialect sqlstore.Dialect
}

// databases runs f on an empty SQLite file, an empty PostgreSQL schema
// (skipped without TWOFA_POSTGRES_DSN, failing in CI) and an empty MariaDB
// database (the same without TWOFA_MYSQL_DSN).
func databases(t *testing.T, f func(t *testing.T, d database)) {
	t.Run("sqlite", func(t *testing.T) {
		db, path := testdb.SQLite(t)
		f(t, database{path, db, sqlstore.SQLite})
	})
	t.Run("postgres", func(t *testing.T) {
		db, dsn := testdb.Postgres(t)
		f(t, database{dsn, db, sqlstore.PostgreSQL})
	})
	t.Run("mariadb", func(t *testing.T) {
		db, dsn := testdb.MySQL(t)
		f(t, database{"mysql://" + dsn, db, sqlstore.MySQL})
	})
}

// service is a twofa.Service on d, for a test to set users up with the
// library, as the application would have. It expects d migrated.
func (d database) service(t *testing.T, ring *keyring.Ring) (*twofa.Service, storage.Store) {
	t.Helper()
	store, err := sqlstore.New(d.db, d.dialect)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := twofa.New(twofa.Config{Issuer: "Test", Store: store, Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	return tf, store
}

// testRing is a ring of a fresh key for tests that keep it no longer than
// the test: keyring.Random, which twofa.New refuses beside a database.
func testRing(t *testing.T) *keyring.Ring {
	t.Helper()
	_, ring := ringText(t, "test")
	return ring
}

func (d database) migrate(t *testing.T) {
	t.Helper()
	if r := twofaCmd(t, nil, "-db", d.dsn, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d, %s", r.code, r.stderr)
	}
}

// confirmTOTP sets up an authenticator app for user, confirmed, and
// returns its secret.
func confirmTOTP(t *testing.T, tf *twofa.Service, user string) string {
	t.Helper()
	ctx := context.Background()
	enr, err := tf.TOTP.Begin(ctx, user, user+"@example.com", "session")
	if err != nil {
		t.Fatal(err)
	}
	code, err := otptotp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.TOTP.Confirm(ctx, user, "session", code); err != nil {
		t.Fatal(err)
	}
	return enr.Secret
}

// rowsOf counts user's rows in every table that keeps something per user.
func rowsOf(t *testing.T, d database, user string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, table := range []string{"twofa_totp", "twofa_throttle", "twofa_backup_sets", "twofa_backup_codes", "twofa_email", "twofa_webauthn_credentials", "twofa_webauthn_ceremonies", "twofa_browsers"} {
		var c int
		q := "SELECT COUNT(*) FROM " + table + " WHERE user_id = ?"
		if d.dialect == sqlstore.PostgreSQL {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if err := d.db.QueryRow(q, user).Scan(&c); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if c > 0 {
			n[table] = c
		}
	}
	return n
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in stderr
	}{
		{"no command", nil, []string{"-db", db}, "no command"},
		{"unknown command", nil, []string{"-db", db, "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"-nope", "status"}, "flag provided but not defined"},
		{"reset without user", nil, []string{"-db", db, "reset"}, "reset takes one user ID"},
		{"unlock with two users", nil, []string{"-db", db, "unlock", "a", "b"}, "unlock takes one user ID"},
		{"status with an argument", nil, []string{"-db", db, "status", "x"}, "status takes no arguments"},
		{"log without user", nil, []string{"-db", db, "log"}, "log takes one user ID"},
		{"log -n 0", nil, []string{"-db", db, "log", "-n", "0", "bob"}, "-n must be 1 to"},
		{"rotate-keys without keys", nil, []string{"-db", db, "rotate-keys"}, "no keys"},
		{"rotate-keys -batch 0", nil, []string{"-db", db, "rotate-keys", "-batch", "0"}, "-batch must be 1 to"},
		{"import without a file", nil, []string{"-db", db, "import"}, "import takes one file"},
		{"no database", nil, []string{"status"}, "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := twofaCmd(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
			if !strings.Contains(r.stderr, "usage: twofa ") {
				t.Errorf("stderr %q has no usage line", r.stderr)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database file")
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	t.Run("no such file", func(t *testing.T) {
		path := filepath.Join(dir, "typo.db")
		r := twofaCmd(t, nil, "-db", path, "status")
		if r.code != 1 || !strings.Contains(r.stderr, "no SQLite database at") {
			t.Errorf("exit %d, stderr %q; want 1 and no database", r.code, r.stderr)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("status made a database file")
		}
	})
	t.Run("not migrated", func(t *testing.T) {
		path := filepath.Join(dir, "empty.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r := twofaCmd(t, nil, "-db", path, "status")
		if r.code != 1 || !strings.Contains(r.stderr, "run twofa migrate first") {
			t.Errorf("exit %d, stderr %q; want 1 and a hint to migrate", r.code, r.stderr)
		}
	})
	t.Run("unreachable postgres keeps the password out", func(t *testing.T) {
		r := twofaCmd(t, nil, "-db", "postgres://op:hunter2secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=5", "status")
		if r.code != 1 {
			t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "hunter2secret") {
			t.Errorf("the password is in the output: %q", r.stderr)
		}
	})
	t.Run("unreachable mysql keeps the password out", func(t *testing.T) {
		r := twofaCmd(t, nil, "-db", "mysql://op:hunter2secret@tcp(127.0.0.1:1)/x?timeout=5s", "status")
		if r.code != 1 || !strings.Contains(r.stderr, "connect to the mysql database") {
			t.Errorf("exit %d, stderr %q; want 1 and a connection error", r.code, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "hunter2secret") {
			t.Errorf("the password is in the output: %q", r.stderr)
		}
	})
	t.Run("mysql DSN the store cannot use", func(t *testing.T) {
		r := twofaCmd(t, nil, "-db", "mysql://op:hunter2secret@tcp(127.0.0.1:1)/x?clientFoundRows=false", "status")
		if r.code != 2 || !strings.Contains(r.stderr, "clientFoundRows") || strings.Contains(r.stderr, "hunter2secret") {
			t.Errorf("exit %d, stderr %q; want 2 and the setting named, without the password", r.code, r.stderr)
		}
	})
	t.Run("invalid user ID", func(t *testing.T) {
		db := filepath.Join(dir, "m.db")
		if r := twofaCmd(t, nil, "-db", db, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %d %s", r.code, r.stderr)
		}
		r := twofaCmd(t, nil, "-db", db, "reset", strings.Repeat("x", 256))
		if r.code != 1 || !strings.Contains(r.stderr, "user ID") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("bad key ring", func(t *testing.T) {
		db := filepath.Join(dir, "m.db")
		r := twofaCmd(t, []string{"TWOFA_KEYS=1:notbase64"}, "-db", db, "unlock", "bob")
		if r.code == 0 || !strings.Contains(r.stderr, "keyring") {
			t.Errorf("exit %d, stderr %q; want a keyring error", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "notbase64") {
			t.Errorf("the key text is in the error: %q", r.stderr)
		}
	})
}

func TestMigrate(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		r := twofaCmd(t, nil, "-db", d.dsn, "migrate")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var n int
		if err := d.db.QueryRow("SELECT COUNT(*) FROM twofa_schema_migrations").Scan(&n); err != nil || n == 0 {
			t.Fatalf("no migrations recorded after migrate: %d, %v", n, err)
		}
		if want := fmt.Sprintf("migrated: %d migrations applied now, %d in all\n", n, n); r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
		r = twofaCmd(t, nil, "-db", d.dsn, "migrate")
		if want := fmt.Sprintf("migrated: 0 migrations applied now, %d in all\n", n); r.code != 0 || r.stdout != want {
			t.Errorf("second migrate: exit %d, stdout %q, want %q", r.code, r.stdout, want)
		}
	})
}

// methodRow returns the counts status printed for method.
func methodRow(t *testing.T, out, method string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == method {
			return strings.Join(f[1:], " ")
		}
	}
	t.Fatalf("no row for %s in\n%s", method, out)
	return ""
}

func TestStatus(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		ctx := context.Background()
		d.migrate(t)
		tf, store := d.service(t, testRing(t))
		for _, u := range []string{"alice", "bob", "carol"} {
			confirmTOTP(t, tf, u)
		}
		if err := tf.Disable(ctx, "carol", twofa.TOTP); err != nil {
			t.Fatal(err)
		}
		if _, err := tf.TOTP.Begin(ctx, "dave", "dave@example.com", "s"); err != nil { // pending only
			t.Fatal(err)
		}
		if _, err := tf.Backup.Generate(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SwapThrottle(ctx, "erin", storage.ThrottleState{}, storage.ThrottleState{Failures: 3, Last: time.Now()}); err != nil {
			t.Fatal(err)
		}

		r := twofaCmd(t, nil, "-db", d.dsn, "status")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for method, want := range map[string]string{
			"totp":     "2 1 1",
			"backup":   "1 0 0",
			"email":    "0 0 0",
			"webauthn": "0 0 0",
		} {
			if got := methodRow(t, r.stdout, method); got != want {
				t.Errorf("%s: enabled, disabled, pending = %s, want %s\n%s", method, got, want, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "users with failed attempts counted: 1\n") {
			t.Errorf("no count of users with failures in\n%s", r.stdout)
		}
	})
}

func TestReset(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		ctx := context.Background()
		d.migrate(t)
		tf, store := d.service(t, testRing(t))
		for _, u := range []string{"alice", "bob"} {
			confirmTOTP(t, tf, u)
			if _, err := tf.Backup.Generate(ctx, u); err != nil {
				t.Fatal(err)
			}
			if _, err := tf.Browsers.Remember(ctx, u, "Firefox"); err != nil {
				t.Fatal(err)
			}
			if _, err := store.SwapThrottle(ctx, u, storage.ThrottleState{}, storage.ThrottleState{Failures: 2, Last: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		before := rowsOf(t, d, "alice")
		if len(before) < 5 {
			t.Fatalf("alice was not set up: %v", before)
		}

		// No key is needed: a reset reads no secret.
		r := twofaCmd(t, nil, "-db", d.dsn, "reset", "alice")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, `reset "alice": `) {
			t.Errorf("stdout %q does not say what it did", r.stdout)
		}
		if left := rowsOf(t, d, "alice"); len(left) != 0 {
			t.Errorf("rows left for alice after reset: %v", left)
		}
		if got := rowsOf(t, d, "bob"); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("bob's rows changed: %v, want %v", got, before)
		}
		// The security log keeps the reset, for support to read.
		r = twofaCmd(t, nil, "-db", d.dsn, "log", "-n", "1", "alice")
		if !strings.Contains(r.stdout, "reset by an administrator") {
			t.Errorf("the reset is not in alice's log:\n%s", r.stdout)
		}
	})
}

func TestUnlock(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		ctx := context.Background()
		d.migrate(t)
		tf, store := d.service(t, testRing(t))
		confirmTOTP(t, tf, "alice")
		// 100 failures: the lock only an administrator lifts.
		if _, err := store.SwapThrottle(ctx, "alice", storage.ThrottleState{}, storage.ThrottleState{Failures: 100, Last: time.Now()}); err != nil {
			t.Fatal(err)
		}
		a, err := tf.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var te *twofa.ThrottledError
		if !errors.As(a.Throttle, &te) || !te.Locked {
			t.Fatalf("alice is not locked before unlock: %v", a.Throttle)
		}

		r := twofaCmd(t, nil, "-db", d.dsn, "unlock", "alice")
		if r.code != 0 || r.stdout != "unlocked \"alice\": failed attempts cleared\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if a, err = tf.Account(ctx, "alice"); err != nil || a.Throttle != nil {
			t.Errorf("after unlock: throttle %v, err %v", a.Throttle, err)
		}
		if a.Status(twofa.TOTP) != twofa.Enabled {
			t.Errorf("unlock touched the method: %v", a.Status(twofa.TOTP))
		}
	})
}

func TestLog(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		ctx := context.Background()
		d.migrate(t)
		tf, store := d.service(t, testRing(t))
		t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		for i, e := range []storage.LogEntry{
			{UserID: "alice", Time: t0, Kind: "enrolled", Method: "totp"},
			{UserID: "alice", Time: t0.Add(time.Hour), Kind: "locked", Detail: "until unlocked"},
			{UserID: "bob", Time: t0.Add(time.Hour), Kind: "enrolled", Method: "email"},
		} {
			if err := store.AppendLog(ctx, e, 100, t0.Add(-time.Hour)); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
		// What the command itself does is logged too.
		if r := twofaCmd(t, nil, "-db", d.dsn, "unlock", "alice"); r.code != 0 {
			t.Fatalf("unlock: %s", r.stderr)
		}
		unlocked, err := tf.Activity(ctx, "alice", 1)
		if err != nil || len(unlocked) != 1 || unlocked[0].Kind != event.ThrottleUnlock {
			t.Fatalf("the unlock is not in the log: %+v, %v", unlocked, err)
		}
		at := func(tm time.Time) string { return tm.UTC().Format(time.RFC3339) }
		tests := []struct {
			args []string
			want []string // the lines after the header, fields joined by one space
		}{
			{[]string{"alice"}, []string{
				at(unlocked[0].Time) + " Unlocked by an administrator " + string(unlocked[0].Kind),
				at(t0.Add(time.Hour)) + " Locked after too many wrong codes (until an administrator unlocks it) locked",
				at(t0) + " Added the authenticator app enrolled/totp",
			}},
			{[]string{"-n", "1", "alice"}, []string{at(unlocked[0].Time) + " Unlocked by an administrator " + string(unlocked[0].Kind)}},
			{[]string{"bob"}, []string{at(t0.Add(time.Hour)) + " Added codes by e-mail enrolled/email"}},
		}
		for _, tt := range tests {
			r := twofaCmd(t, nil, append([]string{"-db", d.dsn, "log"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("log %v: exit %d: %s", tt.args, r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(squeeze(r.stdout), "\n"), "\n")
			if lines[0] != "time what event" {
				t.Errorf("log %v: header %q", tt.args, lines[0])
			}
			if got := strings.Join(lines[1:], "\n"); got != strings.Join(tt.want, "\n") {
				t.Errorf("log %v:\n%s\nwant\n%s", tt.args, got, strings.Join(tt.want, "\n"))
			}
		}
		r := twofaCmd(t, nil, "-db", d.dsn, "log", "nobody")
		if r.code != 0 || r.stdout != "no security log entries for \"nobody\"\n" {
			t.Errorf("log nobody: exit %d, stdout %q", r.code, r.stdout)
		}
	})
}

// mustStore is a store on d.
func mustStore(t *testing.T, d database) storage.Store {
	t.Helper()
	s, err := sqlstore.New(d.db, d.dialect)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
