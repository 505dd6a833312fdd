// Package sqlcount counts what a *sql.DB sends to its database: statements,
// transactions begun, committed and rolled back. Tests use it to hold the
// number of round trips of one operation to a ceiling, with the real
// driver underneath, so the count is what the database really receives.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// Counts are what was sent since the last Reset.
type Counts struct {
	// Statements are Exec and Query calls, inside a transaction or not
	// (BEGIN, COMMIT and ROLLBACK excluded).
	Statements int64
	Begins     int64
	Commits    int64
	Rollbacks  int64
}

// RoundTrips is every request sent: each statement, each BEGIN, COMMIT
// and ROLLBACK. On a server database each is one round trip.
func (c Counts) RoundTrips() int64 { return c.Statements + c.Begins + c.Commits + c.Rollbacks }

// Counter counts for every connection of the databases it opened.
type Counter struct {
	statements, begins, commits, rollbacks atomic.Int64
}

// Counts returns the counts so far.
func (c *Counter) Counts() Counts {
	return Counts{c.statements.Load(), c.begins.Load(), c.commits.Load(), c.rollbacks.Load()}
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.statements.Store(0)
	c.begins.Store(0)
	c.commits.Store(0)
	c.rollbacks.Store(0)
}

// Open opens a database with the driver registered as driverName and the
// data source name dsn, as sql.Open does, counting everything sent..
func (c *Counter) Open(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, "")
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	var inner driver.Connector = dsnConnector{dsn: dsn, drv: drv}
	if dc, ok := drv.(driver.DriverContext); ok {
		if inner, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(&connector{inner: inner, c: c}), nil
}

// dsnConnector opens connections as sql.Open does for a driver without
// OpenConnector.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (d dsnConnector) Connect(context.Context) (driver.Conn, error) { return d.drv.Open(d.dsn) }
func (d dsnConnector) Driver() driver.Driver                        { return d.drv }

type connector struct {
	inner driver.Connector
	c     *Counter
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := k.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{inner: inner, c: k.c}, nil
}

func (k *connector) Driver() driver.Driver { return k.inner.Driver() }

// conn forwards every optional interface database/sql uses, so that the
// driver underneath behaves as it does unwrapped (pgx, for one, needs its
// CheckNamedValue to see the arguments' own types).
type conn struct {
	inner driver.Conn
	c     *Counter
}

func (x *conn) Prepare(query string) (driver.Stmt, error) {
	return x.PrepareContext(context.Background(), query)
}

func (x *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := x.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = x.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{inner: st, c: x.c}, nil
}

func (x *conn) Close() error { return x.inner.Close() }

func (x *conn) Begin() (driver.Tx, error) {
	return x.BeginTx(context.Background(), driver.TxOptions{})
}

func (x *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	x.c.begins.Add(1)
	var tx driver.Tx
	var err error
	if b, ok := x.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback database/sql itself uses
		tx, err = x.inner.Begin()
	}
	if err != nil {
		return nil, err
	}
	return &txn{inner: tx, c: x.c}, nil
}

func (x *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := x.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares instead, and the statement counts
	}
	x.c.statements.Add(1)
	return e.ExecContext(ctx, query, args)
}

func (x *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := x.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	x.c.statements.Add(1)
	return q.QueryContext(ctx, query, args)
}

func (x *conn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := x.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (x *conn) Ping(ctx context.Context) error {
	if p, ok := x.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (x *conn) ResetSession(ctx context.Context) error {
	if r, ok := x.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (x *conn) IsValid() bool {
	if v, ok := x.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type stmt struct {
	inner driver.Stmt
	c     *Counter
}

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.statements.Add(1)
	//lint:ignore SA1019 the fallback database/sql itself uses
	return s.inner.Exec(args)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.statements.Add(1)
	//lint:ignore SA1019 the fallback database/sql itself uses
	return s.inner.Query(args)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("sqlcount: the driver's statement has no ExecContext")
	}
	s.c.statements.Add(1)
	return e.ExecContext(ctx, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("sqlcount: the driver's statement has no QueryContext")
	}
	s.c.statements.Add(1)
	return q.QueryContext(ctx, args)
}

func (s *stmt) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

type txn struct {
	inner driver.Tx
	c     *Counter
}

func (t *txn) Commit() error {
	t.c.commits.Add(1)
	return t.inner.Commit()
}

func (t *txn) Rollback() error {
	t.c.rollbacks.Add(1)
	return t.inner.Rollback()
}
