package main

// The load test: `go run ./examples/webapp load -users 32 -duration 30s`.
//
// It starts this application in the same process, on a loopback port and
// the database of -db, and drives -users users through its whole login over
// real HTTP for -duration: the password form, the authenticator-app code at
// the challenge, the protected home page. Then it prints logins per second,
// the 50th and 99th percentiles of the login's and of the code's latency,
// how long users waited for each other (see stepClock), the errors and the
// double acceptances; it fails if either of the last two is above 0. An
// interrupt ends the run early, as the end of -duration does.
//
// Why a subcommand of the example, not a command of its own: the load test
// drives the application's clock (see stepClock), which only an in-process
// application takes, and this package is a main package, which no other
// command can import. Running it here reuses newApp unchanged: the same
// database, middleware, sessions and pages as `go run ./examples/webapp`.
//
// The users are made as the demo users are (createUser: a bcrypt password in
// app_users), one per -users, with a random run tag in their address, so a
// run never meets another's users. Their authenticator apps are set up with
// twofa's own totp.Service.Import on the same database, with secrets the load
// test made and so knows.
//
// Each login is two sessions of the same user, in two cookie jars, as two
// browsers: both log in with the password and reach the challenge, then both
// send the same code at once. Exactly one must get past the challenge to the
// protected page, and the other must be refused (401); both getting past is
// a double acceptance, and any other outcome (a refusal of both, a status or
// page not expected, a transport error) is an error. The target is 0 of
// each.
//
// The login latency runs from the two password posts to the end of both
// sessions (the winner's home page); the code latency is that of each code
// post alone, both sessions'. Percentiles are nearest-rank over every
// recorded latency.
//
// The client runs in the same process as the server and shares its cores:
// the figures are those of one machine serving and loading itself.

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/totp"
)

// loadConfig is what a load run needs; the load subcommand fills it from
// its flags.
type loadConfig struct {
	Users    int
	Duration time.Duration
	// DB is the database, as the application's -db: a SQLite file or a
	// server's DSN. Empty means a new SQLite file in a temporary folder,
	// removed afterwards.
	DB string
	// PasswordCost is the bcrypt cost of the users' passwords.
	PasswordCost int
	// Out receives the report; ServerLog the application's error lines.
	Out, ServerLog io.Writer
}

// Bounds of the flags: enough for a large machine, not enough to exhaust a
// small one by a typo. Every latency is kept until the end, for exact
// percentiles: three a login, 24 bytes; an hour at 1,000 logins a second is
// 86 MB.
const (
	maxLoadUsers    = 10000
	maxLoadDuration = time.Hour
)

// loadMain runs the load subcommand with its arguments (after "load").
// The error is a usage error, a failure to start, or a run that saw errors
// or double acceptances.
func loadMain(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	cfg := loadConfig{Out: out, ServerLog: errOut}
	fs.IntVar(&cfg.Users, "users", 32, "concurrent users, each logging in over and over")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to start new logins (those under way then finish)")
	fs.StringVar(&cfg.DB, "db", "", "SQLite file, or a postgres:// or mysql:// DSN, as the application's -db; default a new SQLite file in a temporary folder")
	fs.IntVar(&cfg.PasswordCost, "password-cost", bcrypt.DefaultCost, "bcrypt cost of the load users' passwords (the application's is the default)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webapp load [-users N] [-duration T] [-db DATABASE] [-password-cost C]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("load: unexpected argument %q", fs.Arg(0))
	}
	// An interrupt ends the run early, as the end of -duration does: the
	// logins under way finish and the report is printed. A second one
	// stops the program.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return err
	}
	res.print(out)
	if res.Errors > 0 || res.Double > 0 {
		return fmt.Errorf("load: %d errors, %d double acceptances", res.Errors, res.Double)
	}
	return nil
}

// loadResult is what a run measured.
type loadResult struct {
	Engine   string
	Users    int
	Duration time.Duration // the -duration asked for
	Elapsed  time.Duration // from the first login to the end of the last
	// Interrupted is set when the run was ended before Duration.
	Interrupted bool
	// Logins counts the logins that ended as expected: one session past
	// the challenge, the other refused.
	Logins int
	// Errors counts the logins that ended otherwise, double acceptances
	// apart; FirstError says what the first was.
	Errors     int
	FirstError string
	// Double counts the logins whose code got both sessions past the
	// challenge.
	Double int
	// Waited is the time the users spent waiting for the clock to move on
	// (summed over users).
	Waited time.Duration
	// LoginTimes and CodeTimes are every recorded latency, sorted.
	LoginTimes, CodeTimes []time.Duration
}

func (r loadResult) print(w io.Writer) {
	fmt.Fprintf(w, "%d users for %s on %s", r.Users, r.Duration, r.Engine)
	if r.Interrupted {
		fmt.Fprint(w, ", interrupted")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "logins              %d in %s: %.1f/s\n", r.Logins, r.Elapsed.Round(time.Millisecond), float64(r.Logins)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "login latency       p50 %s  p99 %s  max %s\n", pct(r.LoginTimes, 50), pct(r.LoginTimes, 99), pct(r.LoginTimes, 100))
	fmt.Fprintf(w, "code latency        p50 %s  p99 %s  max %s\n", pct(r.CodeTimes, 50), pct(r.CodeTimes, 99), pct(r.CodeTimes, 100))
	if r.Elapsed > 0 {
		fmt.Fprintf(w, "waiting for others  %.0f%% of the users' time\n", 100*r.Waited.Seconds()/(float64(r.Users)*r.Elapsed.Seconds()))
	}
	fmt.Fprintf(w, "errors              %d\n", r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error         %s\n", r.FirstError)
	}
	fmt.Fprintf(w, "double acceptances  %d\n", r.Double)
}

// pct is the p-th percentile of sorted by nearest rank: the smallest value
// with at least p% of the values at or below it.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)].Round(10 * time.Microsecond)
}

// engine names the database engine of a -db setting, as openDB reads it.
func engine(db string) string {
	switch {
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		return "PostgreSQL"
	case strings.HasPrefix(db, "mysql://"):
		return "MariaDB"
	}
	return "SQLite"
}

// runLoad starts the application of cfg and runs the load against it.
func runLoad(ctx context.Context, cfg loadConfig) (loadResult, error) {
	switch {
	case cfg.Users < 1 || cfg.Users > maxLoadUsers:
		return loadResult{}, fmt.Errorf("load: -users must be 1 to %d", maxLoadUsers)
	case cfg.Duration <= 0 || cfg.Duration > maxLoadDuration:
		return loadResult{}, fmt.Errorf("load: -duration must be above 0 and at most %s", maxLoadDuration)
	case cfg.PasswordCost < bcrypt.MinCost || cfg.PasswordCost > bcrypt.MaxCost:
		return loadResult{}, fmt.Errorf("load: -password-cost must be %d to %d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.DB == "" {
		dir, err := os.MkdirTemp("", "twofa-load-")
		if err != nil {
			return loadResult{}, err
		}
		defer os.RemoveAll(dir)
		cfg.DB = filepath.Join(dir, "load.db")
	}
	if cfg.ServerLog == nil {
		cfg.ServerLog = io.Discard
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return loadResult{}, err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port

	clock := newStepClock(cfg.Users, time.Now())
	a, cleanup, err := newApp(config{
		DB:      cfg.DB,
		Origin:  base,
		DevMail: "off",
		// The application's console says something for every event; only
		// its errors are worth passing on here.
		Log:          &errorLines{w: cfg.ServerLog},
		Now:          clock.now,
		PasswordCost: cfg.PasswordCost,
	})
	if err != nil {
		return loadResult{}, err
	}
	defer cleanup()
	users, err := loadUsers(ctx, a, cfg.Users)
	if err != nil {
		return loadResult{}, err
	}
	// Import marked the steps up to the one after the clock's used.
	clock.begin()

	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	res := drive(ctx, base, users, clock, cfg.Duration)
	res.Engine, res.Users, res.Duration = engine(cfg.DB), cfg.Users, cfg.Duration
	return res, nil
}

// loadUser is a user the load test logs in: it knows the password and the
// authenticator app's secret.
type loadUser struct {
	email, password string
	secret          []byte
}

// loadUsers makes n users as the demo users are made, and sets up their
// authenticator apps with twofa's import, on the application's database.
func loadUsers(ctx context.Context, a *app, n int) ([]loadUser, error) {
	tag := strings.ToLower(rand.Text()[:8])
	users := make([]loadUser, n)
	want := map[string]int{}
	for i := range users {
		u := &users[i]
		u.email = fmt.Sprintf("load-%s-%d@example.com", tag, i)
		u.password = rand.Text()
		u.secret = make([]byte, totp.SecretSize)
		rand.Read(u.secret)
		created, err := a.createUser(ctx, u.email, u.password, false)
		if err != nil {
			return nil, err
		}
		if !created {
			return nil, fmt.Errorf("load: user %s exists already", u.email)
		}
		want[u.email] = i
	}
	all, err := a.users(ctx)
	if err != nil {
		return nil, err
	}
	found := 0
	for _, au := range all {
		i, ok := want[au.Email]
		if !ok {
			continue
		}
		im := totp.Imported{Key: users[i].secret, Algorithm: totp.SHA1, Digits: 6, Period: stepPeriod}
		if err := a.tf.TOTP.Import(ctx, au.ID, au.Email, im, totp.ImportOptions{}); err != nil {
			return nil, fmt.Errorf("load: set up %s: %w", au.Email, err)
		}
		found++
	}
	if found != n {
		return nil, fmt.Errorf("load: made %d users, found %d", n, found)
	}
	return users, nil
}

// stepPeriod is the load users' TOTP period: the default of every app.
const stepPeriod = 30 * time.Second

// stepClock is the application's clock during a load run. Each user's
// logins need codes of time steps that user has not used yet, and on a
// wall clock that is one login per user every 30 seconds: a load of a
// user a minute, which measures nothing. So the load test drives the clock
// instead: it stands in the middle of one step, and moves on by one step
// as soon as every user has logged in with that step's code.
//
// A user may also log in with the next step's code while others finish the
// current one, as an app a few seconds ahead does: the application accepts
// the steps just before and after its own (totp's default skew). So users
// wait for each other only when one is two steps ahead, and every code in
// flight stays acceptable: the clock moves from step k only after every
// user has used k, so the codes in flight then are k+1's, which the next
// step accepts too.
//
// Nothing of the verification is weakened: each code is the real code of
// its step, checked with the default skew, the throttle, and the store's
// compare-and-set of the last used step, which is what a double
// acceptance would get past. Only the passing of time is fast.
type stepClock struct {
	mu   sync.Mutex
	cond *sync.Cond
	step int64   // the current step
	last []int64 // each user's last used step
	done bool
}

func newStepClock(users int, start time.Time) *stepClock {
	c := &stepClock{step: start.Unix() / int64(stepPeriod/time.Second), last: make([]int64, users)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// now is the application's clock: the middle of the current step.
func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Unix(c.step*int64(stepPeriod/time.Second)+int64(stepPeriod/time.Second/2), 0)
}

// begin starts the run after the import, which marked every step up to the
// one after the clock's as used: every user's first code is the step after
// that, and the clock moves there.
func (c *stepClock) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.last {
		c.last[i] = c.step + 1
	}
	c.step += 2
}

// acquire returns the step of user i's next login, waiting while the user
// is a step ahead of the clock; false once stop was called.
func (c *stepClock) acquire(i int) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.done && c.last[i]+1 > c.step+1 {
		c.cond.Wait()
	}
	return c.last[i] + 1, !c.done
}

// release records that user i's login with step s has ended, as expected
// or not (a failed login moves on too, or it would hold every user), and
// moves the clock on once every user has used its step.
func (c *stepClock) release(i int, s int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[i] = s
	if slices.Min(c.last) >= c.step {
		c.step++
		c.cond.Broadcast()
	}
}

// stop ends the run: acquire returns false from now on.
func (c *stepClock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	c.cond.Broadcast()
}

// drive logs users in against the application at base until d has passed,
// each user one login at a time, and returns what it measured.
func drive(ctx context.Context, base string, users []loadUser, clock *stepClock, d time.Duration) loadResult {
	transport := &http.Transport{
		// Two sessions a user, each with a connection or two at once.
		MaxIdleConns:        4 * len(users),
		MaxIdleConnsPerHost: 4 * len(users),
		IdleConnTimeout:     time.Minute,
	}
	defer transport.CloseIdleConnections()
	var (
		mu  sync.Mutex
		res loadResult
	)
	start := time.Now()
	timer := time.AfterFunc(d, clock.stop)
	defer timer.Stop()
	defer context.AfterFunc(ctx, clock.stop)()
	// A login under way when ctx ends finishes: cut off, it would count
	// as an error.
	finish := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			for {
				t0 := time.Now()
				step, ok := clock.acquire(i)
				waited := time.Since(t0)
				if !ok {
					return
				}
				o := loginTwice(finish, base, transport, u, step)
				clock.release(i, step)
				mu.Lock()
				res.Waited += waited
				switch {
				case o.double:
					res.Double++
				case o.err != nil:
					res.Errors++
					if res.FirstError == "" {
						res.FirstError = o.err.Error()
					}
				default:
					res.Logins++
				}
				res.LoginTimes = append(res.LoginTimes, o.login)
				res.CodeTimes = append(res.CodeTimes, o.codes...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	slices.Sort(res.LoginTimes)
	slices.Sort(res.CodeTimes)
	return res
}

// outcome is the end of one login by two sessions.
type outcome struct {
	double bool
	err    error
	login  time.Duration
	codes  []time.Duration
}

// loadBrowser is one browser: its own cookies, over the shared connections.
type loadBrowser struct {
	base   string
	follow *http.Client // follows redirects, as a browser does
	stay   *http.Client // returns a redirect, to see where a code sends
}

func newLoadSession(base string, t http.RoundTripper) *loadBrowser {
	jar, _ := cookiejar.New(nil)
	const timeout = time.Minute
	return &loadBrowser{
		base:   base,
		follow: &http.Client{Transport: t, Jar: jar, Timeout: timeout},
		stay: &http.Client{Transport: t, Jar: jar, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
}

// maxPage bounds what the load test reads of a page.
const maxPage = 1 << 20

// send makes a request and returns the final status, path and body.
func (s *loadBrowser) send(ctx context.Context, c *http.Client, method, path string, form url.Values) (status int, at, body string, err error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// As a browser asks for a page: the middleware answers a client that
	// asks for anything else as an API client, with 401 and no redirect.
	req.Header.Set("Accept", "text/html")
	res, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxPage))
	if err != nil {
		return 0, "", "", err
	}
	return res.StatusCode, res.Request.URL.Path, string(b), nil
}

// One session's end of a login.
type sessionEnd int

const (
	failed  sessionEnd = iota // not an expected outcome: err says why
	passed                    // past the challenge, on the protected page
	refused                   // the code refused as used
)

// loginTwice logs user u in from two sessions that send the code of step
// at the same moment.
func loginTwice(ctx context.Context, base string, t http.RoundTripper, u loadUser, step int64) outcome {
	code, err := totp.GenerateCode(totp.SHA1, u.secret, 6, uint64(step))
	if err != nil {
		return outcome{err: err}
	}
	var (
		atChallenge sync.WaitGroup // both sessions at the challenge
		wg          sync.WaitGroup
		ends        [2]sessionEnd
		errs        [2]error
		codes       [2]time.Duration
	)
	atChallenge.Add(2)
	start := time.Now()
	for i := range 2 {
		wg.Go(func() {
			ends[i], codes[i], errs[i] = oneSession(ctx, newLoadSession(base, t), u, code, &atChallenge)
		})
	}
	wg.Wait()
	o := outcome{login: time.Since(start)}
	for i, e := range ends {
		if e == failed {
			o.err = fmt.Errorf("session %d: %w", i+1, errs[i])
			return o
		}
		o.codes = append(o.codes, codes[i])
	}
	switch {
	case ends[0] == passed && ends[1] == passed:
		o.double = true
	case ends[0] == refused && ends[1] == refused:
		o.err = errors.New("the code was refused to both sessions")
	}
	return o
}

// oneSession logs u in with the password, waits at the challenge for the
// other session, sends code, and if it is taken opens the protected home
// page. at is done once this session is at the challenge, or has failed
// before it.
func oneSession(ctx context.Context, s *loadBrowser, u loadUser, code string, at *sync.WaitGroup) (sessionEnd, time.Duration, error) {
	status, path, body, err := s.send(ctx, s.follow, "POST", "/login", url.Values{"email": {u.email}, "password": {u.password}, "next": {"/"}})
	arrived := err == nil && status == http.StatusOK && path == twofaPath && strings.Contains(body, `id="code"`)
	at.Done()
	switch {
	case err != nil:
		return failed, 0, fmt.Errorf("password: %w", err)
	case !arrived:
		return failed, 0, fmt.Errorf("password: %d at %s, not the challenge", status, path)
	}
	at.Wait()

	t0 := time.Now()
	status, _, body, err = s.send(ctx, s.stay, "POST", twofaPath+"verify", url.Values{"code": {code}, "next": {"/"}})
	took := time.Since(t0)
	switch {
	case err != nil:
		return failed, took, fmt.Errorf("code: %w", err)
	case status == http.StatusUnauthorized && strings.Contains(body, "already used"):
		return refused, took, nil
	case status == http.StatusUnauthorized:
		return failed, took, errors.New("code: 401, refused but not as used")
	case status != http.StatusSeeOther:
		return failed, took, fmt.Errorf("code: %d", status)
	}
	status, path, body, err = s.send(ctx, s.follow, "GET", "/", nil)
	switch {
	case err != nil:
		return failed, took, fmt.Errorf("home page: %w", err)
	case status != http.StatusOK || path != "/" || !strings.Contains(body, `id="twofa-status">on`):
		return failed, took, fmt.Errorf("home page: %d at %s after the code was taken", status, path)
	}
	return passed, took, nil
}

// errorLines passes on the lines of the application's console that report
// an error, up to maxErrorLines, and drops the rest (an event a line).
type errorLines struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

const maxErrorLines = 20

func (l *errorLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(string(p)) {
		if l.n < maxErrorLines && (strings.HasPrefix(line, "error: ") || strings.Contains(line, "level=ERROR")) {
			l.n++
			fmt.Fprintf(l.w, "server: %s", line)
		}
	}
	return len(p), nil
}
