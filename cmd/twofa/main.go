// Command twofa runs the operator's tasks on twofa's database: bring the
// schema up to date, see how many users have each method, reset or unlock
// a user, read their security log, import authenticator secrets from
// another system, re-seal every secret under a new key.
//
// Usage:
//
//	twofa [-db DSN] [-keys-file FILE] COMMAND [ARGS]
//
// The commands:
//
//	migrate                 create or upgrade twofa's tables
//	status                  users per method, users with failed attempts,
//	                        authenticator secrets per key ID
//	import [-replace] [-check] FILE
//	                        import authenticator secrets, a line each
//	rotate-keys [-batch N] [-after USER]
//	                        seal every secret again under the primary key
//	reset USER              remove every method of USER
//	unlock USER             clear USER's failed attempts and any lock
//	log [-n N] USER         USER's security log, newest first
//
// An import file has a line per user: an otpauth:// URL, whose account
// name is the user ID; "USER,otpauth://..."; or
// "USER,SECRET,ALGORITHM,DIGITS,PERIOD" (period in seconds), after an
// optional header line "user_id,secret,algorithm,digits,period". A bad
// line is reported by its number and skipped; each user is imported whole
// or not at all; the exit status is 1 if any line was refused.
//
// rotate-keys shows a progress bar when standard error is a terminal, and
// none when it goes to a pipe or a file.
//
// The database is -db, or the environment variable TWOFA_DB: a PostgreSQL
// URL (postgres://...), mysql:// followed by a go-sql-driver/mysql DSN for
// MariaDB or MySQL (mysql://user:pass@tcp(127.0.0.1:3306)/twofa), or the
// path of a SQLite file. The key ring is
// -keys-file (one key a line, as keyring.Load reads), or the environment
// variable TWOFA_KEYS (as keyring.Parse reads). Only import and
// rotate-keys need keys; status marks each key ID primary, old or missing
// when it has them.
//
// Every command prints what it did. The exit status is 0 on success, 1 on
// failure and 2 for a command line it does not understand.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

const usageLine = "usage: twofa [-db DSN] [-keys-file FILE] COMMAND [ARGS]"

const usageText = usageLine + `

Commands:
  migrate                 create or upgrade twofa's tables
  status                  users per method, users with failed attempts,
                          authenticator secrets per key ID
  import [-replace] [-check] FILE
                          import authenticator secrets, a line each: an
                          otpauth:// URL (the user is its account name),
                          USER,otpauth://..., or
                          USER,SECRET,ALGORITHM,DIGITS,PERIOD; FILE "-" is
                          standard input
  rotate-keys [-batch N] [-after USER]
                          seal every authenticator secret again under the
                          ring's primary key, and count secrets per key
  reset USER              remove every method, backup code, security key
                          and remembered browser of USER
  unlock USER             clear USER's failed attempts and any lock
  log [-n N] USER         USER's security log, newest first (50 unless -n)

The database is -db or TWOFA_DB: a postgres:// URL, a MariaDB/MySQL DSN
as mysql://user:pass@tcp(host:3306)/dbname, or a SQLite file path.
Keys come from -keys-file (one a line) or TWOFA_KEYS ("ID:BASE64,...",
the primary key first); reset, unlock, log and status need none.
Exit status: 0 done, 1 failed, 2 a command line not understood.
`

// errUsage is a command line the command does not understand: exit 2.
var errUsage = errors.New("usage")

// usageError is errUsage with what was wrong.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command works with, made from the global flags.
type env struct {
	ctx     context.Context
	dsn     string
	keyFile string
	stdout  io.Writer
	stderr  io.Writer
	// progress is true when stderr is a terminal: long work then shows a
	// bar there, and nothing when the output goes to a pipe or a file.
	progress bool
	// create lets open make a new SQLite file: migrate sets it.
	create bool

	db    *sql.DB
	store *sqlstore.Store
}

// run is the whole command, returning the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, progress: isTerminal(stderr)}
	fs := flag.NewFlagSet("twofa", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.dsn, "db", os.Getenv("TWOFA_DB"), "the database: a postgres:// URL, mysql://user:pass@tcp(host:3306)/dbname or a SQLite file path (default $TWOFA_DB)")
	fs.StringVar(&e.keyFile, "keys-file", "", "a file of keys, one a line (default: $TWOFA_KEYS)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			return 0
		}
		return e.fail(usageError("%v", err))
	}
	err := e.dispatch(fs.Args())
	if e.db != nil {
		e.db.Close()
	}
	return e.fail(err)
}

// fail prints err and returns the exit status for it.
func (e *env) fail(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "twofa: %v\n%s\n", strings.TrimPrefix(err.Error(), "usage: "), usageLine)
		return 2
	default:
		fmt.Fprintf(e.stderr, "twofa: %v\n", err)
		return 1
	}
}

func (e *env) dispatch(args []string) error {
	if len(args) == 0 {
		return usageError("no command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help":
		fmt.Fprint(e.stdout, usageText)
		return nil
	case "migrate":
		if err := noArgs(cmd, args); err != nil {
			return err
		}
		return e.migrate()
	case "status":
		if err := noArgs(cmd, args); err != nil {
			return err
		}
		return e.status()
	case "reset", "unlock":
		if len(args) != 1 {
			return usageError("%s takes one user ID", cmd)
		}
		if cmd == "reset" {
			return e.reset(args[0])
		}
		return e.unlock(args[0])
	case "log":
		return e.log(args)
	case "rotate-keys":
		return e.rotateKeys(args)
	case "import":
		return e.importFile(args)
	}
	return usageError("unknown command %q", cmd)
}

func noArgs(cmd string, args []string) error {
	if len(args) != 0 {
		return usageError("%s takes no arguments", cmd)
	}
	return nil
}

// open connects to the database: a postgres:// or postgresql:// URL with
// pgx, mysql:// and a go-sql-driver/mysql DSN
// (mysql://user:pass@tcp(host:3306)/dbname) on MariaDB or MySQL, anything
// else as the path of a SQLite file. It does not migrate:
// only the migrate command changes the schema, so that an operator looking
// at a database never upgrades it by surprise.
func (e *env) open() error {
	if e.dsn == "" {
		return usageError("no database: give -db or set TWOFA_DB")
	}
	var (
		db  *sql.DB
		d   sqlstore.Dialect
		err error
	)
	switch {
	case strings.HasPrefix(e.dsn, "postgres://"), strings.HasPrefix(e.dsn, "postgresql://"):
		db, err = sql.Open("pgx", e.dsn)
		d = sqlstore.PostgreSQL
	case strings.HasPrefix(e.dsn, "mysql://"):
		// mysql:// and then go-sql-driver/mysql's own DSN, completed with
		// the settings the store needs.
		dsn, derr := sqlstore.MySQLDSN(strings.TrimPrefix(e.dsn, "mysql://"))
		if derr != nil {
			return usageError("%v", derr)
		}
		db, err = sql.Open("mysql", dsn)
		d = sqlstore.MySQL
	default:
		path := strings.TrimPrefix(e.dsn, "sqlite:")
		// SQLite makes a missing file: only migrate may, so that a typo
		// in a path is an error instead of a new, empty database.
		if _, err := os.Stat(path); err != nil && !e.create {
			return fmt.Errorf("no SQLite database at %s (twofa migrate creates one)", path)
		}
		db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(path))
		d = sqlstore.SQLite
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	e.db = db
	if err := db.PingContext(e.ctx); err != nil {
		// The driver's error can quote the DSN, password and all.
		return fmt.Errorf("connect to the %v database: %s", d, redact(err.Error(), e.dsn))
	}
	e.store, err = sqlstore.New(db, d)
	return err
}

// redact removes the DSN from a driver's message, which may carry a
// password.
func redact(msg, dsn string) string {
	return strings.ReplaceAll(msg, dsn, "<dsn>")
}

// migrated reports how many migrations the database records, or an error
// telling the operator to migrate first.
func (e *env) migrated() (int, error) {
	var n int
	if err := e.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM twofa_schema_migrations").Scan(&n); err != nil || n == 0 {
		return 0, errors.New("the database has no twofa schema: run twofa migrate first")
	}
	return n, nil
}

// keys returns the key ring from -keys-file or TWOFA_KEYS.
func (e *env) keys() (*keyring.Ring, error) {
	if e.keyFile != "" {
		return keyring.Load(e.keyFile)
	}
	if s := os.Getenv("TWOFA_KEYS"); s != "" {
		return keyring.Parse(s)
	}
	return nil, usageError("no keys: give -keys-file or set TWOFA_KEYS")
}

// service returns a twofa.Service on the migrated database, for the
// commands that read no secret: a ring of a throw-away key stands in when
// none is given, as twofa.New requires one, and nothing is sealed or opened
// with it.
func (e *env) service() (*twofa.Service, error) {
	ring := throwaway()
	if e.keyFile != "" || os.Getenv("TWOFA_KEYS") != "" {
		r, err := e.keys()
		if err != nil {
			return nil, err
		}
		ring = r
	}
	return e.ready(ring)
}

// throwaway returns a ring of a fresh key kept nowhere, for the commands
// that seal and open nothing. It is not keyring.Random, which twofa.New
// refuses beside a database, rightly for an application.
func throwaway() *keyring.Ring {
	k, err := keyring.NewKey("unused")
	if err == nil {
		var r *keyring.Ring
		if r, err = keyring.New(k); err == nil {
			return r
		}
	}
	panic(err) // a valid ID and a fresh key: neither call can refuse them
}

// ready opens the migrated database and returns a twofa.Service on it with
// ring.
func (e *env) ready(ring *keyring.Ring) (*twofa.Service, error) {
	if err := e.openMigrated(); err != nil {
		return nil, err
	}
	return e.serviceWith(ring)
}

// openMigrated opens the database and refuses one twofa migrate has not
// prepared.
func (e *env) openMigrated() error {
	if err := e.open(); err != nil {
		return err
	}
	_, err := e.migrated()
	return err
}

// serviceWith returns a twofa.Service on the store with ring.
func (e *env) serviceWith(ring *keyring.Ring) (*twofa.Service, error) {
	return twofa.New(twofa.Config{Issuer: "twofa", Store: e.store, Keys: ring})
}

func (e *env) migrate() error {
	e.create = true
	if err := e.open(); err != nil {
		return err
	}
	before, _ := e.migrated() // none yet on a new database
	if err := e.store.Migrate(e.ctx); err != nil {
		return err
	}
	after, err := e.migrated()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "migrated: %d migrations applied now, %d in all\n", after-before, after)
	return nil
}

func (e *env) reset(user string) error {
	tf, err := e.service()
	if err != nil {
		return err
	}
	if err := tf.Reset(e.ctx, user); err != nil {
		return fmt.Errorf("reset %q: %w", user, err)
	}
	fmt.Fprintf(e.stdout, "reset %q: every method, backup code, security key and remembered browser removed, failed attempts cleared\n", user)
	return nil
}

func (e *env) unlock(user string) error {
	tf, err := e.service()
	if err != nil {
		return err
	}
	if err := tf.Unlock(e.ctx, user); err != nil {
		return fmt.Errorf("unlock %q: %w", user, err)
	}
	fmt.Fprintf(e.stdout, "unlocked %q: failed attempts cleared\n", user)
	return nil
}

// isTerminal reports whether w is a terminal (a character device), where
// progress may be drawn; a pipe or a file gets none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
