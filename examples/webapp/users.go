package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// The application's own tables: twofa keeps nothing of users, passwords or
// sessions. The statements read the same on SQLite and PostgreSQL ($1 is a
// parameter in both); MariaDB has tables of its own (mysqlSchema) and reads
// the statements through appDB.bind.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS app_users (
		id            TEXT PRIMARY KEY,
		email         TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		is_admin      INTEGER NOT NULL DEFAULT 0,
		created       BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS app_sessions (
		id_hash TEXT PRIMARY KEY,
		user_id TEXT NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
		created BIGINT NOT NULL,
		expires BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS app_sessions_expires ON app_sessions (expires)`,
	// The old IDs of renewed sessions, each a name of the renewed one
	// until its grace ends (see renewGrace).
	`CREATE TABLE IF NOT EXISTS app_session_renewals (
		old_hash TEXT PRIMARY KEY,
		new_hash TEXT NOT NULL,
		until    BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS app_session_renewals_new ON app_session_renewals (new_hash)`,
	`CREATE TABLE IF NOT EXISTS app_secrets (
		name  TEXT PRIMARY KEY,
		value TEXT NOT NULL
	)`,
}

func (a *app) migrate(ctx context.Context) error {
	tables := schema
	if a.db.mysql {
		tables = mysqlSchema
	}
	for _, q := range tables {
		if _, err := a.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create the application's tables: %w", err)
		}
	}
	return nil
}

// secret returns the 32 random bytes kept under name, made on first use.
// Several servers starting at once agree on one: the first insert wins.
func (a *app) secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := a.db.ExecContext(ctx, `INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, base64.StdEncoding.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var value string
	if err := a.db.QueryRowContext(ctx, `SELECT value FROM app_secrets WHERE name = $1`, name).Scan(&value); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return base64.StdEncoding.DecodeString(value)
}

// user is a user of the application.
type user struct {
	ID    string
	Email string
	Admin bool
}

func normalize(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// createUser adds a user; created is false if the address is taken.
func (a *app) createUser(ctx context.Context, email, password string, admin bool) (created bool, err error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.passwordCost)
	if err != nil {
		return false, err
	}
	isAdmin := 0
	if admin {
		isAdmin = 1
	}
	res, err := a.db.ExecContext(ctx, `INSERT INTO app_users (id, email, password_hash, is_admin, created) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (email) DO NOTHING`, "u-"+rand.Text()[:16], normalize(email), string(hash), isAdmin, time.Now().Unix())
	if err != nil {
		return false, fmt.Errorf("create user: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// demoUsers makes a demo user and an administrator on first start and
// prints how to log in; on a later start, whose passwords were printed
// before, it says how to log in and how to start over, from db (the
// database setting).
func (a *app) demoUsers(ctx context.Context, db, demoPassword, adminPassword string) error {
	var again []string
	for _, u := range []struct {
		email, password string
		admin           bool
	}{
		{"demo@example.com", demoPassword, false},
		{"admin@example.com", adminPassword, true},
	} {
		if u.password == "" {
			u.password = rand.Text()[:12]
		}
		created, err := a.createUser(ctx, u.email, u.password, u.admin)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(a.log, "Created %-6s %s with password %s\n", map[bool]string{false: "user", true: "admin"}[u.admin], u.email, u.password)
		} else {
			again = append(again, u.email)
		}
	}
	if len(again) > 0 {
		fmt.Fprintf(a.log, "Log in as %s with the passwords printed on the first start.\n", strings.Join(again, " or "))
		fmt.Fprintln(a.log, startOver(db))
	}
	return nil
}

// startOver says how to start over with new demo users and passwords.
func startOver(db string) string {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return "To start over with new passwords, stop the server and drop the tables of that PostgreSQL database (app_users and twofa's)."
	}
	if strings.HasPrefix(db, "mysql://") {
		return "To start over with new passwords, stop the server and drop the tables of that MariaDB database (app_users and twofa's)."
	}
	return fmt.Sprintf("To start over with new passwords, stop the server and delete the database file %s (with %s-wal and %s-shm if there).", db, db, db)
}

// checkPassword returns the user with email and password; ok is false for a
// wrong address or password, alike.
func (a *app) checkPassword(ctx context.Context, email, password string) (u user, ok bool, err error) {
	var hash string
	var isAdmin int
	err = a.db.QueryRowContext(ctx, `SELECT id, email, password_hash, is_admin FROM app_users WHERE email = $1`, normalize(email)).
		Scan(&u.ID, &u.Email, &hash, &isAdmin)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(a.dummyHash, []byte(password))
		return user{}, false, nil
	}
	if err != nil {
		return user{}, false, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return user{}, false, nil
	}
	u.Admin = isAdmin == 1
	return u, true, nil
}

// userByID returns a user, or errNoUser.
func (a *app) userByID(ctx context.Context, id string) (user, error) {
	var u user
	var isAdmin int
	err := a.db.QueryRowContext(ctx, `SELECT id, email, is_admin FROM app_users WHERE id = $1`, id).Scan(&u.ID, &u.Email, &isAdmin)
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, errNoUser
	}
	u.Admin = isAdmin == 1
	return u, err
}

// users returns every user, by address.
func (a *app) users(ctx context.Context) ([]user, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT id, email, is_admin FROM app_users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []user
	for rows.Next() {
		var u user
		var isAdmin int
		if err := rows.Scan(&u.ID, &u.Email, &isAdmin); err != nil {
			return nil, err
		}
		u.Admin = isAdmin == 1
		us = append(us, u)
	}
	return us, rows.Err()
}

// address is twofa's Config.Address: the user's e-mail address, for codes
// and security notices.
func (a *app) address(ctx context.Context, userID string) (string, error) {
	u, err := a.userByID(ctx, userID)
	if errors.Is(err, errNoUser) {
		return "", nil
	}
	return u.Email, err
}

// isAdmin tells the page layout whether to show the administrator's link.
func (a *app) isAdmin(email string) bool {
	var isAdmin int
	err := a.db.QueryRow(`SELECT is_admin FROM app_users WHERE email = $1`, email).Scan(&isAdmin)
	return err == nil && isAdmin == 1
}

// loginPage asks for the first step. The middleware sends a browser here
// with the page it asked for in "next", and the login goes on to it.
func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, ok := sessionFrom(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := a.view(r)
	v.Next = next
	if r.URL.Query().Get("out") == "1" {
		v.Notice = "You are logged out."
	}
	a.render(w, http.StatusOK, "login", v)
}

// login is the application's first step: e-mail address and password. The
// second step follows on the first protected page: the one in "next", or
// the home page.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostForm.Get("next"))
	u, ok, err := a.checkPassword(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"))
	if err != nil {
		a.fail(w, err)
		return
	}
	if !ok {
		v := a.view(r)
		// The address stays in the form: only the password is typed again.
		v.Error, v.Next, v.Email = "Wrong e-mail address or password.", next, r.PostForm.Get("email")
		a.render(w, http.StatusUnauthorized, "login", v)
		return
	}
	if err := a.startSession(w, r, u); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath returns next if it is a path on this site, else "/": a login
// goes on to the page that sent the browser to it, never to another site.
// Whatever a browser or proxy could read as "//host" is refused: browsers
// read "\" as "/" and drop tabs and newlines, and some proxies decode
// "%2F" before passing a path on.
func localPath(next string) string {
	unescaped, err := url.PathUnescape(next)
	if err != nil || !strings.HasPrefix(next, "/") {
		return "/"
	}
	for _, s := range []string{next, unescaped} {
		if strings.HasPrefix(s, "//") || strings.Contains(s, `\`) || strings.ContainsFunc(s, unicode.IsControl) {
			return "/"
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// logout ends the second step, and the browser's remembering too when the
// user asks, then the session.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	err := a.mw.Logout(w, r, r.PostForm.Get("forget") == "1")
	err = errors.Join(err, a.endSession(w, r))
	if err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/login?out=1", http.StatusSeeOther)
}
