package galera_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/galera"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// A claim is one single-use thing of a user, and the statement (or, in a
// transaction, the COMMIT) that takes it.
type claim struct {
	name   string
	match  string // a piece of the claiming statement's text
	commit bool   // the claim is decided at the COMMIT of a transaction
	// setUp makes a fresh one for user through node's application and
	// returns the call that uses it there.
	setUp func(t *testing.T, f *fleet, node int, user string) func(app *twofa.Service) error
}

var claims = []claim{
	{"totp step", "SET t.last_step = ?", false, func(t *testing.T, f *fleet, node int, user string) func(*twofa.Service) error {
		code := f.nextCode(t, f.enrol(t, node, user))
		return func(app *twofa.Service) error {
			_, err := app.Verify(ctx, user, login, code)
			return err
		}
	}},
	{"backup code", "SET c.used_ns = ?", false, func(t *testing.T, f *fleet, node int, user string) func(*twofa.Service) error {
		f.enrol(t, node, user)
		codes, err := f.app(node).Backup.Generate(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return func(app *twofa.Service) error {
			_, err := app.Verify(ctx, user, login, codes[3])
			return err
		}
	}},
	{"e-mailed code", "AND e.failures < ?", false, func(t *testing.T, f *fleet, node int, user string) func(*twofa.Service) error {
		if err := f.app(node).Email.Enable(ctx, user); err != nil {
			t.Fatal(err)
		}
		if err := f.app(node).SendCode(ctx, user, login); err != nil {
			t.Fatal(err)
		}
		code := mailCode(t, f, user)
		return func(app *twofa.Service) error {
			_, err := app.Verify(ctx, user, login, code)
			return err
		}
	}},
	{"webauthn ceremony", "DELETE FROM twofa_webauthn_ceremonies WHERE id = ?", true, func(t *testing.T, f *fleet, node int, user string) func(*twofa.Service) error {
		d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
		reg, options, err := f.app(node).WebAuthn.BeginRegistration(ctx, user, user, "Key")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.app(node).WebAuthn.FinishRegistration(ctx, reg, user, d.Attest(t, virtualkey.RP, options)); err != nil {
			t.Fatal(err)
		}
		ceremony, options, err := f.app(node).WebAuthn.BeginLogin(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		response := d.Assert(t, virtualkey.RP, options)
		return func(app *twofa.Service) error {
			_, err := app.WebAuthn.FinishLogin(ctx, ceremony, user, response)
			return err
		}
	}},
}

// changed explains a claim that never ran: its statement is no longer
// written as the test expects.
func changed(seen int64, match string) string {
	if seen > 0 {
		return ""
	}
	return fmt.Sprintf(" (no statement contains %q: has the claim's SQL changed? update claims)", match)
}

// mailCode reads the code of the last message, which must be user's.
func mailCode(t *testing.T, f *fleet, user string) string {
	t.Helper()
	msg := f.inbox.Last(t)
	if msg.To != user+"@example.com" {
		t.Fatalf("the last message went to %s, not %s", msg.To, user)
	}
	return mailtest.ReadCode(t, msg.Text)
}

// A claim that loses Galera's certification — Error 1213, the write rolled
// back and applied on no node — is made to happen here on purpose, on
// the claim's own statement or COMMIT, so that each outcome is certain:
//
//   - lost once: the store runs the claim again (the loss means nothing
//     was written, and the claim's condition is read afresh), the user
//     gets in, and the thing is used up on every node;
//   - lost every time: the store gives up after a few tries and the call
//     denies with the 1213; since nothing was written, the thing is
//     still there, and passes once afterwards;
//   - the claim's answer lost after it was written (a connection that
//     fails after the COMMIT): the call denies and the store does not run
//     the claim again, since it cannot know whether it was written; it
//     was, so the thing is used up, never let in.
func TestCertificationLoss(t *testing.T) {
	f := newFleet(t, true, relaxed)
	for ci, cl := range claims {
		t.Run(cl.name, func(t *testing.T) {
			t.Run("lost once", func(t *testing.T) {
				defer f.faults.clear()
				node := ci
				try := cl.setUp(t, f, node, fmt.Sprintf("once-%d", ci))
				r := f.faults.add(&rule{match: cl.match, commit: cl.commit, lose: true, times: 1})
				if err := try(f.app(node)); err != nil {
					t.Fatalf("a claim that lost certification once and was run again: %v", err)
				}
				if n := r.seen.Load(); n != 2 {
					t.Fatalf("the claim ran %d times, want 2 (lost, then won)%s", n, changed(n, cl.match))
				}
				f.refusedEverywhere(t, 0, cl.name, try)
			})
			t.Run("lost every time", func(t *testing.T) {
				defer f.faults.clear()
				node := ci + 1
				try := cl.setUp(t, f, node, fmt.Sprintf("always-%d", ci))
				r := f.faults.add(&rule{match: cl.match, commit: cl.commit, lose: true, times: -1})
				err := try(f.app(node))
				if err == nil || !deadlock(err) {
					t.Fatalf("a claim that lost certification every time: %v, want a denial with Error 1213", err)
				}
				if n := r.seen.Load(); n < 2 || n > 10 {
					t.Fatalf("the claim ran %d times, want a few retries and no more%s", n, changed(n, cl.match))
				}
				f.faults.clear()
				if err := try(f.app(node + 1)); err != nil {
					t.Fatalf("nothing was written, yet the %s does not pass afterwards: %v", cl.name, err)
				}
				f.refusedEverywhere(t, 0, cl.name, try)
			})
			t.Run("answer lost", func(t *testing.T) {
				defer f.faults.clear()
				node := ci + 2
				try := cl.setUp(t, f, node, fmt.Sprintf("unknown-%d", ci))
				r := f.faults.add(&rule{match: cl.match, commit: cl.commit, lost: true, times: 1})
				if err := try(f.app(node)); err == nil {
					t.Fatal("a claim whose answer was lost let the user in")
				}
				if n := r.seen.Load(); n != 1 {
					t.Fatalf("the claim ran %d times; a write whose outcome is unknown must not run again%s", n, changed(n, cl.match))
				}
				f.faults.clear()
				f.refusedEverywhere(t, 0, cl.name, try)
			})
		})
	}
}

// Three application servers start at once, one on each node, each
// migrating the same empty database: every start succeeds, the schema is
// made once, and the stores work across nodes. (A migration lock node-
// local to each server, as GET_LOCK is on Galera, would let two servers
// create one table.)
func TestMigrateFromThreeNodesAtOnce(t *testing.T) {
	c := galera.Shared(t)
	for round := range 5 {
		dsns := c.Database(t)
		var stores [galera.Nodes]*sqlstore.Store
		var errs [galera.Nodes]error
		var wg sync.WaitGroup
		for i, dsn := range dsns {
			db := c.Open(t, mysqlDSN(t, dsn)+"&wsrep_sync_wait=1")
			wg.Go(func() { stores[i], errs[i] = sqlstore.Open(ctx, db, sqlstore.MySQL) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: node %d: migrate: %v", round, i+1, err)
			}
		}
		var versions [galera.Nodes]int
		for i, dsn := range dsns {
			db := c.Open(t, dsn+"&wsrep_sync_wait=1")
			if err := db.QueryRow("SELECT COUNT(*) FROM twofa_schema_migrations").Scan(&versions[i]); err != nil {
				t.Fatal(err)
			}
		}
		if versions[0] == 0 || versions != [galera.Nodes]int{versions[0], versions[0], versions[0]} {
			t.Fatalf("round %d: migrations recorded per node: %v", round, versions)
		}
		user := fmt.Sprintf("migrated-%d", round)
		if err := stores[0].PutEmail(ctx, user, false, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if _, err := stores[2].Email(ctx, user); err != nil {
			t.Fatalf("round %d: a row written through node 1, read through node 3: %v", round, err)
		}
		var lock int
		if err := c.Open(t, dsns[1]).QueryRow("SELECT COUNT(*) FROM twofa_schema_lock").Scan(&lock); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if lock != 0 {
			t.Fatalf("round %d: the migration lock is still held after every start", round)
		}
	}
}
