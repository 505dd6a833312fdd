package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// BackupSet implements [storage.BackupStore].
func (s *Store) BackupSet(ctx context.Context, userID string) (storage.BackupSet, error) {
	if err := checkUser(userID); err != nil {
		return storage.BackupSet{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q.backupGet, userID)
	if err != nil {
		return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup set: %w", err)
	}
	defer rows.Close()
	set := storage.BackupSet{UserID: userID}
	found := false
	for rows.Next() {
		// Every row repeats the set's columns; a set without codes is one
		// row whose code columns are NULL.
		var (
			created, lastNs int64
			disabled        int
			idx, used       sql.NullInt64
			hash            []byte
		)
		if err := rows.Scan(&set.SetID, &set.Salt, &set.KDF, &created, &disabled,
			&set.Throttle.Failures, &lastNs, &idx, &hash, &used); err != nil {
			return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup set: %w", err)
		}
		found = true
		set.Created, set.Disabled, set.Throttle.Last = fromNanos(created), disabled != 0, fromNanos(lastNs)
		if !idx.Valid {
			continue
		}
		if idx.Int64 != int64(len(set.Hashes)) {
			return storage.BackupSet{}, fmt.Errorf("sqlstore: backup codes of user's set are not numbered 0..n-1")
		}
		set.Hashes = append(set.Hashes, hash)
		set.UsedAt = append(set.UsedAt, fromNanos(used.Int64))
	}
	if err := rows.Err(); err != nil {
		return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup set: %w", err)
	}
	if !found {
		return storage.BackupSet{}, storage.ErrNotFound
	}
	return set, nil
}

// backupGet reads a user's set, its codes and the user's throttle state
// as one statement: one round trip, and on PostgreSQL one snapshot, so
// the codes are always the set's. The codes come in index order, on the
// primary key (user_id, idx).
func backupGet(d Dialect) string {
	switch d {
	case SQLite, PostgreSQL, MySQL:
		return d.rebind(`SELECT s.set_id, s.salt, s.kdf, s.created_ns, s.disabled,
			COALESCE(h.failures, 0), COALESCE(h.last_ns, 0), c.idx, c.hash, c.used_ns
			FROM twofa_backup_sets s
			LEFT JOIN twofa_throttle h ON h.user_id = s.user_id
			LEFT JOIN twofa_backup_codes c ON c.user_id = s.user_id AND c.set_id = s.set_id
			WHERE s.user_id = ? ORDER BY c.idx`)
	}
	panic("sqlstore: no backupGet for " + d.String())
}

// backupUse marks one unused code of the current set used.
const backupUse = `UPDATE twofa_backup_codes SET used_ns = ? WHERE user_id = ? AND set_id = ? AND idx = ? AND used_ns = 0`

// backupUseReset is backupUse and, if it used the code, the clearing of
// the user's throttle state, as one statement (see totpAdvanceReset); ""
// for SQLite, where it is a transaction of two.
func backupUseReset(d Dialect) string {
	switch d {
	case PostgreSQL:
		return `WITH used AS (
				UPDATE twofa_backup_codes SET used_ns = $1
				WHERE user_id = $2 AND set_id = $3 AND idx = $4 AND used_ns = 0 RETURNING user_id
			), clr AS (
				UPDATE twofa_throttle SET failures = 0, last_ns = 0 WHERE user_id = (SELECT user_id FROM used)
			)
			SELECT COUNT(*) FROM used`
	case MySQL:
		return `UPDATE twofa_backup_codes c LEFT JOIN twofa_throttle h ON h.user_id = c.user_id
			SET c.used_ns = ?, h.failures = 0, h.last_ns = 0
			WHERE c.user_id = ? AND c.set_id = ? AND c.idx = ? AND c.used_ns = 0`
	case SQLite:
		return ""
	}
	panic("sqlstore: no backupUseReset for " + d.String())
}

// ReplaceBackupSet implements [storage.BackupStore]. The compare-and-set
// is the first statement of one transaction: an INSERT that the primary key
// lets in only where there is no set, or an UPDATE only of the set prevSetID.
// Either locks the user's row, so a concurrent replacement waits for this
// transaction and then finds the set ID changed: it affects no row and
// reports false. The codes follow in the same transaction.
func (s *Store) ReplaceBackupSet(ctx context.Context, set storage.BackupSet, prevSetID string) (bool, error) {
	if err := checkUser(set.UserID); err != nil {
		return false, err
	}
	if err := storage.CheckTime(set.Created); err != nil {
		return false, err
	}
	if err := storage.CheckText(set.SetID, set.KDF); err != nil {
		return false, err
	}
	if set.SetID == "" || set.SetID == prevSetID {
		return false, fmt.Errorf("%w: a new backup set needs a new, non-empty set ID", storage.ErrInvalidArgument)
	}
	if !validText(prevSetID) {
		return false, nil // no set has this ID
	}
	replaced := false
	err := s.inTx(ctx, "replace backup set", func(tx txConn) error {
		replaced = false // a MySQL deadlock runs this again
		var res sql.Result
		var err error
		if prevSetID == "" {
			res, err = tx.ExecContext(ctx, s.d.rebind(`INSERT INTO twofa_backup_sets (user_id, set_id, salt, kdf, created_ns, disabled) VALUES (?, ?, ?, ?, ?, 0)
				ON CONFLICT (user_id) DO NOTHING`),
				set.UserID, set.SetID, blob(set.Salt), set.KDF, toNanos(set.Created))
		} else {
			res, err = tx.ExecContext(ctx, s.d.rebind(`UPDATE twofa_backup_sets SET set_id = ?, salt = ?, kdf = ?, created_ns = ?, disabled = 0
				WHERE user_id = ? AND set_id = ?`),
				set.SetID, blob(set.Salt), set.KDF, toNanos(set.Created), set.UserID, prevSetID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // nil: the set changed, and the rollback undoes nothing
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM twofa_backup_codes WHERE user_id = ?`), set.UserID); err != nil {
			return err
		}
		insert := s.d.rebind(`INSERT INTO twofa_backup_codes (user_id, set_id, idx, hash, used_ns) VALUES (?, ?, ?, ?, 0)`)
		for i, h := range set.Hashes {
			if _, err := tx.ExecContext(ctx, insert, set.UserID, set.SetID, i, blob(h)); err != nil {
				return err
			}
		}
		replaced = true
		return nil
	})
	return replaced && err == nil, err
}

// UseBackupCode implements [storage.BackupStore]: one conditional UPDATE,
// whose affected-row count says whether this call consumed the code.
func (s *Store) UseBackupCode(ctx context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	return s.useBackupCode(ctx, userID, setID, index, at, false)
}

// UseBackupCodeAndResetThrottle implements [storage.BackupStore]: on
// PostgreSQL one statement, on SQLite one transaction of two.
func (s *Store) UseBackupCodeAndResetThrottle(ctx context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	return s.useBackupCode(ctx, userID, setID, index, at, true)
}

func (s *Store) useBackupCode(ctx context.Context, userID, setID string, index int, at time.Time, reset bool) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	// 0 means unused: a code used at the zero time would stay usable.
	if err := storage.CheckTime(at); err != nil {
		return false, err
	}
	if !validText(setID) {
		return false, nil // no set has this ID
	}
	args := []any{toNanos(at), userID, setID, index}
	if !reset {
		n, err := s.affected(ctx, "use backup code", s.q.backupUse, args...)
		return n == 1, err
	}
	return s.claimAndReset(ctx, "use backup code", s.q.backupUseReset, s.q.backupUse, userID, args...)
}

// claimAndReset runs a single-use claim and, if it won, clears userID's
// throttle state, atomically: the dialect's one statement oneQuery when
// there is one (it returns the count of claimed rows), or else claim and
// throttleClear in one transaction.
func (s *Store) claimAndReset(ctx context.Context, what, oneQuery, claim, userID string, args ...any) (bool, error) {
	if oneQuery != "" && s.d == MySQL {
		return s.claimResetMySQL(ctx, what, oneQuery, args...)
	}
	if oneQuery != "" {
		var n int64
		if err := s.db.QueryRowContext(ctx, oneQuery, args...).Scan(&n); err != nil {
			return false, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		return n == 1, nil
	}
	won := false
	err := s.inTx(ctx, what, func(tx txConn) error {
		n, err := s.affectedIn(ctx, tx, claim, args...)
		if err != nil || n != 1 {
			return err // nil: lost, and the commit writes nothing
		}
		if _, err := tx.ExecContext(ctx, s.q.throttleClear, userID); err != nil {
			return err
		}
		won = true
		return nil
	})
	return won && err == nil, err
}

// claimResetMySQL runs a claim that clears the throttle on MySQL: one
// UPDATE of two tables, the claimed row joined with the user's throttle
// row (when there is one), and so one round trip and one commit. The rows
// it changed are the claimed one and, unless it was zero already, the
// throttle row; a claim that loses matches no row and changes neither, so
// any changed row means it won. A deadlock, or a Galera certification
// failure, runs it again (dbConn): it was not applied, and the next run
// finds the row claimed if another won meanwhile.
func (s *Store) claimResetMySQL(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return n >= 1, nil
}

// SetBackupDisabled implements [storage.BackupStore].
func (s *Store) SetBackupDisabled(ctx context.Context, userID string, disabled bool) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE twofa_backup_sets SET disabled = ? WHERE user_id = ?`), boolInt(disabled), userID)
	if err != nil {
		return fmt.Errorf("sqlstore: set backup disabled: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: set backup disabled: %w", err)
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteBackupSet implements [storage.BackupStore].
func (s *Store) DeleteBackupSet(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	return s.inTx(ctx, "delete backup set", func(tx txConn) error {
		for _, q := range []string{`DELETE FROM twofa_backup_codes WHERE user_id = ?`, `DELETE FROM twofa_backup_sets WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), userID); err != nil {
				return err
			}
		}
		return nil
	})
}
