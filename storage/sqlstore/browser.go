package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

var _ storage.BrowserStore = (*Store)(nil)

// BrowserByHash implements [storage.BrowserStore].
func (s *Store) BrowserByHash(ctx context.Context, hash []byte) (storage.Browser, error) {
	var b storage.Browser
	var created, lastUsed int64
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT id, user_id, hash, label, created_ns, last_used_ns
		FROM twofa_browsers WHERE hash = ?`), blob(hash)).
		Scan(&b.ID, &b.UserID, &b.Hash, &b.Label, &created, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Browser{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.Browser{}, fmt.Errorf("sqlstore: read browser by hash: %w", err)
	}
	b.Created, b.LastUsed = fromNanos(created), fromNanos(lastUsed)
	return b, nil
}

// Browsers implements [storage.BrowserStore]. The ID breaks ties of
// Created, so that the order is the same on every read.
func (s *Store) Browsers(ctx context.Context, userID string) ([]storage.Browser, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT id, hash, label, created_ns, last_used_ns
		FROM twofa_browsers WHERE user_id = ? ORDER BY created_ns, id`), userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read browsers: %w", err)
	}
	defer rows.Close()
	list := []storage.Browser{}
	for rows.Next() {
		b := storage.Browser{UserID: userID}
		var created, lastUsed int64
		if err := rows.Scan(&b.ID, &b.Hash, &b.Label, &created, &lastUsed); err != nil {
			return nil, fmt.Errorf("sqlstore: read browsers: %w", err)
		}
		b.Created, b.LastUsed = fromNanos(created), fromNanos(lastUsed)
		list = append(list, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read browsers: %w", err)
	}
	return list, nil
}

// AddBrowser implements [storage.BrowserStore]. ON CONFLICT without a
// target covers both unique columns, the id and the hash, and lets exactly
// one of several concurrent inserts of either in. A second statement then
// drops the user's other browsers past the keep-1 most recently used; the
// user's rows are few (keep, plus adds under way), so it reads them through
// twofa_browsers_user and sorts them at little cost.
func (s *Store) AddBrowser(ctx context.Context, b storage.Browser, keep int) error {
	if err := checkUser(b.UserID); err != nil {
		return err
	}
	if err := storage.CheckTime(b.Created, b.LastUsed); err != nil {
		return err
	}
	if err := storage.CheckText(b.ID, b.Label); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d browsers", storage.ErrInvalidArgument, keep)
	}
	n, err := s.affected(ctx, "add browser",
		`INSERT INTO twofa_browsers (id, user_id, hash, label, created_ns, last_used_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		b.ID, b.UserID, blob(b.Hash), b.Label, toNanos(b.Created), toNanos(b.LastUsed))
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrConflict
	}
	if s.d == MySQL {
		return s.trimBrowsersMySQL(ctx, b.UserID, b.ID, keep)
	}
	// The id is COLLATE "C" on PostgreSQL (0006), BINARY on SQLite: both
	// break ties in byte order, as the memory store does.
	_, err = s.affected(ctx, "trim browsers",
		`DELETE FROM twofa_browsers WHERE id IN (
			SELECT id FROM twofa_browsers WHERE user_id = ? AND id <> ?
			ORDER BY last_used_ns DESC, created_ns DESC, id DESC `+s.d.offset()+s.d.skipLocked()+`)`,
		b.UserID, b.ID, keep-1)
	return err
}

// TouchBrowser implements [storage.BrowserStore]: one UPDATE that keeps the
// later of the stored time and at. It matches the row whether or not the
// time moves, so its affected-row count says only whether the browser
// exists, in the same statement: there is no second read for a revocation
// to slip in between. Concurrent touches queue on the row, and each compares
// with the time the one before it wrote.
func (s *Store) TouchBrowser(ctx context.Context, userID, id string, at time.Time) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := storage.CheckTime(at); err != nil {
		return err
	}
	if !validText(id) {
		return storage.ErrNotFound
	}
	ns := toNanos(at)
	n, err := s.affected(ctx, "touch browser",
		`UPDATE twofa_browsers SET last_used_ns = CASE WHEN last_used_ns < ? THEN ? ELSE last_used_ns END
		WHERE user_id = ? AND id = ?`, ns, ns, userID, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteBrowser implements [storage.BrowserStore].
func (s *Store) DeleteBrowser(ctx context.Context, userID, id string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if !validText(id) {
		return nil // no browser has this ID
	}
	_, err := s.affected(ctx, "delete browser", `DELETE FROM twofa_browsers WHERE user_id = ? AND id = ?`, userID, id)
	return err
}

// DeleteBrowsers implements [storage.BrowserStore].
func (s *Store) DeleteBrowsers(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	_, err := s.affected(ctx, "delete browsers", `DELETE FROM twofa_browsers WHERE user_id = ?`, userID)
	return err
}
