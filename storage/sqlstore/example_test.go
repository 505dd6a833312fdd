package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MariaDB and MySQL driver
	_ "modernc.org/sqlite"             // the SQLite driver, in pure Go

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// twofa's state in the application's SQLite file: the database opened with
// the settings that let concurrent requests wait for each other, and the
// store opened on it with its tables brought up to date, in one call.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "twofa-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // the application's: the store never closes it
	store, err := sqlstore.Open(ctx, db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}

	key, _ := keyring.NewKey("2026-11") // in production: keyring.Parse or Load
	ring, _ := keyring.New(key)
	tf, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: ring})
	if err != nil {
		log.Fatal(err)
	}
	a, err := tf.Account(ctx, "alice")
	fmt.Println(a.Requires(), a.Status(twofa.TOTP), err)

	var tables int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'twofa\_%' ESCAPE '\'`).Scan(&tables)
	fmt.Println(tables > 0)
	// Output:
	// false not set up <nil>
	// true
}

// twofa's state in MariaDB or MySQL: the application's DSN completed with
// the settings the store needs, a pool sized for the server and recycled
// before the server drops idle connections, and the store opened with its
// tables brought up to date. (Not run here: it needs a server.)
func Example_mySQL() {
	ctx := context.Background()
	dsn, err := sqlstore.MySQLDSN("app:secret@tcp(127.0.0.1:3306)/app")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(50)                 // times the servers, below max_connections
	db.SetMaxIdleConns(50)                 // a login reuses a connection
	db.SetConnMaxLifetime(5 * time.Minute) // below wait_timeout
	store, err := sqlstore.Open(ctx, db, sqlstore.MySQL)
	if errors.Is(err, sqlstore.ErrMySQLSettings) {
		log.Fatal(err) // a DSN that turned clientFoundRows off, or a sql_mode not strict
	}
	if err != nil {
		log.Fatal(err)
	}
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	if _, err := twofa.New(twofa.Config{Issuer: "Acme", Store: store, Keys: ring}); err != nil {
		log.Fatal(err)
	}
}
