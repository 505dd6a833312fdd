package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twofa-go/twofa/httpmw"
)

// The application's own sessions: a random 256-bit ID in a cookie, and in
// the database only its SHA-256 with the user and an expiry, so a copy of
// the table logs nobody in. twofa's middleware keeps its mark ("second step
// passed") in a cookie of its own, signed and bound to this ID.
//
// When the second step is passed the session gets a new ID, once: the
// first request to pass renews it, and the old ID stays a name of the same
// session for renewGrace more, so that the requests the browser sent at the
// same moment with the old ID (a page loading its parts at once) are still
// served. httpmw is told of those (httpmw.ErrSessionRenewed) and renews
// nothing for them.

// sessionTTL is how long a session lasts, however active.
const sessionTTL = 12 * time.Hour

// renewGrace is how long a renewed session's old ID still names it: long
// enough for the requests sent with it before the new ID arrived, short
// enough that a stolen old ID is of little use. It gives nothing that the
// ID did not give before the renewal: a request with it passes the second
// step only as it did then, by a remembered browser of its own.
const renewGrace = 30 * time.Second

// session is the session of a request.
type session struct {
	id   string // the cookie's value; only its hash is stored
	hash string // the hash the session is stored under: id's, or a renewed ID's
	user user
}

// renewed reports whether s was found by an old ID, renewed within the
// grace.
func (s session) renewed() bool { return s.hash != hashID(s.id) }

type sessionKey struct{}

// sessionFrom returns r's session, as the sessions middleware found it.
func sessionFrom(r *http.Request) (session, bool) {
	s, ok := r.Context().Value(sessionKey{}).(session)
	return s, ok
}

// sessionID is httpmw.CookieSession's SessionID: the ID its mark is bound to.
func sessionID(r *http.Request) string {
	s, _ := sessionFrom(r)
	return s.id
}

func withSession(r *http.Request, s session) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// sessions finds the session of each request, by its ID or by an old ID
// still in its grace, and puts it in the request's context.
func (a *app) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(a.sessionCookie("", 0).Name)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		s := session{id: ck.Value}
		var isAdmin int
		now := a.now().Unix()
		err = a.db.QueryRowContext(r.Context(), `SELECT s.id_hash, u.id, u.email, u.is_admin FROM app_sessions s JOIN app_users u ON u.id = s.user_id
			WHERE s.expires > $2 AND (s.id_hash = $1 OR s.id_hash = (SELECT new_hash FROM app_session_renewals WHERE old_hash = $1 AND until > $2))`,
			hashID(ck.Value), now).Scan(&s.hash, &s.user.ID, &s.user.Email, &isAdmin)
		switch {
		case err == nil:
			s.user.Admin = isAdmin == 1
			r = withSession(r, s)
		case !errors.Is(err, sql.ErrNoRows):
			a.fail(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// startSession logs u in: a new session, in a new cookie, instead of the
// browser's session if it had one.
func (a *app) startSession(w http.ResponseWriter, r *http.Request, u user) error {
	_, err := a.openSession(w, r, u)
	return err
}

// logIn is httpmw's Config.LogIn: a passkey that verified the user signed
// userID in, with no password. The session starts as at a password login,
// and the rest of the request (httpmw renews it and records the second
// step) sees it.
func (a *app) logIn(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
	u, err := a.userByID(r.Context(), userID)
	if err != nil {
		return r, err
	}
	s, err := a.openSession(w, r, u)
	if err != nil {
		return r, err
	}
	return withSession(r, s), nil
}

// openSession starts u's session and returns it.
func (a *app) openSession(w http.ResponseWriter, r *http.Request, u user) (session, error) {
	now := a.now().Unix()
	old, _ := sessionFrom(r)
	// Expired sessions and graces go now and then; here is as good a time
	// as any.
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM app_sessions WHERE expires <= $1 OR id_hash = $2`, now, old.hash); err != nil {
		return session{}, err
	}
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM app_session_renewals WHERE until <= $1 OR new_hash = $2`, now, old.hash); err != nil {
		return session{}, err
	}
	id := newSessionID()
	if _, err := a.db.ExecContext(r.Context(), `INSERT INTO app_sessions (id_hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
		hashID(id), u.ID, now, now+int64(sessionTTL/time.Second)); err != nil {
		return session{}, fmt.Errorf("start session: %w", err)
	}
	http.SetCookie(w, a.sessionCookie(id, 0))
	return session{id: id, hash: hashID(id), user: u}, nil
}

// renewSession is httpmw's RenewSession: once the second step is passed the
// session gets a new ID, so an ID planted or seen before (session fixation)
// is worth nothing. It returns the request carrying the new ID, to which
// httpmw then binds its mark. For a request whose ID another request has
// just renewed it renews nothing and returns httpmw.ErrSessionRenewed.
func (a *app) renewSession(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	s, ok := sessionFrom(r)
	if !ok {
		return r, errors.New("renew session: no session")
	}
	if s.renewed() {
		return r, httpmw.ErrSessionRenewed
	}
	id := newSessionID()
	renewed, err := a.renew(r.Context(), s.hash, hashID(id))
	if err != nil {
		return r, fmt.Errorf("renew session: %w", err)
	}
	if !renewed {
		return r, httpmw.ErrSessionRenewed
	}
	http.SetCookie(w, a.sessionCookie(id, 0))
	s.id, s.hash = id, hashID(id)
	return withSession(r, s), nil
}

// renew moves the session stored under oldHash to newHash, keeping
// oldHash as its name for renewGrace, in one transaction. Of requests that
// race to renew one session, the first renews and the others get false,
// nil; an error if the session has ended.
func (a *app) renew(ctx context.Context, oldHash, newHash string) (renewed bool, err error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	now := a.now()
	res, err := tx.ExecContext(ctx, `UPDATE app_sessions SET id_hash = $1 WHERE id_hash = $2 AND expires > $3`, newHash, oldHash, now.Unix())
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Another request renewed it first, or it ended: which, the
		// grace tells.
		var until int64
		switch err := tx.QueryRowContext(ctx, `SELECT until FROM app_session_renewals WHERE old_hash = $1`, oldHash).Scan(&until); {
		case err == nil && until > now.Unix():
			return false, nil
		case err == nil || errors.Is(err, sql.ErrNoRows):
			return false, errors.New("the session has ended")
		default:
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO app_session_renewals (old_hash, new_hash, until) VALUES ($1, $2, $3)`,
		oldHash, newHash, now.Add(renewGrace).Unix()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// endSession logs the user out of this browser: the session goes, under
// its ID and any old one in its grace.
func (a *app) endSession(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, a.sessionCookie("", -1))
	s, ok := sessionFrom(r)
	if !ok {
		return nil
	}
	_, err := a.db.ExecContext(r.Context(), `DELETE FROM app_sessions WHERE id_hash = $1`, s.hash)
	if err == nil {
		_, err = a.db.ExecContext(r.Context(), `DELETE FROM app_session_renewals WHERE new_hash = $1`, s.hash)
	}
	return err
}

func newSessionID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionCookie is the session cookie with value, by the rules of twofa's
// own cookies: HttpOnly, SameSite=Lax, and Secure with the "__Host-" prefix
// unless the configured origin is plain HTTP on localhost. maxAge 0 lasts
// until the browser closes; negative deletes it.
func (a *app) sessionCookie(value string, maxAge int) *http.Cookie {
	return a.mw.Cookie("session", value, maxAge)
}
