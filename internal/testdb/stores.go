package testdb

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// Backend is a kind of store under test. Open returns a fresh, migrated
// store and a function that opens a second handle on the same data, as a
// second application server would (the memory store returns itself).
type Backend struct {
	Name string
	Open func(t testing.TB) (store storage.Store, second func(t testing.TB) storage.Store)
}

// Backends are every store the library ships: memory, SQLite,
// PostgreSQL (skipped without TWOFA_POSTGRES_DSN, failing in CI) and
// MariaDB (skipped without TWOFA_MYSQL_DSN, failing in CI).
var Backends = []Backend{
	{"memory", func(testing.TB) (storage.Store, func(testing.TB) storage.Store) {
		m := memory.New()
		return m, func(testing.TB) storage.Store { return m }
	}},
	{"sqlite", func(t testing.TB) (storage.Store, func(testing.TB) storage.Store) {
		db, path := SQLite(t)
		return Migrated(t, db, sqlstore.SQLite), func(t testing.TB) storage.Store {
			return SQLStore(t, OpenSQLite(t, path), sqlstore.SQLite)
		}
	}},
	{"postgres", func(t testing.TB) (storage.Store, func(testing.TB) storage.Store) {
		db, dsn := Postgres(t)
		return Migrated(t, db, sqlstore.PostgreSQL), func(t testing.TB) storage.Store {
			return SQLStore(t, OpenPostgres(t, dsn), sqlstore.PostgreSQL)
		}
	}},
	{"mariadb", func(t testing.TB) (storage.Store, func(testing.TB) storage.Store) {
		db, dsn := MySQL(t)
		return Migrated(t, db, sqlstore.MySQL), func(t testing.TB) storage.Store {
			return SQLStore(t, OpenMySQL(t, dsn), sqlstore.MySQL)
		}
	}},
}

// ForEach runs f as a subtest once per backend.
func ForEach(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

// SQLStore wraps db in a store, without migrating.
func SQLStore(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handles remembers the *sql.DB behind each store made here, for tests that
// look at the tables themselves.
var handles sync.Map // *sqlstore.Store → *sql.DB

// DBOf returns the database behind a store made by this package, or nil
// (the memory store).
func DBOf(s storage.Store) *sql.DB {
	if db, ok := handles.Load(s); ok {
		return db.(*sql.DB)
	}
	return nil
}

// Migrated wraps db in a store and migrates it.
func Migrated(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s := SQLStore(t, db, d)
	handles.Store(s, db)
	t.Cleanup(func() { handles.Delete(s) })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
