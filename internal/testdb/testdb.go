// Package testdb opens real databases for tests: a fresh SQLite file, a
// fresh schema in the PostgreSQL server named by TWOFA_POSTGRES_DSN, or a
// fresh database in the MariaDB (or MySQL) server named by
// TWOFA_MYSQL_DSN.
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

	"github.com/go-sql-driver/mysql"   // driver "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/twofa-go/twofa/storage/sqlstore"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "TWOFA_POSTGRES_DSN"

// MySQLEnv names the environment variable holding the DSN of a MariaDB or
// MySQL server, in the form of github.com/go-sql-driver/mysql
// (user:password@tcp(127.0.0.1:3306)/dbname). The user must be allowed to
// create and drop databases: each test gets one of its own.
const MySQLEnv = "TWOFA_MYSQL_DSN"

// SQLiteDSN returns the DSN used for a SQLite file at path: the store's
// own (sqlstore.SQLiteDSN), on a handle of sql.Open, as an application that
// does not use sqlstore.OpenSQLite has.
func SQLiteDSN(path string) string {
	return sqlstore.SQLiteDSN(path)
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

// MySQLDSN returns the MariaDB server's DSN. Without one the test is
// skipped on a developer's machine, and fails when CI=true.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(MySQLEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must test MariaDB", MySQLEnv)
		}
		t.Skipf("%s is not set; skipping MariaDB", MySQLEnv)
	}
	return dsn
}

// MySQL creates a database of its own in the MariaDB server and returns a
// handle on it, with the DSN (completed by sqlstore.MySQLDSN) that opens
// more handles on the same database (a second application server). The
// database is dropped when the test ends.
func MySQL(t testing.TB) (*sql.DB, string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(MySQLDSN(t))
	if err != nil {
		t.Fatalf("parse %s: %v", MySQLEnv, err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [8]byte
	rand.Read(b[:])
	name := "twofa_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	cfg.DBName = name
	dsn, err := sqlstore.MySQLDSN(cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	return OpenMySQL(t, dsn), dsn
}

// OpenMySQL opens a handle on dsn, closed when the test ends.
func OpenMySQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	// As for PostgreSQL: racing tests would otherwise dial a connection
	// per goroutine, and close it again.
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
