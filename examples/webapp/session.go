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
)

// The application's own sessions: a random 256-bit ID in a cookie, and in
// the database only its SHA-256 with the user and an expiry, so a copy of
// the table logs nobody in. twofa's middleware keeps its mark ("second step
// passed") in a cookie of its own, signed and bound to this ID.

// sessionTTL is how long a session lasts, however active.
const sessionTTL = 12 * time.Hour

// session is the session of a request.
type session struct {
	id   string // the cookie's value; only its hash is stored
	user user
}

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

// sessions finds the session of each request and puts it in the request's
// context.
func (a *app) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(a.sessionCookie("", 0).Name)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		s := session{id: ck.Value}
		var isAdmin int
		err = a.db.QueryRowContext(r.Context(), `SELECT u.id, u.email, u.is_admin FROM app_sessions s JOIN app_users u ON u.id = s.user_id
			WHERE s.id_hash = $1 AND s.expires > $2`, hashID(ck.Value), time.Now().Unix()).Scan(&s.user.ID, &s.user.Email, &isAdmin)
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
	now := time.Now()
	old, _ := sessionFrom(r)
	// Expired sessions go now and then; here is as good a time as any.
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM app_sessions WHERE expires <= $1 OR id_hash = $2`, now.Unix(), hashID(old.id)); err != nil {
		return err
	}
	id := newSessionID()
	if _, err := a.db.ExecContext(r.Context(), `INSERT INTO app_sessions (id_hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
		hashID(id), u.ID, now.Unix(), now.Add(sessionTTL).Unix()); err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	http.SetCookie(w, a.sessionCookie(id, 0))
	return nil
}

// renewSession is httpmw's RenewSession: once the second step is passed the
// session gets a new ID, so an ID planted or seen before (session fixation)
// is worth nothing. It returns the request carrying the new ID, to which
// httpmw then binds its mark.
func (a *app) renewSession(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	s, ok := sessionFrom(r)
	if !ok {
		return r, errors.New("renew session: no session")
	}
	id := newSessionID()
	res, err := a.db.ExecContext(r.Context(), `UPDATE app_sessions SET id_hash = $1 WHERE id_hash = $2`, hashID(id), hashID(s.id))
	if err != nil {
		return r, fmt.Errorf("renew session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return r, errors.New("renew session: the session has ended")
	}
	http.SetCookie(w, a.sessionCookie(id, 0))
	s.id = id
	return withSession(r, s), nil
}

// endSession logs the user out of this browser.
func (a *app) endSession(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, a.sessionCookie("", -1))
	s, ok := sessionFrom(r)
	if !ok {
		return nil
	}
	_, err := a.db.ExecContext(r.Context(), `DELETE FROM app_sessions WHERE id_hash = $1`, hashID(s.id))
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
