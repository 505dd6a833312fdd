package sqlstore_test

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/storage/storagetest"
)

var ctx = context.Background()

func newSQLite(t *testing.T) storage.Store {
	db, _ := testdb.SQLite(t)
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func newPostgres(t *testing.T) storage.Store {
	db, _ := testdb.Postgres(t)
	s, err := sqlstore.New(db, sqlstore.PostgreSQL)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func TestSQLite(t *testing.T) { storagetest.Run(t, newSQLite) }

func TestPostgreSQL(t *testing.T) {
	testdb.PostgresDSN(t) // skip, or fail in CI, before the subtests
	storagetest.Run(t, newPostgres)
}

func TestMigrateTwice(t *testing.T) {
	db, _ := testdb.SQLite(t)
	s, _ := sqlstore.New(db, sqlstore.SQLite)
	for i := range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM twofa_schema_migrations").Scan(&n); err != nil || n == 0 {
		t.Fatalf("recorded migrations: %d, %v", n, err)
	}
	entries, _ := os.ReadDir("migrations/sqlite")
	if n != len(entries) {
		t.Fatalf("%d migrations recorded, %d embedded", n, len(entries))
	}
}

// Several servers starting at once all migrate without error.
func TestMigrateConcurrentPostgres(t *testing.T) {
	_, dsn := testdb.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		db := testdb.OpenPostgres(t, dsn)
		wg.Go(func() {
			s, _ := sqlstore.New(db, sqlstore.PostgreSQL)
			errs <- s.Migrate(ctx)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
}

// Nothing is created until Migrate is called.
func TestNewTouchesNothing(t *testing.T) {
	db, _ := testdb.SQLite(t)
	if _, err := sqlstore.New(db, sqlstore.SQLite); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Fatalf("New created %d schema objects (%v)", n, err)
	}
	if _, err := sqlstore.New(nil, sqlstore.SQLite); err == nil {
		t.Fatal("nil db accepted")
	}
	if _, err := sqlstore.New(db, sqlstore.Dialect{}); err == nil {
		t.Fatal("zero dialect accepted")
	}
}

// The package itself imports no database driver: the application chooses.
func TestImportsNoDriver(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, "sqlite") || strings.Contains(path, "pgx") || strings.Contains(path, "lib/pq") || strings.Contains(path, "mysql") {
				t.Errorf("%s imports driver %s", f, path)
			}
		}
	}
}
