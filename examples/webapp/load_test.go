package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/totp"
)

// TestLoad runs the load subcommand as `webapp load` runs it, briefly, on
// each engine (PostgreSQL and MariaDB when TWOFA_POSTGRES_DSN and
// TWOFA_MYSQL_DSN name a server): the application logs users in, each code gets exactly one
// of its two sessions past the challenge, and nothing else happens.
func TestLoad(t *testing.T) {
	for _, engine := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "load.db") }},
		{"PostgreSQL", func(t *testing.T) string { _, dsn := testdb.Postgres(t); return dsn }},
		{"MariaDB", func(t *testing.T) string { _, dsn := testdb.MySQL(t); return "mysql://" + dsn }},
	} {
		t.Run(engine.name, func(t *testing.T) {
			db := engine.db(t)
			var out, errOut bytes.Buffer
			err := loadMain([]string{"-users", "2", "-duration", "2s", "-password-cost", "4", "-db", db}, &out, &errOut)
			t.Logf("%s%s", out.String(), errOut.String())
			if err != nil {
				t.Fatal(err)
			}
			if logins := reportCount(t, out.String(), "logins"); logins == 0 {
				t.Error("no login in 2 s")
			}
			for _, name := range []string{"errors", "double acceptances"} {
				if n := reportCount(t, out.String(), name); n != 0 {
					t.Errorf("%s: %d, want 0", name, n)
				}
			}
			if !strings.Contains(out.String(), " on "+engine.name+"\n") {
				t.Errorf("the report does not name %s", engine.name)
			}
			if errOut.Len() > 0 {
				t.Errorf("the server reported errors:\n%s", errOut.String())
			}
		})
	}
}

// reportCount reads the number after name at the start of a line of the
// report.
func reportCount(t *testing.T, report, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` +(\d+)`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no %q in the report:\n%s", name, report)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestLoadDetector runs the load's driver against stand-ins of the
// application that differ only in how they keep a code to one use: one
// that keeps it (the load sees no double acceptance), one that accepts a
// code as often as it is sent (every login is a double acceptance), and one
// that refuses every code (every login is an error).
func TestLoadDetector(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accept   acceptance
		ok       bool // logins counted
		double   bool // double acceptances counted
		errors   bool // errors counted
		errorMsg string
	}{
		{name: "once", accept: acceptOnce, ok: true},
		{name: "twice", accept: acceptTwice, double: true},
		{name: "never", accept: acceptNever, errors: true, errorMsg: "refused to both sessions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users := make([]loadUser, 3)
			for i := range users {
				users[i] = loadUser{email: fmt.Sprintf("u%d@example.com", i), password: rand.Text(), secret: []byte(rand.Text()[:20])}
			}
			clock := newStepClock(len(users), time.Now())
			clock.begin()
			srv := httptest.NewServer(newStandIn(users, clock, tc.accept))
			defer srv.Close()
			res := drive(context.Background(), srv.URL, users, clock, 300*time.Millisecond)
			t.Logf("logins %d, errors %d (%s), double acceptances %d", res.Logins, res.Errors, res.FirstError, res.Double)
			if got := res.Logins > 0; got != tc.ok {
				t.Errorf("logins: %d", res.Logins)
			}
			if got := res.Double > 0; got != tc.double {
				t.Errorf("double acceptances: %d", res.Double)
			}
			if got := res.Errors > 0; got != tc.errors {
				t.Errorf("errors: %d (%s)", res.Errors, res.FirstError)
			}
			if !strings.Contains(res.FirstError, tc.errorMsg) {
				t.Errorf("first error %q, want %q", res.FirstError, tc.errorMsg)
			}
			if n := res.Logins + res.Double + res.Errors; len(res.LoginTimes) != n {
				t.Errorf("%d login latencies for %d logins", len(res.LoginTimes), n)
			}
		})
	}
}

// TestLoadInterrupt: a run ended early (an interrupt) stops starting
// logins, lets those under way finish rather than count them as errors, and
// says it was interrupted.
func TestLoadInterrupt(t *testing.T) {
	users := []loadUser{{email: "u@example.com", password: rand.Text(), secret: []byte(rand.Text()[:20])}}
	clock := newStepClock(len(users), time.Now())
	clock.begin()
	srv := httptest.NewServer(newStandIn(users, clock, acceptOnce))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res := drive(ctx, srv.URL, users, clock, time.Hour)
	if !res.Interrupted || res.Logins == 0 || res.Errors != 0 || res.Double != 0 {
		t.Fatalf("interrupted %v, logins %d, errors %d (%s), double acceptances %d", res.Interrupted, res.Logins, res.Errors, res.FirstError, res.Double)
	}
}

// TestStepClock: 16 users taking and releasing steps at once, at uneven
// speeds. Every step a user takes is one it has not used, and it stays
// within the application's skew (the clock's step, or the one before or
// after) from the moment it is taken until it is released, so the clock
// never makes a code stale in flight; and the clock moves on.
func TestStepClock(t *testing.T) {
	const users, rounds = 16, 200
	clock := newStepClock(users, time.Now())
	clock.begin()
	first := clock.now().Unix() / int64(stepPeriod/time.Second)
	inSkew := func(step int64) bool {
		now := clock.now().Unix() / int64(stepPeriod/time.Second)
		return step >= now-1 && step <= now+1
	}
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i := range users {
		wg.Go(func() {
			last := int64(0)
			for range rounds {
				step, ok := clock.acquire(i)
				if !ok {
					errs <- fmt.Errorf("user %d: stopped", i)
					return
				}
				if step <= last || !inSkew(step) {
					errs <- fmt.Errorf("user %d: step %d after %d, clock at %d", i, step, last, clock.now().Unix()/int64(stepPeriod/time.Second))
					return
				}
				// Users of uneven speed: some yield often, as a slow login.
				for range i % 4 * 10 {
					runtime.Gosched()
				}
				if !inSkew(step) {
					errs <- fmt.Errorf("user %d: step %d went stale in flight, clock at %d", i, step, clock.now().Unix()/int64(stepPeriod/time.Second))
					return
				}
				clock.release(i, step)
				last = step
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if moved := clock.now().Unix()/int64(stepPeriod/time.Second) - first; moved < rounds-2 {
		t.Errorf("the clock moved %d steps in %d rounds", moved, rounds)
	}
}

// acceptance is how a stand-in keeps codes to one use.
type acceptance int

const (
	acceptOnce  acceptance = iota // each user's step once, under a lock
	acceptTwice                   // a right code, as often as it comes
	acceptNever                   // every code refused as used
)

// newStandIn serves the pages the load goes through, as the application
// does (the same paths, statuses and marks in the pages), with cookies for
// sessions and codes checked against clock with the application's skew.
func newStandIn(users []loadUser, clock *stepClock, accept acceptance) http.Handler {
	var (
		mu       sync.Mutex
		sessions = map[string]*standInSession{}
		lastStep = map[string]int64{} // by e-mail address
	)
	byEmail := map[string]loadUser{}
	for _, u := range users {
		byEmail[u.email] = u
	}
	session := func(r *http.Request) *standInSession {
		ck, err := r.Cookie("s")
		if err != nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		return sessions[ck.Value]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, ok := byEmail[r.PostFormValue("email")]
		if !ok || u.password != r.PostFormValue("password") {
			http.Error(w, "wrong password", http.StatusUnauthorized)
			return
		}
		id := rand.Text()
		mu.Lock()
		sessions[id] = &standInSession{user: u}
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "s", Value: id})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		if s == nil || !s.isPassed() {
			http.Redirect(w, r, twofaPath+"?next=%2F", http.StatusSeeOther)
			return
		}
		fmt.Fprint(w, `<p id="twofa-status">on</p>`)
	})
	mux.HandleFunc("GET "+twofaPath+"{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<input id="code" name="code">`)
	})
	mux.HandleFunc("POST "+twofaPath+"verify", func(w http.ResponseWriter, r *http.Request) {
		s := session(r)
		if s == nil {
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		step, ok := matchStep(s.user, r.PostFormValue("code"), clock)
		if ok {
			switch accept {
			case acceptOnce:
				mu.Lock()
				ok = step > lastStep[s.user.email]
				if ok {
					lastStep[s.user.email] = step
				}
				mu.Unlock()
			case acceptNever:
				ok = false
			}
		}
		if !ok {
			http.Error(w, "That code was already used.", http.StatusUnauthorized)
			return
		}
		s.pass()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return mux
}

type standInSession struct {
	user   loadUser
	mu     sync.Mutex
	passed bool
}

func (s *standInSession) pass() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passed = true
}

func (s *standInSession) isPassed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passed
}

// matchStep returns the step of clock's current one or those beside it
// whose code is code.
func matchStep(u loadUser, code string, clock *stepClock) (int64, bool) {
	now := clock.now().Unix() / int64(stepPeriod/time.Second)
	for step := now - 1; step <= now+1; step++ {
		if c, err := totp.GenerateCode(totp.SHA1, u.secret, 6, uint64(step)); err == nil && c == code {
			return step, true
		}
	}
	return 0, false
}

// TestLoadFlags: bad flags are refused before anything starts.
func TestLoadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no users", []string{"-users", "0"}, "-users must be"},
		{"too many users", []string{"-users", "10001"}, "-users must be"},
		{"no duration", []string{"-duration", "0s"}, "-duration must be"},
		{"negative duration", []string{"-duration", "-1s"}, "-duration must be"},
		{"duration over an hour", []string{"-duration", "61m"}, "-duration must be"},
		{"password cost too low", []string{"-password-cost", "3"}, "-password-cost must be"},
		{"an argument", []string{"extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"-user", "3"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := loadMain(tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tc.want) {
				t.Fatalf("got %v (%s), want %q", err, errOut.String(), tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("a report for bad flags: %s", out.String())
			}
		})
	}
}

// TestPercentile: nearest rank, on the recorded values.
func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"max of 1..100", ms(hundred...), 100, 100 * time.Millisecond},
		{"p50 of two", ms(1, 9), 50, 1 * time.Millisecond},
		{"p99 of two", ms(1, 9), 99, 9 * time.Millisecond},
		{"p99 of 1..10", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pct(tc.sorted, tc.p); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
