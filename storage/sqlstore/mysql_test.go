package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// MySQLDSN adds what the store needs, keeps what the application set, and
// the driver reads the result as meant.
func TestMySQLDSN(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"bare", "u:p@tcp(db:3306)/app", "u:p@tcp(db:3306)/app?clientFoundRows=true&interpolateParams=true"},
		{"with params", "u:p@tcp(db:3306)/app?parseTime=true&loc=UTC", "u:p@tcp(db:3306)/app?parseTime=true&loc=UTC&clientFoundRows=true&interpolateParams=true"},
		{"trailing ?", "u:p@tcp(db:3306)/app?", "u:p@tcp(db:3306)/app?clientFoundRows=true&interpolateParams=true"},
		{"interpolation off kept", "u:p@tcp(db:3306)/app?interpolateParams=false", "u:p@tcp(db:3306)/app?interpolateParams=false&clientFoundRows=true"},
		{"complete", "u:p@tcp(db:3306)/app?clientFoundRows=true&interpolateParams=true", "u:p@tcp(db:3306)/app?clientFoundRows=true&interpolateParams=true"},
		{"slash and ? in the password", "u:a/b?c@tcp(db:3306)/app", "u:a/b?c@tcp(db:3306)/app?clientFoundRows=true&interpolateParams=true"},
		{"no database name", "u:p@tcp(db:3306)/", "u:p@tcp(db:3306)/?clientFoundRows=true&interpolateParams=true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := sqlstore.MySQLDSN(c.in)
			if err != nil || got != c.want {
				t.Fatalf("MySQLDSN(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			cfg, err := mysql.ParseDSN(got)
			if err != nil {
				t.Fatalf("the driver refuses %q: %v", got, err)
			}
			if !cfg.ClientFoundRows {
				t.Errorf("the driver reads %q without clientFoundRows", got)
			}
			if cfg.InterpolateParams != !strings.Contains(c.in, "interpolateParams=false") {
				t.Errorf("the driver reads interpolateParams=%v from %q", cfg.InterpolateParams, got)
			}
		})
	}
	for _, bad := range []string{
		"u:hunter2secret@tcp(db:3306)/app?clientFoundRows=false",
		"u:hunter2secret@tcp(db:3306)/app?clientFoundRows=0",
		"u:hunter2secret@tcp(db:3306)",
		"hunter2secret",
	} {
		_, err := sqlstore.MySQLDSN(bad)
		if !errors.Is(err, sqlstore.ErrMySQLSettings) {
			t.Errorf("MySQLDSN(%q): %v, want ErrMySQLSettings", bad, err)
		} else if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("MySQLDSN(%q): the error shows the password: %v", bad, err)
		}
	}
}

// mysqlHandle opens another handle on the test's database, with changes
// to its DSN.
func mysqlHandle(t *testing.T, dsn string, change func(*mysql.Config)) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	change(cfg)
	return testdb.OpenMySQL(t, cfg.FormatDSN())
}

// Open refuses a connection that would let the store misread its own
// writes, with ErrMySQLSettings naming the setting, and leaves the
// database as a correct Open can then migrate.
func TestMySQLSettings(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	for _, c := range []struct {
		name, says string
		change     func(*mysql.Config)
	}{
		{"without clientFoundRows", "clientFoundRows", func(c *mysql.Config) { c.ClientFoundRows = false }},
		{"sql_mode not strict", "sql_mode", func(c *mysql.Config) {
			c.Params = map[string]string{"sql_mode": "'NO_ENGINE_SUBSTITUTION'"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := mysqlHandle(t, dsn, c.change)
			_, err := sqlstore.Open(t.Context(), db, sqlstore.MySQL)
			if !errors.Is(err, sqlstore.ErrMySQLSettings) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Open: %v; want ErrMySQLSettings about %s", err, c.says)
			}
		})
	}
	// The refusals released the migration lock: a correct Open goes on
	// at once, and the store works.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.Open(ctx, testdb.OpenMySQL(t, dsn), sqlstore.MySQL)
	if err != nil {
		t.Fatalf("Open with MySQLDSN's settings after the refusals: %v", err)
	}
	if _, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "u", Account: "a"}); err != nil {
		t.Fatal(err)
	}
}

// mysqlTables lists the columns of twofa's tables, as "table.column".
func mysqlColumns(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		cols[table+"."+col] = true
	}
	return cols
}

// MySQL's DDL is not transactional: a server that stopped halfway through
// a migration (0007 here: the index and one column made, two columns not,
// nothing recorded) leaves a database the next Migrate completes.
func TestMySQLMigrateResumes(t *testing.T) {
	db, _ := testdb.MySQL(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE twofa_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ENGINE = InnoDB`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 6; v++ {
		for _, stmt := range splitStatements(sqlstore.MySQL, migrationFile(t, sqlstore.MySQL, v)) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("migration %d: %v", v, err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO twofa_schema_migrations VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	half := splitStatements(sqlstore.MySQL, migrationFile(t, sqlstore.MySQL, 7))
	if len(half) != 4 {
		t.Fatalf("0007 has %d statements, want 4", len(half))
	}
	for _, stmt := range half[:2] {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if cols := mysqlColumns(t, db); !cols["twofa_email.code_binding"] || cols["twofa_totp.active_binding"] {
		t.Fatalf("the half-made 0007 is not half made: %v", cols)
	}
	s := newStore(t, db, sqlstore.MySQL)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after a crash halfway through 0007: %v", err)
	}
	cols := mysqlColumns(t, db)
	for _, c := range []string{"twofa_email.code_binding", "twofa_totp.active_binding", "twofa_totp.pending_binding", "twofa_log.seq"} {
		if !cols[c] {
			t.Errorf("no column %s after Migrate", c)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM twofa_schema_migrations`).Scan(&n); err != nil || n != 9 {
		t.Fatalf("%d migrations recorded (%v), want 9", n, err)
	}
	// And the schema works: a bound set-up round-trips.
	rec := storage.TOTPRecord{UserID: "u", Account: "a", Pending: &storage.TOTPSecret{Sealed: []byte{1}, Algorithm: "SHA1", Digits: 6, Period: 30, Created: time.Now(), Binding: []byte{2}}}
	if _, err := s.PutTOTP(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TOTP(ctx, "u"); err != nil || got.Pending == nil || string(got.Pending.Binding) != "\x02" {
		t.Fatalf("TOTP after the resumed migration: %+v, %v", got.Pending, err)
	}
}

// The migration lock is a row: a server that died holding it (its lease
// run out) is taken over; one whose lease runs makes Migrate wait, here
// until the context ends, with nothing applied.
func TestMySQLMigrationLock(t *testing.T) {
	for _, c := range []struct {
		name    string
		expires time.Time
		ok      bool
	}{
		{"dead holder", time.Now().Add(-time.Second), true},
		{"live holder", time.Now().Add(time.Hour), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := testdb.MySQL(t)
			for _, q := range []string{
				`CREATE TABLE twofa_schema_lock (id INTEGER NOT NULL PRIMARY KEY, holder VARBINARY(64) NOT NULL, expires_ns BIGINT NOT NULL) ENGINE = InnoDB`,
				`INSERT INTO twofa_schema_lock VALUES (1, 'another', ` + strconv.FormatInt(c.expires.UnixNano(), 10) + `)`,
			} {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			err := newStore(t, db, sqlstore.MySQL).Migrate(ctx)
			var holders, applied int
			db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM twofa_schema_lock WHERE holder = 'another'`).Scan(&holders)
			db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM twofa_schema_migrations`).Scan(&applied)
			if c.ok {
				if err != nil || applied != 9 || holders != 0 {
					t.Fatalf("Migrate past a dead holder: %v, %d applied, its row left %d; want nil, 9, 0", err, applied, holders)
				}
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) || applied != 0 || holders != 1 {
				t.Fatalf("Migrate under a live lock: %v, %d applied, holder's row %d; want DeadlineExceeded, 0, 1", err, applied, holders)
			}
		})
	}
}

// A row another transaction holds past innodb_lock_wait_timeout (error
// 1205) denies: the claim reports an error, never false or not found as if
// decided, and never true; once the lock goes, the code is there, unused,
// for one claim.
func TestMySQLLockWaitDenies(t *testing.T) {
	db, dsn := testdb.MySQL(t)
	ctx := t.Context()
	s := newStore(t, db, sqlstore.MySQL)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	when := time.Now()
	set := storage.BackupSet{UserID: "u", SetID: "s1", KDF: "k", Salt: []byte{1}, Hashes: [][]byte{{1}}, Created: when}
	if ok, err := s.ReplaceBackupSet(ctx, set, ""); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "u", Account: "a"}); err != nil {
		t.Fatal(err)
	}
	impatient := newStore(t, mysqlHandle(t, dsn, func(c *mysql.Config) {
		c.Params = map[string]string{"innodb_lock_wait_timeout": "1"}
	}), sqlstore.MySQL)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`SELECT 1 FROM twofa_backup_codes WHERE user_id = 'u' FOR UPDATE`,
		`SELECT 1 FROM twofa_totp WHERE user_id = 'u' FOR UPDATE`,
	} {
		var one int
		if err := tx.QueryRowContext(ctx, q).Scan(&one); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := impatient.UseBackupCode(ctx, "u", "s1", 0, when); ok || err == nil || !strings.Contains(err.Error(), "1205") {
		t.Errorf("UseBackupCode on a locked row: %v, %v; want false and the lock wait error", ok, err)
	}
	if ok, err := impatient.AdvanceTOTPStep(ctx, "u", 10); ok || err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("AdvanceTOTPStep on a locked row: %v, %v; want false and an error", ok, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if ok, err := impatient.UseBackupCode(ctx, "u", "s1", 0, when); !ok || err != nil {
		t.Fatalf("UseBackupCode once the lock is gone: %v, %v; want the code unused until now", ok, err)
	}
	if ok, err := impatient.UseBackupCode(ctx, "u", "s1", 0, when); ok || err != nil {
		t.Fatalf("UseBackupCode again: %v, %v; want false", ok, err)
	}
}

// migrationFile returns the text of the dialect's migration number v.
func migrationFile(t *testing.T, d sqlstore.Dialect, v int) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(migrationDir(d), fmt.Sprintf("%04d_*.sql", v)))
	if err != nil || len(files) != 1 {
		t.Fatalf("migration %d: %v, %v", v, files, err)
	}
	body, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// A transaction the server picks as a deadlock's victim (1213; on Galera
// also a lost certification) was rolled back whole, and the store runs it
// again: here DeleteBackupSet, caught between another transaction's locks,
// is the victim (it changed fewer rows), and its second run, once the
// other has committed, deletes the set. Nothing counts the lost run as
// done, and nothing is applied twice.
func TestMySQLDeadlockRetried(t *testing.T) {
	db, _ := testdb.MySQL(t)
	ctx := t.Context()
	s := newStore(t, db, sqlstore.MySQL)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	set := storage.BackupSet{UserID: "u", SetID: "s1", KDF: "k", Salt: []byte{1}, Hashes: [][]byte{{1}, {2}, {3}}, Created: time.Now()}
	if ok, err := s.ReplaceBackupSet(ctx, set, ""); !ok || err != nil {
		t.Fatal(ok, err)
	}
	for _, q := range []string{
		`CREATE TABLE ballast (id INTEGER NOT NULL PRIMARY KEY, v INTEGER NOT NULL) ENGINE = InnoDB`,
		`INSERT INTO ballast (id, v) WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT i, 0 FROM n`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	deadlocks := func() (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT VARIABLE_VALUE FROM information_schema.global_status WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	other, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	// The other transaction weighs 300 changed rows, and holds the set.
	if _, err := other.ExecContext(ctx, `UPDATE ballast SET v = v + 1`); err != nil {
		t.Fatal(err)
	}
	var one int
	if err := other.QueryRowContext(ctx, `SELECT 1 FROM twofa_backup_sets WHERE user_id = 'u' FOR UPDATE`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.DeleteBackupSet(ctx, "u") }()
	// DeleteBackupSet deletes the codes, then waits for the set.
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; {
		if time.Now().After(deadline) {
			t.Fatal("DeleteBackupSet never waited for the set's lock")
		}
		select {
		case err := <-done:
			t.Fatalf("DeleteBackupSet ended while the set was locked: %v", err)
		default:
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'DELETE FROM twofa_backup_sets%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	// Now the other wants the codes: a deadlock, whose victim is the
	// lighter DeleteBackupSet.
	if _, err := other.ExecContext(ctx, `DELETE FROM twofa_backup_codes WHERE user_id = 'u' AND idx = 0`); err != nil {
		t.Fatalf("the heavier transaction lost the deadlock: %v", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("DeleteBackupSet, a deadlock's victim: %v; want it run again and done", err)
	}
	if _, err := s.BackupSet(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the set after DeleteBackupSet: %v, want ErrNotFound", err)
	}
	if after := deadlocks(); after == before {
		t.Fatalf("the server counts %d deadlocks before and after: the test made none", after)
	}
}
