package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SQLiteConns is the pool size (SetMaxOpenConns and SetMaxIdleConns) of a
// handle from [OpenSQLite]. A write waiting for its turn holds one of
// these connections, as database/sql hands a statement a connection
// before it runs, so the pool must be as large as the number of requests
// that may write at once; past that, requests wait in database/sql's
// queue instead, which is no worse. Connections cost three file
// descriptors each and memory only for the pages they cache.
const SQLiteConns = 64

// OpenSQLite opens the SQLite file at path (made if missing; any path
// but an empty one, which is ErrSQLitePath) with the
// driver registered as "sqlite", which is modernc.org/sqlite: the
// application imports it, as with sql.Open. The settings are
// [SQLiteDSN]'s, and the handle queues this process's writers itself
// instead of letting them race for SQLite's write lock, whose losers
// SQLite makes sleep in growing steps:
//
//   - a write outside a transaction (an INSERT, UPDATE or DELETE, as nearly
//     every store method sends) runs at once when no other write is under
//     way. Otherwise it goes to the handle's writer connection, which runs
//     the writes waiting at that moment one after another in a single
//     transaction and commits them with one sync to disk (a group commit).
//     Each call returns once its write is committed, with its own result;
//     if one of them fails, the batch is rolled back and each write runs
//     again alone, so one write's error is never another's.
//   - a transaction, or any other statement that may write, waits for its
//     turn on the same lock and runs on its own connection.
//   - reads (SELECT) run in parallel, each on the snapshot that
//     write-ahead logging gives it.
//   - each connection keeps its reads and writes prepared, so SQLite parses
//     a statement once per connection.
//   - a write that finds SQLite's write lock taken for a moment anyway (a
//     reader re-reading the write-ahead log's index while a commit
//     rewrites it does that) is tried again at once, for up to 100 ms.
//
// The pool holds [SQLiteConns] connections. Several processes, or several
// handles in one process, may open one file: between them SQLite's own
// lock and busy timeout decide, as with sql.Open, and every store method
// stays correct. Close the handle to stop its writer. A goroutine that
// holds a transaction on the handle must not write through the handle
// outside that transaction: the write would wait for the transaction's end.
func OpenSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w: no path", ErrSQLitePath)
	}
	return openSQLite(SQLiteDSN(path))
}

// ErrSQLitePath reports a path that [OpenSQLite] refuses: an empty one.
var ErrSQLitePath = errors.New("sqlstore: not a SQLite file path")

func openSQLite(dsn string) (*sql.DB, error) {
	db, _, err := openSQLiteConnector(dsn)
	return db, err
}

func openSQLiteConnector(dsn string) (*sql.DB, *sqliteConnector, error) {
	// Opened only to find the driver the application registered; sql.Open
	// connects to nothing.
	probe, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open sqlite (import modernc.org/sqlite): %w", err)
	}
	drv := probe.Driver()
	probe.Close()
	c := &sqliteConnector{drv: drv, dsn: dsn, lock: make(chan struct{}, 1),
		reqs: make(chan *writeReq), stop: make(chan struct{}), stopped: make(chan struct{}),
		busyFor: busyRetryFor}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(SQLiteConns)
	db.SetMaxIdleConns(SQLiteConns)
	// The first connection turns on write-ahead logging, which needs the
	// file to itself; done here, before any parallel use.
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	return db, c, nil
}

// maxBatch bounds the writes one group commit takes, so that a flood of
// writes still lets a waiting transaction in between batches.
const maxBatch = 128

// sqliteConnector makes the connections of an [OpenSQLite] handle and owns
// its writer.
type sqliteConnector struct {
	drv driver.Driver
	dsn string
	// lock is held by whoever writes in this handle: the writer during a
	// batch, a transaction from begin to end, or a statement that is
	// neither a plain write nor a read. A channel, so that waiting for it
	// can end with the caller's context.
	lock chan struct{}

	start   sync.Once
	reqs    chan *writeReq
	stop    chan struct{}
	stopped chan struct{}
	close   sync.Once

	// queued counts the writes given to the writer and not yet answered.
	queued atomic.Int64
	// For the tests: handed counts the writes given to the writer,
	// batched those it ran in batches of more than one, busyRetries the
	// steps tried again after SQLITE_BUSY; onBusy, if set before the
	// handle is used, runs before each such retry.
	handed, batched, busyRetries atomic.Int64
	onBusy                       func()
	// busyFor bounds the retries of one step, see retryBusy.
	busyFor time.Duration
}

// writeReq is one write waiting for the writer, and its outcome.
type writeReq struct {
	ctx   context.Context
	query string
	args  []driver.NamedValue
	res   driver.Result
	err   error
	done  chan struct{}
}

var (
	errClosed     = errors.New("sqlstore: sqlite handle closed")
	errWriterLost = errors.New("sqlstore: sqlite writer connection lost")
)

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteInner)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlstore: the driver registered as \"sqlite\" is not modernc.org/sqlite")
	}
	return &sqliteConn{in: inner, c: c}, nil
}

func (c *sqliteConnector) Driver() driver.Driver { return c.drv }

// Close stops the writer; sql.DB.Close calls it.
func (c *sqliteConnector) Close() error {
	c.close.Do(func() {
		close(c.stop)
		c.start.Do(func() { close(c.stopped) }) // never started
		<-c.stopped
	})
	return nil
}

func (c *sqliteConnector) acquire(ctx context.Context) error {
	select {
	case c.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *sqliteConnector) release() { <-c.lock }

// busyRetryFor bounds how long retryBusy tries a step again.
const busyRetryFor = 100 * time.Millisecond

// retryBusy runs step, which its caller runs under the handle's lock and
// which takes SQLite's write lock as it starts (a BEGIN, or a write
// outside a transaction), and runs it again while it fails with
// SQLITE_BUSY, for up to c.busyFor after the first try.
//
// The lock keeps this handle's writers from meeting, but SQLite itself
// takes the write lock for a moment outside any write: a connection that
// reads the wal-index header while a commit rewrites it gets two copies
// that differ, and takes the write lock to read the header again
// (walIndexReadHdr in SQLite's wal.c). A write that comes just then, as
// the next one in the queue does, meets that lock and gets SQLITE_BUSY at
// once when the busy handler does not wait (busy_timeout 0, or a call
// SQLite runs without it). Nothing was written: the step failed taking
// the lock, so running it again is safe. A busy handler that waited, for
// another process's write, has used the time already: an attempt that
// took longer than busyFor is not retried, so the wait stays the busy
// timeout's.
func retryBusy[T any](ctx context.Context, c *sqliteConnector, step func() (T, error)) (T, error) {
	start := time.Now()
	pause := 10 * time.Microsecond
	for {
		v, err := step()
		if !isBusy(err) || time.Since(start) > c.busyFor || ctx.Err() != nil {
			return v, err
		}
		c.busyRetries.Add(1)
		if c.onBusy != nil {
			c.onBusy()
		}
		// The reader holds the lock for a few instructions: yield first,
		// then wait a little longer each time.
		if pause < time.Millisecond {
			runtime.Gosched()
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		pause = min(2*pause, time.Millisecond)
	}
}

// isBusy reports SQLITE_BUSY in any of its forms from modernc.org/sqlite,
// whose errors carry the result code.
func isBusy(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 5 // SQLITE_BUSY
}

// oneStatement reports whether query holds a single statement, so that a
// step that failed at its start did nothing and may run again: with
// several, the first may have committed before a later one failed. A ';'
// inside a literal counts too, which only costs that write its retry.
func oneStatement(query string) bool {
	return !strings.Contains(strings.TrimRight(query, " \t\r\n;"), ";")
}

// write hands a write to the writer and waits for its commit.
func (c *sqliteConnector) write(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.start.Do(func() { go c.writer() })
	c.handed.Add(1)
	c.queued.Add(1)
	defer c.queued.Add(-1)
	// The writer may run the statement after this call has given up; it
	// must not read memory the caller reuses.
	own := make([]driver.NamedValue, len(args))
	for i, a := range args {
		if b, ok := a.Value.([]byte); ok {
			a.Value = append([]byte(nil), b...)
		}
		own[i] = a
	}
	r := &writeReq{ctx: ctx, query: query, args: own, done: make(chan struct{})}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stop:
		return nil, errClosed
	}
	select {
	case <-r.done:
		if errors.Is(r.err, driver.ErrBadConn) {
			// database/sql would run the write again on another
			// connection, but a batch that failed at its commit may have
			// been committed: the caller decides, and denies.
			return nil, errWriterLost
		}
		return r.res, r.err
	case <-ctx.Done():
		// The write may still commit: like any statement cut off by its
		// context, its outcome is unknown, and the caller denies.
		return nil, ctx.Err()
	}
}

// writer runs the handle's writes, a batch at a time, until Close.
func (c *sqliteConnector) writer() {
	defer close(c.stopped)
	var w sqliteInner
	var stmts stmtCache
	defer func() {
		if w != nil {
			stmts.close()
			w.Close()
		}
	}()
	for {
		var batch []*writeReq
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case <-c.stop:
			return
		}
		select {
		case c.lock <- struct{}{}:
		case <-c.stop: // a transaction still holds the lock at Close
			for _, r := range batch {
				r.err = errClosed
				close(r.done)
			}
			return
		}
		// Whatever arrived while the lock was taken joins this batch.
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		if w == nil {
			conn, err := c.drv.Open(c.dsn)
			if err == nil {
				w, _ = conn.(sqliteInner) // Connect has checked the driver
			}
			if w == nil {
				for _, r := range batch {
					r.err = fmt.Errorf("sqlstore: open sqlite writer: %w", err)
				}
			}
		}
		if len(batch) > 1 {
			c.batched.Add(int64(len(batch)))
		}
		if w != nil && c.runBatch(w, &stmts, batch) {
			stmts.close() // broken: a new connection for the next batch
			w.Close()
			w = nil
		}
		c.release()
		for _, r := range batch {
			close(r.done)
		}
	}
}

// runBatch runs batch on w, one commit for all, and reports whether w is
// broken. A request whose caller has left is not run.
func (c *sqliteConnector) runBatch(w sqliteInner, stmts *stmtCache, batch []*writeReq) (broken bool) {
	bg := context.Background()
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	alone := func() {
		for _, r := range live {
			r.res, r.err = c.execWrite(bg, stmts, w, r.query, r.args)
			if errors.Is(r.err, driver.ErrBadConn) {
				broken = true
			}
		}
	}
	if len(live) <= 1 {
		alone()
		return broken
	}
	if _, err := retryBusy(bg, c, func() (driver.Result, error) {
		return w.ExecContext(bg, "BEGIN IMMEDIATE", nil)
	}); err != nil {
		for _, r := range live {
			r.err = err
		}
		return errors.Is(err, driver.ErrBadConn)
	}
	for _, r := range live {
		if r.res, r.err = stmts.exec(bg, w, r.query, r.args); r.err != nil {
			// Start over without the batch, so that this write's error
			// stays its own and the others do not depend on it.
			if _, err := w.ExecContext(bg, "ROLLBACK", nil); err != nil {
				for _, r := range live {
					r.res, r.err = nil, err
				}
				return true
			}
			alone()
			return broken
		}
	}
	if _, err := w.ExecContext(bg, "COMMIT", nil); err != nil {
		w.ExecContext(bg, "ROLLBACK", nil) // in case the failed commit left it open
		for _, r := range live {
			r.res, r.err = nil, err
		}
		return errors.Is(err, driver.ErrBadConn)
	}
	return false
}

// execWrite runs a write outside a transaction, under the lock, on conn's
// cached statement; see retryBusy.
func (c *sqliteConnector) execWrite(ctx context.Context, stmts *stmtCache, conn driver.ConnPrepareContext, query string, args []driver.NamedValue) (driver.Result, error) {
	if !oneStatement(query) {
		return stmts.exec(ctx, conn, query, args)
	}
	return retryBusy(ctx, c, func() (driver.Result, error) { return stmts.exec(ctx, conn, query, args) })
}

// sqliteInner is what the handle needs of a modernc.org/sqlite connection.
type sqliteInner interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// maxCached bounds each connection's prepared statements. The store's
// are a few dozen; an application that sends its own statements of
// ever-changing text on the handle only empties the cache now and then.
const maxCached = 256

// stmtCache keeps a connection's prepared reads and writes by their text,
// so that SQLite parses and plans each statement once per connection,
// not at every call: parsing was a quarter of the CPU a login took.
// database/sql hands a connection to one caller at a time and keeps it
// until the caller's rows are closed, so a cached statement is never
// run twice at once; inside a transaction nothing is cached.
type stmtCache map[string]driver.Stmt

func (m *stmtCache) get(ctx context.Context, conn driver.ConnPrepareContext, query string) (driver.Stmt, error) {
	if st, ok := (*m)[query]; ok {
		return st, nil
	}
	st, err := conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if *m == nil || len(*m) >= maxCached {
		m.close()
		*m = make(stmtCache)
	}
	(*m)[query] = st
	return st, nil
}

func (m stmtCache) close() {
	for q, st := range m {
		st.Close()
		delete(m, q)
	}
}

func (m *stmtCache) exec(ctx context.Context, conn driver.ConnPrepareContext, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := m.get(ctx, conn, query)
	if err != nil {
		return nil, err
	}
	if e, ok := st.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("sqlstore: statement cannot run with a context")
}

func (m *stmtCache) query(ctx context.Context, conn driver.ConnPrepareContext, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := m.get(ctx, conn, query)
	if err != nil {
		return nil, err
	}
	if q, ok := st.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errors.New("sqlstore: statement cannot run with a context")
}

// statement kinds, by their first word.
const (
	kindRead  = iota // SELECT: runs in parallel
	kindWrite        // INSERT, UPDATE, DELETE, REPLACE: to the writer
	kindOther        // anything else (DDL, PRAGMA, WITH ...): under the lock
)

func kindOf(query string) int {
	q := strings.TrimLeft(query, " \t\r\n(")
	word, _, _ := strings.Cut(q, " ")
	word, _, _ = strings.Cut(word, "\n")
	word, _, _ = strings.Cut(word, "\t")
	switch strings.ToUpper(word) {
	case "SELECT":
		return kindRead
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		return kindWrite
	}
	return kindOther
}

// sqliteConn is one pooled connection of an [OpenSQLite] handle.
// database/sql uses a connection from one goroutine at a time, so inTx
// needs no lock.
type sqliteConn struct {
	in    sqliteInner
	c     *sqliteConnector
	inTx  bool
	stmts stmtCache
}

func (s *sqliteConn) Prepare(query string) (driver.Stmt, error) {
	return s.PrepareContext(context.Background(), query)
}

func (s *sqliteConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := s.in.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &sqliteStmt{Stmt: st, conn: s, kind: kindOf(query), one: oneStatement(query)}, nil
}

func (s *sqliteConn) Close() error {
	s.stmts.close()
	return s.in.Close()
}

func (s *sqliteConn) Begin() (driver.Tx, error) {
	return s.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx holds the handle's write lock until the transaction ends: with
// _txlock=immediate every transaction takes SQLite's write lock anyway,
// and waiting here, in order, is cheaper than SQLite's sleeps.
func (s *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := s.c.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := retryBusy(ctx, s.c, func() (driver.Tx, error) { return s.in.BeginTx(ctx, opts) })
	if err != nil {
		s.c.release()
		return nil, err
	}
	s.inTx = true
	return &sqliteTx{tx: tx, conn: s}, nil
}

func (s *sqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s.inTx {
		return s.in.ExecContext(ctx, query, args)
	}
	switch kindOf(query) {
	case kindWrite:
		// With no other write under way or queued, waking the writer
		// would only add a hand-over: the write runs here, under the
		// lock. With writes queued it joins them, so that it does not
		// cost a sync of its own between two batches.
		if s.c.queued.Load() == 0 {
			select {
			case s.c.lock <- struct{}{}:
				defer s.c.release()
				return s.c.execWrite(ctx, &s.stmts, s.in, query, args)
			default:
			}
		}
		return s.c.write(ctx, query, args)
	case kindRead:
		return s.stmts.exec(ctx, s.in, query, args)
	}
	if err := s.c.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.c.release()
	if !oneStatement(query) {
		return s.in.ExecContext(ctx, query, args)
	}
	return retryBusy(ctx, s.c, func() (driver.Result, error) { return s.in.ExecContext(ctx, query, args) })
}

func (s *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if s.inTx {
		return s.in.QueryContext(ctx, query, args)
	}
	if kindOf(query) == kindRead {
		return s.stmts.query(ctx, s.in, query, args)
	}
	// A write that returns rows (DELETE ... RETURNING) keeps the lock
	// until its rows are closed.
	if err := s.c.acquire(ctx); err != nil {
		return nil, err
	}
	var rows driver.Rows
	var err error
	if oneStatement(query) {
		rows, err = retryBusy(ctx, s.c, func() (driver.Rows, error) { return s.in.QueryContext(ctx, query, args) })
	} else {
		rows, err = s.in.QueryContext(ctx, query, args)
	}
	if err != nil {
		s.c.release()
		return nil, err
	}
	return &sqliteRows{Rows: rows, release: s.c.release}, nil
}

func (s *sqliteConn) Ping(ctx context.Context) error {
	if p, ok := s.in.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (s *sqliteConn) ResetSession(ctx context.Context) error {
	if r, ok := s.in.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (s *sqliteConn) IsValid() bool {
	if v, ok := s.in.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type sqliteTx struct {
	tx   driver.Tx
	conn *sqliteConn
}

func (t *sqliteTx) Commit() error {
	defer t.end()
	return t.tx.Commit()
}

func (t *sqliteTx) Rollback() error {
	defer t.end()
	return t.tx.Rollback()
}

func (t *sqliteTx) end() {
	if t.conn.inTx {
		t.conn.inTx = false
		t.conn.c.release()
	}
}

// sqliteRows gives the lock back when the rows of a writing query close.
type sqliteRows struct {
	driver.Rows
	release func()
	once    sync.Once
}

func (r *sqliteRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

// sqliteStmt is a prepared statement: run in a transaction as it is, and
// outside one under the lock unless it only reads. It does not go to the
// writer, whose connection did not prepare it.
type sqliteStmt struct {
	driver.Stmt
	conn *sqliteConn
	kind int
	one  bool // a single statement, see retryBusy
}

func (s *sqliteStmt) locked(ctx context.Context) (bool, error) {
	if s.conn.inTx || s.kind == kindRead {
		return false, nil
	}
	return true, s.conn.c.acquire(ctx)
}

func (s *sqliteStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	locked, err := s.locked(ctx)
	if err != nil {
		return nil, err
	}
	if locked {
		defer s.conn.c.release()
	}
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		if locked && s.one {
			return retryBusy(ctx, s.conn.c, func() (driver.Result, error) { return e.ExecContext(ctx, args) })
		}
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("sqlstore: statement cannot run with a context")
}

func (s *sqliteStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	locked, err := s.locked(ctx)
	if err != nil {
		return nil, err
	}
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		if locked {
			s.conn.c.release()
		}
		return nil, errors.New("sqlstore: statement cannot run with a context")
	}
	if !locked {
		return q.QueryContext(ctx, args)
	}
	var rows driver.Rows
	if s.one {
		rows, err = retryBusy(ctx, s.conn.c, func() (driver.Rows, error) { return q.QueryContext(ctx, args) })
	} else {
		rows, err = q.QueryContext(ctx, args)
	}
	if err != nil {
		s.conn.c.release()
		return nil, err
	}
	return &sqliteRows{Rows: rows, release: s.conn.c.release}, nil
}
