package main_test

import (
	"fmt"
	"os/exec"
)

// The commands, as `go run ./cmd/twofa help` lists them from a clone of the
// repository (here, from the command's own folder).
func Example() {
	out, err := exec.Command("go", "run", ".", "help").Output()
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(string(out))
	// Output:
	// usage: twofa [-db DSN] [-keys-file FILE] COMMAND [ARGS]
	//
	// Commands:
	//   migrate                 create or upgrade twofa's tables
	//   status                  users per method, users with failed attempts,
	//                           authenticator secrets per key ID
	//   import [-replace] [-check] FILE
	//                           import authenticator secrets, a line each: an
	//                           otpauth:// URL (the user is its account name),
	//                           USER,otpauth://..., or
	//                           USER,SECRET,ALGORITHM,DIGITS,PERIOD; FILE "-" is
	//                           standard input
	//   rotate-keys [-batch N] [-after USER]
	//                           seal every authenticator secret again under the
	//                           ring's primary key, and count secrets per key
	//   reset USER              remove every method, backup code, security key
	//                           and remembered browser of USER
	//   unlock USER             clear USER's failed attempts and any lock
	//   log [-n N] USER         USER's security log, newest first (50 unless -n)
	//
	// The database is -db or TWOFA_DB: a postgres:// URL, a MariaDB/MySQL DSN
	// as mysql://user:pass@tcp(host:3306)/dbname, or a SQLite file path.
	// Keys come from -keys-file (one a line) or TWOFA_KEYS ("ID:BASE64,...",
	// the primary key first); reset, unlock, log and status need none.
	// Exit status: 0 done, 1 failed, 2 a command line not understood.
}
