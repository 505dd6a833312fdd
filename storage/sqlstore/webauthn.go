package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
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

// WebAuthnHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnHandle(ctx context.Context, userID string) ([]byte, error) {
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
	_, err := s.affected(ctx, "delete webauthn credential",
		`DELETE FROM twofa_webauthn_credentials WHERE user_id = ? AND id = ?`, userID, blob(id))
	return err
}

// DeleteWebAuthnCredentials implements [storage.WebAuthnStore]. The keys
// and the handle go together, so a reader never sees one without the other.
func (s *Store) DeleteWebAuthnCredentials(ctx context.Context, userID string) error {
	return s.inTx(ctx, "delete webauthn credentials", func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM twofa_webauthn_credentials WHERE user_id = ?`, `DELETE FROM twofa_webauthn_handles WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), userID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ceremonyGrace is how long after it expired a ceremony is kept. Ceremonies
// live for minutes, so one that expired a day before a new one does is
// dead on any server whose clock is not a day off; its Take would fail
// the caller's expiry check anyway.
const ceremonyGrace = 24 * time.Hour

// PutCeremony implements [storage.CeremonyStore].
//
// Ceremonies begun and never finished would pile up, so about one call in
// 256 first deletes those that expired ceremonyGrace before c does. The
// cut-off comes from c, which needs no clock here, and the rare extra
// statement keeps the usual call to one INSERT; each clean-up removes all
// that is due, so the table stays near the number of live ceremonies.
func (s *Store) PutCeremony(ctx context.Context, c storage.Ceremony) error {
	// Unix nanoseconds below ceremonyGrace (the zero time, 1970) have no
	// cut-off worth the statement, and subtracting could overflow.
	if exp := toNanos(c.Expires); exp > int64(ceremonyGrace) && rand.IntN(256) == 0 {
		if _, err := s.affected(ctx, "delete expired webauthn ceremonies",
			`DELETE FROM twofa_webauthn_ceremonies WHERE expires_ns < ?`, exp-int64(ceremonyGrace)); err != nil {
			return err
		}
	}
	n, err := s.affected(ctx, "put webauthn ceremony",
		`INSERT INTO twofa_webauthn_ceremonies (id, user_id, kind, data, expires_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.UserID, c.Kind, blob(c.Data), toNanos(c.Expires))
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrConflict
	}
	return nil
}

// TakeCeremony implements [storage.CeremonyStore]: one DELETE ... RETURNING
// (SQLite 3.35, PostgreSQL 8.2), so the row goes to whichever call deletes
// it and every other call finds none.
func (s *Store) TakeCeremony(ctx context.Context, id string) (storage.Ceremony, error) {
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
