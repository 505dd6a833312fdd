package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// ErrMySQLSettings is the error, matched with errors.Is, of [MySQLDSN] for
// a DSN it cannot complete and of [Store.Migrate] on MySQL when the
// connection lacks a setting the store depends on. Its text names the
// setting.
var ErrMySQLSettings = errors.New("sqlstore: MySQL connection settings do not suit the store")

// MySQLDSN returns dsn, a data source name of github.com/go-sql-driver/mysql
// (user:password@tcp(host:port)/dbname?param=value&...), with the
// parameters the store depends on added where dsn does not set them:
//
//   - clientFoundRows=true: an UPDATE's affected-row count is the rows it
//     matched, as on SQLite and PostgreSQL, not only those it changed. A
//     touch that keeps a browser's time, or a flag set to the value it
//     has, must not read as "not found". Required: a dsn that sets it
//     to anything else is refused.
//   - interpolateParams=true: each statement is one round trip instead of
//     a prepare, an execute and a close, and on a Galera cluster the
//     server may retry an autocommit statement that lost certification
//     (wsrep_retry_autocommit works only on the text protocol). A dsn that
//     sets it otherwise keeps its choice.
//
// The store needs no parseTime (times are BIGINT nanoseconds) and works
// with any connection character set (every key is binary). On Galera, add
// wsrep_sync_wait=1 so that a read on one node sees what another committed
// just before.
func MySQLDSN(dsn string) (string, error) {
	// go-sql-driver/mysql reads the database name after the last '/', and
	// the parameters after the first '?' that follows it.
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		// Not quoted: it may hold a password.
		return "", fmt.Errorf("%w: the DSN has no /dbname; the form of github.com/go-sql-driver/mysql is user:password@tcp(host:port)/dbname", ErrMySQLSettings)
	}
	params := ""
	if q := strings.IndexByte(dsn[slash:], '?'); q >= 0 {
		params = dsn[slash+q+1:]
	}
	has := map[string]string{}
	for _, kv := range strings.Split(params, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			has[k] = v
		}
	}
	if v, ok := has["clientFoundRows"]; ok && v != "true" {
		return "", fmt.Errorf("%w: clientFoundRows=%s; the store needs clientFoundRows=true", ErrMySQLSettings, v)
	}
	var add []string
	for _, p := range []string{"clientFoundRows", "interpolateParams"} {
		if _, ok := has[p]; !ok {
			add = append(add, p+"=true")
		}
	}
	if len(add) == 0 {
		return dsn, nil
	}
	sep := "&"
	switch {
	case !strings.Contains(dsn[slash:], "?"):
		sep = "?"
	case strings.HasSuffix(dsn, "?"), strings.HasSuffix(dsn, "&"):
		sep = ""
	}
	return dsn + sep + strings.Join(add, "&"), nil
}

// MySQL error numbers the store acts on.
const (
	errDupColumn = 1060 // ER_DUP_FIELDNAME: ADD COLUMN of a column that exists
	errDupKey    = 1061 // ER_DUP_KEYNAME: CREATE INDEX of an index that exists
	errDupEntry  = 1062 // ER_DUP_ENTRY: a duplicate primary or unique key
	errDeadlock  = 1213 // ER_LOCK_DEADLOCK, and Galera's certification failure
)

// mysqlErrno returns the server's error number in err's chain, or 0. The
// package imports no driver, so it reads the Number field of
// github.com/go-sql-driver/mysql's *MySQLError by reflection.
func mysqlErrno(err error) uint16 {
	for ; err != nil; err = errors.Unwrap(err) {
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return 0
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct || v.Type().Name() != "MySQLError" || v.Type().PkgPath() != "github.com/go-sql-driver/mysql" {
			continue
		}
		if f := v.FieldByName("Number"); f.IsValid() && f.Kind() == reflect.Uint16 {
			return uint16(f.Uint())
		}
	}
	return 0
}

// mysqlAttempts bounds the runs of a statement or transaction that lost
// a deadlock.
const mysqlAttempts = 5

// retryWait waits a short random time, longer with each attempt, so that
// the racers of a deadlock do not meet again at once.
func retryWait(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * (time.Millisecond + mrand.N(4*time.Millisecond))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// doNothing marks, on MySQL, an INSERT written with ON CONFLICT DO
// NOTHING (see rebind): its duplicate key error is zero rows. Any other
// statement's duplicate key error is an error.
const doNothing = "/* on conflict do nothing */"

// dupIsNoRow reports whether err is a duplicate key that query, written
// with ON CONFLICT DO NOTHING, takes for no row inserted.
func dupIsNoRow(query string, err error) bool {
	return mysqlErrno(err) == errDupEntry && strings.Contains(query, doNothing)
}

// noRows is the result of an INSERT that MySQL refused as a duplicate key:
// zero affected rows, as ON CONFLICT DO NOTHING reports on the others.
type noRows struct{}

func (noRows) LastInsertId() (int64, error) { return 0, errors.New("sqlstore: no row inserted") }
func (noRows) RowsAffected() (int64, error) { return 0, nil }

// dbConn is the store's *sql.DB. On MySQL its ExecContext, which every
// write outside a transaction goes through, does two things the other
// engines do in SQL:
//
//   - a duplicate key (1062) of a statement written with ON CONFLICT DO
//     NOTHING, which rebind turns into the comment doNothing, is zero
//     affected rows.
//   - a deadlock (1213) runs the statement again, up to mysqlAttempts
//     times. The error means the server rolled the statement back, and on
//     a Galera cluster that it lost certification and was not applied on
//     any node: no statement here ran before. The next run reads the rows
//     as they are now, so a claim that another caller won meanwhile
//     affects no row and reports false, and a trim or count starts over.
//     A lock wait timeout (1205) is not retried: it took
//     innodb_lock_wait_timeout already, and the caller denies. Any other
//     error, such as a connection lost before the reply, may hide a
//     commit, and is returned as it is.
//
// Reads take no locks, cannot deadlock, and go straight to *sql.DB.
type dbConn struct {
	*sql.DB
	d Dialect
}

// ExecContext runs one statement outside a transaction; see dbConn.
func (c dbConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.d != MySQL {
		return c.DB.ExecContext(ctx, query, args...)
	}
	for attempt := 1; ; attempt++ {
		res, err := c.DB.ExecContext(ctx, query, args...)
		if dupIsNoRow(query, err) {
			return noRows{}, nil
		}
		if mysqlErrno(err) == errDeadlock && attempt < mysqlAttempts && retryWait(ctx, attempt) == nil {
			continue
		}
		return res, err
	}
}

// txConn is a transaction of the store. On MySQL a duplicate key of a
// statement written with ON CONFLICT DO NOTHING is zero affected rows, as
// in dbConn; the statement alone is rolled back, not the transaction. A deadlock rolls back the whole transaction, which
// [Store.inTx] runs again.
type txConn struct {
	*sql.Tx
	d Dialect
}

// ExecContext runs one statement of the transaction; see txConn.
func (t txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.Tx.ExecContext(ctx, query, args...)
	if t.d == MySQL && dupIsNoRow(query, err) {
		return noRows{}, nil
	}
	return res, err
}

// inTx runs f in a transaction, committed if f returns nil. On MySQL a
// transaction that lost a deadlock, in a statement or at COMMIT (Galera's
// certification), was rolled back whole, and runs again from the start,
// up to mysqlAttempts times: f must set its results afresh on each run.
func (s *Store) inTx(ctx context.Context, what string, f func(txConn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, f)
		if err != nil && s.d == MySQL && mysqlErrno(err) == errDeadlock && attempt < mysqlAttempts && retryWait(ctx, attempt) == nil {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		return nil
	}
}

func (s *Store) tryTx(ctx context.Context, f func(txConn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(txConn{Tx: tx, d: s.d}); err != nil {
		return err
	}
	return tx.Commit()
}

// takeCeremonyMySQL is TakeCeremony on MySQL, which has no DELETE ...
// RETURNING (MariaDB's would send the row before a Galera certification
// failure at commit): the row is read under a lock and deleted in one
// transaction, and the call takes it only if the DELETE removed it and
// the COMMIT succeeded.
func (s *Store) takeCeremonyMySQL(ctx context.Context, id string) (storage.Ceremony, error) {
	var (
		c     storage.Ceremony
		taken bool
	)
	err := s.inTx(ctx, "take webauthn ceremony", func(tx txConn) error {
		c, taken = storage.Ceremony{ID: id}, false
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT user_id, kind, data, expires_ns FROM twofa_webauthn_ceremonies WHERE id = ? FOR UPDATE`, id).
			Scan(&c.UserID, &c.Kind, &c.Data, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		c.Expires = fromNanos(expires)
		res, err := tx.ExecContext(ctx, `DELETE FROM twofa_webauthn_ceremonies WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		taken = n == 1
		return err
	})
	if err != nil {
		return storage.Ceremony{}, err
	}
	if !taken {
		return storage.Ceremony{}, storage.ErrNotFound
	}
	return c, nil
}

// The migration lock on MySQL is a row, not GET_LOCK or LOCK TABLES,
// which a Galera cluster does not replicate: a row insert is certified
// on every node, so exactly one server holds it cluster-wide. A server
// that dies holding it leaves the row; another takes it over once its
// lease, renewed before each statement, has run out.
const (
	mysqlLockLease        = 2 * time.Minute
	createMySQLMigrations = `CREATE TABLE IF NOT EXISTS twofa_schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at BIGINT  NOT NULL
) ENGINE = InnoDB`
	createMySQLLock = `CREATE TABLE IF NOT EXISTS twofa_schema_lock (
	id         INTEGER        NOT NULL PRIMARY KEY,
	holder     VARBINARY(64)  NOT NULL,
	expires_ns BIGINT         NOT NULL
) ENGINE = InnoDB`
)

// migrateMySQL is Migrate on MySQL, whose DDL is not transactional: each
// statement commits on its own, and a server may stop between two
// statements of a migration, which is then not recorded. The next
// Migrate runs that migration again from its first statement. Every
// statement makes one object whole or not at all (a table with its
// indexes, a column, an index), and is written so that running it again
// finds it done: CREATE TABLE IF NOT EXISTS, and an ADD COLUMN or CREATE
// INDEX that fails with 1060 or 1061 (the column or index exists)
// counts as done. Only a migration not recorded runs, under the lock,
// so nothing but an earlier run of the same migration made it.
func (s *Store) migrateMySQL(ctx context.Context, ms []migration) error {
	if err := s.checkMySQLMode(ctx); err != nil {
		return err
	}
	for _, q := range []string{createMySQLMigrations, createMySQLLock} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlstore: migrate: create the migration tables: %w", err)
		}
	}
	holder, err := s.lockMySQL(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: lock: %w", err)
	}
	defer s.unlockMySQL(ctx, holder)
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM twofa_schema_migrations`)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: read twofa_schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: migrate: read twofa_schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: migrate: read twofa_schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for i, stmt := range statements(m.sql) {
			if err := s.renewMySQLLock(ctx, holder); err != nil {
				return fmt.Errorf("sqlstore: migrate: %s: %w", m.name, err)
			}
			if _, err := s.db.ExecContext(ctx, stmt); err != nil {
				if n := mysqlErrno(err); n != errDupColumn && n != errDupKey {
					return fmt.Errorf("sqlstore: migrate: %s, statement %d: %w", m.name, i+1, err)
				}
			}
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO twofa_schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("sqlstore: migrate: %s: record: %w", m.name, err)
		}
	}
	return s.checkMySQLFoundRows(ctx)
}

// statements splits a migration into its statements: each ends with ';'
// at the end of a line. Comment lines go; no statement holds a ';'
// elsewhere. (go-sql-driver/mysql runs one statement per call unless the
// DSN asks for multiStatements, which the store does not need.)
func statements(sql string) []string {
	var out []string
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || (t == "" && b.Len() == 0) {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(b.String()), ";"))
			b.Reset()
		}
	}
	if strings.TrimSpace(b.String()) != "" {
		out = append(out, strings.TrimSpace(b.String()))
	}
	return out
}

// lockMySQL waits until this call holds the migration lock, and returns
// its holder token.
func (s *Store) lockMySQL(ctx context.Context) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	holder := hex.EncodeToString(b[:])
	for attempt := 1; ; attempt++ {
		now := time.Now().UnixNano()
		expires := now + int64(mysqlLockLease)
		// A duplicate key is zero rows (dbConn): someone holds it.
		res, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO twofa_schema_lock (id, holder, expires_ns) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`), holder, expires)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return holder, err
		}
		res, err = s.db.ExecContext(ctx, `UPDATE twofa_schema_lock SET holder = ?, expires_ns = ? WHERE id = 1 AND expires_ns < ?`, holder, expires, now)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return holder, err // a lease run out: its holder died
		}
		if err := retryWait(ctx, min(attempt, 20)); err != nil {
			return "", err
		}
	}
}

// renewMySQLLock extends the lease, and fails if another server took the
// lock over (this one stalled past its lease).
func (s *Store) renewMySQLLock(ctx context.Context, holder string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE twofa_schema_lock SET expires_ns = ? WHERE id = 1 AND holder = ?`,
		time.Now().Add(mysqlLockLease).UnixNano(), holder)
	if err != nil {
		return fmt.Errorf("renew the migration lock: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("the migration lock's lease ran out and another server took it over (%v)", err)
	}
	return nil
}

// unlockMySQL releases the lock, even when ctx is done.
func (s *Store) unlockMySQL(ctx context.Context, holder string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.db.ExecContext(ctx, `DELETE FROM twofa_schema_lock WHERE id = 1 AND holder = ?`, holder)
}

// checkMySQLMode refuses a session that is not strict: without
// STRICT_TRANS_TABLES or STRICT_ALL_TABLES, MySQL stores a value too long
// for its column cut short with a warning, and two IDs alike in their
// first 255 bytes would be one key.
func (s *Store) checkMySQLMode(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, `SELECT @@SESSION.sql_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("sqlstore: migrate: read sql_mode: %w", err)
	}
	for _, m := range strings.Split(mode, ",") {
		if m == "STRICT_TRANS_TABLES" || m == "STRICT_ALL_TABLES" {
			return nil
		}
	}
	return fmt.Errorf("%w: sql_mode %q is not strict; set STRICT_TRANS_TABLES (the server's default) or add sql_mode to the DSN", ErrMySQLSettings, mode)
}

// checkMySQLFoundRows refuses a connection without clientFoundRows (see
// MySQLDSN): an UPDATE that sets a row to the values it has then counts
// zero rows, and the store would read that as no such row.
func (s *Store) checkMySQLFoundRows(ctx context.Context) error {
	res, err := s.db.ExecContext(ctx, `UPDATE twofa_schema_migrations SET applied_at = applied_at WHERE version = 1`)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: check clientFoundRows: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: an UPDATE counts only the rows it changes (%d, %v); open the database with sqlstore.MySQLDSN, which sets clientFoundRows=true", ErrMySQLSettings, n, err)
	}
	return nil
}

// On MySQL the trims of AddBrowser, AppendLog and PutCeremony are a plain
// read of the keys to delete, then a DELETE of those by primary key, if
// there are any (trimMySQL). A DELETE that scanned the user's range of
// an index itself would lock the gaps between the rows (REPEATABLE READ,
// InnoDB's default), where the inserts of concurrent puts wait, and 50
// puts for one user at once deadlock again and again. By primary key it
// locks only the rows it removes, in ascending order; a row another trim
// removed first is not there any more, which is what both wanted. As
// with SKIP LOCKED on PostgreSQL, a trim may then drop a row more than
// keep asks (one a concurrent touch made recent meanwhile), never keep
// more for long: the next put trims again.

// trimMySQL reads the keys pick returns (one column: an integer if
// intKey, else bytes), in ascending order so that two trims lock their
// rows in one order, and deletes them with del, a statement ending in
// "IN", followed by the list of keys; delArgs come before the keys.
func (s *Store) trimMySQL(ctx context.Context, what, pick string, pickArgs []any, del string, delArgs []any, intKey bool) error {
	rows, err := s.db.QueryContext(ctx, pick, pickArgs...)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	keys := append([]any(nil), delArgs...)
	for rows.Next() {
		var n int64
		var b []byte
		dest := any(&b)
		if intKey {
			dest = &n
		}
		if err := rows.Scan(dest); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		if intKey {
			keys = append(keys, n)
		} else {
			keys = append(keys, b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	if len(keys) == len(delArgs) {
		return nil
	}
	_, err = s.affected(ctx, what, del+` (?`+strings.Repeat(", ?", len(keys)-len(delArgs)-1)+`)`, keys...)
	return err
}

// trimLogMySQL drops the user's entries older than before, and those past
// the newest keep.
func (s *Store) trimLogMySQL(ctx context.Context, userID string, before int64, keep int) error {
	return s.trimMySQL(ctx, "trim log",
		`SELECT seq FROM twofa_log WHERE user_id = ? AND at_ns < ?
		UNION SELECT seq FROM (SELECT seq FROM twofa_log WHERE user_id = ?
			ORDER BY at_ns DESC, seq DESC `+s.d.offset()+`) AS old
		ORDER BY seq`, []any{userID, before, userID, keep},
		`DELETE FROM twofa_log WHERE seq IN`, nil, true)
}

// trimBrowsersMySQL drops the user's browsers other than id past the
// keep-1 most recently used, ties broken by ID in byte order (id is
// VARBINARY).
func (s *Store) trimBrowsersMySQL(ctx context.Context, userID, id string, keep int) error {
	return s.trimMySQL(ctx, "trim browsers",
		`SELECT id FROM (SELECT id FROM twofa_browsers WHERE user_id = ? AND id <> ?
			ORDER BY last_used_ns DESC, created_ns DESC, id DESC `+s.d.offset()+`) AS old ORDER BY id`, []any{userID, id, keep - 1},
		`DELETE FROM twofa_browsers WHERE id IN`, nil, false)
}

// putCeremonyMySQL is PutCeremony on MySQL: the expired ceremonies of
// every user go (still expired when deleted: a ceremony's expiry never
// changes, and the condition is in the DELETE too), c goes in, and the
// user's ceremonies past the keep that expire last go, ties broken by ID
// in byte order.
func (s *Store) putCeremonyMySQL(ctx context.Context, c storage.Ceremony, now time.Time, keep int) (bool, error) {
	if err := s.trimMySQL(ctx, "put webauthn ceremony: delete expired",
		`SELECT id FROM twofa_webauthn_ceremonies WHERE expires_ns <= ? ORDER BY id`, []any{toNanos(now)},
		`DELETE FROM twofa_webauthn_ceremonies WHERE expires_ns <= ? AND id IN`, []any{toNanos(now)}, false); err != nil {
		return false, err
	}
	n, err := s.affected(ctx, "put webauthn ceremony", s.q.ceremonyInsert, c.ID, c.UserID, c.Kind, blob(c.Data), toNanos(c.Expires))
	if err != nil || n == 0 {
		return false, err // n == 0: the ID is taken, and nothing is to trim
	}
	err = s.trimMySQL(ctx, "put webauthn ceremony: trim",
		`SELECT id FROM (SELECT id FROM twofa_webauthn_ceremonies WHERE user_id = ?
			ORDER BY expires_ns DESC, id DESC `+s.d.offset()+`) AS old ORDER BY id`, []any{c.UserID, keep},
		`DELETE FROM twofa_webauthn_ceremonies WHERE id IN`, nil, false)
	return err == nil, err
}
