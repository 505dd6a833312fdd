package galera_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// faults sits between database/sql and github.com/go-sql-driver/mysql on
// an application's handle. It counts the Error 1213 each node returns, so
// that a test knows the cluster's certification really refused writes,
// and it can make a statement or a COMMIT lose certification on purpose,
// as Galera does: the write is rolled back, applied on no node, and the
// client gets Error 1213.
type faults struct {
	// deadlocks counts the 1213s the servers returned (not the injected
	// ones), before any retry of the store's.
	deadlocks atomic.Int64

	mu sync.Mutex
	// rules decide the fate of each statement and COMMIT.
	rules []*rule
}

// A rule matches statements that contain match (in a COMMIT: a statement
// of its transaction does) and acts on the next times of them.
type rule struct {
	match  string
	commit bool // act at the transaction's COMMIT, not on the statement
	// lose makes the statement or COMMIT lose certification: not run (a
	// COMMIT: rolled back), Error 1213.
	lose bool
	// lost makes the statement run and then report a lost connection, as
	// a network that fails after the server committed: the client cannot
	// tell whether the write happened.
	lost  bool
	times int // how many more times it acts; < 0: always

	seen atomic.Int64 // statements matched, acted on or not
}

// add installs r and returns it, for its seen count.
func (f *faults) add(r *rule) *rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return r
}

// clear removes every rule.
func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// decide returns the rule that acts on a statement (commit false) or on a
// COMMIT of a transaction that ran stmts, or nil.
func (f *faults) decide(commit bool, stmts ...string) *rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.commit != commit || !containsAny(stmts, r.match) {
			continue
		}
		r.seen.Add(1)
		if r.times == 0 {
			continue
		}
		if r.times > 0 {
			r.times--
		}
		return r
	}
	return nil
}

func containsAny(stmts []string, s string) bool {
	for _, q := range stmts {
		if strings.Contains(q, s) {
			return true
		}
	}
	return false
}

// errCertification is what a node answers a transaction that lost
// certification.
func errCertification() error {
	return &mysql.MySQLError{Number: 1213, SQLState: [5]byte{'4', '0', '0', '0', '1'},
		Message: "Deadlock found when trying to get lock; try restarting transaction (injected)"}
}

// observe counts a 1213 from a server.
func (f *faults) observe(err error) error {
	if deadlock(err) {
		f.deadlocks.Add(1)
	}
	return err
}

// open returns a handle on dsn through f.
func (f *faults) open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(&connector{inner: inner, f: f})
	db.SetMaxIdleConns(64)
	t.Cleanup(func() { db.Close() })
	return db
}

type connector struct {
	inner driver.Connector
	f     *faults
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{inner: inner, f: c.f}, nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

// conn forwards everything to the driver's connection, which implements
// every optional interface wrapped here.
type conn struct {
	inner driver.Conn
	f     *faults
	tx    []string // the statements of the open transaction
	inTx  bool
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) Close() error { return c.inner.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, c.f.observe(err)
	}
	c.tx, c.inTx = nil, true
	return &txn{inner: tx, c: c}, nil
}

// statement runs one statement through the rules; a query (exec false)
// is never reported lost after it ran, which would leak its rows.
func (c *conn) statement(query string, exec bool, run func() error) error {
	if c.inTx {
		c.tx = append(c.tx, query)
	}
	r := c.f.decide(false, query)
	if r != nil && r.lose {
		return errCertification()
	}
	err := c.f.observe(run())
	if r != nil && r.lost && exec && err == nil {
		return mysql.ErrInvalidConn
	}
	return err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	var res driver.Result
	err := c.statement(query, true, func() (err error) {
		res, err = c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
		return err
	})
	return res, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	var rows driver.Rows
	err := c.statement(query, false, func() (err error) {
		rows, err = c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
		return err
	})
	return rows, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, c.f.observe(err)
	}
	return &stmt{inner: st, c: c, query: query}, nil
}

func (c *conn) Ping(ctx context.Context) error { return c.inner.(driver.Pinger).Ping(ctx) }

func (c *conn) ResetSession(ctx context.Context) error {
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *conn) IsValid() bool { return c.inner.(driver.Validator).IsValid() }

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.inner.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// txn applies the COMMIT rules.
type txn struct {
	inner driver.Tx
	c     *conn
}

func (t *txn) Commit() error {
	stmts := t.c.tx
	t.c.tx, t.c.inTx = nil, false
	if r := t.c.f.decide(true, stmts...); r != nil && r.lose {
		// Certification failed: the node rolls the transaction back.
		t.inner.Rollback()
		return errCertification()
	} else if r != nil && r.lost {
		if err := t.inner.Commit(); err != nil {
			return t.c.f.observe(err)
		}
		return mysql.ErrInvalidConn
	}
	return t.c.f.observe(t.inner.Commit())
}

func (t *txn) Rollback() error {
	t.c.tx, t.c.inTx = nil, false
	return t.inner.Rollback()
}

// stmt is a prepared statement (the binary protocol), which the store
// uses when the DSN does not interpolate parameters.
type stmt struct {
	inner driver.Stmt
	c     *conn
	query string
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, errors.New("faults: Exec without a context")
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errors.New("faults: Query without a context")
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	var res driver.Result
	err := s.c.statement(s.query, true, func() (err error) {
		res, err = s.inner.(driver.StmtExecContext).ExecContext(ctx, args)
		return err
	})
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	var rows driver.Rows
	err := s.c.statement(s.query, false, func() (err error) {
		rows, err = s.inner.(driver.StmtQueryContext).QueryContext(ctx, args)
		return err
	})
	return rows, err
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
