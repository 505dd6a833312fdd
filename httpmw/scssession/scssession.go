// Package scssession keeps httpmw's second-step mark in a session of
// github.com/alexedwards/scs/v2, and renews the session's token when the
// second step is passed:
//
//	sessions := scs.New()
//	s := scssession.New(sessions)
//	mw, err := httpmw.New(httpmw.Config{
//		// ...
//		User:    s.User,
//		Session: s,
//	})
//	// ... and, once the password is right: s.LogIn(r.Context(), userID)
//	http.ListenAndServe(addr, sessions.LoadAndSave(mux))
//
// httpmw.New takes the renewal (Renew) from the Session, and gives scs's
// cookie its rules (UseCookieRules: Secure, and named "__Host-session", on
// https). An application with its own user in the session gives its own
// Config.User instead of [Session.User], and renews the token at its own
// login as [Session.LogIn] does.
//
// The mark is three string values in the session (under the keys
// "twofa.user", "twofa.method" and "twofa.at"), so it lives in whatever
// store and codec the SessionManager uses, and ends when the session does:
// on Destroy, on expiry, and with the token Renew replaces. Every route that
// httpmw serves or guards must run inside the manager's LoadAndSave.
//
// scs's RenewToken deletes the old token at once, with no grace: of the
// requests a remembered browser sends in parallel with the old token while
// one of them renews it, the others find no session (see
// httpmw.Config.RenewSession).
package scssession

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
)

// The session keys of the mark, and of the user LogIn records.
const (
	keyUser   = "twofa.user"
	keyMethod = "twofa.method"
	keyAt     = "twofa.at"
	keyLogin  = "login.user"
)

// Session is an [httpmw.Session] over an scs SessionManager, with the
// RenewSession that goes with it.
type Session struct {
	m *scs.SessionManager
}

var _ httpmw.Session = (*Session)(nil)

// New returns a Session keeping the mark in m's sessions.
func New(m *scs.SessionManager) *Session {
	return &Session{m: m}
}

// UseCookieRules gives the manager's session cookie the rules of mw's own
// cookies ([httpmw.Middleware.Cookie]), which follow httpmw.Config.Origin:
// on https, Secure, with the "__Host-" prefix on its name
// ("__Host-session" for scs's default name), path "/" and no domain, as
// the prefix requires; on http://localhost, its name as it is and not
// Secure. It is HttpOnly either way, and keeps its SameSite and lifetime.
// scs's own cookie is not Secure unless told: the mark of the second step
// lives in the session, so on https its cookie must be. Call it after
// httpmw.New, before serving; calling it again changes nothing.
func (s *Session) UseCookieRules(mw *httpmw.Middleware) {
	c := mw.Cookie(strings.TrimPrefix(s.m.Cookie.Name, hostPrefix), "", 0)
	s.m.Cookie.Name = c.Name
	s.m.Cookie.Secure = c.Secure
	s.m.Cookie.HttpOnly = true
	if c.Secure {
		s.m.Cookie.Path = "/"
		s.m.Cookie.Domain = ""
	}
}

// hostPrefix is the prefix of a cookie name that browsers accept only from
// https, for path "/" and no domain.
const hostPrefix = "__Host-"

// errNoSession reports a request outside the manager's LoadAndSave, where
// scs would panic.
var errNoSession = errors.New("scssession: no scs session in the request: serve this route inside SessionManager.LoadAndSave")

// loaded calls f, which uses a request's session, and returns
// errNoSession if the request has none:
// scs panics on a context without its session data, and a route left out
// of LoadAndSave is a mistake to report, not a crash of the request.
func (s *Session) loaded(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if msg, ok := v.(string); ok && msg == "scs: no session data in context" {
				err = errNoSession
				return
			}
			panic(v)
		}
	}()
	f()
	return nil
}

// Mark implements [httpmw.Session]. A session without a mark, or with one
// that does not read (written by something else), has none.
func (s *Session) Mark(r *http.Request) (m httpmw.Mark, ok bool, err error) {
	var user, method, at string
	err = s.loaded(func() {
		ctx := r.Context()
		user, method, at = s.m.GetString(ctx, keyUser), s.m.GetString(ctx, keyMethod), s.m.GetString(ctx, keyAt)
	})
	if err != nil || user == "" {
		return httpmw.Mark{}, false, err
	}
	ns, perr := strconv.ParseInt(at, 10, 64)
	if perr != nil {
		return httpmw.Mark{}, false, nil
	}
	return httpmw.Mark{UserID: user, Method: twofa.Method(method), At: time.Unix(0, ns)}, true, nil
}

// SetMark implements [httpmw.Session]. scs writes the session when the
// response begins, as LoadAndSave does for every change.
func (s *Session) SetMark(w http.ResponseWriter, r *http.Request, m httpmw.Mark) error {
	if m.UserID == "" {
		return errors.New("scssession: a mark needs a user ID")
	}
	return s.loaded(func() {
		ctx := r.Context()
		s.m.Put(ctx, keyUser, m.UserID)
		s.m.Put(ctx, keyMethod, string(m.Method))
		s.m.Put(ctx, keyAt, strconv.FormatInt(m.At.UnixNano(), 10))
	})
}

// ClearMark implements [httpmw.Session].
func (s *Session) ClearMark(w http.ResponseWriter, r *http.Request) error {
	return s.loaded(func() {
		ctx := r.Context()
		s.m.Remove(ctx, keyUser)
		s.m.Remove(ctx, keyMethod)
		s.m.Remove(ctx, keyAt)
	})
}

// Renew is an [httpmw.Config].RenewSession: it gives r's session a new
// token with scs's RenewToken, which keeps the session's data, deletes the
// old token from the store and sends the new one when the response begins.
// It returns r itself: scs renews in place.
func (s *Session) Renew(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	var err error
	if lerr := s.loaded(func() { err = s.m.RenewToken(r.Context()) }); lerr != nil {
		return r, lerr
	}
	if err != nil {
		return r, fmt.Errorf("scssession: renew token: %w", err)
	}
	return r, nil
}

// LogIn records userID as the session's user once the application's own
// first step (the password) passed, under a new token, against session
// fixation: the token a visitor had before logging in no longer works.
// The second step is still to come; [Session.User] reads the user back.
func (s *Session) LogIn(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("scssession: LogIn needs a user ID")
	}
	var err error
	if lerr := s.loaded(func() {
		if err = s.m.RenewToken(ctx); err == nil {
			s.m.Put(ctx, keyLogin, userID)
		}
	}); lerr != nil {
		return lerr
	}
	if err != nil {
		return fmt.Errorf("scssession: renew token: %w", err)
	}
	return nil
}

// User returns the user [Session.LogIn] recorded in r's session, as both
// the user ID and the account name; it fits httpmw.Config.User.
func (s *Session) User(r *http.Request) (userID, account string, ok bool) {
	var u string
	if s.loaded(func() { u = s.m.GetString(r.Context(), keyLogin) }) != nil || u == "" {
		return "", "", false
	}
	return u, u, true
}
