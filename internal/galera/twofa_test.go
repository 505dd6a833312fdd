package galera_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/galera"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/webauthn"
)

// The races: racers spread evenly over the three nodes, each race run
// again for rounds rounds, since which write Galera's certification
// refuses depends on timing.
const (
	racers = 51
	rounds = 20
)

// login is the login attempt e-mailed codes are bound to.
const login = "login-1"

// relaxed lets every racer of a race past the throttle, so that the
// store's claim alone keeps a code single-use: under the default policy
// only 5 parallel attempts get as far as the claim.
var relaxed = throttle.Policy{FreeFailures: 98, LockAfter: 99, Ceiling: 100}

// fleet is three application servers, each with its own twofa.Service on
// its own *sql.DB to its own node of one database, sharing a clock (as
// servers do through NTP), a key ring and a mail server.
type fleet struct {
	apps [galera.Nodes]*twofa.Service
	// check reads the store on each node with wsrep_sync_wait=1, without
	// faults or start line: what a test asserts after a race.
	check  [galera.Nodes]*sqlstore.Store
	clock  *fake.Clock
	inbox  *mailtest.Inbox
	faults *faults
	causal bool
}

// newFleet migrates a database of t's own from node 1 and starts three
// applications on it. causal sets wsrep_sync_wait=1 on the applications'
// connections, as the store's documentation advises for Galera. Without
// it a node may answer a read before it applied another node's commit,
// and the connections also set wsrep_retry_autocommit=0, so that every
// statement that loses certification comes back to the store as Error
// 1213 instead of being run again by the node.
func newFleet(t *testing.T, causal bool, policy throttle.Policy) *fleet {
	t.Helper()
	c := galera.Shared(t)
	f := &fleet{clock: fake.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)), inbox: &mailtest.Inbox{}, faults: &faults{}, causal: causal}
	ring := fake.Ring(t)
	for i, dsn := range c.Database(t) {
		app := mysqlDSN(t, dsn)
		if causal {
			app += "&wsrep_sync_wait=1"
		} else {
			// Nor does the server run a statement that lost certification
			// again by itself: the store sees every loss.
			app += "&wsrep_retry_autocommit=0"
		}
		// Node 1 migrates, then each node's application opens the store
		// with Open too, finding it up to date, as servers starting one
		// after the other do.
		store, err := sqlstore.Open(ctx, f.faults.open(t, app), sqlstore.MySQL)
		if err != nil {
			t.Fatalf("node %d: open the store: %v", i+1, err)
		}
		if f.check[i], err = sqlstore.New(c.Open(t, mysqlDSN(t, dsn)+"&wsrep_sync_wait=1"), sqlstore.MySQL); err != nil {
			t.Fatal(err)
		}
		f.apps[i], err = twofa.New(twofa.Config{
			Issuer: "Example", Store: &gate{Store: store}, Keys: ring,
			Backup:   backup.Config{Hash: fake.FastHash},
			WebAuthn: webauthn.Config{RPID: virtualkey.RP.ID, Origins: []string{virtualkey.RP.Origin}},
			Throttle: policy,
			Mailer:   f.inbox,
			Address:  func(_ context.Context, user string) (string, error) { return user + "@example.com", nil },
			Now:      f.clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// mysqlDSN completes a DSN with the settings the store needs.
func mysqlDSN(t *testing.T, dsn string) string {
	t.Helper()
	dsn, err := sqlstore.MySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// gate holds each racer at its claim — the one write that decides a
// race — until every racer has reached its own or finished without
// (refused by the throttle, say): so the claims meet on the three nodes
// at once, and each racer has read the state before any claim. Calls
// that are no racer's pass.
type gate struct {
	storage.Store
}

func (g *gate) AdvanceTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	arrive(ctx)
	return g.Store.AdvanceTOTPStep(ctx, userID, step)
}

func (g *gate) UseBackupCode(ctx context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	arrive(ctx)
	return g.Store.UseBackupCode(ctx, userID, setID, index, at)
}

func (g *gate) ConsumeEmailCode(ctx context.Context, userID, id string, maxFailures int) (bool, error) {
	arrive(ctx)
	return g.Store.ConsumeEmailCode(ctx, userID, id, maxFailures)
}

// The claims that also clear the throttle (wave3-lean) are gated too,
// once the store has them; until then nothing calls these.

func (g *gate) AdvanceTOTPStepAndResetThrottle(ctx context.Context, userID string, step int64) (bool, error) {
	arrive(ctx)
	return g.Store.(interface {
		AdvanceTOTPStepAndResetThrottle(context.Context, string, int64) (bool, error)
	}).AdvanceTOTPStepAndResetThrottle(ctx, userID, step)
}

func (g *gate) UseBackupCodeAndResetThrottle(ctx context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	arrive(ctx)
	return g.Store.(interface {
		UseBackupCodeAndResetThrottle(context.Context, string, string, int, time.Time) (bool, error)
	}).UseBackupCodeAndResetThrottle(ctx, userID, setID, index, at)
}

func (g *gate) ConsumeEmailCodeAndResetThrottle(ctx context.Context, userID, id string, maxFailures int) (bool, error) {
	arrive(ctx)
	return g.Store.(interface {
		ConsumeEmailCodeAndResetThrottle(context.Context, string, string, int) (bool, error)
	}).ConsumeEmailCodeAndResetThrottle(ctx, userID, id, maxFailures)
}

func (g *gate) SwapEmailCode(ctx context.Context, userID string, prev, next *storage.EmailCode) (bool, error) {
	arrive(ctx)
	return g.Store.SwapEmailCode(ctx, userID, prev, next)
}

func (g *gate) TakeCeremony(ctx context.Context, id string) (storage.Ceremony, error) {
	arrive(ctx)
	return g.Store.TakeCeremony(ctx, id)
}

// line is the start line of one race.
type line struct {
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

// racer is one racer's place at the line; only its own goroutine uses it.
type racer struct {
	l    *line
	done bool
}

type racerKey struct{}

func (l *line) leave() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.waiting--; l.waiting == 0 {
		close(l.open)
	}
}

// arrive holds the racer of ctx, if any, at its first claim.
func arrive(ctx context.Context) {
	r, _ := ctx.Value(racerKey{}).(*racer)
	if r == nil || r.done {
		return
	}
	r.done = true
	r.l.leave()
	<-r.l.open
}

// outcome is what one racer got.
type outcome struct {
	node int
	err  error
}

// race runs try for racers goroutines, racer r on node r%3, and returns
// their outcomes.
func race(try func(ctx context.Context, node int) error) []outcome {
	l := &line{waiting: racers, open: make(chan struct{})}
	out := make([]outcome, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			r := &racer{l: l}
			<-start
			node := i % galera.Nodes
			err := try(context.WithValue(ctx, racerKey{}, r), node)
			if !r.done {
				r.done = true
				l.leave()
			}
			out[i] = outcome{node, err}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// judge fails t unless exactly one racer won, and every other got an
// error that denies for a reason a loser may have: the code was used
// (ErrInvalidCode, webauthn.ErrCeremony), the throttle refused it, or
// the node refused the claim in certification (Error 1213, after the
// store's own retries). With stale reads allowed, a node that has not
// applied the user's set-up yet may also see no method. It returns a
// tally of the losers' reasons, for the log.
func (f *fleet) judge(t *testing.T, round int, out []outcome) map[string]int {
	t.Helper()
	tally := map[string]int{}
	wins := 0
	for _, o := range out {
		var why string
		switch err := o.err; {
		case err == nil:
			wins++
			continue
		case errors.Is(err, twofa.ErrInvalidCode):
			why = "invalid or used"
		case errors.Is(err, webauthn.ErrCeremony):
			why = "ceremony taken"
		case errors.Is(err, twofa.ErrThrottled):
			why = "throttled"
		case deadlock(err):
			why = "certification (1213)"
		case !f.causal && (errors.Is(err, twofa.ErrNoMethod) || errors.Is(err, webauthn.ErrNoKeys)):
			why = "stale read"
		default:
			t.Errorf("round %d: racer on node %d: unexpected error: %v", round, o.node+1, err)
			continue
		}
		tally[why]++
	}
	if wins != 1 {
		t.Fatalf("round %d: %d of %d racers were let in, want exactly 1", round, wins, racers)
	}
	return tally
}

// logTally logs the losers' reasons over every round.
func logTally(t *testing.T, f *fleet, tallies ...map[string]int) {
	t.Helper()
	sum := map[string]int{}
	for _, m := range tallies {
		for k, v := range m {
			sum[k] += v
		}
	}
	var parts []string
	for k, v := range sum {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	t.Logf("%d rounds × %d racers: 1 winner each; losers: %s; 1213s from the nodes: %d",
		len(tallies), racers, strings.Join(parts, ", "), f.faults.deadlocks.Load())
}

// app returns the application on node i, wrapping around.
func (f *fleet) app(i int) *twofa.Service { return f.apps[i%galera.Nodes] }

// enrol sets up an authenticator app for user through node's application
// and returns its secret; the step of the confirming code is used. Each
// round sets its user up through one node (with stale reads allowed,
// another might not see the first steps yet) and races on all three.
func (f *fleet) enrol(t *testing.T, node int, user string) string {
	t.Helper()
	e, err := f.app(node).TOTP.Begin(ctx, user, user, "session-"+user)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.app(node).TOTP.Confirm(ctx, user, "session-"+user, fake.AppCode(t, e.Secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

// nextCode moves the clock to the next time step and returns the app's
// code for it.
func (f *fleet) nextCode(t *testing.T, secret string) string {
	t.Helper()
	f.clock.Add(30 * time.Second)
	return fake.AppCode(t, secret, f.clock.Now())
}

// refusedEverywhere fails t unless try is refused on every node: a code
// that won once is never let in again.
func (f *fleet) refusedEverywhere(t *testing.T, round int, what string, try func(app *twofa.Service) error) {
	t.Helper()
	for i, app := range f.apps {
		if err := try(app); err == nil {
			t.Fatalf("round %d: the %s that won was let in again on node %d", round, what, i+1)
		}
	}
}

// modes runs f once with causal reads on the applications' connections,
// and once with stale reads allowed and every certification loss handed
// to the store (see newFleet).
func modes(t *testing.T, f func(t *testing.T, causal bool)) {
	t.Run("causal", func(t *testing.T) { f(t, true) })
	t.Run("stale", func(t *testing.T) { f(t, false) })
}

// One authenticator code, typed into 51 login pages over three
// application servers on three nodes at once: one gets in.
func TestTOTPOnceAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, relaxed)
		var tallies []map[string]int
		for round := range rounds {
			user := fmt.Sprintf("totp-%d", round)
			secret := f.enrol(t, round, user)
			code := f.nextCode(t, secret)
			out := race(func(ctx context.Context, node int) error {
				_, err := f.apps[node].Verify(ctx, user, login, code)
				return err
			})
			tallies = append(tallies, f.judge(t, round, out))
			f.refusedEverywhere(t, round, "code", func(app *twofa.Service) error {
				_, err := app.Verify(ctx, user, login, code)
				return err
			})
			rec, err := f.check[round%galera.Nodes].TOTP(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if step := f.clock.Now().Unix() / 30 * 30; rec.LastStep != step {
				t.Fatalf("round %d: last step %d, want the code's %d", round, rec.LastStep, step)
			}
		}
		logTally(t, f, tallies...)
	})
}

// One backup code, 51 racers: one gets in, and the set records one code
// used.
func TestBackupCodeOnceAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, relaxed)
		var tallies []map[string]int
		for round := range rounds {
			user := fmt.Sprintf("backup-%d", round)
			// Backup codes pass only beside a primary method.
			f.enrol(t, round, user)
			codes, err := f.app(round).Backup.Generate(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			code := codes[round%len(codes)]
			out := race(func(ctx context.Context, node int) error {
				m, err := f.apps[node].Verify(ctx, user, login, code)
				if err == nil && m != twofa.Backup {
					return fmt.Errorf("let in by %s", m)
				}
				return err
			})
			tallies = append(tallies, f.judge(t, round, out))
			f.refusedEverywhere(t, round, "backup code", func(app *twofa.Service) error {
				_, err := app.Verify(ctx, user, login, code)
				return err
			})
			set, err := f.check[round%galera.Nodes].BackupSet(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			used := slices.IndexFunc(set.UsedAt, func(at time.Time) bool { return !at.IsZero() })
			if n := len(set.UsedAt) - len(slices.DeleteFunc(slices.Clone(set.UsedAt), func(at time.Time) bool { return !at.IsZero() })); n != 1 || used != round%len(codes) {
				t.Fatalf("round %d: %d codes used (first at %d), want code %d alone", round, n, used, round%len(codes))
			}
		}
		logTally(t, f, tallies...)
	})
}

// One e-mailed code, 51 racers: one gets in.
func TestEmailCodeOnceAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, relaxed)
		var tallies []map[string]int
		for round := range rounds {
			// E-mail alone: a loser's digits then go to no app, whose
			// code they might match one time in a million.
			user := fmt.Sprintf("email-%d", round)
			if err := f.app(round).Email.Enable(ctx, user); err != nil {
				t.Fatal(err)
			}
			if err := f.app(round).SendCode(ctx, user, login); err != nil {
				t.Fatal(err)
			}
			msg := f.inbox.Last(t)
			if msg.To != user+"@example.com" {
				t.Fatalf("round %d: the last message went to %v", round, msg.To)
			}
			code := mailtest.ReadCode(t, msg.Text)
			out := race(func(ctx context.Context, node int) error {
				m, err := f.apps[node].Verify(ctx, user, login, code)
				if err == nil && m != twofa.Email {
					return fmt.Errorf("let in by %s", m)
				}
				return err
			})
			tallies = append(tallies, f.judge(t, round, out))
			f.refusedEverywhere(t, round, "e-mailed code", func(app *twofa.Service) error {
				_, err := app.Verify(ctx, user, login, code)
				return err
			})
			f.clock.Add(time.Minute) // past the next send's cooldown
		}
		logTally(t, f, tallies...)
	})
}

// 51 "send me a code" clicks at once over the three nodes: one mail goes
// out, the others are told a code was sent moments ago, and the one code
// mailed passes once.
func TestSendCodeOnceAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, relaxed)
		for round := range rounds / 2 {
			user := fmt.Sprintf("send-%d", round)
			if err := f.app(round).Email.Enable(ctx, user); err != nil {
				t.Fatal(err)
			}
			before := len(f.inbox.Messages())
			out := race(func(ctx context.Context, node int) error {
				return f.apps[node].SendCode(ctx, user, login)
			})
			sent, sender := 0, 0
			for _, o := range out {
				switch err := o.err; {
				case err == nil:
					sent, sender = sent+1, o.node
				case errors.Is(err, emailotp.ErrCooldown), deadlock(err):
				case !causal && errors.Is(err, emailotp.ErrNotEnabled):
				default:
					t.Errorf("round %d: node %d: unexpected error: %v", round, o.node+1, err)
				}
			}
			if mailed := len(f.inbox.Messages()) - before; sent != 1 || mailed != 1 {
				t.Fatalf("round %d: %d of %d sends passed and %d mails went out, want 1 and 1", round, sent, racers, mailed)
			}
			code := mailtest.ReadCode(t, f.inbox.Last(t).Text)
			// Through the node that sent it: with stale reads, another
			// might not know of it yet.
			if m, err := f.apps[sender].Verify(ctx, user, login, code); err != nil || m != twofa.Email {
				t.Fatalf("round %d: the one code mailed: %v, %v", round, m, err)
			}
			f.refusedEverywhere(t, round, "e-mailed code", func(app *twofa.Service) error {
				_, err := app.Verify(ctx, user, login, code)
				return err
			})
		}
	})
}

// One security-key login ceremony, finished by 51 racers with the same
// signed response: the ceremony is taken once (webauthn.Service.
// FinishLogin, through the store's TakeCeremony), one racer gets in.
func TestWebAuthnCeremonyOnceAcrossNodes(t *testing.T) {
	modes(t, func(t *testing.T, causal bool) {
		f := newFleet(t, causal, relaxed)
		var tallies []map[string]int
		for round := range rounds {
			user := fmt.Sprintf("key-%d", round)
			d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
			reg, options, err := f.app(round).WebAuthn.BeginRegistration(ctx, user, user, "Key")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.app(round).WebAuthn.FinishRegistration(ctx, reg, user, d.Attest(t, virtualkey.RP, options)); err != nil {
				t.Fatal(err)
			}
			ceremony, options, err := f.app(round).WebAuthn.BeginLogin(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			response := d.Assert(t, virtualkey.RP, options)
			out := race(func(ctx context.Context, node int) error {
				_, err := f.apps[node].WebAuthn.FinishLogin(ctx, ceremony, user, response)
				return err
			})
			tallies = append(tallies, f.judge(t, round, out))
			f.refusedEverywhere(t, round, "ceremony", func(app *twofa.Service) error {
				_, err := app.WebAuthn.FinishLogin(ctx, ceremony, user, response)
				return err
			})
		}
		logTally(t, f, tallies...)
	})
}
