package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/sqlcount"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// counted is a migrated store whose every statement is counted, with the
// three factors over it and one user enrolled in each.
type counted struct {
	store *sqlstore.Store
	db    *sql.DB
	n     *sqlcount.Counter
	now   time.Time
	mu    sync.Mutex // guards last
	last  emailotp.Message

	totp   *totp.Service
	backup *backup.Service
	email  *emailotp.Service
	secret []byte
	codes  []string // the backup codes not used yet
	// checked counts the codes checked and found wrong (event.Failed).
	checked atomic.Int32
}

// openCounted opens engine d through the counting driver.
func openCounted(t testing.TB, d sqlstore.Dialect) *counted {
	t.Helper()
	c := &counted{n: &sqlcount.Counter{}, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	var err error
	switch d {
	case sqlstore.SQLite:
		c.db, err = c.n.Open("sqlite", testdb.SQLiteDSN(filepath.Join(t.TempDir(), "twofa.db")))
	case sqlstore.PostgreSQL:
		_, dsn := testdb.Postgres(t) // a schema of its own
		c.db, err = c.n.Open("pgx", dsn)
	case sqlstore.MySQL:
		_, dsn := testdb.MySQL(t) // a database of its own
		c.db, err = c.n.Open("mysql", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })
	c.db.SetMaxIdleConns(64)
	if c.store, err = sqlstore.Open(context.Background(), c.db, d); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return c.now }
	events := func(_ context.Context, e event.Event) {
		if e.Kind == event.Failed {
			c.checked.Add(1)
		}
	}
	ring := fake.Ring(t)
	if c.totp, err = totp.New(totp.Config{Issuer: "X", Store: c.store, Keys: ring, Now: clock, Events: events}); err != nil {
		t.Fatal(err)
	}
	c.secret = []byte("12345678901234567890")
	sealed, err := ring.Seal("totp/secret", "u", c.secret)
	if err != nil {
		t.Fatal(err)
	}
	rec := storage.TOTPRecord{UserID: "u", Active: &storage.TOTPSecret{Sealed: sealed, Algorithm: "SHA1", Digits: 6, Period: 30, Created: c.now}}
	if _, err := c.store.PutTOTP(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	// A cheap hash: the benchmark measures the SQL path, not argon2id.
	cheap := func(code, salt []byte, _ backup.Params) []byte {
		h := sha256.Sum256(append(append([]byte{}, salt...), code...))
		return h[:]
	}
	if c.backup, err = backup.New(backup.Config{Store: c.store, Hash: cheap, Count: backup.MaxCount, MinInterval: -1, Now: clock, Events: events}); err != nil {
		t.Fatal(err)
	}
	c.newCodes(t)
	mailer := mailerFunc(func(_ context.Context, m emailotp.Message) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.last = m
		return nil
	})
	if c.email, err = emailotp.New(emailotp.Config{Store: c.store, Mailer: mailer, Issuer: "X", Now: clock, Events: events}); err != nil {
		t.Fatal(err)
	}
	if err := c.email.Enable(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	return c
}

type mailerFunc func(context.Context, emailotp.Message) error

func (f mailerFunc) Send(ctx context.Context, m emailotp.Message) error { return f(ctx, m) }

func (c *counted) newCodes(t testing.TB) {
	t.Helper()
	codes, err := c.backup.Generate(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	c.codes = codes
}

// totpCode moves the clock one step on and returns that step's code.
func (c *counted) totpCode(t testing.TB) string {
	t.Helper()
	c.now = c.now.Add(30 * time.Second)
	code, err := totp.GenerateCode(totp.SHA1, c.secret, 6, uint64(c.now.Unix()/30))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// backupCode returns an unused backup code, making a new set when all are
// used.
func (c *counted) backupCode(t testing.TB) string {
	t.Helper()
	if len(c.codes) == 0 {
		c.newCodes(t)
	}
	code := c.codes[0]
	c.codes = c.codes[1:]
	return code
}

// emailCode mails a new code for login "l" and returns it.
func (c *counted) emailCode(t testing.TB) string {
	t.Helper()
	c.now = c.now.Add(time.Hour) // past the cooldown
	if err := c.email.Send(context.Background(), "u", "jane@example.com", "l"); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return mailtest.ReadCode(t, c.last.Text)
}

// verifies are one successful verify of each factor: code prepares it
// (uncounted), verify runs it.
var verifies = []struct {
	name   string
	code   func(c *counted, t testing.TB) string
	verify func(c *counted, code string) error
}{
	{"totp", (*counted).totpCode, func(c *counted, code string) error { return c.totp.Verify(context.Background(), "u", code) }},
	{"backup", (*counted).backupCode, func(c *counted, code string) error { return c.backup.Verify(context.Background(), "u", code) }},
	{"email", (*counted).emailCode, func(c *counted, code string) error {
		return c.email.Verify(context.Background(), "u", "l", code)
	}},
}

// wrongs are a wrong code of each factor, well formed.
var wrongs = map[string]string{"totp": "000000", "backup": "zzzzz-zzzzz", "email": "000000"}

var dialects = []sqlstore.Dialect{sqlstore.SQLite, sqlstore.PostgreSQL, sqlstore.MySQL}

// forDialects runs f once per engine; PostgreSQL and MariaDB skip without
// a server, or fail in CI.
func forDialects(t *testing.T, f func(t *testing.T, d sqlstore.Dialect)) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			needServer(t, d)
			f(t, d)
		})
	}
}

// A successful verify of each factor is three statements: the read of the
// record with the throttle state, the compare-and-set that counts the
// attempt, and the single-use write that also clears the count. On
// PostgreSQL that write is one statement, so three round trips and no
// transaction; on SQLite, which has no UPDATE inside a WITH, it is one
// transaction of two statements, so two write transactions in all (the
// count, the claim), as on PostgreSQL. On MySQL the write is one UPDATE
// of two tables, so three statements as on PostgreSQL, but for a user's
// very first attempt, which inserts the throttle row after an UPDATE that
// found none: four. Before, it was five statements (six for a backup
// code), three of them writes, each its own commit.
func TestVerifyStatements(t *testing.T) {
	want := func(d sqlstore.Dialect, round int) sqlcount.Counts {
		switch {
		case d == sqlstore.SQLite:
			return sqlcount.Counts{Statements: 4, Begins: 1, Commits: 1}
		case d == sqlstore.MySQL && round == 0:
			return sqlcount.Counts{Statements: 4}
		}
		return sqlcount.Counts{Statements: 3}
	}
	forDialects(t, func(t *testing.T, d sqlstore.Dialect) {
		for _, v := range verifies {
			t.Run(v.name, func(t *testing.T) {
				c := openCounted(t, d)
				// The first success of a user, and one after a failure
				// (a counted state to clear): the same statements.
				for round := range 3 {
					if round == 2 {
						if err := v.verify(c, wrongs[v.name]); err == nil {
							t.Fatal("a wrong code passed")
						}
					}
					code := v.code(c, t)
					c.n.Reset()
					if err := v.verify(c, code); err != nil {
						t.Fatal(err)
					}
					if got := c.n.Counts(); got != want(d, round) {
						t.Fatalf("round %d: a successful verify sent %+v, want %+v", round, got, want(d, round))
					}
				}
			})
		}
	})
}

// watchThrottle makes the database record, in twofa_churn, every row
// inserted into or deleted from twofa_throttle, by a trigger.
func watchThrottle(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	t.Helper()
	var stmts []string
	switch d {
	case sqlstore.SQLite:
		stmts = []string{
			`CREATE TABLE twofa_churn (op TEXT NOT NULL)`,
			`CREATE TRIGGER twofa_churn_ins AFTER INSERT ON twofa_throttle BEGIN INSERT INTO twofa_churn VALUES ('INSERT'); END`,
			`CREATE TRIGGER twofa_churn_del AFTER DELETE ON twofa_throttle BEGIN INSERT INTO twofa_churn VALUES ('DELETE'); END`,
		}
	case sqlstore.PostgreSQL:
		stmts = []string{
			`CREATE TABLE twofa_churn (op TEXT NOT NULL)`,
			`CREATE FUNCTION twofa_churn() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN INSERT INTO twofa_churn VALUES (TG_OP); RETURN NULL; END $$`,
			`CREATE TRIGGER twofa_churn AFTER INSERT OR DELETE ON twofa_throttle FOR EACH ROW EXECUTE FUNCTION twofa_churn()`,
		}
	case sqlstore.MySQL:
		stmts = []string{
			`CREATE TABLE twofa_churn (n INT AUTO_INCREMENT PRIMARY KEY, op VARCHAR(10) NOT NULL)`,
			`CREATE TRIGGER twofa_churn_ins AFTER INSERT ON twofa_throttle FOR EACH ROW INSERT INTO twofa_churn (op) VALUES ('INSERT')`,
			`CREATE TRIGGER twofa_churn_del AFTER DELETE ON twofa_throttle FOR EACH ROW INSERT INTO twofa_churn (op) VALUES ('DELETE')`,
		}
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func churn(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT op FROM twofa_churn`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ops []string
	for rows.Next() {
		var op string
		if err := rows.Scan(&op); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	return strings.Join(ops, " ")
}

// A user's throttle row is inserted once, by the first counted attempt,
// and kept: a success sets it to zero failures instead of deleting it, so
// logins leave no dead rows (PostgreSQL) and the next attempt updates the
// row instead of inserting it again.
func TestThrottleRowKept(t *testing.T) {
	forDialects(t, func(t *testing.T, d sqlstore.Dialect) {
		for _, v := range verifies {
			t.Run(v.name, func(t *testing.T) {
				c := openCounted(t, d)
				watchThrottle(t, c.db, d)
				for round := range 4 {
					if round%2 == 1 {
						if err := v.verify(c, wrongs[v.name]); err == nil {
							t.Fatal("a wrong code passed")
						}
					}
					if err := v.verify(c, v.code(c, t)); err != nil {
						t.Fatal(err)
					}
					var n, failures int
					var last int64
					if err := c.db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(failures), -1), COALESCE(MAX(last_ns), -1) FROM twofa_throttle WHERE user_id = 'u'`).Scan(&n, &failures, &last); err != nil {
						t.Fatal(err)
					}
					if n != 1 || failures != 0 || last != 0 {
						t.Fatalf("round %d: after a success, %d throttle rows with %d failures, last %d; want the one row, cleared", round, n, failures, last)
					}
				}
				if got := churn(t, c.db); got != "INSERT" {
					t.Fatalf("rows inserted into and deleted from twofa_throttle over 4 logins: %q, want the one INSERT", got)
				}
			})
		}
	})
}

// breakClear makes every clearing of a throttle row fail, by a trigger,
// until the returned function drops it.
func breakClear(t *testing.T, db *sql.DB, d sqlstore.Dialect) (mend func()) {
	t.Helper()
	var stmts []string
	var drop string
	switch d {
	case sqlstore.SQLite:
		stmts = []string{`CREATE TRIGGER twofa_boom BEFORE UPDATE ON twofa_throttle WHEN NEW.failures = 0
			BEGIN SELECT RAISE(ABORT, 'no clearing today'); END`}
		drop = `DROP TRIGGER twofa_boom`
	case sqlstore.PostgreSQL:
		stmts = []string{
			`CREATE FUNCTION twofa_boom() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'no clearing today'; END $$`,
			`CREATE TRIGGER twofa_boom BEFORE UPDATE ON twofa_throttle FOR EACH ROW WHEN (NEW.failures = 0) EXECUTE FUNCTION twofa_boom()`,
		}
		drop = `DROP TRIGGER twofa_boom ON twofa_throttle`
	case sqlstore.MySQL:
		stmts = []string{`CREATE TRIGGER twofa_boom BEFORE UPDATE ON twofa_throttle FOR EACH ROW
			BEGIN IF NEW.failures = 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no clearing today'; END IF; END`}
		drop = `DROP TRIGGER twofa_boom`
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if _, err := db.Exec(drop); err != nil {
			t.Fatal(err)
		}
	}
}

// The single-use write and the clearing of the count are one atomic
// operation: when the clearing fails, the code is not spent either, and
// the verify denies with the store's error; once the clearing works, the
// same code passes.
func TestClaimClearsAtomically(t *testing.T) {
	forDialects(t, func(t *testing.T, d sqlstore.Dialect) {
		for _, v := range verifies {
			t.Run(v.name, func(t *testing.T) {
				c := openCounted(t, d)
				// A counted failure, so that a success has a row to clear.
				if err := v.verify(c, wrongs[v.name]); err == nil {
					t.Fatal("a wrong code passed")
				}
				code := v.code(c, t)
				mend := breakClear(t, c.db, d)
				err := v.verify(c, code)
				if err == nil || !strings.Contains(err.Error(), "no clearing today") {
					t.Fatalf("verify with the clearing failing: %v, want the store's error", err)
				}
				mend()
				if err := v.verify(c, code); err != nil {
					t.Fatalf("the code after a failed clearing: %v; the failed claim spent it", err)
				}
				var failures int
				if err := c.db.QueryRow(`SELECT failures FROM twofa_throttle WHERE user_id = 'u'`).Scan(&failures); err != nil || failures != 0 {
					t.Fatalf("after the success: %d failures, %v", failures, err)
				}
			})
		}
	})
}

// Of 50 wrong codes sent at once for one user, with the clock standing
// still, exactly the policy's 5 free attempts are checked; every other one
// is refused before its code is looked at, on each engine and for each
// factor: the attempt is counted, from the state read with the record,
// before the check.
func TestParallelGuessesBounded(t *testing.T) {
	forDialects(t, func(t *testing.T, d sqlstore.Dialect) {
		for _, v := range verifies {
			t.Run(v.name, func(t *testing.T) {
				c := openCounted(t, d)
				if v.name == "email" {
					v.code(c, t) // a live code for the login to guess at
				}
				const racers = 50
				var wg sync.WaitGroup
				var throttled atomic.Int32
				start := make(chan struct{})
				for range racers {
					wg.Go(func() {
						<-start
						err := v.verify(c, wrongs[v.name])
						switch {
						case errors.Is(err, throttle.ErrThrottled):
							throttled.Add(1)
						case err == nil:
							t.Error("a wrong code passed")
						case strings.Contains(err.Error(), "sqlstore"):
							t.Error(err) // a store error denies, but is no answer here
						}
					})
				}
				close(start)
				wg.Wait()
				if n := c.checked.Load(); n != 5 {
					t.Fatalf("%d of %d parallel wrong codes were checked, want the 5 the policy allows", n, racers)
				}
				// An e-mailed code spent by its 5 failures refuses later
				// tries before the throttle; the other factors have only
				// the throttle to refuse with.
				if n := throttled.Load(); v.name != "email" && n != racers-5 {
					t.Fatalf("%d of %d parallel wrong codes throttled, want %d", n, racers, racers-5)
				}
				var failures int
				if err := c.db.QueryRow(`SELECT failures FROM twofa_throttle WHERE user_id = 'u'`).Scan(&failures); err != nil || failures != 5 {
					t.Fatalf("count after the burst: %d, %v; want 5", failures, err)
				}
			})
		}
	})
}

// BenchmarkVerifySQL measures one successful verify of each factor on each
// engine, through the counting driver (whose cost is two atomic adds a
// statement), and reports the statements and transactions of each.
// Preparing the code (a new step, a mailed code, a new backup set every
// 100 codes) is outside the timer.
func BenchmarkVerifySQL(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.String(), func(b *testing.B) {
			needServer(b, d)
			for _, v := range verifies {
				b.Run(v.name, func(b *testing.B) {
					c := openCounted(b, d)
					var total sqlcount.Counts
					for b.Loop() {
						b.StopTimer()
						code := v.code(c, b)
						c.n.Reset()
						b.StartTimer()
						if err := v.verify(c, code); err != nil {
							b.Fatal(err)
						}
						n := c.n.Counts()
						total.Statements += n.Statements
						total.Begins += n.Begins
					}
					b.ReportMetric(float64(total.Statements)/float64(b.N), "stmts/op")
					b.ReportMetric(float64(total.Begins)/float64(b.N), "txs/op")
				})
			}
		})
	}
}
