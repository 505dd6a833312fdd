package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Email implements [storage.EmailStore].
func (s *Store) Email(ctx context.Context, userID string) (storage.EmailState, error) {
	if err := checkUser(userID); err != nil {
		return storage.EmailState{}, err
	}
	st := storage.EmailState{UserID: userID}
	var (
		disabled      int
		since         int64
		id            sql.NullString
		hash, binding []byte
		sent, expires sql.NullInt64
		failures      int
	)
	var lastNs int64
	err := s.db.QueryRowContext(ctx, s.q.emailGet, userID).
		Scan(&disabled, &since, &id, &hash, &sent, &expires, &failures, &binding, &st.Throttle.Failures, &lastNs)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.EmailState{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.EmailState{}, fmt.Errorf("sqlstore: read email state: %w", err)
	}
	st.Disabled, st.Since, st.Throttle.Last = disabled != 0, fromNanos(since), fromNanos(lastNs)
	if id.Valid {
		st.Code = &storage.EmailCode{ID: id.String, Hash: hash, Sent: fromNanos(sent.Int64), Expires: fromNanos(expires.Int64), Failures: failures, Binding: binding}
	}
	return st, nil
}

// PutEmail implements [storage.EmailStore].
func (s *Store) PutEmail(ctx context.Context, userID string, disabled bool, since time.Time) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := storage.CheckTime(since); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO twofa_email (user_id, disabled, since_ns) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET disabled = excluded.disabled`), userID, boolInt(disabled), toNanos(since))
	if err != nil {
		return fmt.Errorf("sqlstore: write email state: %w", err)
	}
	return nil
}

// DeleteEmail implements [storage.EmailStore].
func (s *Store) DeleteEmail(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM twofa_email WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("sqlstore: delete email state: %w", err)
	}
	return nil
}

// SwapEmailCode implements [storage.EmailStore]: one conditional UPDATE on
// the code's ID and failure count.
func (s *Store) SwapEmailCode(ctx context.Context, userID string, prev, next *storage.EmailCode) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	set := `UPDATE twofa_email SET code_id = NULL, code_hash = NULL, sent_ns = NULL, expires_ns = NULL, failures = 0, code_binding = NULL
		WHERE user_id = ? AND `
	args := []any{userID}
	if next != nil {
		if err := storage.CheckTime(next.Sent, next.Expires); err != nil {
			return false, err
		}
		if err := storage.CheckText(next.ID); err != nil {
			return false, err
		}
		set = `UPDATE twofa_email SET code_id = ?, code_hash = ?, sent_ns = ?, expires_ns = ?, failures = ?, code_binding = ?
		WHERE user_id = ? AND `
		args = []any{next.ID, blob(next.Hash), toNanos(next.Sent), toNanos(next.Expires), next.Failures, next.Binding, userID}
	}
	if prev == nil {
		set += `code_id IS NULL`
	} else {
		set += `code_id = ? AND failures = ?`
		args = append(args, prev.ID, prev.Failures)
	}
	if prev == nil || validText(prev.ID) { // no code has another ID
		n, err := s.affected(ctx, "swap email code", set, args...)
		if err != nil || n == 1 {
			return n == 1, err
		}
	}
	if _, err := s.Email(ctx, userID); err != nil {
		return false, err // ErrNotFound, or a read error
	}
	return false, nil
}

// FailEmailCode implements [storage.EmailStore].
func (s *Store) FailEmailCode(ctx context.Context, userID, id string) (int, error) {
	if err := checkUser(userID); err != nil {
		return 0, err
	}
	if !validText(id) {
		return 0, storage.ErrNotFound
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count email failure: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE twofa_email SET failures = failures + 1 WHERE user_id = ? AND code_id = ?`), userID, id)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count email failure: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("sqlstore: count email failure: %w", err)
	} else if n == 0 {
		return 0, storage.ErrNotFound
	}
	var failures int
	if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT failures FROM twofa_email WHERE user_id = ?`), userID).Scan(&failures); err != nil {
		return 0, fmt.Errorf("sqlstore: count email failure: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: count email failure: %w", err)
	}
	return failures, nil
}

// emailGet reads a user's state and, in the same statement, the user's
// throttle state (see totpGet).
func emailGet(d Dialect) string {
	switch d {
	case SQLite, PostgreSQL, MySQL:
		return d.rebind(`SELECT e.disabled, e.since_ns, e.code_id, e.code_hash, e.sent_ns, e.expires_ns, e.failures, e.code_binding,
			COALESCE(h.failures, 0), COALESCE(h.last_ns, 0)
			FROM twofa_email e LEFT JOIN twofa_throttle h ON h.user_id = e.user_id
			WHERE e.user_id = ?`)
	}
	panic("sqlstore: no emailGet for " + d.String())
}

// emailConsume removes the user's code if it is still code ? and has
// fewer than ? failures.
const emailConsume = `UPDATE twofa_email SET code_id = NULL, code_hash = NULL, sent_ns = NULL, expires_ns = NULL, failures = 0, code_binding = NULL
	WHERE user_id = ? AND code_id = ? AND failures < ?`

// emailConsumeReset is emailConsume and, if it consumed the code, the
// clearing of the user's throttle state, as one statement (see
// totpAdvanceReset); "" for SQLite, where it is a transaction of two.
func emailConsumeReset(d Dialect) string {
	switch d {
	case PostgreSQL:
		return `WITH used AS (
				UPDATE twofa_email SET code_id = NULL, code_hash = NULL, sent_ns = NULL, expires_ns = NULL, failures = 0, code_binding = NULL
				WHERE user_id = $1 AND code_id = $2 AND failures < $3 RETURNING user_id
			), clr AS (
				UPDATE twofa_throttle SET failures = 0, last_ns = 0 WHERE user_id = (SELECT user_id FROM used)
			)
			SELECT COUNT(*) FROM used`
	case MySQL:
		return `UPDATE twofa_email e LEFT JOIN twofa_throttle h ON h.user_id = e.user_id
			SET e.code_id = NULL, e.code_hash = NULL, e.sent_ns = NULL, e.expires_ns = NULL, e.failures = 0, e.code_binding = NULL,
				h.failures = 0, h.last_ns = 0
			WHERE e.user_id = ? AND e.code_id = ? AND e.failures < ?`
	case SQLite:
		return ""
	}
	panic("sqlstore: no emailConsumeReset for " + d.String())
}

// ConsumeEmailCode implements [storage.EmailStore].
func (s *Store) ConsumeEmailCode(ctx context.Context, userID, id string, maxFailures int) (bool, error) {
	return s.consumeEmailCode(ctx, userID, id, maxFailures, false)
}

// ConsumeEmailCodeAndResetThrottle implements [storage.EmailStore]: on
// PostgreSQL one statement, on SQLite one transaction of two.
func (s *Store) ConsumeEmailCodeAndResetThrottle(ctx context.Context, userID, id string, maxFailures int) (bool, error) {
	return s.consumeEmailCode(ctx, userID, id, maxFailures, true)
}

func (s *Store) consumeEmailCode(ctx context.Context, userID, id string, maxFailures int, reset bool) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	if !validText(id) {
		return false, nil
	}
	if !reset {
		n, err := s.affected(ctx, "consume email code", s.q.emailConsume, userID, id, maxFailures)
		return n == 1, err
	}
	return s.claimAndReset(ctx, "consume email code", s.q.emailConsumeReset, s.q.emailConsume, userID, userID, id, maxFailures)
}

// affected runs one statement and returns how many rows it changed.
func (s *Store) affected(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return n, nil
}
