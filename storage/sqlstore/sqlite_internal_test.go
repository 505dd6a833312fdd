package sqlstore

// These tests open the handle with a busy timeout of zero, which no
// application should: then any wait for SQLite's write lock inside the
// process fails at once with SQLITE_BUSY instead of sleeping, so that a
// queue that lets two writers meet shows, as an error or as many of the
// handle's retries (see retryBusy). They need the unexported
// openSQLiteConnector for that DSN and for the writer's counts.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite", for the tests only
)

func openNoWait(t *testing.T) (*sql.DB, *sqliteConnector) {
	t.Helper()
	db, c, _ := openNoWaitPath(t)
	return db, c
}

func openNoWaitPath(t *testing.T) (*sql.DB, *sqliteConnector, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twofa.db")
	db, c, err := openSQLiteConnector(sqliteDSN(path, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var timeout int
	if err := db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 0 {
		t.Fatalf("busy_timeout = %d, %v; the test needs 0", timeout, err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	return db, c, path
}

// 32 goroutines writing at once, by compare-and-set as the store does,
// beside transactions, a DELETE ... RETURNING and reads: none gets
// SQLITE_BUSY, every compare-and-set reports its own one row, and no
// increment is lost.
func TestSQLiteWritersQueue(t *testing.T) {
	db, c := openNoWait(t)
	ctx := t.Context()
	const writers, rounds = 32, 40
	for i := range writers {
		if _, err := db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (?, 0)", i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*writers*rounds)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			for n := range rounds {
				res, err := db.ExecContext(ctx, "UPDATE counter SET n = ? WHERE id = ? AND n = ?", n+1, i, n)
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
				if got, _ := res.RowsAffected(); got != 1 {
					errs <- fmt.Errorf("writer %d round %d: %d rows affected, want 1", i, n, got)
					return
				}
				var read int
				if err := db.QueryRowContext(ctx, "SELECT n FROM counter WHERE id = ?", i).Scan(&read); err != nil || read != n+1 {
					errs <- fmt.Errorf("writer %d reads %d, %v after writing %d", i, read, err, n+1)
					return
				}
			}
		})
	}
	// Transactions and a writing query take their turns beside them.
	for i := range 4 {
		wg.Go(func() {
			<-start
			for range rounds / 4 {
				if err := txInsertDelete(ctx, db, 1000+i); err != nil {
					errs <- fmt.Errorf("transaction %d: %w", i, err)
					return
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (?, 7)", 2000+i); err != nil {
					errs <- fmt.Errorf("insert %d: %w", i, err)
					return
				}
				var n int
				if err := db.QueryRowContext(ctx, "DELETE FROM counter WHERE id = ? RETURNING n", 2000+i).Scan(&n); err != nil || n != 7 {
					errs <- fmt.Errorf("delete returning %d: %d, %w", i, n, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var sum, rows int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0), COUNT(*) FROM counter").Scan(&sum, &rows); err != nil {
		t.Fatal(err)
	}
	if sum != writers*rounds || rows != writers {
		t.Errorf("sum %d over %d rows, want %d over %d", sum, rows, writers*rounds, writers)
	}
	if c.batched.Load() == 0 {
		t.Error("no write was committed in a batch of several")
	}
	// A write may meet SQLite's lock held for a moment by a reader (see
	// retryBusy) and is tried again; writers that met each other would
	// meet hundreds of times.
	if n := c.busyRetries.Load(); n > maxReaderHolds {
		t.Errorf("writes met SQLite's write lock %d times, want at most %d", n, maxReaderHolds)
	}
}

// maxReaderHolds bounds the retries TestSQLiteWritersQueue accepts: a
// reader takes the write lock only when it reads the wal-index header
// just as a commit rewrites it, a few times in a run at most.
const maxReaderHolds = 8

func txInsertDelete(ctx context.Context, db *sql.DB, id int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (?, 1)", id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM counter WHERE id = ?", id); err != nil {
		return err
	}
	return tx.Commit()
}

// Writes that wait together are committed together, and one that fails
// fails alone: the others of its batch are committed and report success.
func TestSQLiteBatchErrorStaysOwn(t *testing.T) {
	db, c := openNoWait(t)
	ctx := t.Context()
	// Hold the lock as a write under way would, so that every write below
	// queues for the writer and they meet in one batch.
	if err := c.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := 1
			if i%3 == 0 {
				v = -1 // breaks the CHECK
			}
			_, errs[i] = db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (?, ?)", i, v)
		})
	}
	// Let them queue: the writer holds one and waits for the lock; the
	// rest wait to hand theirs over. Then release.
	waitQueued(t, c, n)
	c.release()
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != (err != nil) {
			t.Errorf("insert %d: %v", i, err)
		}
	}
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM counter").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := n - (n+2)/3; rows != want {
		t.Errorf("%d rows committed, want %d", rows, want)
	}
	// Compare-and-sets in one batch, half of which find their row
	// changed: each reports its own count of rows.
	if err := c.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	handed := int(c.handed.Load())
	affected := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			old := 1 // what the valid inserts wrote
			if i%2 == 1 {
				old = 5 // a stale read
			}
			res, err := db.ExecContext(ctx, "UPDATE counter SET n = 2 WHERE id = ? AND n = ?", i, old)
			if err != nil {
				errs[i] = err
				return
			}
			affected[i], errs[i] = res.RowsAffected()
		})
	}
	waitQueued(t, c, handed+n)
	c.release()
	wg.Wait()
	for i := range n {
		want := int64(1)
		if i%2 == 1 || i%3 == 0 {
			want = 0
		}
		if errs[i] != nil || affected[i] != want {
			t.Errorf("compare-and-set %d: %d rows, %v; want %d", i, affected[i], errs[i], want)
		}
	}
	if c.batched.Load() == 0 {
		t.Error("the writes did not meet in a batch")
	}
}

// waitQueued waits until n writes have gone to the writer.
func waitQueued(t *testing.T, c *sqliteConnector, n int) {
	t.Helper()
	for c.handed.Load() < int64(n) {
		if t.Context().Err() != nil {
			t.Fatal("the writes never queued")
		}
		runtime.Gosched()
	}
}

// holdWriteLock takes SQLite's write lock on the file at path from a
// connection outside the handle, as a reader re-reading a torn wal-index
// header does for a moment, and returns the function that lets it go.
func holdWriteLock(t *testing.T, path string) (letGo func()) {
	t.Helper()
	other, err := sql.Open("sqlite", sqliteDSN(path, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	tx, err := other.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	letGo = func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(letGo)
	return letGo
}

// A step that meets SQLite's write lock held outside the queue for a
// moment gets SQLITE_BUSY at once with busy_timeout 0: each way of
// writing tries again, and succeeds once the lock is let go (here at the
// first retry), instead of failing the write; in the writer, instead of
// failing the whole batch, as TestSQLiteWritersQueue once saw.
func TestSQLiteBusyRetried(t *testing.T) {
	ops := []struct {
		name string
		run  func(ctx context.Context, db *sql.DB, c *sqliteConnector) error
	}{
		{"write", func(ctx context.Context, db *sql.DB, _ *sqliteConnector) error {
			_, err := db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (1, 1)")
			return err
		}},
		{"batch", func(ctx context.Context, db *sql.DB, c *sqliteConnector) error {
			// The handle's lock taken, writes queue for the writer; the
			// writer's BEGIN IMMEDIATE then meets SQLite's lock.
			if err := c.acquire(ctx); err != nil {
				return err
			}
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, errs[i] = db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (?, 1)", i)
				})
			}
			waitQueued(t, c, n)
			c.release()
			wg.Wait()
			if c.batched.Load() == 0 {
				return errors.New("the writes did not meet in a batch")
			}
			return errors.Join(errs...)
		}},
		{"transaction", func(ctx context.Context, db *sql.DB, _ *sqliteConnector) error {
			return txInsertDelete(ctx, db, 1)
		}},
		{"other statement", func(ctx context.Context, db *sql.DB, _ *sqliteConnector) error {
			_, err := db.ExecContext(ctx, "CREATE TABLE more (id INTEGER PRIMARY KEY)")
			return err
		}},
		{"writing query", func(ctx context.Context, db *sql.DB, _ *sqliteConnector) error {
			var n int
			return db.QueryRowContext(ctx, "INSERT INTO counter (id, n) VALUES (1, 3) RETURNING n").Scan(&n)
		}},
		{"prepared write", func(ctx context.Context, db *sql.DB, _ *sqliteConnector) error {
			st, err := db.PrepareContext(ctx, "INSERT INTO counter (id, n) VALUES (?, 1)")
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx, 1)
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			db, c, path := openNoWaitPath(t)
			// Long enough for any load: the lock goes at the first retry.
			c.busyFor = time.Minute
			letGo := holdWriteLock(t, path)
			c.onBusy = letGo
			if err := op.run(t.Context(), db, c); err != nil {
				t.Fatal(err)
			}
			if c.busyRetries.Load() == 0 {
				t.Error("the write never met the held lock")
			}
		})
	}
}

// Retries are bounded: a lock that is not let go, as another process's
// long write, still ends the write with SQLITE_BUSY.
func TestSQLiteBusyRetryBounded(t *testing.T) {
	db, c, path := openNoWaitPath(t)
	holdWriteLock(t, path)
	_, err := db.ExecContext(t.Context(), "INSERT INTO counter (id, n) VALUES (1, 1)")
	if !isBusy(err) {
		t.Fatalf("write under a held lock: %v, want SQLITE_BUSY", err)
	}
	if c.busyRetries.Load() == 0 {
		t.Error("the write was not tried again")
	}
}
