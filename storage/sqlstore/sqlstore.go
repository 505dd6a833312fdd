// Package sqlstore keeps twofa's state in the application's own SQL
// database through [database/sql], on SQLite, PostgreSQL, or MariaDB and
// MySQL.
//
// Which engine to pick, what each guarantees for single use and how to
// size its pool: docs/databases.md in the repository.
//
// The package imports no database driver: the application opens the
// database with the driver it already uses (for SQLite, [OpenSQLite] opens
// it with the driver the application imports) and hands over the *sql.DB,
// which it keeps owning (a Store never closes it).
//
// # SQLite
//
// With the pure-Go driver modernc.org/sqlite (driver name "sqlite"), opened
// with [OpenSQLite]:
//
//	import _ "modernc.org/sqlite"
//
//	db, err := sqlstore.OpenSQLite("app.db")
//	if err != nil { ... }
//	store, err := sqlstore.Open(ctx, db, sqlstore.SQLite)
//	if err != nil { ... }
//
// [Open] is [New] and [Store.Migrate] in one call, for an application that
// brings its schema up to date at start-up.
//
// SQLite lets one transaction write at a time. A *sql.DB from sql.Open
// with [SQLiteDSN] is correct under load, but its connections race for
// that lock, and the losers sleep in SQLite's busy handler in growing
// steps of up to 100 ms: with 32 logins at once, one in a hundred took
// seconds and some reached the 5-second busy timeout, which denies the
// login (BENCHMARKS.md). The handle from OpenSQLite queues the process's
// writes instead, and commits the writes that wait together as one
// transaction: see OpenSQLite for how, and for its pool of [SQLiteConns]
// connections. Keep the pool at least as large as the number of requests
// that may write at once; each connection costs three file descriptors.
// Open one handle per file in a process: the writers of two handles race
// each other as two processes' do.
//
// Durability. Every connection runs in write-ahead-log mode (readers never
// wait for the writer) with synchronous=FULL: a commit returns once the
// log is synced to disk. With synchronous=NORMAL, commits would skip that
// sync and only checkpoints would sync; a crash of the application loses
// nothing, but a power loss or an operating-system crash may roll back
// the last commits. For a 2FA store a rolled-back commit is a used code
// made usable again: a backup code for good, an e-mailed code until it
// expires, an app code while its time step is still accepted (about a
// minute), and failed attempts uncounted. A library whose promise is
// single use keeps FULL, as PostgreSQL's default synchronous_commit=on
// does; the group commit is what makes FULL cheap under load, as one sync
// covers every write of a batch.
//
// Several processes may share one file; between them SQLite's lock and
// the busy timeout of 5 s decide, and single use holds as within one
// process. For several application servers, use PostgreSQL.
//
// # PostgreSQL
//
// With github.com/jackc/pgx/v5/stdlib (driver name "pgx"). This is how
// several application servers share one state:
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//
//	db, err := sql.Open("pgx", "postgres://app@db.internal/app?sslmode=verify-full&connect_timeout=5")
//	if err != nil { ... }
//	db.SetMaxOpenConns(40)                 // times the servers, below max_connections (100 by default)
//	db.SetMaxIdleConns(40)                 // a login reuses a connection instead of starting a server process
//	db.SetConnMaxLifetime(time.Hour)       // connections move to a new primary after a failover
//	db.SetConnMaxIdleTime(5 * time.Minute) // and the pool shrinks after a burst
//	store, err := sqlstore.Open(ctx, db, sqlstore.PostgreSQL)
//	if err != nil { ... }
//
// Pool: database/sql keeps only 2 idle connections by default, so under
// load every other query would open a connection, and on PostgreSQL a
// server process (the example application logged users in three times as
// fast with 40 kept). A restart of the server needs no restart of the
// application: while it is down every call denies with an error, never as
// "no method"; then database/sql drops the dead connections and dials new
// ones. A connection that died in a restart shorter than a second may fail
// the one call it is handed to (pgx pings only connections idle for more
// than a second): that login is denied and may be retried, as a code is
// never accepted twice. A commit whose reply was lost denies too, and its
// code stays used. connect_timeout bounds the wait for a server that does
// not answer (TestPostgresRestart).
//
// # MySQL and MariaDB
//
// With github.com/go-sql-driver/mysql (driver name "mysql"), on MariaDB
// 10.6 or later (tested on 10.11), alone or as a Galera cluster, or MySQL
// 8.0 or later.
// [MySQLDSN] adds to the application's DSN what the store needs:
//
//	import _ "github.com/go-sql-driver/mysql"
//
//	dsn, err := sqlstore.MySQLDSN("app:secret@tcp(db.internal:3306)/app")
//	if err != nil { ... }
//	db, err := sql.Open("mysql", dsn)
//	if err != nil { ... }
//	db.SetMaxOpenConns(50)                 // below the server's max_connections, shared by every server
//	db.SetMaxIdleConns(50)                 // a login reuses a connection instead of dialling
//	db.SetConnMaxLifetime(5 * time.Minute) // well below wait_timeout and any proxy's idle timeout
//	store, err := sqlstore.Open(ctx, db, sqlstore.MySQL)
//	if err != nil { ... }
//
// Pool: every application server holds up to SetMaxOpenConns connections,
// so keep their sum below the server's max_connections (151 by default).
// The server closes a connection idle for wait_timeout (8 hours by
// default, often less behind a proxy or a cloud load balancer); a
// SetConnMaxLifetime below it retires connections before the server
// does, instead of handing a dead one to a login.
//
// What the store relies on, and [Store.Migrate] checks, failing with
// [ErrMySQLSettings]: clientFoundRows=true (an UPDATE counts the rows it
// matched, as on the other engines: a touch that keeps a time is not "not
// found"), and a strict sql_mode (a value too long for its column is an
// error, not cut short). Every key and compared column is binary
// (VARBINARY or BLOB): the default collations of MySQL and MariaDB ignore
// case and accents and pad with spaces, so "alice", "Alice" and "alice "
// would be one user. Binary columns compare byte for byte, as Go and the
// other engines do, whatever the connection's character set.
//
// Single use holds as on the other engines: each claim is one
// conditional UPDATE or DELETE (or a transaction ending in one) that wins
// only if it affected one row and its COMMIT succeeded. ON CONFLICT DO
// NOTHING becomes a plain INSERT whose duplicate key error (1062) counts
// as no row. MySQL has no DELETE ... RETURNING: [Store.TakeCeremony]
// reads the row under a lock and deletes it in one transaction. A
// deadlock (1213), which on a Galera cluster is also the error of a
// transaction that lost certification at COMMIT, means the server rolled
// the statement or transaction back; the store runs it again, a few
// times at most, since nothing of it was applied, and the next run reads
// the rows as they are then: a claim another caller won meanwhile
// reports false. Nothing else is retried: a lock wait timeout (1205), or
// a connection lost before the reply, which may hide a commit, is the
// caller's error, and every caller denies on it. On Galera, add
// wsrep_sync_wait=1 to the DSN so that a read sees what another node
// committed just before.
//
// # Migrations
//
// The schema is created and upgraded by [Store.Migrate] only (which [Open]
// calls), never as a side effect of [New] or of any other method, so that
// the application decides when its database changes: at start-up with
// Open, or from a deploy step with Migrate and then New alone.
// Migrations are embedded, numbered, each applied in its own transaction and
// recorded in the table twofa_schema_migrations. Migrate may run again and
// again, and from several servers at once: on PostgreSQL an advisory lock
// serialises them. Every table is prefixed twofa_.
//
// MySQL's DDL is not transactional, and GET_LOCK and LOCK TABLES do not
// hold across a Galera cluster. There the lock is a row of
// twofa_schema_lock, with a lease another server takes over once a dead
// holder's has run out; each statement of a migration makes one object
// whole (a table with its indexes, a column, an index), and a migration
// that a crash stopped halfway, not recorded, runs again from its first
// statement, finding done what was done (CREATE TABLE IF NOT EXISTS, and
// an existing column or index, errors 1060 and 1061, counted as made).
// Every table has a primary key, which Galera needs.
//
// # Concurrency
//
// Every conditional write is one UPDATE, DELETE or INSERT ... ON CONFLICT
// whose affected-row count says whether it won, so it holds across
// connections and servers without explicit locking (on MySQL, see above).
// Where a change spans rows, as replacing a set of backup codes does, that
// statement comes first
// in a transaction: it locks the user's row, so a concurrent replacement
// waits, then finds the set changed and reports false.
//
// # A verify's statements
//
// A successful check of an app code, a backup code or an e-mailed code
// sends three statements: the read of the user's record, which brings the
// user's throttle state along (a LEFT JOIN); the compare-and-set that
// counts the attempt before the code is checked; and the single-use write
// that accepts the code and clears the count with it
// ([Store.AdvanceTOTPStepAndResetThrottle] and its like). On PostgreSQL
// that write is one statement, a WITH of two UPDATEs, so three round trips
// in all and no transaction; SQLite has no UPDATE inside a WITH, and there
// it is one transaction of two statements, two write transactions in all.
// A user's throttle row is inserted by the first counted attempt and
// then only updated: a success sets it to zero failures rather than
// deleting it, so logins leave no dead rows behind on PostgreSQL, and the
// table holds at most one row per user who ever made an attempt.
// [Store.ResetThrottle], an administrator's unlock, still deletes it.
//
// # Bounds
//
// [Store.PutCeremony] deletes the expired ceremonies of every user (on
// the index on expires_ns) and the user's ceremonies past keep (on the index
// on user_id, expires_ns, id, from migration 0007), so the ceremonies table
// stays near the number of live ceremonies however many are begun and
// abandoned. [Store.AddBrowser] drops the user's browsers past keep, and
// [Store.AppendLog] the user's log entries past keep or older than the
// retention (on twofa_log_user, from migration 0008). All three
// trim in a statement after the insert, not in a transaction around it,
// so that no put waits for another: n puts for one user under way at once
// may leave up to keep+n rows, and the next put trims them.
// [Store.TOTPRecords] reads a walk's batch as one range scan in user ID
// byte order (on PostgreSQL the index of migration 0009), never the
// whole table.
//
// # Input
//
// User IDs, times and text are checked (storage.CheckUserID,
// storage.CheckTime, storage.CheckText) before any statement runs, so that
// SQLite and PostgreSQL answer alike: PostgreSQL would refuse a NUL byte or
// invalid UTF-8 with a driver error, and SQLite would store them. A lookup
// by a key that fails CheckText reports not found without a statement.
// Times are stored as BIGINT Unix nanoseconds on every engine.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Dialect is the SQL flavour of the database behind a [Store].
type Dialect int

const (
	// SQLite is SQLite 3.35 or later (for ON CONFLICT DO NOTHING and DELETE ... RETURNING).
	SQLite Dialect = iota + 1
	// PostgreSQL is PostgreSQL 9.5 or later (for ON CONFLICT DO NOTHING).
	PostgreSQL
	// MySQL is MariaDB 10.6 or later (tested on 10.11), alone or in a
	// Galera cluster, or MySQL 8.0 or later, with the driver
	// github.com/go-sql-driver/mysql and the connection settings of
	// [MySQLDSN]. [Store.Migrate] checks the settings it depends on.
	MySQL
)

// String returns the dialect's name, as in "SQLite".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "SQLite"
	case PostgreSQL:
		return "PostgreSQL"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// migrationDir is the folder of the dialect's migrations in migrationFS.
func (d Dialect) migrationDir() string {
	switch d {
	case PostgreSQL:
		return "migrations/postgres"
	case MySQL:
		return "migrations/mysql"
	}
	return "migrations/sqlite"
}

// offset returns the clause that skips the first ? rows and keeps all
// the rest: SQLite needs a LIMIT before an OFFSET, PostgreSQL does not,
// and MySQL's LIMIT takes no -1 but the largest unsigned 64-bit number.
func (d Dialect) offset() string {
	switch d {
	case PostgreSQL:
		return "OFFSET ?"
	case MySQL:
		return "LIMIT 18446744073709551615 OFFSET ?"
	}
	return "LIMIT -1 OFFSET ?"
}

// skipLocked ends the subquery that picks the rows a trim deletes. On
// PostgreSQL, two trims of one user that lock the same rows in different
// orders deadlock; a trim that skips the rows another one holds never
// waits, and the rows it skips are that one's to delete (or a touch's to
// keep). A trim may then drop a row more than keep asks, never keep more
// for long. SQLite runs one writer at a time and has no row locks.
// MySQL trims differently (trimMySQL).
func (d Dialect) skipLocked() string {
	if d == PostgreSQL {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, ... so that
// every statement is written once. No statement here has a literal question
// mark, in a string or otherwise.
//
// On MySQL it rewrites the two forms of ON CONFLICT the statements use:
// DO NOTHING becomes the comment doNothing, and the INSERT's duplicate key
// error (1062), for a statement with that comment only, zero affected rows
// (dbConn.ExecContext): INSERT IGNORE would also turn a value too long for
// its column into a warning and store it cut short, and ON DUPLICATE KEY
// UPDATE of nothing counts one row with clientFoundRows. DO UPDATE SET c =
// excluded.c is ON DUPLICATE KEY UPDATE c = VALUES(c).
func (d Dialect) rebind(q string) string {
	if d == MySQL {
		q = onConflictNothing.ReplaceAllString(q, " "+doNothing)
		q = onConflictUpdate.ReplaceAllString(q, "ON DUPLICATE KEY UPDATE")
		return excluded.ReplaceAllString(q, "VALUES($1)")
	}
	if d != PostgreSQL {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

var (
	onConflictNothing = regexp.MustCompile(`\s*ON CONFLICT\s*(\([^)]*\))?\s*DO NOTHING`)
	onConflictUpdate  = regexp.MustCompile(`ON CONFLICT\s*\([^)]*\)\s*DO UPDATE SET`)
	excluded          = regexp.MustCompile(`excluded\.(\w+)`)
)

// Store implements [storage.Store] over a *sql.DB. It is safe for concurrent
// use, as *sql.DB is.
type Store struct {
	db dbConn
	d  Dialect
	q  queries
}

var _ storage.Store = (*Store)(nil)

// New returns a store over db, which must be opened with a driver for d. It
// does not touch the database: call [Store.Migrate] before first use.
func New(db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if d != SQLite && d != PostgreSQL && d != MySQL {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v (use sqlstore.SQLite, sqlstore.PostgreSQL or sqlstore.MySQL)", d)
	}
	return &Store{db: dbConn{DB: db, d: d}, d: d, q: newQueries(d)}, nil
}

// Open returns a store over db with its schema brought up to date: [New],
// then [Store.Migrate]. It is what an application that migrates at
// start-up calls; one that migrates from a deploy step calls New alone.
// Like New, it leaves db open, whatever happens.
func Open(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s, err := New(db, d)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SQLiteDSN returns the data source name of the SQLite file at path for
// the driver modernc.org/sqlite: write-ahead logging, synchronous FULL (a
// commit is on disk before it returns, see the package doc), a busy timeout
// of 5 seconds, foreign keys, and transactions that take the write lock
// when they begin, so that concurrent writers wait for each other instead
// of failing with SQLITE_BUSY. Any path names that very file: its "%",
// "?" and "#" are escaped, so none can end the name and carry settings of
// its own.
//
// A *sql.DB opened on it with sql.Open is correct under any load, but its
// connections race for SQLite's one write lock, and SQLite's busy handler
// makes the losers sleep in growing steps (up to 100 ms at a time): under
// many concurrent logins a few wait for seconds. [OpenSQLite] avoids that.
func SQLiteDSN(path string) string {
	return sqliteDSN(path, 5000)
}

// sqlitePath escapes the characters a "file:" URI gives a meaning to in
// a name; SQLite decodes them again.
var sqlitePath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func sqliteDSN(path string, busyMillis int) string {
	return "file:" + sqlitePath.Replace(path) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(" + strconv.Itoa(busyMillis) + ")&_pragma=foreign_keys(1)&_txlock=immediate"
}

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns d's migrations in the order they apply.
func migrations(d Dialect) ([]migration, error) {
	dir := d.migrationDir()
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: migration file %q is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s have one number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock that Migrate holds. Any
// fixed number works as long as nothing else in the database uses it; this
// one is "twofa!" in ASCII.
const migrationLockKey int64 = 0x74776f666121

// Migrate brings the schema up to date: it applies, in order, each embedded
// migration that twofa_schema_migrations does not record yet, each in its
// own transaction. It may be called any number of times, and on PostgreSQL
// from several servers at once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.d)
	if err != nil {
		return err
	}
	if s.d == MySQL {
		return s.migrateMySQL(ctx, ms)
	}
	if err := s.createMigrationTable(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate: create twofa_schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlstore: migrate: %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) createMigrationTable(ctx context.Context) error {
	const create = `CREATE TABLE IF NOT EXISTS twofa_schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at BIGINT  NOT NULL
)`
	if s.d != PostgreSQL {
		// One statement, and SQLite runs one writer at a time.
		_, err := s.db.ExecContext(ctx, create)
		return err
	}
	// Two concurrent CREATE TABLE IF NOT EXISTS can both find no table on
	// PostgreSQL, and the second then fails on the catalog's unique index.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lockMigrations(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return err
	}
	return tx.Commit()
}

// lockMigrations makes tx the only migrating transaction until it ends, so
// that servers starting together do not apply one migration twice.
func (s *Store) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.d == PostgreSQL {
		// Released when the transaction ends, however it ends.
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey)
		return err
	}
	// SQLite lets one transaction write at a time. A write that changes
	// nothing, as the first statement, takes that place before anything is
	// read, so a second Migrate waits (busy_timeout) and then sees what the
	// first recorded, even when the DSN does not ask for _txlock=immediate.
	_, err := tx.ExecContext(ctx, "UPDATE twofa_schema_migrations SET version = version WHERE version < 0")
	return err
}

// apply runs m and records it, unless it is recorded already.
func (s *Store) apply(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	var one int
	err = tx.QueryRowContext(ctx, s.d.rebind("SELECT 1 FROM twofa_schema_migrations WHERE version = ?"), m.version).Scan(&one)
	switch {
	case err == nil:
		return nil // applied before
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO twofa_schema_migrations (version, applied_at) VALUES (?, ?)"), m.version, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return tx.Commit()
}

// queries holds every statement, rebound once for the dialect.
type queries struct {
	totpGet, totpInsert, totpUpdate, totpAdvance, totpExists, totpDelete string
	totpList, totpCount                                                  string
	// totpAdvanceReset is "" where the engine takes no data-modifying
	// CTE: AdvanceTOTPStepAndResetThrottle is then a transaction of
	// totpAdvance and throttleClear.
	totpAdvanceReset string

	backupGet, backupUse, backupUseReset      string
	emailGet, emailConsume, emailConsumeReset string

	throttleGet, throttleNonZero, throttleFromZero, throttleUpdate, throttleDelete, throttleClear string

	ceremonyExpire, ceremonyInsert, ceremonyTrim string
}

// totpColumns are the columns PutTOTP writes, in the order of its
// arguments: every one but user_id, last_step and version.
const totpColumns = `account,
	active_sealed, active_algorithm, active_digits, active_period, active_created_ns, active_binding,
	pending_sealed, pending_algorithm, pending_digits, pending_period, pending_created_ns, pending_binding,
	disabled`

func newQueries(d Dialect) queries {
	return queries{
		totpGet: totpGet(d),
		// last_step takes its default, 0; ON CONFLICT turns a second insert
		// into zero affected rows instead of an error to parse per driver.
		totpInsert: d.rebind(`INSERT INTO twofa_totp (user_id, ` + totpColumns + `, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO NOTHING`),
		// last_step is left out on purpose: only AdvanceTOTPStep writes it.
		totpUpdate: d.rebind(`UPDATE twofa_totp SET account = ?,
			active_sealed = ?, active_algorithm = ?, active_digits = ?, active_period = ?, active_created_ns = ?, active_binding = ?,
			pending_sealed = ?, pending_algorithm = ?, pending_digits = ?, pending_period = ?, pending_created_ns = ?, pending_binding = ?,
			disabled = ?, version = version + 1
			WHERE user_id = ? AND version = ?`),
		totpAdvance:      d.rebind(`UPDATE twofa_totp SET last_step = ? WHERE user_id = ? AND last_step < ?`),
		totpExists:       d.rebind(`SELECT 1 FROM twofa_totp WHERE user_id = ?`),
		totpDelete:       d.rebind(`DELETE FROM twofa_totp WHERE user_id = ?`),
		totpList:         totpList(d),
		totpCount:        `SELECT COUNT(*) FROM twofa_totp`,
		totpAdvanceReset: totpAdvanceReset(d),

		backupGet:         backupGet(d),
		backupUse:         d.rebind(backupUse),
		backupUseReset:    backupUseReset(d),
		emailGet:          emailGet(d),
		emailConsume:      d.rebind(emailConsume),
		emailConsumeReset: emailConsumeReset(d),

		throttleGet: d.rebind(`SELECT failures, last_ns FROM twofa_throttle WHERE user_id = ?`),
		throttleNonZero: d.rebind(`SELECT 1 FROM twofa_throttle WHERE user_id = ?
			AND (failures <> 0 OR last_ns <> 0)`),
		throttleFromZero: throttleFromZero(d),
		throttleUpdate: d.rebind(`UPDATE twofa_throttle SET failures = ?, last_ns = ?
			WHERE user_id = ? AND failures = ? AND last_ns = ?`),
		throttleDelete: d.rebind(`DELETE FROM twofa_throttle WHERE user_id = ?`),
		throttleClear:  d.rebind(throttleClear),

		ceremonyExpire: ceremonyExpire(d),
		ceremonyInsert: d.rebind(`INSERT INTO twofa_webauthn_ceremonies (id, user_id, kind, data, expires_ns) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`),
		ceremonyTrim: ceremonyTrim(d),
	}
}

// totpGet reads a user's record and, in the same statement, the user's
// throttle state, which a verify needs next: no row there is the zero
// state.
func totpGet(d Dialect) string {
	switch d {
	case SQLite, PostgreSQL, MySQL:
		return d.rebind(`SELECT ` + totpColumns + `, last_step, version,
			COALESCE(h.failures, 0), COALESCE(h.last_ns, 0)
			FROM twofa_totp t LEFT JOIN twofa_throttle h ON h.user_id = t.user_id
			WHERE t.user_id = ?`)
	}
	panic("sqlstore: no totpGet for " + d.String())
}

// throttleClear sets a user's throttle state to zero and keeps the row:
// a login clears it every time, and an UPDATE of the one row, unlike a
// DELETE and the INSERT of the next attempt, leaves no dead row behind on
// PostgreSQL and no index entry to remove and add again.
const throttleClear = `UPDATE twofa_throttle SET failures = 0, last_ns = 0 WHERE user_id = ?`

// throttleFromZero counts an attempt from the zero state, which is no
// row or a row of zeros: it inserts the row, or updates a row of zeros;
// a row in any other state is left as it is, and no row affected says
// the swap lost. The primary key lets one of several concurrent inserts
// in, and the others then find its row not zero.
func throttleFromZero(d Dialect) string {
	switch d {
	case SQLite, PostgreSQL:
		return d.rebind(`INSERT INTO twofa_throttle (user_id, failures, last_ns) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET failures = excluded.failures, last_ns = excluded.last_ns
			WHERE twofa_throttle.failures = 0 AND twofa_throttle.last_ns = 0`)
	case MySQL:
		// No conditional ON DUPLICATE KEY UPDATE: whether its assignments
		// see each other's new values depends on the server's sql_mode.
		// swapFromZeroMySQL sends this, then an INSERT when no row
		// changed.
		return `UPDATE twofa_throttle SET failures = ?, last_ns = ? WHERE user_id = ? AND failures = 0 AND last_ns = 0`
	}
	panic("sqlstore: no throttleFromZero for " + d.String())
}

// totpAdvanceReset is AdvanceTOTPStep and, if the step advanced, the
// clearing of the user's throttle state, as one statement and so one
// round trip and one commit: the second UPDATE sees the first's RETURNING
// and clears nothing when it advanced nothing. The statement also tells
// whether the record exists, from the snapshot it started with, for the
// ErrNotFound of a step that did not advance. "" for SQLite, which has no
// UPDATE in a WITH: there it is a transaction of two statements.
func totpAdvanceReset(d Dialect) string {
	switch d {
	case PostgreSQL:
		return `WITH adv AS (
				UPDATE twofa_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1 RETURNING user_id
			), clr AS (
				UPDATE twofa_throttle SET failures = 0, last_ns = 0 WHERE user_id = (SELECT user_id FROM adv)
			)
			SELECT (SELECT COUNT(*) FROM adv), EXISTS (SELECT 1 FROM twofa_totp WHERE user_id = $2)`
	case MySQL:
		// A multi-table UPDATE (see claimAndReset): the totp row is the
		// claim, and the throttle row of the same user changes with it.
		return `UPDATE twofa_totp t LEFT JOIN twofa_throttle h ON h.user_id = t.user_id
			SET t.last_step = ?, h.failures = 0, h.last_ns = 0
			WHERE t.user_id = ? AND t.last_step < ?`
	case SQLite:
		return ""
	}
	panic("sqlstore: no totpAdvanceReset for " + d.String())
}

// totpList reads the next batch of a walk over twofa_totp, in user ID
// byte order, as Go compares strings: SQLite's BINARY collation of the
// primary key is that order; on PostgreSQL user_id COLLATE "C" is, and
// twofa_totp_walk (0009) is an index in it, whatever the database's own
// collation, so a batch is one range scan of limit index entries.
func totpList(d Dialect) string {
	id := "user_id"
	if d == PostgreSQL {
		id = `user_id COLLATE "C"`
	}
	return d.rebind(`SELECT user_id, ` + totpColumns + `, last_step, version
		FROM twofa_totp WHERE ` + id + ` > ? ORDER BY ` + id + ` LIMIT ?`)
}

// ceremonyExpire deletes every ceremony that expired at or before ?. On
// PostgreSQL it skips rows another statement has locked (a take, a trim, a
// concurrent clean-up): they are going anyway, or the next put removes
// them, and never waiting for a lock means no deadlock with a trim that
// locks the same rows in another order.
func ceremonyExpire(d Dialect) string {
	switch d {
	case PostgreSQL:
		return `DELETE FROM twofa_webauthn_ceremonies WHERE id IN (
			SELECT id FROM twofa_webauthn_ceremonies WHERE expires_ns <= $1 FOR UPDATE SKIP LOCKED)`
	}
	return `DELETE FROM twofa_webauthn_ceremonies WHERE expires_ns <= ?`
}

// ceremonyTrim deletes a user's ceremonies below the one at offset ? (keep-1)
// from the end of twofa_webauthn_ceremonies_user (0007): those past the keep
// that expire last, ties broken by ID in byte order, as the index is
// ordered. The cut-off is one backward walk of keep index entries with no
// sort, and the DELETE then visits only the rows it removes; with fewer
// than keep ceremonies there is no cut-off row, and the comparison with
// NULL deletes none.
func ceremonyTrim(d Dialect) string {
	id := "id"
	if d == PostgreSQL {
		id = `id COLLATE "C"`
	}
	return d.rebind(`DELETE FROM twofa_webauthn_ceremonies WHERE user_id = ? AND (expires_ns, ` + id + `) < (
		SELECT expires_ns, ` + id + ` FROM twofa_webauthn_ceremonies WHERE user_id = ?
		ORDER BY expires_ns DESC, ` + id + ` DESC LIMIT 1 OFFSET ?)`)
}

// secretColumns receives one TOTPSecret's group of nullable columns.
type secretColumns struct {
	sealed    []byte
	algorithm sql.NullString
	digits    sql.NullInt64
	period    sql.NullInt64
	created   sql.NullInt64
	binding   []byte
}

func (c *secretColumns) dest() []any {
	return []any{&c.sealed, &c.algorithm, &c.digits, &c.period, &c.created, &c.binding}
}

func (c *secretColumns) secret() *storage.TOTPSecret {
	// The group is written whole or NULL whole (secretArgs); the algorithm
	// tells which, as an empty BLOB may read back as nil.
	if !c.algorithm.Valid {
		return nil
	}
	return &storage.TOTPSecret{
		Sealed:    c.sealed, // database/sql copies into a []byte destination
		Algorithm: c.algorithm.String,
		Digits:    int(c.digits.Int64),
		Period:    int(c.period.Int64),
		Created:   fromNanos(c.created.Int64),
		Binding:   c.binding,
	}
}

// secretArgs returns the column values for s: all NULL for no secret.
func secretArgs(s *storage.TOTPSecret) []any {
	if s == nil {
		return []any{nil, nil, nil, nil, nil, nil}
	}
	sealed := s.Sealed
	if sealed == nil {
		sealed = []byte{} // a nil []byte would be written as NULL
	}
	return []any{sealed, s.Algorithm, s.Digits, s.Period, toNanos(s.Created), s.Binding}
}

// checkUser refuses an ID no store keeps before any SQL runs: PostgreSQL
// would refuse a NUL byte or invalid UTF-8 with a driver error, and SQLite
// would keep them, so the rule, not the engine, decides.
func checkUser(id string) error {
	return storage.CheckUserID(id)
}

// validText reports whether s can be a key of a stored record; a lookup by
// any other key finds nothing, without asking PostgreSQL, which would
// answer with an error.
func validText(s string) bool {
	return storage.CheckText(s) == nil
}

// toNanos stores t as Unix nanoseconds, to the nanosecond, and the zero
// time as 0 (its own UnixNano is out of range).
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Databases differ in booleans; INTEGER 0 and 1 read the same everywhere.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TOTP implements [storage.TOTPStore].
func (s *Store) TOTP(ctx context.Context, userID string) (storage.TOTPRecord, error) {
	if err := checkUser(userID); err != nil {
		return storage.TOTPRecord{}, err
	}
	rec := storage.TOTPRecord{UserID: userID}
	var active, pending secretColumns
	var disabled int
	dest := []any{&rec.Account}
	dest = append(dest, active.dest()...)
	dest = append(dest, pending.dest()...)
	var lastNs int64
	dest = append(dest, &disabled, &rec.LastStep, &rec.Version, &rec.Throttle.Failures, &lastNs)
	err := s.db.QueryRowContext(ctx, s.q.totpGet, userID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.TOTPRecord{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.TOTPRecord{}, fmt.Errorf("sqlstore: read totp record: %w", err)
	}
	rec.Active, rec.Pending, rec.Disabled = active.secret(), pending.secret(), disabled != 0
	rec.Throttle.Last = fromNanos(lastNs)
	return rec, nil
}

// scanTOTP reads one row of totpList.
func scanTOTP(rows *sql.Rows) (storage.TOTPRecord, error) {
	var rec storage.TOTPRecord
	var active, pending secretColumns
	var disabled int
	dest := []any{&rec.UserID, &rec.Account}
	dest = append(dest, active.dest()...)
	dest = append(dest, pending.dest()...)
	dest = append(dest, &disabled, &rec.LastStep, &rec.Version)
	if err := rows.Scan(dest...); err != nil {
		return storage.TOTPRecord{}, err
	}
	rec.Active, rec.Pending, rec.Disabled = active.secret(), pending.secret(), disabled != 0
	return rec, nil
}

// TOTPRecords implements [storage.TOTPLister].
func (s *Store) TOTPRecords(ctx context.Context, afterUserID string, limit int) ([]storage.TOTPRecord, error) {
	if afterUserID != "" {
		if err := checkUser(afterUserID); err != nil {
			return nil, err
		}
	}
	if limit < 1 || limit > storage.MaxTOTPBatch {
		return nil, storage.ErrInvalidArgument
	}
	rows, err := s.db.QueryContext(ctx, s.q.totpList, afterUserID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list totp records: %w", err)
	}
	defer rows.Close()
	var out []storage.TOTPRecord
	for rows.Next() {
		rec, err := scanTOTP(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list totp records: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list totp records: %w", err)
	}
	return out, nil
}

// CountTOTP implements [storage.TOTPLister].
func (s *Store) CountTOTP(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.totpCount).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count totp records: %w", err)
	}
	return n, nil
}

// firstVersion returns the version of a new record: random, and far below
// the largest int64 so that updates can count up from it. Were it always 1,
// a record deleted and created again would repeat the version a stale
// reader of the old record holds, and that reader's write would win.
func firstVersion() int64 {
	return rand.Int64N(1<<62) + 1
}

// PutTOTP implements [storage.TOTPStore].
func (s *Store) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	if err := storage.CheckTOTPRecord(rec); err != nil {
		return 0, err
	}
	cols := []any{rec.Account}
	cols = append(cols, secretArgs(rec.Active)...)
	cols = append(cols, secretArgs(rec.Pending)...)
	cols = append(cols, boolInt(rec.Disabled))
	var (
		version int64
		res     sql.Result
		err     error
	)
	if rec.Version == 0 {
		version = firstVersion()
		args := append([]any{rec.UserID}, cols...)
		res, err = s.db.ExecContext(ctx, s.q.totpInsert, append(args, version)...)
	} else {
		version = rec.Version + 1 // as the statement sets it
		res, err = s.db.ExecContext(ctx, s.q.totpUpdate, append(cols, rec.UserID, rec.Version)...)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: write totp record: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: write totp record: %w", err)
	}
	if n == 0 {
		return 0, storage.ErrConflict
	}
	return version, nil
}

// AdvanceTOTPStep implements [storage.TOTPStore].
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.q.totpAdvance, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	return false, s.totpMissing(ctx, userID)
}

// totpMissing tells, after a step that did not advance, whether that is
// because there is no record: ErrNotFound, or nil when there is one. The
// answer is decided already; this only tells which.
func (s *Store) totpMissing(ctx context.Context, userID string) error {
	var one int
	err := s.db.QueryRowContext(ctx, s.q.totpExists, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	return nil
}

// AdvanceTOTPStepAndResetThrottle implements [storage.TOTPStore]: on
// PostgreSQL one statement, on SQLite one transaction of two.
func (s *Store) AdvanceTOTPStepAndResetThrottle(ctx context.Context, userID string, step int64) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	if s.d == MySQL {
		advanced, err := s.claimResetMySQL(ctx, "advance totp step", s.q.totpAdvanceReset, step, userID, step)
		if err != nil || advanced {
			return advanced, err
		}
		return false, s.totpMissing(ctx, userID)
	}
	if s.q.totpAdvanceReset != "" {
		var n int64
		var exists bool
		if err := s.db.QueryRowContext(ctx, s.q.totpAdvanceReset, step, userID).Scan(&n, &exists); err != nil {
			return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
		}
		if n == 0 && !exists {
			return false, storage.ErrNotFound
		}
		return n > 0, nil
	}
	advanced := false
	err := s.inTx(ctx, "advance totp step", func(tx txConn) error {
		n, err := s.affectedIn(ctx, tx, s.q.totpAdvance, step, userID, step)
		if err != nil || n == 0 {
			return err // nil: not advanced, and the commit writes nothing
		}
		if _, err := tx.ExecContext(ctx, s.q.throttleClear, userID); err != nil {
			return err
		}
		advanced = true
		return nil
	})
	if err != nil || advanced {
		return advanced && err == nil, err
	}
	return false, s.totpMissing(ctx, userID)
}

// affectedIn runs one statement in tx and returns how many rows it
// changed.
func (s *Store) affectedIn(ctx context.Context, tx txConn, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteTOTP implements [storage.TOTPStore].
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.totpDelete, userID); err != nil {
		return fmt.Errorf("sqlstore: delete totp record: %w", err)
	}
	return nil
}

// Throttle implements [storage.ThrottleStore].
func (s *Store) Throttle(ctx context.Context, userID string) (storage.ThrottleState, error) {
	if err := checkUser(userID); err != nil {
		return storage.ThrottleState{}, err
	}
	var st storage.ThrottleState
	var ns int64
	err := s.db.QueryRowContext(ctx, s.q.throttleGet, userID).Scan(&st.Failures, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ThrottleState{}, nil
	}
	if err != nil {
		return storage.ThrottleState{}, fmt.Errorf("sqlstore: read throttle: %w", err)
	}
	st.Last = fromNanos(ns)
	return st, nil
}

// isZero reports whether st is stored as the zero state: no row, or a
// row of zeros. It compares what would be stored, so that a state that
// reads back as the zero state is always one a swap from the zero state
// finds.
func isZero(st storage.ThrottleState) bool {
	return st.Failures == 0 && toNanos(st.Last) == 0
}

// SwapThrottle implements [storage.ThrottleStore].
func (s *Store) SwapThrottle(ctx context.Context, userID string, old, next storage.ThrottleState) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	// The zero state is no row and carries no time to check.
	if next.Failures != 0 || !next.Last.IsZero() {
		if err := storage.CheckTime(next.Last); err != nil {
			return false, err
		}
	}
	var (
		res sql.Result
		err error
	)
	switch {
	case isZero(old) && isZero(next):
		// Nothing to write: the swap holds if the state is indeed zero.
		var one int
		err := s.db.QueryRowContext(ctx, s.q.throttleNonZero, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("sqlstore: swap throttle: %w", err)
		}
		return false, nil
	case isZero(old) && s.d == MySQL:
		return s.swapFromZeroMySQL(ctx, userID, next)
	case isZero(old):
		res, err = s.db.ExecContext(ctx, s.q.throttleFromZero, userID, next.Failures, toNanos(next.Last))
	default:
		// To the zero state too: the row stays, with zeros.
		res, err = s.db.ExecContext(ctx, s.q.throttleUpdate, next.Failures, toNanos(next.Last), userID, old.Failures, toNanos(old.Last))
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: swap throttle: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: swap throttle: %w", err)
	}
	return n > 0, nil
}

// ResetThrottle implements [storage.ThrottleStore].
func (s *Store) ResetThrottle(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.throttleDelete, userID); err != nil {
		return fmt.Errorf("sqlstore: reset throttle: %w", err)
	}
	return nil
}
