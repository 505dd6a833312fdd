package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

var _ storage.LogStore = (*Store)(nil)

// AppendLog implements [storage.LogStore]: an INSERT, then one DELETE of
// the user's entries older than before or past the newest keep, on the
// index twofa_log_user (migration 0008). As in AddBrowser, the trim is a
// statement of its own, not a transaction around both, so appends never
// wait for each other: n appends under way for one user may leave up to
// keep+n rows, and the next append trims them.
func (s *Store) AppendLog(ctx context.Context, e storage.LogEntry, keep int, before time.Time) error {
	if err := storage.CheckLogEntry(e); err != nil {
		return err
	}
	if err := storage.CheckTime(before); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d log entries", storage.ErrInvalidArgument, keep)
	}
	if _, err := s.affected(ctx, "append log",
		`INSERT INTO twofa_log (user_id, at_ns, kind, method, detail) VALUES (?, ?, ?, ?, ?)`,
		e.UserID, toNanos(e.Time), e.Kind, e.Method, e.Detail); err != nil {
		return err
	}
	if s.d == MySQL {
		return s.trimLogMySQL(ctx, e.UserID, toNanos(before), keep)
	}
	_, err := s.affected(ctx, "trim log",
		`DELETE FROM twofa_log WHERE user_id = ? AND (at_ns < ? OR seq IN (
			SELECT seq FROM twofa_log WHERE user_id = ?
			ORDER BY at_ns DESC, seq DESC `+s.d.offset()+s.d.skipLocked()+`))`,
		e.UserID, toNanos(before), e.UserID, keep)
	return err
}

// Log implements [storage.LogStore].
func (s *Store) Log(ctx context.Context, userID string, limit int) ([]storage.LogEntry, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: a limit of %d log entries", storage.ErrInvalidArgument, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT at_ns, kind, method, detail FROM twofa_log
		WHERE user_id = ? ORDER BY at_ns DESC, seq DESC LIMIT ?`), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read log: %w", err)
	}
	defer rows.Close()
	list := []storage.LogEntry{}
	for rows.Next() {
		e := storage.LogEntry{UserID: userID}
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Method, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlstore: read log: %w", err)
		}
		e.Time = fromNanos(at)
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read log: %w", err)
	}
	return list, nil
}

// DeleteLog implements [storage.LogStore].
func (s *Store) DeleteLog(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	_, err := s.affected(ctx, "delete log", `DELETE FROM twofa_log WHERE user_id = ?`, userID)
	return err
}
