package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/sqlcount"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
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
}

// openCounted opens engine d ("SQLite" or "PostgreSQL") through the
// counting driver.
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
	k, err := keyring.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	if c.totp, err = totp.New(totp.Config{Issuer: "X", Store: c.store, Keys: ring, Now: clock}); err != nil {
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
	if c.backup, err = backup.New(backup.Config{Store: c.store, Hash: cheap, Count: backup.MaxCount, MinInterval: -1, Now: clock}); err != nil {
		t.Fatal(err)
	}
	c.newCodes(t)
	mailer := mailerFunc(func(_ context.Context, m emailotp.Message) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.last = m
		return nil
	})
	if c.email, err = emailotp.New(emailotp.Config{Store: c.store, Mailer: mailer, Issuer: "X", Now: clock}); err != nil {
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

var dialects = []sqlstore.Dialect{sqlstore.SQLite, sqlstore.PostgreSQL}

// BenchmarkVerifySQL measures one successful verify of each factor on each
// engine, through the counting driver (whose cost is two atomic adds a
// statement), and reports the statements and transactions of each.
// Preparing the code (a new step, a mailed code, a new backup set every
// 100 codes) is outside the timer.
func BenchmarkVerifySQL(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.String(), func(b *testing.B) {
			if d == sqlstore.PostgreSQL {
				testdb.PostgresDSN(b)
			}
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
