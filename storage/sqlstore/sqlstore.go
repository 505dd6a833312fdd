// Package sqlstore keeps twofa's state in the application's own SQL
// database through [database/sql], on SQLite or PostgreSQL.
//
// The package imports no driver: the application opens the database with
// the driver it already uses and hands over the *sql.DB. SQLite is the
// embedded default (modernc.org/sqlite, pure Go); PostgreSQL (for example
// github.com/jackc/pgx/v5/stdlib) is how several application servers share
// one state.
//
//	db, err := sql.Open("sqlite", "file:app.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
//	...
//	store, err := sqlstore.New(db, sqlstore.SQLite)
//	...
//	err = store.Migrate(ctx) // at start-up, or from a deploy step
//
// # Migrations
//
// The schema is created and upgraded by [Store.Migrate] only, never as a side
// effect. Migrations are embedded, numbered, each applied in its own
// transaction and recorded in twofa_schema_migrations; on PostgreSQL an
// advisory lock lets several servers call Migrate at once. Every table is
// prefixed twofa_.
//
// # Concurrency
//
// Every single-use operation is one conditional UPDATE (or INSERT ... ON
// CONFLICT DO NOTHING) whose affected-row count says who won, so it holds
// across connections and servers without explicit locking.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Dialect is the SQL flavour of the database.
type Dialect struct {
	name        string
	dollarBinds bool // $1, $2 instead of ?
}

// The supported dialects.
var (
	SQLite     = Dialect{name: "sqlite"}
	PostgreSQL = Dialect{name: "postgres", dollarBinds: true}
)

func (d Dialect) String() string { return d.name }

// Store implements the storage interfaces over a *sql.DB. It is safe for
// concurrent use, as *sql.DB is.
type Store struct {
	db *sql.DB
	d  Dialect
	q  queries
}

var _ storage.Store = (*Store)(nil)

// New returns a store over db. It does not touch the database; call Migrate
// before use.
func New(db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if d != SQLite && d != PostgreSQL {
		return nil, errors.New("sqlstore: unknown dialect (use sqlstore.SQLite or sqlstore.PostgreSQL)")
	}
	return &Store{db: db, d: d, q: newQueries(d)}, nil
}

// rebind turns ? placeholders into $n for PostgreSQL. Queries are written
// once, with ?, and never contain a literal question mark.
func (d Dialect) rebind(q string) string {
	if !d.dollarBinds {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.d.name
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: migration file %q is not NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration: %w", err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock Migrate holds; any fixed
// number works as long as nothing else in the database uses it.
const migrationLockKey = 0x7477_6f66_6121

// Migrate brings the schema up to date. It applies each embedded migration
// not yet recorded, in order, each in its own transaction, and may be called
// any number of times, from several servers at once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	create := `CREATE TABLE IF NOT EXISTS twofa_schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`
	if s.d == PostgreSQL {
		// CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL;
		// the advisory lock serialises the servers first.
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("sqlstore: migrate: lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	} else if _, err := s.db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless it is recorded already.
func (s *Store) apply(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	if s.d == PostgreSQL {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("sqlstore: migration %s: lock: %w", m.name, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT COUNT(*) FROM twofa_schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO twofa_schema_migrations (version, applied_at) VALUES (?, ?)"), m.version, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	return nil
}

// queries holds every statement, rebound once for the dialect.
type queries struct {
	totpGet, totpInsert, totpUpdate, totpAdvance, totpExists, totpDelete      string
	throttleGet, throttleInsert, throttleUpdate, throttleDel, throttleSwapDel string
}

const totpColumns = `account,
	active_sealed, active_algorithm, active_digits, active_period, active_created_ns,
	pending_sealed, pending_algorithm, pending_digits, pending_period, pending_created_ns,
	disabled`

func newQueries(d Dialect) queries {
	return queries{
		totpGet:    d.rebind(`SELECT ` + totpColumns + `, last_step, version FROM twofa_totp WHERE user_id = ?`),
		totpInsert: d.rebind(`INSERT INTO twofa_totp (user_id, ` + totpColumns + `, last_step, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (user_id) DO NOTHING`),
		totpUpdate: d.rebind(`UPDATE twofa_totp SET account = ?,
			active_sealed = ?, active_algorithm = ?, active_digits = ?, active_period = ?, active_created_ns = ?,
			pending_sealed = ?, pending_algorithm = ?, pending_digits = ?, pending_period = ?, pending_created_ns = ?,
			disabled = ?, version = ?
			WHERE user_id = ? AND version = ?`),
		totpAdvance:     d.rebind(`UPDATE twofa_totp SET last_step = ? WHERE user_id = ? AND last_step < ?`),
		totpExists:      d.rebind(`SELECT COUNT(*) FROM twofa_totp WHERE user_id = ?`),
		totpDelete:      d.rebind(`DELETE FROM twofa_totp WHERE user_id = ?`),
		throttleGet:     d.rebind(`SELECT failures, last_ns FROM twofa_throttle WHERE user_id = ?`),
		throttleInsert:  d.rebind(`INSERT INTO twofa_throttle (user_id, failures, last_ns) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING`),
		throttleUpdate:  d.rebind(`UPDATE twofa_throttle SET failures = ?, last_ns = ? WHERE user_id = ? AND failures = ? AND last_ns = ?`),
		throttleDel:     d.rebind(`DELETE FROM twofa_throttle WHERE user_id = ?`),
		throttleSwapDel: d.rebind(`DELETE FROM twofa_throttle WHERE user_id = ? AND failures = ? AND last_ns = ?`),
	}
}

// secretCols are one TOTPSecret's nullable columns.
type secretCols struct {
	sealed    []byte
	algorithm sql.NullString
	digits    sql.NullInt64
	period    sql.NullInt64
	created   sql.NullInt64
}

func (c *secretCols) dest() []any {
	return []any{&c.sealed, &c.algorithm, &c.digits, &c.period, &c.created}
}

func (c *secretCols) secret() *storage.TOTPSecret {
	if c.sealed == nil {
		return nil
	}
	return &storage.TOTPSecret{
		Sealed:    c.sealed,
		Algorithm: c.algorithm.String,
		Digits:    int(c.digits.Int64),
		Period:    int(c.period.Int64),
		Created:   fromNanos(c.created.Int64),
	}
}

func secretArgs(s *storage.TOTPSecret) []any {
	if s == nil {
		return []any{nil, nil, nil, nil, nil}
	}
	// A nil Sealed would read back as "no secret": store an empty one.
	sealed := s.Sealed
	if sealed == nil {
		sealed = []byte{}
	}
	return []any{sealed, s.Algorithm, s.Digits, s.Period, s.Created.UnixNano()}
}

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TOTP implements [storage.TOTPStore].
func (s *Store) TOTP(ctx context.Context, userID string) (storage.TOTPRecord, error) {
	rec := storage.TOTPRecord{UserID: userID}
	var active, pending secretCols
	var disabled int
	dest := append([]any{&rec.Account}, active.dest()...)
	dest = append(dest, pending.dest()...)
	dest = append(dest, &disabled, &rec.LastStep, &rec.Version)
	err := s.db.QueryRowContext(ctx, s.q.totpGet, userID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.TOTPRecord{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.TOTPRecord{}, fmt.Errorf("sqlstore: read totp record: %w", err)
	}
	rec.Active, rec.Pending, rec.Disabled = active.secret(), pending.secret(), disabled != 0
	return rec, nil
}

// newVersion returns a random positive version. Versions are random rather
// than counted so that a record deleted and created again never repeats a
// version that a stale reader may still hold.
func newVersion() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1, nil
}

// PutTOTP implements [storage.TOTPStore].
func (s *Store) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	version, err := newVersion()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: version: %w", err)
	}
	cols := append([]any{rec.Account}, secretArgs(rec.Active)...)
	cols = append(cols, secretArgs(rec.Pending)...)
	cols = append(cols, boolInt(rec.Disabled))
	var res sql.Result
	if rec.Version == 0 {
		res, err = s.db.ExecContext(ctx, s.q.totpInsert, append(append([]any{rec.UserID}, cols...), version)...)
	} else {
		res, err = s.db.ExecContext(ctx, s.q.totpUpdate, append(cols, version, rec.UserID, rec.Version)...)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: write totp record: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("sqlstore: write totp record: %w", err)
	} else if n == 0 {
		return 0, storage.ErrConflict
	}
	return version, nil
}

// AdvanceTOTPStep implements [storage.TOTPStore].
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q.totpAdvance, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	var exists int
	if err := s.db.QueryRowContext(ctx, s.q.totpExists, userID).Scan(&exists); err != nil {
		return false, fmt.Errorf("sqlstore: advance totp step: %w", err)
	}
	if exists == 0 {
		return false, storage.ErrNotFound
	}
	return false, nil
}

// DeleteTOTP implements [storage.TOTPStore].
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, s.q.totpDelete, userID); err != nil {
		return fmt.Errorf("sqlstore: delete totp record: %w", err)
	}
	return nil
}

// Throttle implements [storage.ThrottleStore].
func (s *Store) Throttle(ctx context.Context, userID string) (storage.ThrottleState, error) {
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

// SwapThrottle implements [storage.ThrottleStore].
func (s *Store) SwapThrottle(ctx context.Context, userID string, old, next storage.ThrottleState) (bool, error) {
	var res sql.Result
	var err error
	switch {
	case old == (storage.ThrottleState{}) || old.Failures == 0 && old.Last.IsZero():
		if next.Failures == 0 && next.Last.IsZero() {
			// Zero to zero: swapped only if there is indeed no state.
			cur, err := s.Throttle(ctx, userID)
			return err == nil && cur.Failures == 0 && cur.Last.IsZero(), err
		}
		res, err = s.db.ExecContext(ctx, s.q.throttleInsert, userID, next.Failures, toNanos(next.Last))
	case next.Failures == 0 && next.Last.IsZero():
		res, err = s.db.ExecContext(ctx, s.q.throttleSwapDel, userID, old.Failures, toNanos(old.Last))
	default:
		res, err = s.db.ExecContext(ctx, s.q.throttleUpdate, next.Failures, toNanos(next.Last), userID, old.Failures, toNanos(old.Last))
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: swap throttle: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: swap throttle: %w", err)
	}
	return n == 1, nil
}

// ResetThrottle implements [storage.ThrottleStore].
func (s *Store) ResetThrottle(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, s.q.throttleDel, userID); err != nil {
		return fmt.Errorf("sqlstore: reset throttle: %w", err)
	}
	return nil
}
