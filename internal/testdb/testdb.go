// Package testdb opens real databases for tests: a fresh SQLite file, or a
// fresh schema in the PostgreSQL server named by TWOFA_POSTGRES_DSN.
//
// It imports the database drivers so that the library's own packages need
// not; only tests import it.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "TWOFA_POSTGRES_DSN"

// SQLiteDSN returns the DSN used for a SQLite file at path: WAL, a busy
// timeout and immediate transactions, which hold 50 racing writers.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// SQLite opens a new SQLite database in a temporary directory and returns it
// with the file's path. It is closed when the test ends.
func SQLite(t testing.TB) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twofa.db")
	return OpenSQLite(t, path), path
}

// OpenSQLite opens the SQLite file at path, closed when the test ends.
func OpenSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", SQLiteDSN(path))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresDSN returns the server's DSN. Without one the test is skipped on a
// developer's machine, and fails when CI=true: CI must run every backend.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must test PostgreSQL", PostgresEnv)
		}
		t.Skipf("%s is not set; skipping PostgreSQL", PostgresEnv)
	}
	return dsn
}

// Postgres creates a schema of its own in the PostgreSQL server and returns a
// handle whose connections use it, so tests never see each other's rows,
// with the DSN that opens more handles on the same schema (a second
// application server). The schema is dropped when the test ends.
func Postgres(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := PostgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [8]byte
	rand.Read(b[:])
	schema := "twofa_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return OpenPostgres(t, u.String()), u.String()
}

// OpenPostgres opens a handle on dsn, closed when the test ends.
func OpenPostgres(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	// Racing tests run dozens of goroutines; without idle connections each
	// would dial a new backend.
	db.SetMaxIdleConns(64)
	t.Cleanup(func() { db.Close() })
	return db
}

// NeedTool returns the path of an external program a test needs (pdftoppm,
// zbarimg, ...). Like PostgreSQL, a missing one skips the test on a
// developer's machine and fails it when CI=true: .ci/run installs them.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found on PATH; CI must install it (.ci/run)", name)
		}
		t.Skipf("%s not found on PATH", name)
	}
	return p
}
