package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// BackupSet implements [storage.BackupStore].
func (s *Store) BackupSet(ctx context.Context, userID string) (storage.BackupSet, error) {
	if err := checkUser(userID); err != nil {
		return storage.BackupSet{}, err
	}
	set := storage.BackupSet{UserID: userID}
	var created int64
	var disabled int
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT set_id, salt, kdf, created_ns, disabled FROM twofa_backup_sets WHERE user_id = ?`), userID).
		Scan(&set.SetID, &set.Salt, &set.KDF, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.BackupSet{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup set: %w", err)
	}
	set.Created, set.Disabled = fromNanos(created), disabled != 0
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT idx, hash, used_ns FROM twofa_backup_codes WHERE user_id = ? AND set_id = ? ORDER BY idx`), userID, set.SetID)
	if err != nil {
		return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int
		var hash []byte
		var used int64
		if err := rows.Scan(&idx, &hash, &used); err != nil {
			return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup codes: %w", err)
		}
		if idx != len(set.Hashes) {
			return storage.BackupSet{}, fmt.Errorf("sqlstore: backup codes of user's set are not numbered 0..n-1")
		}
		set.Hashes = append(set.Hashes, hash)
		set.UsedAt = append(set.UsedAt, fromNanos(used))
	}
	if err := rows.Err(); err != nil {
		return storage.BackupSet{}, fmt.Errorf("sqlstore: read backup codes: %w", err)
	}
	return set, nil
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
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE twofa_backup_codes SET used_ns = ? WHERE user_id = ? AND set_id = ? AND idx = ? AND used_ns = 0`),
		toNanos(at), userID, setID, index)
	if err != nil {
		return false, fmt.Errorf("sqlstore: use backup code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: use backup code: %w", err)
	}
	return n == 1, nil
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
