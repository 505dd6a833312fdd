package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// restartPort is this test's own PostgreSQL port: it stops and restarts
// the server, so it cannot share the one TWOFA_POSTGRES_DSN names.
const restartPort = 55415

// TestPostgresRestart runs two application servers (two twofa.Service,
// each on a *sql.DB of its own) against a PostgreSQL server that is
// killed under them, and checks what issue 14 asks of a restart:
//
//   - while the server is down every call denies with an error that no
//     application can take for "this user has no second factor"
//     (ErrNoMethod, a method not enabled, not found) or for a wrong code;
//   - once it is back every call succeeds again, with the same *sql.DB
//     handles and Services: pgx closes a connection on a network error,
//     its stdlib driver answers database/sql's ResetSession with
//     driver.ErrBadConn for a closed one (and pings one idle for over a
//     second first), and database/sql then discards it and takes or dials
//     another, before the statement is sent;
//   - no code is accepted twice: every code is tried by both servers at
//     once, several times each, before, during and after the restart, and
//     acceptances are counted per (user, time step);
//   - no enrolled user is lost.
//
// The server is stopped with `pg_ctl -m immediate`, which kills every
// backend with no shutdown checkpoint, as a crash would, so that it comes
// back through crash recovery. A commit can reach PostgreSQL and the
// answer be lost with the connection: the UPDATE that consumes the time
// step commits and its reply never arrives, or the throttle's clear that
// follows it fails. The client sees an error and denies, and the step
// stays consumed, so that code never passes later: the user types the
// next one. That is the right, fail-closed answer (the other, accepting
// on an error, could accept a code twice), and the test allows it: a code
// tried during the restart is accepted at most once, possibly never.
func TestPostgresRestart(t *testing.T) {
	pg := startOwnPostgres(t, restartPort)
	t.Run("UnderLoad", func(t *testing.T) { restartUnderLoad(t, pg) })
	t.Run("Quiet", func(t *testing.T) { restartQuiet(t, pg) })
}

// restartUnderLoad is the restart with calls in flight all the time.
func restartUnderLoad(t *testing.T, pg *ownPostgres) {
	ctx := t.Context()
	// Two servers, pools of different sizes: B's is smaller than a round's
	// concurrency, so its calls also queue inside database/sql.
	h := newRestartHarness(t, pg.createDB(t, "under_load"), 16, 8)
	const group = 12 // users a round tries, each by both servers, triesPerServer times
	base := h.enroll(group)
	var groups [][]restartUser // the restart's users, a group a round
	for range 6 {
		groups = append(groups, h.enroll(group))
	}
	n, err := h.servers[0].store.CountTOTP(ctx)
	if err != nil || n != len(h.users) {
		t.Fatalf("CountTOTP before the restart = %d, %v; want %d", n, err, len(h.users))
	}

	// Before: the plain case, for contrast.
	for range 2 {
		h.expectHealthy("before", h.round(base, true))
	}

	// Down: killed, not started again yet. Every call denies with a store
	// error; none consumes the step or counts against the throttle, so the
	// same code passes once the server is back.
	if err := pg.ctl("stop", "-m", "immediate"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, pg.log())
	}
	down := h.round(base, true)
	h.expectDown("down", down)
	t.Logf("down: %v", down[0].err)
	h.expectDown("down, again", h.round(base, false))
	h.expectDownAccount(base)
	if err := pg.ctl("start", "-o", pg.opts); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, pg.log())
	}
	h.expectHealthy("back, the code tried while down", h.round(base, false))
	h.expectHealthy("back", h.round(base, true))

	// Restarted under load: rounds run back to back, each on the next
	// group of users, until pg_ctl restart has returned (the server
	// accepts connections again). The clock stands still meanwhile, so
	// that every code tried during the restart can be tried again after
	// it: one that was accepted (or consumed by a commit whose reply was
	// lost) must then be refused, and one that never reached the database
	// passes then.
	h.clock.Add(30 * time.Second)
	done := make(chan error, 1)
	go func() { done <- pg.ctl("restart", "-m", "immediate", "-o", pg.opts) }()
	var during []verifyCall
	rounds := 0
	for restarted := false; !restarted; rounds++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("pg_ctl restart: %v\n%s", err, pg.log())
			}
			restarted = true
		default:
		}
		calls := h.round(groups[rounds%len(groups)], false)
		h.expectDuring("restart", calls)
		during = append(during, calls...)
	}
	counts := map[restartOutcome]int{}
	for _, c := range during {
		counts[outcomeOf(c.err)]++
	}
	if counts[gotStoreError] == 0 {
		t.Fatalf("%d rounds (%d calls) during the restart and not one store error: the restart was not under load", rounds, len(during))
	}
	first := during[slices.IndexFunc(during, func(c verifyCall) bool { return outcomeOf(c.err) == gotStoreError })].err
	t.Logf("during the restart: %d rounds, %d calls: %d accepted, %d replayed, %d store errors; first: %v",
		rounds, len(during), counts[gotAccepted], counts[gotReplayed], counts[gotStoreError], first)

	// After: the same Services and *sql.DB handles. Every code tried
	// during the restart first, at the same time step, then new steps for
	// every user.
	var restartUsers []restartUser
	for _, g := range groups {
		restartUsers = append(restartUsers, g...)
	}
	retried := h.round(restartUsers, false)
	h.expectAfter("after, the codes of the restart", retried)
	// Codes consumed with no acceptance: the step's UPDATE committed and
	// its reply was lost, or the throttle's clear after it failed. Either
	// way some call with that code failed during the restart; a code used
	// up with no call denied by the database would have been taken
	// silently.
	failedFor := map[string]bool{}
	for _, c := range during {
		if outcomeOf(c.err) == gotStoreError {
			failedFor[c.key.user] = true
		}
	}
	lost := 0
	for _, u := range restartUsers {
		if h.acceptances(stepKey{u.id, retried[0].key.step}) == 0 {
			lost++
			if !failedFor[u.id] {
				t.Errorf("%s's code of the restart was used up, and no call with it was accepted or failed with a store error", u.id)
			}
		}
	}
	t.Logf("after the restart: %d of %d codes tried during it were consumed and denied", lost, len(restartUsers))
	for range 2 {
		h.expectHealthy("after", h.round(h.users, true))
	}

	// No enrolled user is lost: each one above passed after the restart,
	// on both servers' account views too, and the count is whole.
	for _, s := range h.servers {
		for _, u := range h.users {
			a, err := s.tf.Account(ctx, u.id)
			if err != nil || a.Status(twofa.TOTP) != twofa.Enabled {
				t.Errorf("server %s, %s: after the restart Account = %v, %v; want TOTP enabled", s.name, u.id, a.Status(twofa.TOTP), err)
			}
			if req, err := s.tf.Requires(ctx, u.id); err != nil || !req {
				t.Errorf("server %s, %s: after the restart Requires = %v, %v", s.name, u.id, req, err)
			}
		}
	}
	if n, err := h.servers[1].store.CountTOTP(ctx); err != nil || n != len(h.users) {
		t.Errorf("CountTOTP after the restart = %d, %v; want %d", n, err, len(h.users))
	}
	h.expectSingleUse()
}

// restartQuiet is a restart that no call sees: the servers' pools hold
// connections used a moment before the server died, and nothing uses them
// while it is down. pgx's stdlib driver pings a pooled connection before
// database/sql hands it out again only if its last hand-out was over a
// second ago, so one that comes back sooner is found dead by the statement
// itself, which may have reached the server and is not retried: that call
// fails with a store error (deny), and database/sql drops the connection
// at its next hand-out. So at most one call per pooled connection fails,
// and every other call passes.
func restartQuiet(t *testing.T, pg *ownPostgres) {
	h := newRestartHarness(t, pg.createDB(t, "quiet"), 4, 4)
	users := h.enroll(4)
	h.expectHealthy("before", h.round(users, true)) // every pooled connection in use
	stale := 0
	for _, s := range h.servers {
		stale += s.db.Stats().OpenConnections
	}
	start := time.Now()
	if err := pg.ctl("restart", "-m", "immediate", "-o", pg.opts); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, pg.log())
	}
	took := time.Since(start)

	// One call at a time, each a code never tried, alternating servers.
	const calls = 40
	var failed []int
	for i := range calls {
		if i%len(users) == 0 {
			h.clock.Add(30 * time.Second)
		}
		u, s := users[i%len(users)], h.servers[i%len(h.servers)]
		c := verifyCall{server: s.name, key: stepKey{u.id, h.clock.Now().Unix() / 30}}
		c.method, c.err = s.tf.Verify(t.Context(), u.id, "login-"+u.id, fake.AppCode(t, u.secret, h.clock.Now()))
		h.record([]verifyCall{c})
		switch k := outcomeOf(c.err); k {
		case gotAccepted:
		case gotStoreError:
			failed = append(failed, i)
		default:
			t.Errorf("call %d after a quiet restart: %s on server %s: %s (%v)", i, u.id, s.name, k, c.err)
		}
	}
	t.Logf("restart took %v; %d calls of %d failed after it (%v), with %d pooled connections open before it", took, len(failed), calls, failed, stale)
	if len(failed) > stale {
		t.Errorf("%d calls failed after a quiet restart, more than the %d pooled connections that died with it: calls %v", len(failed), stale, failed)
	}
	h.expectHealthy("after", h.round(users, true))
	h.expectSingleUse()
}

// triesPerServer is how many times each server tries each code in a round, all at
// once.
const triesPerServer = 3

type appServer struct {
	name  string
	tf    *twofa.Service
	db    *sql.DB
	store *sqlstore.Store
}

type restartUser struct{ id, secret string }

// stepKey names one code: a user's time step.
type stepKey struct {
	user string
	step int64
}

// verifyCall is one Verify and its answer.
type verifyCall struct {
	server string
	key    stepKey
	method twofa.Method
	err    error
}

type restartHarness struct {
	t       *testing.T
	clock   *fake.Clock
	servers []appServer
	users   []restartUser

	mu       sync.Mutex
	accepted map[stepKey]int // every acceptance of the test, per code
}

// newRestartHarness opens an application server on dsn for each pool
// size: a *sql.DB of its own, a store and a twofa.Service, all on one
// fake clock and one key ring.
func newRestartHarness(t *testing.T, dsn string, poolSizes ...int) *restartHarness {
	h := &restartHarness{
		t:        t,
		clock:    fake.NewClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)),
		accepted: map[stepKey]int{},
	}
	ring := fake.Ring(t) // one key for every server, as in production
	for i, size := range poolSizes {
		db := openRestartPool(t, dsn, size)
		store, err := sqlstore.Open(t.Context(), db, sqlstore.PostgreSQL)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		tf, err := twofa.New(twofa.Config{
			Issuer: "Restart", Store: store, Keys: ring, Now: h.clock.Now,
			// Every code is tried 2*triesPerServer times a round and only one try
			// can pass, and the codes of the restart are tried in several
			// rounds: with the default policy those failures would soon
			// throttle the right code too. The throttle is not what this
			// test is about.
			Throttle: throttle.Policy{FreeFailures: 90, LockAfter: 95},
		})
		if err != nil {
			t.Fatal(err)
		}
		h.servers = append(h.servers, appServer{string(rune('A' + i)), tf, db, store})
	}
	return h
}

// enroll sets up n more users with an authenticator app, alternating
// servers, and returns them.
func (h *restartHarness) enroll(n int) []restartUser {
	t := h.t
	first := len(h.users)
	for i := first; i < first+n; i++ {
		s := h.servers[i%len(h.servers)]
		id := "user-" + strconv.Itoa(i)
		session := "session-" + id
		enr, err := s.tf.TOTP.Begin(t.Context(), id, id+"@example.com", session)
		if err != nil {
			t.Fatalf("Begin %s: %v", id, err)
		}
		if err := s.tf.TOTP.Confirm(t.Context(), id, session, fake.AppCode(t, enr.Secret, h.clock.Now())); err != nil {
			t.Fatalf("Confirm %s: %v", id, err)
		}
		h.users = append(h.users, restartUser{id, enr.Secret})
	}
	// The confirming code is used: the first round moves the clock on.
	return h.users[first:]
}

// round moves the clock one period on when next is set, so that every user
// has a code never tried, or keeps it to try codes again; then each server
// tries each user's code triesPerServer times, all at once.
func (h *restartHarness) round(users []restartUser, next bool) []verifyCall {
	t := h.t
	if next {
		h.clock.Add(30 * time.Second)
	}
	now := h.clock.Now()
	step := now.Unix() / 30
	calls := make([]verifyCall, len(users)*len(h.servers)*triesPerServer)
	var wg sync.WaitGroup
	i := 0
	for _, u := range users {
		code := fake.AppCode(t, u.secret, now)
		for _, s := range h.servers {
			for range triesPerServer {
				c := &calls[i]
				i++
				c.server, c.key = s.name, stepKey{u.id, step}
				wg.Go(func() {
					// A bound, so that a call that hangs fails the test
					// instead of stalling it; none is expected to come near.
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					defer cancel()
					c.method, c.err = s.tf.Verify(ctx, u.id, "login-"+u.id, code)
					if c.err != nil && strings.Contains(c.err.Error(), code) {
						t.Errorf("%s on server %s: the error quotes the code: %v", u.id, s.name, c.err)
					}
				})
			}
		}
	}
	wg.Wait()
	h.record(calls)
	return calls
}

// record counts the acceptances among calls.
func (h *restartHarness) record(calls []verifyCall) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range calls {
		if c.err == nil {
			h.accepted[c.key]++
			if c.method != twofa.TOTP {
				h.t.Errorf("%s accepted by server %s as %q, want %q", c.key.user, c.server, c.method, twofa.TOTP)
			}
		}
	}
}

// acceptances returns how often key's code was accepted in the test.
func (h *restartHarness) acceptances(key stepKey) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepted[key]
}

// restartOutcome sorts Verify's answers.
type restartOutcome int

const (
	gotAccepted   restartOutcome = iota
	gotReplayed                  // the code's step was used already: the loser of a race
	gotStoreError                // the database failed: deny, and nothing else
	// Below, answers that a database failure must never produce.
	gotNoMethod  // ErrNoMethod: the application's policy may let the user in
	gotNotFound  // a method not enabled or set up, or a record not found
	gotWrongCode // a right code called wrong
	gotThrottled // the generous policy above never throttles
)

var outcomeNames = [...]string{"accepted", "replayed", "store error", "ErrNoMethod", "not enabled/not found", "wrong code", "throttled"}

func (o restartOutcome) String() string { return outcomeNames[o] }

// outcomeOf sorts err, nil included, by what an application makes of it.
func outcomeOf(err error) restartOutcome {
	switch {
	case err == nil:
		return gotAccepted
	case errors.Is(err, twofa.ErrNoMethod):
		return gotNoMethod
	case errors.Is(err, totp.ErrNotEnabled), errors.Is(err, totp.ErrNotSetUp), errors.Is(err, storage.ErrNotFound),
		errors.Is(err, emailotp.ErrNotEnabled):
		return gotNotFound
	case errors.Is(err, totp.ErrReplay) && errors.Is(err, twofa.ErrInvalidCode):
		return gotReplayed
	case errors.Is(err, twofa.ErrInvalidCode), errors.Is(err, totp.ErrInvalidCode):
		return gotWrongCode
	case errors.Is(err, twofa.ErrThrottled):
		return gotThrottled
	}
	return gotStoreError
}

// check reports every call of a phase whose outcome is not among want, the
// first few in full: a broken store fails every call alike.
func (h *restartHarness) check(phase string, calls []verifyCall, want ...restartOutcome) {
	h.t.Helper()
	bad := 0
	for _, c := range calls {
		if k := outcomeOf(c.err); !slices.Contains(want, k) {
			if bad < 5 {
				h.t.Errorf("%s: %s on server %s: %s (%v), want one of %v", phase, c.key.user, c.server, k, c.err, want)
			}
			bad++
		}
	}
	if bad > 5 {
		h.t.Errorf("%s: %d calls like those above in all", phase, bad)
	}
}

// expectHealthy checks a round against a working database: each code
// passes exactly once, and every other try is refused as a replay.
func (h *restartHarness) expectHealthy(phase string, calls []verifyCall) {
	h.t.Helper()
	h.check(phase, calls, gotAccepted, gotReplayed)
	per := map[stepKey]int{}
	for _, c := range calls {
		if c.err == nil {
			per[c.key]++
		} else if _, ok := per[c.key]; !ok {
			per[c.key] = 0
		}
	}
	for key, n := range per {
		if n != 1 {
			h.t.Errorf("%s: %s's code accepted %d times in the round, want 1", phase, key.user, n)
		}
	}
}

// expectDown checks a round against a database that is down: every call
// denies with a store error.
func (h *restartHarness) expectDown(phase string, calls []verifyCall) {
	h.t.Helper()
	h.check(phase, calls, gotStoreError)
}

// expectDownAccount checks the other questions an application asks at
// login while the database is down: Requires and Account must fail, not
// answer "no second factor".
func (h *restartHarness) expectDownAccount(users []restartUser) {
	t := h.t
	for _, s := range h.servers {
		for _, u := range users {
			// Requires answers false with its error; the error is what an
			// application must look at (as httpmw does), and it is no
			// ErrNoMethod.
			if req, err := s.tf.Requires(t.Context(), u.id); outcomeOf(err) != gotStoreError {
				t.Errorf("down: server %s: Requires(%s) = %v, %v; want a store error", s.name, u.id, req, err)
			}
			if a, err := s.tf.Account(t.Context(), u.id); outcomeOf(err) != gotStoreError {
				t.Errorf("down: server %s: Account(%s) = TOTP %v, %v; want a store error", s.name, u.id, a.Status(twofa.TOTP), err)
			}
		}
	}
}

// expectDuring checks a round that ran while the server restarted: a call
// passes, loses a race, or fails with a store error; nothing else.
func (h *restartHarness) expectDuring(phase string, calls []verifyCall) {
	h.t.Helper()
	h.check(phase, calls, gotAccepted, gotReplayed, gotStoreError)
}

// expectAfter checks the retry, once the server is back, of the codes
// tried during the restart: no store error any more, and each code
// accepted once in all, during the restart or now, unless the restart
// consumed it without an acceptance (expectSingleUse checks the "once").
// A code no try of which passed during the restart and which is not
// consumed passes now: exactly one acceptance in this round.
func (h *restartHarness) expectAfter(phase string, calls []verifyCall) {
	h.t.Helper()
	h.check(phase, calls, gotAccepted, gotReplayed)
}

// expectSingleUse checks every acceptance of the test: no code twice.
func (h *restartHarness) expectSingleUse() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for key, n := range h.accepted {
		if n > 1 {
			h.t.Errorf("%s's code of step %d accepted %d times", key.user, key.step, n)
		}
	}
}

// openRestartPool opens one application server's pool the way we advise
// for PostgreSQL: a fixed size, connections kept idle rather than
// dialled per request, and recycled now and then. None of these is what
// recovers from the restart; database/sql and pgx do that on their own.
func openRestartPool(t *testing.T, dsn string, size int) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	t.Cleanup(func() { db.Close() })
	return db
}

// ownPostgres is a PostgreSQL server of the test's own, in a folder under
// /tmp.
type ownPostgres struct {
	bin  string // folder of initdb and pg_ctl
	dir  string
	opts string // the postgres options for pg_ctl -o
	dsn  string
}

// startOwnPostgres initdb's and starts a server on port, stopped and removed
// when the test ends, whatever happens. Without the binaries the test is
// skipped on a developer's machine and fails in CI, which installs them.
func startOwnPostgres(t *testing.T, port int) *ownPostgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH; CI must install them (.ci/run)")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl)")
	}
	// mktemp -d under /tmp, not t.TempDir(): the server runs as postgres
	// when the test runs as root, and t.TempDir's parents are 0700.
	dir, err := os.MkdirTemp("", "twofa-restart-")
	if err != nil {
		t.Fatal(err)
	}
	p := &ownPostgres{bin: bin, dir: dir,
		// -F: no fsync. A killed server loses nothing written to the
		// kernel, and this test kills only the server, never the machine.
		opts: fmt.Sprintf("-k %s -h 127.0.0.1 -p %d -F -c max_connections=500", dir, port),
		dsn:  fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown postgres %s: %v: %s", dir, err, out)
		}
	}
	if out, err := p.command("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// Registered before the start, so that a start that half worked is
	// stopped too. Immediate: the data is thrown away.
	t.Cleanup(func() { p.ctl("stop", "-m", "immediate") })
	if err := p.ctl("start", "-o", p.opts); err != nil {
		t.Fatalf("pg_ctl start on port %d: %v\n%s", port, err, p.log())
	}
	return p
}

// postgresBin returns the folder of initdb and pg_ctl: Debian's, newest
// version first, else the one on PATH; "" if there is none.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// createDB creates a database on the server and returns its DSN. The
// server is thrown away at the end, and the database with it.
func (p *ownPostgres) createDB(t *testing.T, name string) string {
	t.Helper()
	admin, err := sql.Open("pgx", p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return strings.Replace(p.dsn, "/postgres?", "/"+name+"?", 1)
}

func (p *ownPostgres) data() string { return filepath.Join(p.dir, "data") }

// command runs a server program, as postgres when the test runs as root.
func (p *ownPostgres) command(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, prog)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// ctl runs pg_ctl on the server and waits for it to finish its job.
func (p *ownPostgres) ctl(args ...string) error {
	args = append(args, "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60")
	out, err := p.command("pg_ctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// log returns the server's log, for a failure message.
func (p *ownPostgres) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "log"))
	return string(b)
}
