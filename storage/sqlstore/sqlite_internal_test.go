package sqlstore

// These tests open the handle with a busy timeout of zero, which no
// application should: then any wait for SQLite's write lock inside the
// process fails at once with SQLITE_BUSY instead of sleeping, so that a
// queue that lets two writers meet shows as an error. They need the
// unexported openSQLiteConnector for that DSN and for the writer's count.

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // driver "sqlite", for the tests only
)

func openNoWait(t *testing.T) (*sql.DB, *sqliteConnector) {
	t.Helper()
	db, c, err := openSQLiteConnector(sqliteDSN(filepath.Join(t.TempDir(), "twofa.db"), 0))
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
	return db, c
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
}

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
