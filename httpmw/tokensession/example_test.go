package tokensession_test

import (
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, in pure Go

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/tokensession"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/totp"
)

// sqlTokens is an application's own table of access tokens, with the
// second-step mark in three columns of the token's row. Only the SHA-256 of
// a token is kept. A real table would have an expiry too, and Mark, User
// and Rotate would find no row past it.
type sqlTokens struct{ db *sql.DB }

const tokenTable = `CREATE TABLE IF NOT EXISTS api_tokens (
	hash        TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL,
	mark_user   TEXT NOT NULL DEFAULT '',
	mark_method TEXT NOT NULL DEFAULT '',
	mark_at     INTEGER NOT NULL DEFAULT 0
)`

func newSQLTokens(ctx context.Context, db *sql.DB) (*sqlTokens, error) {
	_, err := db.ExecContext(ctx, tokenTable)
	return &sqlTokens{db: db}, err
}

// Issue is the application's login: a new token for userID, of which the
// client gets the token and the table the hash.
func (s *sqlTokens) Issue(ctx context.Context, userID string) (string, error) {
	token, h := tokensession.NewToken()
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (hash, user_id) VALUES (?, ?)`, h.String(), userID)
	return token, err
}

// User is the user of the token, for httpmw.Config.User.
func (s *sqlTokens) User(ctx context.Context, h tokensession.Hash) (string, bool, error) {
	var u string
	err := s.db.QueryRowContext(ctx, `SELECT user_id FROM api_tokens WHERE hash = ?`, h.String()).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return u, err == nil, err
}

// Revoke is the application's logout: the token ends.
func (s *sqlTokens) Revoke(ctx context.Context, h tokensession.Hash) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE hash = ?`, h.String())
	return err
}

// Mark, SetMark, ClearMark and Rotate are the tokensession.TokenStore.
func (s *sqlTokens) Mark(ctx context.Context, h tokensession.Hash) (httpmw.Mark, bool, error) {
	var user, method string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT mark_user, mark_method, mark_at FROM api_tokens WHERE hash = ?`, h.String()).Scan(&user, &method, &at)
	if errors.Is(err, sql.ErrNoRows) || err == nil && user == "" {
		return httpmw.Mark{}, false, nil
	}
	if err != nil {
		return httpmw.Mark{}, false, err
	}
	return httpmw.Mark{UserID: user, Method: twofa.Method(method), At: time.Unix(0, at)}, true, nil
}

func (s *sqlTokens) SetMark(ctx context.Context, h tokensession.Hash, m httpmw.Mark) error {
	return s.one(ctx, `UPDATE api_tokens SET mark_user = ?, mark_method = ?, mark_at = ? WHERE hash = ?`,
		m.UserID, string(m.Method), m.At.UnixNano(), h.String())
}

func (s *sqlTokens) ClearMark(ctx context.Context, h tokensession.Hash) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET mark_user = '', mark_method = '', mark_at = 0 WHERE hash = ?`, h.String())
	return err
}

// Rotate is one UPDATE of the key: of two rotations of one token, the
// second finds no row.
func (s *sqlTokens) Rotate(ctx context.Context, old, next tokensession.Hash) error {
	return s.one(ctx, `UPDATE api_tokens SET hash = ? WHERE hash = ?`, next.String(), old.String())
}

// one runs an UPDATE that must change a row, else the token is unknown.
func (s *sqlTokens) one(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(tokensession.ErrUnknownToken, err)
	}
	return nil
}

// A JSON back end for a mobile app: its login issues an access token from
// its own token table, and the second-step mark lives in that token's row.
// Passing the second step gives the app a new token, in the
// Set-Authorization header; the old one stops working.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tokensession-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.OpenSQLite(filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	tokens, err := newSQLTokens(ctx, db)
	if err != nil {
		log.Fatal(err)
	}

	// A clock the example moves, so that the code of the login is not the
	// one that confirmed the set-up; leave Now unset in production.
	now := time.Now()
	clock := func() time.Time { return now }
	key, _ := keyring.NewKey("2026-11") // in production: from a secret store
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme Photos", Store: memory.New(), Keys: ring, Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://photos.example.com",
		User: func(r *http.Request) (string, string, bool) {
			h, err := tokensession.FromRequest(r)
			if err != nil {
				return "", "", false
			}
			u, ok, err := tokens.User(r.Context(), h)
			return u, u, ok && err == nil
		},
		Session: tokensession.New(tokens), // and its Renew as RenewSession
		Now:     clock,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... the password is checked here ...
		token, err := tokens.Issue(r.Context(), "jane")
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	mux.Handle("GET /account", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "account of %s by %s", m.UserID, m.Method)
	})))
	mux.Handle("/2fa/", mw.Pages())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Jane has set up her authenticator app.
	e, _ := tf.TOTP.Begin(ctx, "jane", "jane@example.com", "set-up")
	if err := tf.TOTP.Confirm(ctx, "jane", "set-up", phoneCode(e, now)); err != nil {
		log.Fatal(err)
	}
	now = now.Add(30 * time.Second)

	// The app: no cookies, a token in the Authorization header.
	app := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type answer struct {
		status int
		header http.Header
		body   []byte
	}
	call := func(method, path, token string, form url.Values) answer {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := app.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return answer{res.StatusCode, res.Header, body}
	}
	var login struct{ Token string }
	res := call("POST", "/login", "", url.Values{"password": {"..."}})
	json.Unmarshal(res.body, &login)
	fmt.Println("login:", res.status)
	// A refusal is a problem (RFC 9457) whose type the app acts on.
	problem := func(body []byte) string {
		var p struct{ Type string }
		json.Unmarshal(body, &p)
		return p.Type
	}
	res = call("GET", "/account", login.Token, nil)
	fmt.Println("password only:", res.status, problem(res.body))

	res = call("POST", "/2fa/verify", login.Token, url.Values{"code": {phoneCode(e, now)}, "next": {"/account"}})
	renewed, _ := strings.CutPrefix(res.header.Get(tokensession.RotatedHeader), "Bearer ")
	fmt.Println("second step:", res.status, "to", res.header.Get("Location"), "with a new token:", renewed != "" && renewed != login.Token)
	res = call("GET", "/account", renewed, nil)
	fmt.Println("new token:", res.status, string(res.body))
	res = call("GET", "/account", login.Token, nil)
	fmt.Println("old token:", res.status, problem(res.body))
	// Output:
	// login: 200
	// password only: 401 tag:twofa-go.github.io,2026:second-step-needed
	// second step: 303 to /account with a new token: true
	// new token: 200 account of jane by totp
	// old token: 401 tag:twofa-go.github.io,2026:not-logged-in
}

// phoneCode is the code Jane's phone shows at t for enrollment e.
func phoneCode(e *totp.Enrollment, t time.Time) string {
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	code, _ := totp.GenerateCode(e.Algorithm, raw, e.Digits, uint64(t.Unix()/30))
	return code
}
