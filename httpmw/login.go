package httpmw

import (
	"crypto/rand"
	"net/http"
)

// loginCookie holds a random ID of this browser's login. An e-mailed code
// and a pending authenticator set-up are bound to it: a code asked for in
// one browser does not pass in another session of the same user, and a
// set-up's secret is shown only where it was begun.
const loginCookie = "twofa-login"

// loginIDLen is the length of a login ID in base64url: 32 random bytes.
const loginIDLen = 43

// login returns the ID of r's login, and makes one, set on w, if r has
// none: for what binds something to the login (sending a code, beginning a
// set-up). Call it before anything is written to w.
func (m *Middleware) login(w http.ResponseWriter, r *http.Request) string {
	id, ok := m.loginOf(r)
	if _, binder := m.cfg.Session.(LoginBinder); !ok && !binder {
		http.SetCookie(w, m.ck.cookie(m.ck.name(loginCookie), id, 0))
	}
	return id
}

// loginOf returns the ID of r's login, for what only checks a binding
// (a code typed, a set-up shown or confirmed): without one, r gets a new
// random ID that matches nothing, and ok is false. Nothing is written, so a
// check never sets a cookie.
func (m *Middleware) loginOf(r *http.Request) (id string, ok bool) {
	if b, binder := m.cfg.Session.(LoginBinder); binder {
		if id, ok := b.LoginID(r); ok && id != "" {
			return id, true
		}
	} else if ck, err := r.Cookie(m.ck.name(loginCookie)); err == nil && len(ck.Value) == loginIDLen {
		if b, err := canonical.DecodeString(ck.Value); err == nil && len(b) == 32 {
			return ck.Value, true
		}
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return canonical.EncodeToString(b), false
}

// LoginBinder is a [Session] that names the login itself, for clients
// that keep no cookies, such as a mobile app sending its bearer token
// (httpmw/tokensession). An e-mailed code and a pending authenticator
// set-up are then bound to the ID LoginID returns instead of to the
// "twofa-login" cookie, which is never set: the ID must be the same for
// every request of one login (one token), differ between logins, and not
// be guessable from anything a client sends but its own credential; ok is
// false when r has no login.
type LoginBinder interface {
	Session
	LoginID(r *http.Request) (id string, ok bool)
}

// forgetLogin ends r's login ID, so the next login gets a new one.
func (m *Middleware) forgetLogin(w http.ResponseWriter) {
	if _, binder := m.cfg.Session.(LoginBinder); binder {
		return // the login's own credential names it, and ends with it
	}
	http.SetCookie(w, m.ck.cookie(m.ck.name(loginCookie), "", -1))
}
