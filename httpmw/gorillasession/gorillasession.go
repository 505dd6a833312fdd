// Package gorillasession keeps httpmw's second-step mark in a session of
// github.com/gorilla/sessions, and gives the session a new ID when the
// second step is passed:
//
//	store := sessions.NewFilesystemStore(dir, hashKey, blockKey)
//	s := gorillasession.New(store, "session")
//	mw, err := httpmw.New(httpmw.Config{
//		// ...
//		Session: s, // httpmw.New takes Renew from it as the RenewSession
//	})
//
// The mark is three string values in the session named name (under the
// keys "twofa.user", "twofa.method" and "twofa.at"), the session the
// application's own login uses; it is saved at once, in the answer that
// records it, and ends when the session does.
//
// # Stores
//
// With a store that keeps sessions on the server (FilesystemStore, and
// stores such as Redis that give each session an ID), Renew erases the
// session under its old ID and saves it under a new one, so the cookie the
// browser had before the second step finds nothing. With CookieStore the
// whole session is in its cookie: Renew writes a new cookie, and a cookie
// from before the second step holds no mark, but a copy of a cookie taken
// later passes until its MaxAge, even after logout, for nothing on the
// server can end it. Prefer a server-side store, or a short MaxAge.
//
// Renew keeps no grace for the old ID: of the requests a remembered
// browser sends in parallel with it while one of them renews the session,
// the others find no session (see httpmw.Config.RenewSession).
package gorillasession

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
)

// The session keys of the mark.
const (
	keyUser   = "twofa.user"
	keyMethod = "twofa.method"
	keyAt     = "twofa.at"
)

// Session is an [httpmw.Session] over a gorilla/sessions store, with the
// RenewSession that goes with it.
type Session struct {
	store sessions.Store
	name  string
}

var _ httpmw.Session = (*Session)(nil)

// New returns a Session keeping the mark in the session called name of
// store: the application's own session, whose cookie has that name.
func New(store sessions.Store, name string) *Session {
	return &Session{store: store, name: name}
}

// get returns r's session. A cookie that does not decode (another key,
// expired, tampered with) or names a session the store no longer has is
// no session: a new, empty one, which will be saved under a new ID. Any
// other error is the store's, and denies.
func (s *Session) get(r *http.Request) (*sessions.Session, error) {
	sess, err := s.store.Get(r, s.name)
	if sess == nil {
		if err == nil {
			err = errors.New("no session")
		}
		return nil, fmt.Errorf("gorillasession: %w", err)
	}
	if err != nil {
		var se securecookie.Error
		if !(errors.As(err, &se) && se.IsDecode()) && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("gorillasession: load session: %w", err)
		}
		// Never save again under an ID the store has dropped.
		sess.ID = ""
	}
	return sess, nil
}

// save saves sess, leaving one Set-Cookie line for it in the answer: a
// renewal and the mark after it each save, and only the last counts.
func (s *Session) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error {
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("gorillasession: save session: %w", err)
	}
	h := w.Header()
	lines := h.Values("Set-Cookie")
	prefix := s.name + "="
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			last = i
		}
	}
	kept := make([]string, 0, len(lines))
	for i, l := range lines {
		if i == last || !strings.HasPrefix(l, prefix) {
			kept = append(kept, l)
		}
	}
	h["Set-Cookie"] = kept
	return nil
}

// Mark implements [httpmw.Session]. A session without a mark, or with one
// that does not read (written by something else), has none.
func (s *Session) Mark(r *http.Request) (httpmw.Mark, bool, error) {
	sess, err := s.get(r)
	if err != nil {
		return httpmw.Mark{}, false, err
	}
	user, _ := sess.Values[keyUser].(string)
	method, _ := sess.Values[keyMethod].(string)
	at, _ := sess.Values[keyAt].(string)
	ns, perr := strconv.ParseInt(at, 10, 64)
	if user == "" || perr != nil {
		return httpmw.Mark{}, false, nil
	}
	return httpmw.Mark{UserID: user, Method: twofa.Method(method), At: time.Unix(0, ns)}, true, nil
}

// SetMark implements [httpmw.Session]: it records m and saves the session.
func (s *Session) SetMark(w http.ResponseWriter, r *http.Request, m httpmw.Mark) error {
	if m.UserID == "" {
		return errors.New("gorillasession: a mark needs a user ID")
	}
	sess, err := s.get(r)
	if err != nil {
		return err
	}
	sess.Values[keyUser] = m.UserID
	sess.Values[keyMethod] = string(m.Method)
	sess.Values[keyAt] = strconv.FormatInt(m.At.UnixNano(), 10)
	return s.save(w, r, sess)
}

// ClearMark implements [httpmw.Session]: it removes the mark and saves the
// session, if it had one.
func (s *Session) ClearMark(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.get(r)
	if err != nil {
		return err
	}
	if _, ok := sess.Values[keyUser]; !ok {
		return nil
	}
	delete(sess.Values, keyUser)
	delete(sess.Values, keyMethod)
	delete(sess.Values, keyAt)
	return s.save(w, r, sess)
}

// Renew is an [httpmw.Config].RenewSession: it erases r's session under
// its ID, where the store keeps one, and saves it, values and all, under a
// new one, writing the new cookie to w. It returns r itself: the session
// it changed is the one the rest of the request gets from the store.
func (s *Session) Renew(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	sess, err := s.get(r)
	if err != nil {
		return r, err
	}
	if sess.ID != "" {
		// A MaxAge below zero is how a gorilla store erases a session;
		// the cookie that goes with it is dropped, as the new one follows.
		opts := *sess.Options
		sess.Options.MaxAge = -1
		err := sess.Save(r, headerOnly{})
		*sess.Options = opts
		if err != nil {
			return r, fmt.Errorf("gorillasession: erase the old session: %w", err)
		}
		sess.ID = ""
	}
	return r, s.save(w, r, sess)
}

// headerOnly is a ResponseWriter nobody reads.
type headerOnly struct{}

func (headerOnly) Header() http.Header         { return http.Header{} }
func (headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (headerOnly) WriteHeader(int)             {}
