package tokensession_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/tokensession"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// tokens is the application's token table as its login, logout and
// Config.User use it, beside the TokenStore.
type tokens interface {
	tokensession.TokenStore
	Issue(ctx context.Context, userID string) (string, error)
	User(ctx context.Context, h tokensession.Hash) (string, bool, error)
	Revoke(ctx context.Context, h tokensession.Hash) error
}

// memTokens is an application's token table in memory.
type memTokens struct {
	mu   sync.Mutex
	rows map[tokensession.Hash]*memRow
}

type memRow struct {
	user string
	mark *httpmw.Mark
}

func newMemTokens() *memTokens { return &memTokens{rows: map[tokensession.Hash]*memRow{}} }

func (s *memTokens) Issue(_ context.Context, userID string) (string, error) {
	token, h := tokensession.NewToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[h] = &memRow{user: userID}
	return token, nil
}

func (s *memTokens) User(_ context.Context, h tokensession.Hash) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.rows[h]
	if !ok {
		return "", false, nil
	}
	return row.user, true, nil
}

func (s *memTokens) Revoke(_ context.Context, h tokensession.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, h)
	return nil
}

func (s *memTokens) Mark(_ context.Context, h tokensession.Hash) (httpmw.Mark, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.rows[h]
	if !ok || row.mark == nil {
		return httpmw.Mark{}, false, nil
	}
	return *row.mark, true, nil
}

func (s *memTokens) SetMark(_ context.Context, h tokensession.Hash, m httpmw.Mark) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.rows[h]
	if !ok {
		return tokensession.ErrUnknownToken
	}
	row.mark = &m
	return nil
}

func (s *memTokens) ClearMark(_ context.Context, h tokensession.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if row, ok := s.rows[h]; ok {
		row.mark = nil
	}
	return nil
}

func (s *memTokens) Rotate(_ context.Context, old, next tokensession.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.rows[old]
	if !ok {
		return tokensession.ErrUnknownToken
	}
	delete(s.rows, old)
	s.rows[next] = row
	return nil
}

// backends are the token tables the tests run on: in memory, and the SQL
// table of the example in a SQLite file opened by sqlstore.OpenSQLite.
var backends = []struct {
	name string
	open func(t testing.TB) tokens
}{
	{"memory", func(testing.TB) tokens { return newMemTokens() }},
	{"sqlite", func(t testing.TB) tokens {
		db, err := sqlstore.OpenSQLite(filepath.Join(t.TempDir(), "app.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := newSQLTokens(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

func forEach(t *testing.T, f func(t *testing.T, tk tokens)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

const password = "correct horse battery staple"

// counting is the TokenStore with its calls counted and its failures
// injected.
type counting struct {
	tokens
	calls   atomic.Int32
	renews  atomic.Int32
	fail    atomic.Pointer[error]
	failRot atomic.Pointer[error]
}

func (c *counting) err() error {
	c.calls.Add(1)
	if e := c.fail.Load(); e != nil {
		return *e
	}
	return nil
}

func (c *counting) Mark(ctx context.Context, h tokensession.Hash) (httpmw.Mark, bool, error) {
	if err := c.err(); err != nil {
		return httpmw.Mark{}, false, err
	}
	return c.tokens.Mark(ctx, h)
}

func (c *counting) SetMark(ctx context.Context, h tokensession.Hash, m httpmw.Mark) error {
	if err := c.err(); err != nil {
		return err
	}
	return c.tokens.SetMark(ctx, h, m)
}

func (c *counting) ClearMark(ctx context.Context, h tokensession.Hash) error {
	if err := c.err(); err != nil {
		return err
	}
	return c.tokens.ClearMark(ctx, h)
}

func (c *counting) Rotate(ctx context.Context, old, next tokensession.Hash) error {
	if err := c.err(); err != nil {
		return err
	}
	if e := c.failRot.Load(); e != nil {
		return *e
	}
	c.renews.Add(1)
	return c.tokens.Rotate(ctx, old, next)
}

// world is a running JSON back end with its own login issuing tokens, and
// alice's and bob's phones set up.
type world struct {
	srv    *httptest.Server
	clock  *fake.Clock
	phones map[string]func() string
	tk     *counting
	twofa  *testdb.ThrottleBarrier
	logs   *bytes.Buffer
}

func start(t *testing.T, tk tokens) *world {
	t.Helper()
	clock := fake.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	ring := fake.Ring(t)
	store := &testdb.ThrottleBarrier{Store: memory.New()}
	tf, err := twofa.New(twofa.Config{Issuer: "Acme Photos", Store: store, Keys: ring, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ct := &counting{tokens: tk}
	logs := new(bytes.Buffer)
	var logMu sync.Mutex
	mw, err := httpmw.New(httpmw.Config{
		Service: tf,
		Origin:  "https://photos.example.com",
		User: func(r *http.Request) (string, string, bool) {
			h, err := tokensession.FromRequest(r)
			if err != nil {
				return "", "", false
			}
			u, ok, err := tk.User(r.Context(), h)
			return u, u + "@example.com", ok && err == nil
		},
		Session: tokensession.New(ct), // Renew taken from it
		Now:     clock.Now,
		Logger:  slog.New(slog.NewTextHandler(lockedWriter{&logMu, logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	phones := map[string]func() string{}
	for _, user := range []string{"alice", "bob"} {
		e, err := tf.TOTP.Begin(ctx, user, user+"@example.com", "set-up")
		if err != nil {
			t.Fatal(err)
		}
		phones[user] = func() string { return fake.AppCode(t, e.Secret, clock.Now()) }
		if err := tf.TOTP.Confirm(ctx, user, "set-up", phones[user]()); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(30 * time.Second)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User, Password string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&in); err != nil ||
			(in.User != "alice" && in.User != "bob") || in.Password != password {
			http.Error(w, `{"error":"wrong user or password"}`, http.StatusUnauthorized)
			return
		}
		token, err := tk.Issue(r.Context(), in.User)
		if err != nil {
			http.Error(w, `{"error":"try again"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	// lock asks for the second step again on this token (the app's "lock
	// now"): the mark goes, the token stays.
	mux.HandleFunc("POST /lock", func(w http.ResponseWriter, r *http.Request) {
		if err := mw.Logout(w, r, false); err != nil {
			http.Error(w, `{"error":"try again"}`, http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		err := mw.Logout(w, r, false)
		if h, ferr := tokensession.FromRequest(r); err == nil && ferr == nil {
			err = tk.Revoke(r.Context(), h)
		}
		if err != nil {
			http.Error(w, `{"error":"try again"}`, http.StatusInternalServerError)
		}
	})
	mux.Handle("GET /account", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "account of %s by %s", m.UserID, m.Method)
	})))
	mux.Handle("/2fa/", mw.Pages())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &world{srv: srv, clock: clock, phones: phones, tk: ct, twofa: store, logs: logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type answer struct {
	status   int
	location string
	rotated  string // the token in Set-Authorization, if any
	header   http.Header
	body     string
	err      error
}

// call is the mobile app: no cookie jar, no redirects followed, its token
// in the Authorization header, JSON wanted.
func (wd *world) call(method, path, token string, body io.Reader, contentType string) answer {
	req, err := http.NewRequest(method, wd.srv.URL+path, body)
	if err != nil {
		return answer{err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	rotated, _ := strings.CutPrefix(res.Header.Get(tokensession.RotatedHeader), "Bearer ")
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), rotated: rotated, header: res.Header, body: string(raw)}
}

func (wd *world) get(t *testing.T, path, token string) answer {
	t.Helper()
	a := wd.call("GET", path, token, nil, "")
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a
}

func (wd *world) verify(token, code string) answer {
	return wd.call("POST", "/2fa/verify", token, strings.NewReader(url.Values{"code": {code}, "next": {"/account"}}.Encode()), "application/x-www-form-urlencoded")
}

func (wd *world) login(t *testing.T, user, pw string) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	a := wd.call("POST", "/login", "", bytes.NewReader(b), "application/json")
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a
}

func (wd *world) token(t *testing.T, user string) string {
	t.Helper()
	a := wd.login(t, user, password)
	var out struct{ Token string }
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &out) != nil || out.Token == "" {
		t.Fatalf("login of %s: %d %s", user, a.status, a.body)
	}
	return out.Token
}

// denied checks a 401 with the JSON error msg.
func denied(t *testing.T, what string, a answer, msg string) {
	t.Helper()
	var body struct{ Error string }
	json.Unmarshal([]byte(a.body), &body)
	if a.status != http.StatusUnauthorized || body.Error != msg {
		t.Fatalf("%s: %d %q, want 401 %q", what, a.status, a.body, msg)
	}
}

func passes(t *testing.T, what string, a answer, user string) {
	t.Helper()
	if want := "account of " + user + " by totp"; a.status != http.StatusOK || a.body != want {
		t.Fatalf("%s: %d %q, want 200 %q", what, a.status, a.body, want)
	}
}

// The whole login of a mobile app: the password by the app's own JSON login
// issuing a token, the second step through httpmw's verify with that token
// (a wrong code changing nothing), a new token in Set-Authorization that
// passes the protected route while the old one passes nowhere, the mark
// cleared by httpmw's Logout so the second step is asked again on the same
// token, and a logout that ends the token.
func TestLoginWalk(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		wd := start(t, tk)
		denied(t, "no token", wd.get(t, "/account", ""), "not logged in")
		if a := wd.login(t, "alice", "wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", a.status)
		}
		denied(t, "a token never issued", wd.get(t, "/account", "bm90LWEtdG9rZW4"), "not logged in")
		denied(t, "a token of 64 KiB", wd.get(t, "/account", strings.Repeat("a", 64<<10)), "not logged in")
		denied(t, "a malformed token", wd.get(t, "/account", "a b"), "not logged in")
		if n := wd.tk.calls.Load(); n != 0 {
			t.Fatalf("the token table was asked %d times about requests with no usable token", n)
		}
		t1 := wd.token(t, "alice")
		denied(t, "password only", wd.get(t, "/account", t1), "second factor required")

		if a := wd.verify(t1, wrongCode(wd.phones["alice"]())); a.status == http.StatusSeeOther || a.rotated != "" {
			t.Fatalf("a wrong code: %d %q, rotated %v", a.status, a.location, a.rotated != "")
		}
		if n := wd.tk.renews.Load(); n != 0 {
			t.Fatalf("a wrong code rotated the token %d times", n)
		}
		denied(t, "after a wrong code", wd.get(t, "/account", t1), "second factor required")

		a := wd.verify(t1, wd.phones["alice"]())
		if a.status != http.StatusSeeOther || a.location != "/account" {
			t.Fatalf("verify: %d %q %.300s", a.status, a.location, a.body)
		}
		if a.rotated == "" || a.rotated == t1 || len(a.header.Values(tokensession.RotatedHeader)) != 1 {
			t.Fatalf("verify gave %q as the new token (%d headers), want one new token", a.header.Values(tokensession.RotatedHeader), len(a.header.Values(tokensession.RotatedHeader)))
		}
		if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("the answer carrying a token has Cache-Control %q, want no-store", cc)
		}
		t2 := a.rotated
		wd.clock.Add(30 * time.Second)
		for range 2 {
			passes(t, "the new token", wd.get(t, "/account", t2), "alice")
		}
		if n := wd.tk.renews.Load(); n != 1 {
			t.Fatalf("rotated %d times, want once", n)
		}
		denied(t, "the token from before the second step", wd.get(t, "/account", t1), "not logged in")
		if a := wd.verify(t1, wd.phones["alice"]()); a.rotated != "" || a.status == http.StatusSeeOther {
			t.Fatalf("a code with the old token: %d %q, rotated %v", a.status, a.location, a.rotated != "")
		}
		if s, ok := tk.(*sqlTokens); ok {
			checkHashesOnly(t, s, t1, t2)
		}

		// The mark goes with httpmw's Logout; the token stays.
		if a := wd.call("POST", "/lock", t2, nil, ""); a.status != http.StatusOK {
			t.Fatalf("lock: %d %s", a.status, a.body)
		}
		if _, ok, _ := tk.Mark(context.Background(), tokensession.HashToken(t2)); ok {
			t.Fatal("the mark outlived Logout")
		}
		denied(t, "after Logout", wd.get(t, "/account", t2), "second factor required")
		a = wd.verify(t2, wd.phones["alice"]())
		if a.status != http.StatusSeeOther || a.rotated == "" {
			t.Fatalf("the second step again: %d %q", a.status, a.location)
		}
		t3 := a.rotated
		passes(t, "after the second step again", wd.get(t, "/account", t3), "alice")

		// The application's logout ends the token.
		if a := wd.call("POST", "/logout", t3, nil, ""); a.status != http.StatusOK {
			t.Fatalf("logout: %d %s", a.status, a.body)
		}
		denied(t, "after logout", wd.get(t, "/account", t3), "not logged in")
		if _, ok, _ := tk.Mark(context.Background(), tokensession.HashToken(t3)); ok {
			t.Fatal("a mark outlived the logout")
		}
		// Back with the password, the second step is asked again.
		denied(t, "a new login", wd.get(t, "/account", wd.token(t, "alice")), "second factor required")

		for _, tok := range []string{t1, t2, t3} {
			if strings.Contains(wd.logs.String(), tok) {
				t.Fatal("a token in the log")
			}
		}
	})
}

// checkHashesOnly checks that the token table holds the SHA-256 of the
// live token, and neither token itself.
func checkHashesOnly(t *testing.T, s *sqlTokens, tokens ...string) {
	t.Helper()
	rows, err := s.db.Query(`SELECT hash, user_id, mark_user, mark_method FROM api_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h, u, mu, mm string
		if err := rows.Scan(&h, &u, &mu, &mm); err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			if strings.Contains(h+u+mu+mm, tok) {
				t.Fatal("a token is stored in the clear")
			}
		}
		hashes = append(hashes, h)
	}
	last := tokensession.HashToken(tokens[len(tokens)-1]).String()
	if len(hashes) != 1 || hashes[0] != last {
		t.Fatalf("hashes %q, want only %q", hashes, last)
	}
}

// 50 posts of one code with one token at once, each held after its read
// of the code's record until all have read it: exactly one passes and gets
// a new token, the token is rotated once, the new token passes and the old
// one passes nowhere.
func TestParallelVerify(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		wd := start(t, tk)
		t1 := wd.token(t, "alice")
		code := wd.phones["alice"]()
		const n = 50
		wd.twofa.Arm(n)
		answers := make([]answer, n)
		var ready, done sync.WaitGroup
		ready.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Wait()
				answers[i] = wd.verify(t1, code)
			}()
		}
		ready.Done()
		done.Wait()
		var passed []answer
		seen := map[string]int{}
		for _, a := range answers {
			if a.err != nil {
				t.Fatal(a.err)
			}
			seen[fmt.Sprint(a.status, " ", a.location, " rotated:", a.rotated != "")]++
			if a.status == http.StatusSeeOther && a.location == "/account" {
				passed = append(passed, a)
			} else if a.rotated != "" {
				t.Errorf("a refused post got a token: %d", a.status)
			}
		}
		if len(passed) != 1 || passed[0].rotated == "" {
			t.Fatalf("%d of %d posts of one code passed, want 1 with a new token; answers: %v", len(passed), n, seen)
		}
		if r := wd.tk.renews.Load(); r != 1 {
			t.Fatalf("the token was rotated %d times, want once", r)
		}
		passes(t, "the token that passed", wd.get(t, "/account", passed[0].rotated), "alice")
		denied(t, "the token the posts carried", wd.get(t, "/account", t1), "not logged in")
	})
}

// 50 renewals of one token at once, each on a request that carries it:
// exactly one moves the row and gives a new token that finds it; every
// other is httpmw.ErrSessionRenewed, writes no header, and leaves no row.
func TestParallelRenew(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		ctx := context.Background()
		t1, err := tk.Issue(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		s := tokensession.New(tk)
		const n = 50
		type result struct {
			w   *httptest.ResponseRecorder
			r   *http.Request
			err error
		}
		results := make([]result, n)
		var ready, done sync.WaitGroup
		ready.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				r := httptest.NewRequest("POST", "/2fa/verify", nil)
				r.Header.Set("Authorization", "Bearer "+t1)
				w := httptest.NewRecorder()
				ready.Wait()
				nr, err := s.Renew(w, r)
				results[i] = result{w, nr, err}
			}()
		}
		ready.Done()
		done.Wait()
		var won []result
		for _, res := range results {
			switch {
			case res.err == nil:
				won = append(won, res)
			case errors.Is(res.err, httpmw.ErrSessionRenewed):
				if h := res.w.Header().Get(tokensession.RotatedHeader); h != "" {
					t.Error("a renewal that lost the race sent a token")
				}
			default:
				t.Fatalf("renew: %v", res.err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d of %d renewals of one token moved it, want 1", len(won), n)
		}
		sent, _ := strings.CutPrefix(won[0].w.Header().Get(tokensession.RotatedHeader), "Bearer ")
		if got := won[0].r.Header.Get("Authorization"); got != "Bearer "+sent || sent == "" || sent == t1 {
			t.Fatalf("the renewed request carries %q, and the client got %q", got, sent)
		}
		if u, ok, err := tk.User(ctx, tokensession.HashToken(sent)); !ok || err != nil || u != "alice" {
			t.Fatalf("the new token finds %q, %v, %v; want alice", u, ok, err)
		}
		if _, ok, _ := tk.User(ctx, tokensession.HashToken(t1)); ok {
			t.Fatal("the old token still finds its row")
		}
	})
}

// A token of another user never passes with a mark: bob's token does not
// pass on alice's second step, not even with alice's mark written into
// its row, and alice's code does not pass for bob.
func TestOtherUsersToken(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		wd := start(t, tk)
		ta := wd.verify(wd.token(t, "alice"), wd.phones["alice"]()).rotated
		if ta == "" {
			t.Fatal("alice did not pass")
		}
		passes(t, "alice", wd.get(t, "/account", ta), "alice")
		tb := wd.token(t, "bob")
		denied(t, "bob's token after alice's step", wd.get(t, "/account", tb), "second factor required")

		ctx := context.Background()
		m, ok, err := tk.Mark(ctx, tokensession.HashToken(ta))
		if !ok || err != nil || m.UserID != "alice" {
			t.Fatalf("alice's mark: %+v, %v, %v", m, ok, err)
		}
		if err := tk.SetMark(ctx, tokensession.HashToken(tb), m); err != nil {
			t.Fatal(err)
		}
		denied(t, "bob's token with alice's mark", wd.get(t, "/account", tb), "second factor required")

		wd.clock.Add(30 * time.Second)
		if a := wd.verify(tb, wd.phones["alice"]()); a.status == http.StatusSeeOther || a.rotated != "" {
			t.Fatalf("alice's code with bob's token: %d %q", a.status, a.location)
		}
		denied(t, "bob after alice's code", wd.get(t, "/account", tb), "second factor required")
		passes(t, "alice, still", wd.get(t, "/account", ta), "alice")
	})
}

// Every failure of the token store denies: a mark that cannot be read is a
// 500 that names no token, a rotation that fails refuses the step with no
// new token and no mark, and a mark that cannot be written refuses it too.
func TestStoreFailureDenies(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		wd := start(t, tk)
		t1 := wd.token(t, "alice")
		down := errors.New("token table down")

		wd.tk.fail.Store(&down)
		if a := wd.get(t, "/account", t1); a.status != http.StatusInternalServerError || strings.Contains(a.body, "down") {
			t.Fatalf("a store failure on the mark: %d %q, want 500 saying nothing", a.status, a.body)
		}
		if !strings.Contains(wd.logs.String(), "token table down") || strings.Contains(wd.logs.String(), t1) {
			t.Fatalf("log: %q; want the store's error and no token", wd.logs.String())
		}
		wd.tk.fail.Store(nil)

		wd.tk.failRot.Store(&down)
		if a := wd.verify(t1, wd.phones["alice"]()); a.status != http.StatusInternalServerError || a.rotated != "" {
			t.Fatalf("a failed rotation: %d, rotated %v; want 500 and no token", a.status, a.rotated != "")
		}
		wd.tk.failRot.Store(nil)
		if _, ok, _ := tk.Mark(context.Background(), tokensession.HashToken(t1)); ok {
			t.Fatal("a failed rotation left a mark")
		}
		denied(t, "after a failed rotation", wd.get(t, "/account", t1), "second factor required")

		// The rotation passes and the mark fails: the step is refused.
		wd.clock.Add(30 * time.Second)
		s := tokensession.New(&failSet{tk, down})
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", "Bearer "+t1)
		if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: wd.clock.Now()}); !errors.Is(err, down) {
			t.Fatalf("SetMark with a failing store: %v", err)
		}
		if strings.Contains(wd.logs.String(), t1) {
			t.Fatal("a token in the log")
		}
	})
}

type failSet struct {
	tokens
	err error
}

func (f *failSet) SetMark(context.Context, tokensession.Hash, httpmw.Mark) error { return f.err }

// The Session on its own: a request without a well-formed token has no mark
// and asks the store nothing; a mark needs a token and a user; a mark on an
// unknown token is an error; ClearMark without a token is none.
func TestSessionWithoutToken(t *testing.T) {
	forEach(t, func(t *testing.T, tk tokens) {
		ct := &counting{tokens: tk}
		s := tokensession.New(ct)
		for _, auth := range []string{"", "Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "Bearer " + strings.Repeat("a", 1<<20)} {
			r := httptest.NewRequest("GET", "/", nil)
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			if _, ok, err := s.Mark(r); ok || err != nil {
				t.Errorf("Mark with %.20q: %v, %v; want none", auth, ok, err)
			}
			if err := s.ClearMark(httptest.NewRecorder(), r); err != nil {
				t.Errorf("ClearMark with %.20q: %v", auth, err)
			}
			if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{UserID: "alice"}); err == nil {
				t.Errorf("SetMark with %.20q: no error", auth)
			}
			if _, err := s.Renew(httptest.NewRecorder(), r); err == nil || errors.Is(err, httpmw.ErrSessionRenewed) {
				t.Errorf("Renew with %.20q: %v, want an error", auth, err)
			}
		}
		if n := ct.calls.Load(); n != 0 {
			t.Fatalf("the store was asked %d times about requests without a token", n)
		}

		ctx := context.Background()
		tok, _ := tk.Issue(ctx, "alice")
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{Method: twofa.TOTP}); err == nil {
			t.Error("a mark without a user was set")
		}
		at := time.Date(2026, 11, 30, 9, 0, 0, 123, time.UTC)
		if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: at}); err != nil {
			t.Fatal(err)
		}
		m, ok, err := s.Mark(r)
		if !ok || err != nil || m.UserID != "alice" || m.Method != twofa.TOTP || !m.At.Equal(at) {
			t.Fatalf("mark read back as %+v, %v, %v", m, ok, err)
		}
		unknown, _ := tokensession.NewToken()
		r.Header.Set("Authorization", "Bearer "+unknown)
		if _, ok, err := s.Mark(r); ok || err != nil {
			t.Errorf("Mark of an unknown token: %v, %v", ok, err)
		}
		if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{UserID: "alice"}); !errors.Is(err, tokensession.ErrUnknownToken) {
			t.Errorf("SetMark of an unknown token: %v, want ErrUnknownToken", err)
		}
		if err := s.ClearMark(httptest.NewRecorder(), r); err != nil {
			t.Errorf("ClearMark of an unknown token: %v", err)
		}
		if _, err := s.Renew(httptest.NewRecorder(), r); !errors.Is(err, httpmw.ErrSessionRenewed) {
			t.Errorf("Renew of an unknown token: %v, want ErrSessionRenewed", err)
		}
	})
}

func TestFromRequest(t *testing.T) {
	tok := "mF_9.B5f-4.1JqM"
	max := strings.Repeat("a", tokensession.MaxTokenLen)
	for _, tc := range []struct {
		name    string
		headers []string
		token   string // "" for an error
		err     error
	}{
		{"none", nil, "", tokensession.ErrNoToken},
		{"bearer", []string{"Bearer " + tok}, tok, nil},
		{"lower case", []string{"bearer " + tok}, tok, nil},
		{"upper case, spaces", []string{"BEARER   " + tok}, tok, nil},
		{"padding", []string{"Bearer abc=="}, "abc==", nil},
		{"the longest", []string{"Bearer " + max}, max, nil},
		{"empty", []string{""}, "", tokensession.ErrMalformedToken},
		{"scheme alone", []string{"Bearer"}, "", tokensession.ErrMalformedToken},
		{"no token", []string{"Bearer "}, "", tokensession.ErrMalformedToken},
		{"no space", []string{"Bearer" + tok}, "", tokensession.ErrMalformedToken},
		{"tab", []string{"Bearer\t" + tok}, "", tokensession.ErrMalformedToken},
		{"basic", []string{"Basic YWxpY2U6cHc="}, "", tokensession.ErrMalformedToken},
		{"two words", []string{"Bearer a b"}, "", tokensession.ErrMalformedToken},
		{"trailing space", []string{"Bearer abc "}, "", tokensession.ErrMalformedToken},
		{"equals inside", []string{"Bearer a=b"}, "", tokensession.ErrMalformedToken},
		{"padding alone", []string{"Bearer =="}, "", tokensession.ErrMalformedToken},
		{"comma", []string{"Bearer a,b"}, "", tokensession.ErrMalformedToken},
		{"not ASCII", []string{"Bearer caf\u00e9"}, "", tokensession.ErrMalformedToken},
		{"not UTF-8", []string{"Bearer \xff\xfe"}, "", tokensession.ErrMalformedToken},
		{"kelvin sign", []string{"Bearer \u212a"}, "", tokensession.ErrMalformedToken},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, "", tokensession.ErrMalformedToken},
		{"one too long", []string{"Bearer " + max + "a"}, "", tokensession.ErrTokenTooLong},
		{"huge", []string{"Bearer " + strings.Repeat("a", 1<<20)}, "", tokensession.ErrTokenTooLong},
		{"huge other scheme", []string{strings.Repeat("x", 1<<20)}, "", tokensession.ErrTokenTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			h, err := tokensession.FromRequest(r)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || h != (tokensession.Hash{}) {
					t.Fatalf("got %v, %x; want %v", err, h, tc.err)
				}
				if len(tc.headers) > 0 && len(tc.headers[0]) > 10 && strings.Contains(err.Error(), tc.headers[0][7:]) {
					t.Fatal("the error quotes the header")
				}
				return
			}
			if err != nil || h != tokensession.HashToken(tc.token) {
				t.Fatalf("got %v, %x; want the hash of %.20q", err, h, tc.token)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, h := tokensession.NewToken()
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("token %q: %d characters, seen before %v", tok, len(tok), seen[tok])
		}
		seen[tok] = true
		if h != tokensession.HashToken(tok) {
			t.Fatal("NewToken's hash is not HashToken's")
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if got, err := tokensession.FromRequest(r); err != nil || got != h {
			t.Fatalf("a new token does not read back: %v", err)
		}
	}
	// SHA-256 of "abc" (FIPS 180-2, B.1).
	if got := tokensession.HashToken("abc").String(); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken(abc) = %s", got)
	}
}

// wrongCode is six digits that are not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// A mobile app keeps no cookie: with the JSON API alone, its token passes
// the second step, and a set-up begun with the token it gets then is
// confirmed with that token, while another login of the same user (another
// phone, its own token) can neither see nor confirm it. No answer sets a
// cookie: the set-up is bound to the token (httpmw.LoginBinder).
func TestAPIWithoutCookies(t *testing.T) {
	wd := start(t, newMemTokens())
	api := func(token, path, body string) answer {
		t.Helper()
		a := wd.call("POST", "/2fa/api/"+path, token, strings.NewReader(body), "application/json")
		if a.err != nil {
			t.Fatal(a.err)
		}
		if c := a.header.Values("Set-Cookie"); len(c) != 0 {
			t.Fatalf("%s set cookies %q on a client that keeps none", path, c)
		}
		return a
	}
	passed := func(token string) string {
		t.Helper()
		a := api(token, "verify", `{"code":"`+wd.phones["alice"]()+`"}`)
		if a.status != http.StatusOK || a.rotated == "" {
			t.Fatalf("verify: %d %s, rotated %q; want 200 and a new token", a.status, a.body, a.rotated)
		}
		wd.clock.Add(30 * time.Second)
		return a.rotated
	}
	phone, other := passed(wd.token(t, "alice")), passed(wd.token(t, "alice"))

	a := api(phone, "totp/begin", "")
	var view struct{ Secret string }
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &view) != nil || view.Secret == "" {
		t.Fatalf("totp/begin: %d %s", a.status, a.body)
	}
	code := fake.AppCode(t, strings.ReplaceAll(view.Secret, " ", ""), wd.clock.Now())
	if a := wd.call("GET", "/2fa/api/totp", other, nil, ""); a.status != http.StatusNotFound {
		t.Fatalf("the other login read the set-up: %d %s", a.status, a.body)
	}
	if a := api(other, "totp/confirm", `{"code":"`+code+`"}`); a.status != http.StatusNotFound {
		t.Fatalf("the other login confirmed the set-up: %d %s", a.status, a.body)
	}
	if a := api(phone, "totp/confirm", `{"code":"`+code+`"}`); a.status != http.StatusOK {
		t.Fatalf("totp/confirm with the token that began it: %d %s", a.status, a.body)
	}
}
