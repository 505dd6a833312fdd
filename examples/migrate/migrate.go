// Package migrate moves the authenticator secrets of an authboss-shaped
// users table to twofa, as docs/migration.md describes; that guide shows
// this file whole, and a test holds the two equal.
//
// The table has a plaintext base32 TOTP secret per user (authboss's
// totp2fa, made by pquerna/otp: SHA1, 6 digits, 30 seconds) and a CSV of
// bcrypt hashes of recovery codes (authboss's twofactor).
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// RowError names a row that was not imported, and why; the error never
// holds the secret.
type RowError struct {
	UserID string
	Err    error
}

func (e *RowError) Error() string { return fmt.Sprintf("user %s: %v", e.UserID, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// Result is what FromAuthboss did.
type Result struct {
	Imported int         // users whose secret twofa now holds
	Skipped  int         // users twofa already had (a run before this one)
	Failed   []*RowError // rows refused; their users keep their old state
}

// batch is how many rows are read at a time, so that memory stays bounded
// however large the table, and no read holds the table while twofa
// writes (which may be to the same database).
const batch = 500

// FromAuthboss imports every user of the users table who has a TOTP
// secret. Rows twofa cannot use (a malformed secret, an account name it
// refuses) are reported in Result.Failed and the run goes on; a store,
// clock or database failure stops it with an error naming the row. It can
// be run again: users already imported are skipped.
//
// Run it once the old application has stopped accepting codes: Import
// refuses the codes of the steps around the moment it runs, not codes the
// old application takes later.
func FromAuthboss(ctx context.Context, db *sql.DB, tf *totp.Service) (Result, error) {
	var res Result
	last := int64(0)
	for {
		rows, err := db.QueryContext(ctx, `SELECT id, email, totp_secret_key FROM users
			WHERE id > ? AND totp_secret_key IS NOT NULL AND totp_secret_key <> ''
			ORDER BY id LIMIT ?`, last, batch)
		if err != nil {
			return res, fmt.Errorf("read users: %w", err)
		}
		type row struct {
			id            int64
			email, secret string
		}
		var page []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.email, &r.secret); err != nil {
				rows.Close()
				return res, fmt.Errorf("read users: %w", err)
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("read users: %w", err)
		}
		if len(page) == 0 {
			return res, nil
		}
		for _, r := range page {
			last = r.id
			userID := strconv.FormatInt(r.id, 10)
			im, err := totp.ParseSecret(r.secret, totp.SHA1, 6, 30*time.Second)
			if err == nil {
				err = tf.Import(ctx, userID, r.email, im, totp.ImportOptions{})
			}
			switch {
			case err == nil:
				res.Imported++
			case errors.Is(err, totp.ErrAlreadySetUp):
				res.Skipped++
			case errors.Is(err, totp.ErrBadSecret), errors.Is(err, totp.ErrBadParameters),
				errors.Is(err, totp.ErrBadAccount):
				res.Failed = append(res.Failed, &RowError{UserID: userID, Err: err})
			default:
				return res, &RowError{UserID: userID, Err: err}
			}
		}
	}
}

// UseOldRecoveryCode lets a user sign in with a recovery code of the old
// system during a transition, if the application chooses to keep them:
// it reports whether code matches one of the user's bcrypt hashes and, if
// so, removes that hash, so that the code works once. Attempts count
// against lim, the limiter twofa's own codes use, so the old codes are no
// easier to guess. When the transition ends, empty the column.
func UseOldRecoveryCode(ctx context.Context, db *sql.DB, lim *throttle.Limiter, userID, code string) (bool, error) {
	if err := lim.Attempt(ctx, userID); err != nil {
		return false, err
	}
	code = strings.ToLower(strings.TrimSpace(code))
	// A use of another code at the same moment changes the column; read it
	// again then, a few times at most.
	for range 3 {
		var csv sql.NullString
		err := db.QueryRowContext(ctx, `SELECT recovery_codes FROM users WHERE id = ?`, userID).Scan(&csv)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read recovery codes: %w", err)
		}
		hashes := strings.Split(csv.String, ",")
		i := slices.IndexFunc(hashes, func(h string) bool {
			return h != "" && bcrypt.CompareHashAndPassword([]byte(h), []byte(code)) == nil
		})
		if i < 0 {
			return false, nil
		}
		left := strings.Join(slices.Delete(hashes, i, i+1), ",")
		// Only a request that still sees the column it read writes it: of
		// two using the same code at once, one wins and the other finds
		// the code gone when it reads again.
		r, err := db.ExecContext(ctx, `UPDATE users SET recovery_codes = ?
			WHERE id = ? AND recovery_codes = ?`, left, userID, csv.String)
		if err != nil {
			return false, fmt.Errorf("use recovery code: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return false, fmt.Errorf("use recovery code: %w", err)
		} else if n == 1 {
			return true, lim.Success(ctx, userID)
		}
	}
	return false, errors.New("use recovery code: the codes keep changing, try again")
}
