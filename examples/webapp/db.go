package main

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"

	"github.com/go-sql-driver/mysql"
)

// appDB is the application's database. Its statements are written once,
// with PostgreSQL's $1 parameters, which SQLite reads too; on MariaDB,
// which knows only ?, each statement is rewritten (bind).
type appDB struct {
	*sql.DB
	mysql bool
}

var (
	dollar            = regexp.MustCompile(`\$([0-9]+)`)
	onConflictNothing = regexp.MustCompile(`\s*ON CONFLICT\s*\([^)]*\)\s*DO NOTHING`)
)

// bind rewrites q and its arguments for MariaDB: each $n becomes a ? with
// the n-th argument in its place (a $n used twice is passed twice), and ON
// CONFLICT (...) DO NOTHING goes: the insert's duplicate key error then
// counts as no row inserted (see noRows). INSERT IGNORE would do the same
// but also turn other errors into warnings.
func (d appDB) bind(q string, args []any) (string, []any) {
	if !d.mysql {
		return q, args
	}
	var out []any
	q = dollar.ReplaceAllStringFunc(q, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		if n >= 1 && n <= len(args) {
			out = append(out, args[n-1])
		}
		return "?"
	})
	return onConflictNothing.ReplaceAllString(q, ""), out
}

// noRows is the result of an insert MariaDB refused as a duplicate key, as
// ON CONFLICT DO NOTHING reports one on the others: no row.
type noRows struct{}

func (noRows) LastInsertId() (int64, error) { return 0, errors.New("no row inserted") }
func (noRows) RowsAffected() (int64, error) { return 0, nil }

func duplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062 // ER_DUP_ENTRY
}

func (d appDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q, args = d.bind(q, args)
	res, err := d.DB.ExecContext(ctx, q, args...)
	if d.mysql && duplicate(err) {
		return noRows{}, nil
	}
	return res, err
}

func (d appDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q, args = d.bind(q, args)
	return d.DB.QueryContext(ctx, q, args...)
}

func (d appDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q, args = d.bind(q, args)
	return d.DB.QueryRowContext(ctx, q, args...)
}

func (d appDB) QueryRow(q string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), q, args...)
}

// appTx is a transaction of appDB, whose statements are rewritten alike.
type appTx struct {
	*sql.Tx
	db appDB
}

func (d appDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (appTx, error) {
	tx, err := d.DB.BeginTx(ctx, opts)
	return appTx{Tx: tx, db: d}, err
}

func (t appTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q, args = t.db.bind(q, args)
	res, err := t.Tx.ExecContext(ctx, q, args...)
	if t.db.mysql && duplicate(err) {
		return noRows{}, nil
	}
	return res, err
}

func (t appTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q, args = t.db.bind(q, args)
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// mysqlSchema is the application's tables on MariaDB: every key binary,
// compared byte for byte (MariaDB's default collation ignores case and
// trailing spaces), and each index made with its table.
var mysqlSchema = []string{
	`CREATE TABLE IF NOT EXISTS app_users (
		id            VARBINARY(64)  NOT NULL PRIMARY KEY,
		email         VARBINARY(320) NOT NULL,
		password_hash VARBINARY(255) NOT NULL,
		is_admin      INTEGER NOT NULL DEFAULT 0,
		created       BIGINT  NOT NULL,
		UNIQUE KEY app_users_email (email)
	) ENGINE = InnoDB`,
	`CREATE TABLE IF NOT EXISTS app_sessions (
		id_hash VARBINARY(255) NOT NULL PRIMARY KEY,
		user_id VARBINARY(64)  NOT NULL,
		created BIGINT NOT NULL,
		expires BIGINT NOT NULL,
		KEY app_sessions_expires (expires),
		FOREIGN KEY (user_id) REFERENCES app_users (id) ON DELETE CASCADE
	) ENGINE = InnoDB`,
	`CREATE TABLE IF NOT EXISTS app_session_renewals (
		old_hash VARBINARY(255) NOT NULL PRIMARY KEY,
		new_hash VARBINARY(255) NOT NULL,
		until    BIGINT NOT NULL,
		KEY app_session_renewals_new (new_hash)
	) ENGINE = InnoDB`,
	`CREATE TABLE IF NOT EXISTS app_secrets (
		name  VARBINARY(255) NOT NULL PRIMARY KEY,
		value VARBINARY(255) NOT NULL
	) ENGINE = InnoDB`,
}
