package sqlstore_test

import (
	"database/sql"
	"encoding/base32"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/storage/storagetest"
	"github.com/twofa-go/twofa/totp"
)

func openSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The whole conformance suite, races included, on a handle from
// OpenSQLite, whose writes take another path than sql.Open's.
func TestOpenSQLiteConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlstore.Open(t.Context(), openSQLite(t, filepath.Join(t.TempDir(), "twofa.db")), sqlstore.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Every connection of the pool has the settings, not only the first.
func TestOpenSQLiteSettings(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "app.db"))
	if got := db.Stats().MaxOpenConnections; got != sqlstore.SQLiteConns {
		t.Errorf("MaxOpenConnections = %d, want %d", got, sqlstore.SQLiteConns)
	}
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 3 {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		// synchronous 2 is FULL.
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": "5000", "foreign_keys": "1"} {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
				t.Errorf("connection %d: PRAGMA %s = %q, %v; want %q", i, pragma, got, err, want)
			}
		}
	}
}

// Two handles on one file stand for two processes: between them only
// SQLite's lock decides. 50 logins with one app code, and 50 with one
// backup code, spread over both: exactly one of each passes.
func TestOpenSQLiteTwoProcessesSingleUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twofa.db")
	ring := fake.Ring(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var services []*twofa.Service
	for range 2 {
		store, err := sqlstore.Open(t.Context(), openSQLite(t, path), sqlstore.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		tf, err := twofa.New(twofa.Config{Issuer: "X", Store: store, Keys: ring,
			Now: func() time.Time { return now }, Backup: backup.Config{Hash: fake.FastHash}})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, tf)
	}
	ctx := t.Context()
	enr, err := services[0].TOTP.Begin(ctx, "u", "u@example.com", "s")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	code := func() string {
		c, _ := totp.GenerateCode(enr.Algorithm, raw, enr.Digits, uint64(now.Unix()/30))
		return c
	}
	if err := services[1].TOTP.Confirm(ctx, "u", "s", code()); err != nil {
		t.Fatal(err)
	}
	codes, err := services[0].Backup.Generate(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)

	for _, tc := range []struct{ name, code string }{{"app code", code()}, {"backup code", codes[0]}} {
		t.Run(tc.name, func(t *testing.T) {
			const racers = 50
			var passed atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range racers {
				wg.Go(func() {
					<-start
					_, err := services[i%2].Verify(ctx, "u", "login", tc.code)
					var throttled *twofa.ThrottledError
					switch {
					case err == nil:
						passed.Add(1)
					case !errors.Is(err, twofa.ErrInvalidCode) && !errors.As(err, &throttled):
						t.Errorf("racer %d: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := passed.Load(); n != 1 {
				t.Errorf("%d of %d logins passed with one %s, want 1", n, racers, tc.name)
			}
			if err := services[0].Unlock(ctx, "u"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Close stops the writer: a write afterwards fails at once instead of
// waiting for a writer that is gone.
func TestOpenSQLiteClose(t *testing.T) {
	db, err := sqlstore.OpenSQLite(filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO t VALUES (2)"); err == nil {
		t.Error("a write on a closed handle succeeded")
	}
}

// Every path names that very file, with the handle's settings: a "?" or
// "#" in it cannot end the name and carry settings of its own (here,
// synchronous OFF), nor a "%" be read as an escape. An empty path is
// refused.
func TestOpenSQLitePath(t *testing.T) {
	if db, err := sqlstore.OpenSQLite(""); !errors.Is(err, sqlstore.ErrSQLitePath) || db != nil {
		t.Errorf("OpenSQLite(\"\") = %v, %v; want ErrSQLitePath", db, err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.db?_pragma=synchronous(OFF)", "b.db#x", "c%41.db", "d e.db"} {
		db := openSQLite(t, filepath.Join(dir, name))
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (x)"); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		var sync string
		if err := db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
			t.Errorf("%q: PRAGMA synchronous = %q, %v; want 2 (FULL)", name, sync, err)
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%q: the file is not where the path says: %v", name, err)
		}
	}
}
