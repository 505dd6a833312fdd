package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
)

// adminRow is one user on the administrator page.
type adminRow struct {
	User  user
	State twofa.Account
}

// Locked reports whether the user's second step is locked or waiting after
// too many failures: what "Unlock" clears.
func (r adminRow) Locked() bool { return r.State.Throttle != nil }

// Summary lists the user's methods that are set up, with their status.
func (r adminRow) Summary() []string {
	var lines []string
	for _, m := range r.State.Methods {
		if m.Status == twofa.NotSetUp {
			continue
		}
		line := methodName(m.Method) + ": " + m.Status.String()
		switch {
		case m.Method == twofa.Backup:
			line += fmt.Sprintf(", %d left", r.State.BackupRemaining)
		case m.Method == twofa.WebAuthn && len(r.State.Keys) > 1:
			line += fmt.Sprintf(", %d keys", len(r.State.Keys))
		}
		lines = append(lines, line)
	}
	if n := len(r.State.Browsers); n > 0 {
		lines = append(lines, fmt.Sprintf("remembered browsers: %d", n))
	}
	return lines
}

// adminOnly lets only administrators through, and only once they have a
// second factor of their own: the page can remove anyone's.
func (a *app) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sessionFrom(r)
		if !ok || !s.user.Admin {
			a.message(w, r, http.StatusForbidden, "Administration", "This page is for administrators.", "", "")
			return
		}
		state, err := a.tf.Account(r.Context(), s.user.ID)
		if err != nil {
			a.fail(w, err)
			return
		}
		if !state.Requires() {
			a.message(w, r, http.StatusForbidden, "Administration", "Set up two-factor authentication before you use the administrator page.",
				twofaPath+"settings", "Set it up now")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *app) adminPage(w http.ResponseWriter, r *http.Request) {
	v := a.view(r)
	users, err := a.users(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	for _, u := range users {
		state, err := a.tf.Account(r.Context(), u.ID)
		if err != nil {
			a.fail(w, err)
			return
		}
		row := adminRow{User: u, State: state}
		v.Users = append(v.Users, row)
		// Account carries the user's Standing (twofa.Service.Standing),
		// read with the methods it judges.
		if row.PolicyProblem() != "" {
			v.OutOfPolicy = append(v.OutOfPolicy, row)
		}
	}
	v.PolicyOn = a.pol.on()
	// The notice names the user by ID, so no query string puts its own
	// words on the page.
	q := r.URL.Query()
	if u, err := a.userByID(r.Context(), q.Get("user")); err == nil {
		switch q.Get("done") {
		case "reset":
			v.Notice = "Two-factor authentication of " + u.Email + " is reset: they log in with their password alone until they set it up again."
		case "unlock":
			v.Notice = u.Email + " can try their second factor again."
		}
	}
	a.render(w, http.StatusOK, "admin", v)
}

// adminLogShown is how many of a user's security-log entries the
// administrator's page for the user lists.
const adminLogShown = 100

// adminLog is the administrator's view of one user's security log.
type adminLog struct {
	User    user
	Entries []twofa.Activity
}

// adminLogPage shows one user's security log, newest first: what the user
// or an administrator did to their second factor, each sign-in with it,
// locks. It answers a GET and changes nothing.
func (a *app) adminLogPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("user")
	if id == "" {
		// The page without a user, opened by hand: it says where to pick one.
		a.render(w, http.StatusOK, "admin-log", a.view(r))
		return
	}
	u, err := a.userByID(r.Context(), id)
	if errors.Is(err, errNoUser) {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	entries, err := a.tf.Activity(r.Context(), u.ID, adminLogShown)
	if err != nil {
		a.fail(w, err)
		return
	}
	v := a.view(r)
	v.Log = &adminLog{User: u, Entries: entries}
	a.render(w, http.StatusOK, "admin-log", v)
}

// adminReset removes every second factor, backup code and remembered
// browser of a user who lost them; nobody can read or set them. It asks
// first, on a page of its own: the form posts again with confirm=1.
func (a *app) adminReset(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("confirm") != "1" {
		u, err := a.userByID(r.Context(), r.PostForm.Get("user"))
		if errors.Is(err, errNoUser) {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		if err != nil {
			a.fail(w, err)
			return
		}
		state, err := a.tf.Account(r.Context(), u.ID)
		if err != nil {
			a.fail(w, err)
			return
		}
		v := a.view(r)
		v.Confirm = &adminRow{User: u, State: state}
		a.render(w, http.StatusOK, "admin-confirm", v)
		return
	}
	a.adminAction(w, r, "reset", a.tf.Reset)
}

// adminUnlock clears a user's failed attempts.
func (a *app) adminUnlock(w http.ResponseWriter, r *http.Request) {
	a.adminAction(w, r, "unlock", a.tf.Unlock)
}

func (a *app) adminAction(w http.ResponseWriter, r *http.Request, done string, action func(ctx context.Context, userID string) error) {
	u, err := a.userByID(r.Context(), r.PostForm.Get("user"))
	if errors.Is(err, errNoUser) {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	// The events of the action name the administrator who took it.
	ctx := r.Context()
	if s, ok := sessionFrom(r); ok {
		ctx = context.WithValue(ctx, adminKey{}, s.user.Email)
	}
	if err := action(ctx, u.ID); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/admin?"+url.Values{"done": {done}, "user": {u.ID}}.Encode(), http.StatusSeeOther)
}

// adminKey is the context key of the administrator behind an action.
type adminKey struct{}

// byAdmin is the application's event hook: each event as a log line, with
// "by", the administrator, for the events of an administrator's action
// (a reset, an unlock).
func byAdmin(l *slog.Logger) event.Hook {
	plain := event.Slog(l)
	return func(ctx context.Context, e event.Event) {
		if admin, ok := ctx.Value(adminKey{}).(string); ok {
			event.Slog(l.With("by", admin))(ctx, e)
			return
		}
		plain(ctx, e)
	}
}

// slug makes an e-mail address into a part of an element ID:
// "demo@example.com" becomes "demo-example-com".
func slug(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			return c
		}
		if c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return '-'
	}, s)
}
