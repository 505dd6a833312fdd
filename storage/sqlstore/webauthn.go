package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/storage"
)

var (
	_ storage.WebAuthnStore = (*Store)(nil)
	_ storage.CeremonyStore = (*Store)(nil)
)

// blob returns b, or an empty slice for nil, which database/sql would write
// as NULL into a NOT NULL column.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// checkLastUsed checks a credential's LastUsed, which may be zero: never
// used.
func checkLastUsed(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	return storage.CheckTime(t)
}

// WebAuthnHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnHandle(ctx context.Context, userID string) ([]byte, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	var h []byte
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT handle FROM twofa_webauthn_handles WHERE user_id = ?`), userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read webauthn handle: %w", err)
	}
	return h, nil
}

// PutWebAuthnHandle implements [storage.WebAuthnStore]. ON CONFLICT without
// a target covers both unique columns: a user who has a handle, and a
// handle another user has.
func (s *Store) PutWebAuthnHandle(ctx context.Context, userID string, handle []byte) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	n, err := s.affected(ctx, "write webauthn handle",
		`INSERT INTO twofa_webauthn_handles (user_id, handle) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, blob(handle))
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrConflict
	}
	return nil
}

// WebAuthnDisabled implements [storage.WebAuthnStore].
func (s *Store) WebAuthnDisabled(ctx context.Context, userID string) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	var disabled int
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT disabled FROM twofa_webauthn_handles WHERE user_id = ?`), userID).Scan(&disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: read webauthn disabled: %w", err)
	}
	return disabled != 0, nil
}

// SetWebAuthnDisabled implements [storage.WebAuthnStore].
func (s *Store) SetWebAuthnDisabled(ctx context.Context, userID string, disabled bool) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	n, err := s.affected(ctx, "set webauthn disabled", `UPDATE twofa_webauthn_handles SET disabled = ? WHERE user_id = ?`, boolInt(disabled), userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// WebAuthnUserByHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnUserByHandle(ctx context.Context, handle []byte) (string, error) {
	var userID string
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT user_id FROM twofa_webauthn_handles WHERE handle = ?`), blob(handle)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", storage.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: read webauthn user by handle: %w", err)
	}
	return userID, nil
}

// WebAuthnCredentials implements [storage.WebAuthnStore]. The ID breaks
// ties of Created, so that the order is the same on every read.
func (s *Store) WebAuthnCredentials(ctx context.Context, userID string) ([]storage.WebAuthnCredential, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT id, name, data, created_ns, last_used_ns
		FROM twofa_webauthn_credentials WHERE user_id = ? ORDER BY created_ns, id`), userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read webauthn credentials: %w", err)
	}
	defer rows.Close()
	creds := []storage.WebAuthnCredential{}
	for rows.Next() {
		c := storage.WebAuthnCredential{UserID: userID}
		var created, lastUsed int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Data, &created, &lastUsed); err != nil {
			return nil, fmt.Errorf("sqlstore: read webauthn credentials: %w", err)
		}
		c.Created, c.LastUsed = fromNanos(created), fromNanos(lastUsed)
		creds = append(creds, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read webauthn credentials: %w", err)
	}
	return creds, nil
}

// AddWebAuthnCredential implements [storage.WebAuthnStore]. The primary key
// on id alone makes an ID unique across users, and lets exactly one of
// several concurrent inserts in.
func (s *Store) AddWebAuthnCredential(ctx context.Context, c storage.WebAuthnCredential) error {
	if err := checkUser(c.UserID); err != nil {
		return err
	}
	if err := storage.CheckTime(c.Created); err != nil {
		return err
	}
	if err := checkLastUsed(c.LastUsed); err != nil {
		return err
	}
	if err := storage.CheckText(c.Name); err != nil {
		return err
	}
	n, err := s.affected(ctx, "add webauthn credential",
		`INSERT INTO twofa_webauthn_credentials (id, user_id, name, data, created_ns, last_used_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		blob(c.ID), c.UserID, c.Name, blob(c.Data), toNanos(c.Created), toNanos(c.LastUsed))
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrConflict
	}
	return nil
}

// UpdateWebAuthnCredential implements [storage.WebAuthnStore].
func (s *Store) UpdateWebAuthnCredential(ctx context.Context, c storage.WebAuthnCredential) error {
	if err := checkUser(c.UserID); err != nil {
		return err
	}
	if err := checkLastUsed(c.LastUsed); err != nil {
		return err
	}
	if err := storage.CheckText(c.Name); err != nil {
		return err
	}
	n, err := s.affected(ctx, "update webauthn credential",
		`UPDATE twofa_webauthn_credentials SET name = ?, data = ?, last_used_ns = ? WHERE user_id = ? AND id = ?`,
		c.Name, blob(c.Data), toNanos(c.LastUsed), c.UserID, blob(c.ID))
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteWebAuthnCredential implements [storage.WebAuthnStore].
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	_, err := s.affected(ctx, "delete webauthn credential",
		`DELETE FROM twofa_webauthn_credentials WHERE user_id = ? AND id = ?`, userID, blob(id))
	return err
}

// DeleteWebAuthnCredentials implements [storage.WebAuthnStore]. The keys
// and the handle go together, so a reader never sees one without the other.
func (s *Store) DeleteWebAuthnCredentials(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	return s.inTx(ctx, "delete webauthn credentials", func(tx txConn) error {
		for _, q := range []string{`DELETE FROM twofa_webauthn_credentials WHERE user_id = ?`, `DELETE FROM twofa_webauthn_handles WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), userID); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutCeremony implements [storage.CeremonyStore] in three statements, each
// on an index, none of them a scan:
//
//   - the expired ceremonies of every user go, found on
//     twofa_webauthn_ceremonies_expires. As every put removes all that are
//     due, there are seldom more than one or two to remove.
//   - c goes in; ON CONFLICT makes a taken ID zero rows, not an error.
//   - the user's ceremonies past the keep that expire last go, below a
//     cut-off read from the end of twofa_webauthn_ceremonies_user: keep
//     index entries, and the rows removed.
//
// On PostgreSQL they are separate statements, not one transaction, so that
// no put holds row locks while another waits: two puts under way for one
// user may each count the other's ceremony, and the next put trims what
// they left. SQLite runs one writer at a time anyway, and there one
// transaction costs one commit instead of three.
func (s *Store) PutCeremony(ctx context.Context, c storage.Ceremony, now time.Time, keep int) error {
	if c.UserID != "" { // "" is the pool of passkey logins
		if err := checkUser(c.UserID); err != nil {
			return err
		}
	}
	if err := storage.CheckTime(c.Expires, now); err != nil {
		return err
	}
	if err := storage.CheckText(c.ID, c.Kind); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d ceremonies", storage.ErrInvalidArgument, keep)
	}
	put := func(e execer) (stored bool, err error) {
		if _, err := e.ExecContext(ctx, s.q.ceremonyExpire, toNanos(now)); err != nil {
			return false, fmt.Errorf("delete expired: %w", err)
		}
		res, err := e.ExecContext(ctx, s.q.ceremonyInsert, c.ID, c.UserID, c.Kind, blob(c.Data), toNanos(c.Expires))
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return false, err // n == 0: the ID is taken, and nothing is to trim
		}
		if _, err := e.ExecContext(ctx, s.q.ceremonyTrim, c.UserID, c.UserID, keep-1); err != nil {
			return false, fmt.Errorf("trim: %w", err)
		}
		return true, nil
	}
	var stored bool
	var err error
	if s.d == MySQL {
		stored, err = s.putCeremonyMySQL(ctx, c, now, keep)
	} else if s.d == SQLite {
		err = s.inTx(ctx, "put webauthn ceremony", func(tx txConn) error {
			stored, err = put(tx)
			return err
		})
	} else if stored, err = put(s.db); err != nil {
		err = fmt.Errorf("sqlstore: put webauthn ceremony: %w", err)
	}
	if err == nil && !stored {
		err = storage.ErrConflict
	}
	return err
}

// execer is what *sql.DB and *sql.Tx share, for statements that run on
// either.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DeleteCeremonies implements [storage.CeremonyStore].
func (s *Store) DeleteCeremonies(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	_, err := s.affected(ctx, "delete webauthn ceremonies", `DELETE FROM twofa_webauthn_ceremonies WHERE user_id = ?`, userID)
	return err
}

// TakeCeremony implements [storage.CeremonyStore]: one DELETE ... RETURNING
// (SQLite 3.35, PostgreSQL 8.2), so the row goes to whichever call deletes
// it and every other call finds none.
func (s *Store) TakeCeremony(ctx context.Context, id string) (storage.Ceremony, error) {
	if !validText(id) {
		return storage.Ceremony{}, storage.ErrNotFound
	}
	if s.d == MySQL {
		return s.takeCeremonyMySQL(ctx, id)
	}
	c := storage.Ceremony{ID: id}
	var expires int64
	err := s.db.QueryRowContext(ctx, s.d.rebind(`DELETE FROM twofa_webauthn_ceremonies WHERE id = ?
		RETURNING user_id, kind, data, expires_ns`), id).Scan(&c.UserID, &c.Kind, &c.Data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Ceremony{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.Ceremony{}, fmt.Errorf("sqlstore: take webauthn ceremony: %w", err)
	}
	c.Expires = fromNanos(expires)
	return c, nil
}
