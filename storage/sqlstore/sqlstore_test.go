package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // driver "mysql", for the tests only
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx", for the tests only
	_ "modernc.org/sqlite"             // driver "sqlite", for the tests only

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/storage/storagetest"
)

// backend opens a fresh, empty database of one dialect. Without a
// PostgreSQL or MariaDB server, that one skips the test, or fails it in CI.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t testing.TB) *sql.DB
}

var backends = []backend{
	{"SQLite", sqlstore.SQLite, func(t testing.TB) *sql.DB {
		db, _ := testdb.SQLite(t) // a file in t.TempDir()
		return db
	}},
	{"PostgreSQL", sqlstore.PostgreSQL, func(t testing.TB) *sql.DB {
		db, _ := testdb.Postgres(t) // a schema of its own, dropped at the end
		return db
	}},
	{"MariaDB", sqlstore.MySQL, func(t testing.TB) *sql.DB {
		db, _ := testdb.MySQL(t) // a database of its own, dropped at the end
		return db
	}},
}

// migrationDir is where the dialect's migrations are, from this folder.
func migrationDir(d sqlstore.Dialect) string {
	switch d {
	case sqlstore.PostgreSQL:
		return "migrations/postgres"
	case sqlstore.MySQL:
		return "migrations/mysql"
	}
	return "migrations/sqlite"
}

// needServer skips the test, or fails it in CI, once rather than per
// subtest when the dialect's server is not configured.
func needServer(t testing.TB, d sqlstore.Dialect) {
	switch d {
	case sqlstore.PostgreSQL:
		testdb.PostgresDSN(t)
	case sqlstore.MySQL:
		testdb.MySQLDSN(t)
	}
}

func newStore(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b backend) migrated(t testing.TB) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := b.open(t)
	s := newStore(t, db, b.dialect)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, db
}

func (b backend) conformance(t *testing.T) storage.Store {
	s, _ := b.migrated(t)
	return s
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			needServer(t, b.dialect)
			storagetest.Run(t, b.conformance)
		})
	}
}

// BenchmarkStore measures the bounded writes on each engine:
//
//	go test -run '^$' -bench . -benchmem ./storage/sqlstore
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storagetest.Bench(b, func(b *testing.B) storage.Store { s, _ := be.migrated(b); return s })
		})
	}
}

func TestMigrateAgain(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.migrated(t)
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			// A second Store on the same database, as after a restart.
			if err := newStore(t, db, b.dialect).Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate from a new Store: %v", err)
			}
			dir := migrationDir(b.dialect)
			embedded, err := filepath.Glob(filepath.Join(dir, "*.sql"))
			if err != nil || len(embedded) == 0 {
				t.Fatalf("no migrations in %s (%v)", dir, err)
			}
			rows, err := db.QueryContext(t.Context(), "SELECT version, applied_at FROM twofa_schema_migrations ORDER BY version")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var versions []int
			for rows.Next() {
				var v int
				var at int64
				if err := rows.Scan(&v, &at); err != nil {
					t.Fatal(err)
				}
				if since := time.Since(time.Unix(0, at)); since < 0 || since > time.Hour {
					t.Errorf("migration %d applied_at %d is not Unix nanoseconds of now", v, at)
				}
				versions = append(versions, v)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(versions) != len(embedded) || versions[0] != 1 {
				t.Fatalf("recorded versions %v, embedded %v", versions, embedded)
			}
		})
	}
}

// Several servers starting at once all migrate without error, each with a
// handle (a connection pool) of its own. On SQLite the DSN does not ask for
// immediate transactions, as an application's might not.
func TestMigrateConcurrently(t *testing.T) {
	const servers = 5
	for _, b := range []struct {
		name    string
		dialect sqlstore.Dialect
		open    func(t *testing.T) func() *sql.DB
	}{
		{"SQLite", sqlstore.SQLite, func(t *testing.T) func() *sql.DB {
			dsn := "file:" + filepath.Join(t.TempDir(), "twofa.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
			open := func() *sql.DB {
				db, err := sql.Open("sqlite", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			// The file exists, in WAL mode, before the servers start, as the
			// application's database does. Several connections turning a new
			// file to WAL at once can fail with SQLITE_BUSY before any
			// statement of Migrate runs: that race is SQLite's, not this one.
			if err := open().PingContext(t.Context()); err != nil {
				t.Fatal(err)
			}
			return open
		}},
		{"PostgreSQL", sqlstore.PostgreSQL, func(t *testing.T) func() *sql.DB {
			_, dsn := testdb.Postgres(t) // a fresh schema
			return func() *sql.DB { return testdb.OpenPostgres(t, dsn) }
		}},
		{"MariaDB", sqlstore.MySQL, func(t *testing.T) func() *sql.DB {
			_, dsn := testdb.MySQL(t) // a fresh database
			return func() *sql.DB { return testdb.OpenMySQL(t, dsn) }
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			stores := make([]*sqlstore.Store, servers)
			for i := range stores {
				stores[i] = newStore(t, open(), b.dialect)
			}
			var wg sync.WaitGroup
			errs := make(chan error, servers)
			start := make(chan struct{})
			for _, s := range stores {
				wg.Go(func() {
					<-start
					errs <- s.Migrate(t.Context())
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("concurrent Migrate: %v", err)
				}
			}
			// The schema works for every server.
			for i, s := range stores {
				rec := storage.TOTPRecord{UserID: string(rune('a' + i)), Account: "x"}
				if _, err := s.PutTOTP(t.Context(), rec); err != nil {
					t.Fatalf("server %d: PutTOTP after Migrate: %v", i, err)
				}
			}
		})
	}
}

// Nothing is created until Migrate is called.
func TestNewTouchesNothing(t *testing.T) {
	db, _ := testdb.SQLite(t)
	newStore(t, db, sqlstore.SQLite)
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Fatalf("New created %d schema objects (%v)", n, err)
	}
}

func TestNewRefuses(t *testing.T) {
	db, _ := testdb.SQLite(t)
	if _, err := sqlstore.New(nil, sqlstore.SQLite); err == nil {
		t.Error("nil db accepted")
	}
	for _, d := range []sqlstore.Dialect{0, sqlstore.MySQL + 1, -1} {
		if _, err := sqlstore.New(db, d); err == nil || !strings.HasPrefix(err.Error(), "sqlstore: ") {
			t.Errorf("New with %v: %v, want an sqlstore error", d, err)
		}
	}
}

// Every table is prefixed, so twofa's live beside the application's.
func TestTablesPrefixed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := b.migrated(t)
			q := "SELECT name FROM sqlite_master WHERE type = 'table'"
			switch b.dialect {
			case sqlstore.PostgreSQL:
				q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
			case sqlstore.MySQL:
				q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
			}
			rows, err := db.QueryContext(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				n++
				if !strings.HasPrefix(name, "twofa_") {
					t.Errorf("table %q is not prefixed twofa_", name)
				}
			}
			if err := rows.Err(); err != nil || n < 3 {
				t.Fatalf("%d tables (%v)", n, err)
			}
		})
	}
}

// The columns hold what other tools (and a later migration) can rely on:
// Unix nanoseconds, 0 and 1 for booleans, NULL for an absent secret.
func TestStorageFormat(t *testing.T) {
	when := time.Date(2026, 11, 23, 10, 11, 12, 123456789, time.UTC)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.migrated(t)
			ctx := t.Context()
			sealed := []byte{0, 1, 0xfe, 0xff}
			if _, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "u", Account: "a", Disabled: true,
				Active: &storage.TOTPSecret{Sealed: sealed, Algorithm: "SHA1", Digits: 6, Period: 30, Created: when}}); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: when}); !ok || err != nil {
				t.Fatalf("SwapThrottle: %v, %v", ok, err)
			}
			var (
				disabled, createdNs, lastNs int64
				gotSealed                   []byte
				pendingNull                 bool
			)
			err := db.QueryRowContext(ctx, `SELECT t.disabled, t.active_created_ns, t.active_sealed,
				t.pending_sealed IS NULL AND t.pending_algorithm IS NULL AND t.pending_digits IS NULL
					AND t.pending_period IS NULL AND t.pending_created_ns IS NULL,
				h.last_ns
				FROM twofa_totp t, twofa_throttle h WHERE t.user_id = 'u' AND h.user_id = 'u'`).
				Scan(&disabled, &createdNs, &gotSealed, &pendingNull, &lastNs)
			if err != nil {
				t.Fatal(err)
			}
			if disabled != 1 || createdNs != when.UnixNano() || lastNs != when.UnixNano() || !bytes.Equal(gotSealed, sealed) || !pendingNull {
				t.Fatalf("stored disabled=%d created_ns=%d last_ns=%d sealed=%x pending NULL=%v; want 1, %d, %d, %x, true",
					disabled, createdNs, lastNs, gotSealed, pendingNull, when.UnixNano(), when.UnixNano(), sealed)
			}
		})
	}
}

// A database made before migration 0007 upgrades with its data: the codes
// and set-ups it holds read back with no binding, and its ceremonies are
// bounded from the first put on.
func TestUpgradeTo0007(t *testing.T) {
	when := time.Date(2026, 11, 23, 10, 11, 12, 0, time.UTC)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			ctx := t.Context()
			dir := migrationDir(b.dialect)
			// The schema as Migrate left it before 0007 existed.
			if _, err := db.ExecContext(ctx, `CREATE TABLE twofa_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
			for _, f := range files {
				v, err := strconv.Atoi(filepath.Base(f)[:4])
				if err != nil {
					t.Fatal(err)
				}
				if v >= 7 {
					continue
				}
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range splitStatements(b.dialect, string(body)) {
					if _, err := db.ExecContext(ctx, stmt); err != nil {
						t.Fatalf("%s: %v", f, err)
					}
				}
				if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO twofa_schema_migrations VALUES (%d, %d)", v, when.UnixNano())); err != nil {
					t.Fatal(err)
				}
			}
			ns := when.UnixNano()
			for _, q := range []string{
				fmt.Sprintf(`INSERT INTO twofa_totp (user_id, account, pending_sealed, pending_algorithm, pending_digits, pending_period, pending_created_ns, version)
					VALUES ('u', 'a', X'00ff', 'SHA1', 6, 30, %d, 7)`, ns),
				fmt.Sprintf(`INSERT INTO twofa_email (user_id, since_ns, code_id, code_hash, sent_ns, expires_ns) VALUES ('u', %d, 'c1', X'01', %d, %d)`, ns, ns, ns+int64(time.Hour)),
			} {
				if b.dialect == sqlstore.PostgreSQL {
					q = strings.ReplaceAll(strings.ReplaceAll(q, "X'00ff'", `'\x00ff'`), "X'01'", `'\x01'`)
				}
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for i := range 10 {
				if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO twofa_webauthn_ceremonies (id, user_id, kind, data, expires_ns) VALUES ('old%d', 'u', 'login', '', %d)`, i, ns+int64(i+1)*int64(time.Minute))); err != nil {
					t.Fatal(err)
				}
			}

			s := newStore(t, db, b.dialect)
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			rec, err := s.TOTP(ctx, "u")
			if err != nil || rec.Pending == nil || !bytes.Equal(rec.Pending.Sealed, []byte{0, 0xff}) || rec.Pending.Binding != nil || rec.Version != 7 {
				t.Fatalf("TOTP record after the upgrade: %+v (pending %+v), %v", rec, rec.Pending, err)
			}
			st, err := s.Email(ctx, "u")
			if err != nil || st.Code == nil || st.Code.ID != "c1" || st.Code.Binding != nil {
				t.Fatalf("e-mail state after the upgrade: %+v, %v", st, err)
			}
			// The first put, five minutes on, removes the five expired and
			// trims the user's to three: the new one and the two that expire last.
			if err := s.PutCeremony(ctx, storage.Ceremony{ID: "new", UserID: "u", Kind: "login", Expires: when.Add(time.Hour)}, when.Add(5*time.Minute), 3); err != nil {
				t.Fatal(err)
			}
			var ids []string
			rows, err := db.QueryContext(ctx, `SELECT id FROM twofa_webauthn_ceremonies ORDER BY expires_ns`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if strings.Join(ids, " ") != "old8 old9 new" {
				t.Fatalf("ceremonies after the first put: %v, want old8 old9 new", ids)
			}
		})
	}
}

// A store that cannot answer fails every call with an error, never a
// not-found or a zero state that would let a caller through, and the
// error names the package and holds no secret.
func TestErrors(t *testing.T) {
	marker := []byte("SEALED-SECRET-MARKER")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.migrated(t)
			ctx := t.Context()
			// The tables vanish under the store: every statement fails
			// in the database, past the driver.
			for _, table := range []string{"twofa_totp", "twofa_throttle"} {
				if _, err := db.ExecContext(ctx, "DROP TABLE "+table); err != nil {
					t.Fatal(err)
				}
			}
			rec := storage.TOTPRecord{UserID: "u", Account: "a", Active: &storage.TOTPSecret{Sealed: marker, Algorithm: "SHA1", Digits: 6, Period: 30, Created: time.Now()}}
			calls := map[string]func() error{
				"TOTP": func() error { _, err := s.TOTP(ctx, "u"); return err },
				"PutTOTP insert": func() error {
					_, err := s.PutTOTP(ctx, rec)
					return err
				},
				"PutTOTP update": func() error {
					r := rec
					r.Version = 7
					_, err := s.PutTOTP(ctx, r)
					return err
				},
				"AdvanceTOTPStep": func() error { _, err := s.AdvanceTOTPStep(ctx, "u", 30); return err },
				"DeleteTOTP":      func() error { return s.DeleteTOTP(ctx, "u") },
				"Throttle":        func() error { _, err := s.Throttle(ctx, "u"); return err },
				"SwapThrottle from zero": func() error {
					_, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: time.Now()})
					return err
				},
				"SwapThrottle": func() error {
					_, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{Failures: 1, Last: time.Now()}, storage.ThrottleState{Failures: 2, Last: time.Now()})
					return err
				},
				"SwapThrottle to zero": func() error {
					_, err := s.SwapThrottle(ctx, "u", storage.ThrottleState{Failures: 1, Last: time.Now()}, storage.ThrottleState{})
					return err
				},
				"ResetThrottle": func() error { return s.ResetThrottle(ctx, "u") },
			}
			for name, call := range calls {
				err := call()
				switch {
				case err == nil:
					t.Errorf("%s: no error without tables", name)
				case errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict):
					t.Errorf("%s: %v, want a system error", name, err)
				case !strings.HasPrefix(err.Error(), "sqlstore: "):
					t.Errorf("%s: %q is not prefixed sqlstore:", name, err)
				case bytes.Contains([]byte(err.Error()), marker) || strings.Contains(err.Error(), "5345414c4544"):
					t.Errorf("%s: the error shows the sealed secret: %v", name, err)
				}
			}
		})
	}
}

// Invalid user IDs and times are refused before any statement runs: over a
// closed handle, any call that reached the database would fail with
// "sql: database is closed" instead. PostgreSQL would otherwise answer a
// NUL byte or invalid UTF-8 with a driver error, and SQLite would keep it.
func TestRefusalsBeforeSQL(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.migrated(t)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			storagetest.CheckRefusals(t, s)
		})
	}
}

// The package itself imports no database driver, directly or through
// another package: the application chooses its own. Only the standard
// library and this module may be among its dependencies.
func TestImportsNoDriver(t *testing.T) {
	gobin, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Logf("%s", ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, dep := range deps {
		if dep != "github.com/twofa-go/twofa" && !strings.HasPrefix(dep, "github.com/twofa-go/twofa/") {
			t.Errorf("sqlstore depends on %s", dep)
		}
	}
}

// Open is New and Migrate: the store it returns works at once, a second
// Open of the same database finds nothing to do, and a failure of either
// step is its error.
func TestOpen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			s, err := sqlstore.Open(t.Context(), db, b.dialect)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if ok, err := s.SwapThrottle(t.Context(), "u", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: at}); !ok || err != nil {
				t.Fatalf("a write after Open: %v, %v", ok, err)
			}
			if _, err := sqlstore.Open(t.Context(), db, b.dialect); err != nil {
				t.Fatalf("a second Open: %v", err)
			}
			if st, err := s.Throttle(t.Context(), "u"); err != nil || st.Failures != 1 {
				t.Fatalf("after a second Open: %+v, %v; want the failure kept", st, err)
			}
		})
	}
	db, _ := testdb.SQLite(t)
	if _, err := sqlstore.Open(t.Context(), db, 0); err == nil {
		t.Error("an unknown dialect opened")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := sqlstore.Open(ctx, db, sqlstore.SQLite); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled", err)
	}
	if err := db.PingContext(t.Context()); err != nil {
		t.Errorf("a failed Open closed the database: %v", err)
	}
}

// SQLiteDSN's settings take effect with modernc.org/sqlite.
func TestSQLiteDSN(t *testing.T) {
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "app.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1"} {
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}

// splitStatements returns a migration file's statements, one per call on
// MySQL (whose driver runs one statement per call), and the whole file on
// the others.
func splitStatements(d sqlstore.Dialect, body string) []string {
	if d != sqlstore.MySQL {
		return []string{body}
	}
	var out []string
	for _, s := range strings.Split(body, ";\n") {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			out = append(out, strings.TrimSuffix(s, ";"))
		}
	}
	return out
}
