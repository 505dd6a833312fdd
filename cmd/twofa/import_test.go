package main_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

const secret160 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" // 160 bits

// importFile is a file of good lines and every kind of bad line.
const importFile = `user_id,secret,algorithm,digits,period
alice,` + secret160 + `,SHA1,6,30
otpauth://totp/Acme:bob?secret=` + secret160 + `&issuer=Acme

carol,otpauth://totp/Acme:carol%40example.com?secret=` + secret160 + `&algorithm=SHA256&digits=8
otpauth://totp/Acme:dave?issuer=Acme
erin,JBSWY3DP,SHA1,6,30
frank,` + secret160 + `,MD5,6,30
gina,` + secret160 + `,SHA1,6
alice,` + secret160 + `,SHA1,6,30
otpauth://hotp/Acme:hank?secret=` + secret160 + `&counter=1
ivan,` + secret160 + `,SHA1,7,30
`

// ringText is a key ring in TWOFA_KEYS's form and the ring itself.
func ringText(t *testing.T, ids ...string) (string, *keyring.Ring) {
	t.Helper()
	var parts []string
	for _, id := range ids {
		k := make([]byte, keyring.KeySize)
		for i := range k {
			k[i] = byte(len(id) + i + int(id[0])) // fixed per ID, so a ring of the same IDs is the same ring
		}
		parts = append(parts, id+":"+base64.StdEncoding.EncodeToString(k))
	}
	text := strings.Join(parts, ",")
	ring, err := keyring.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return text, ring
}

// verifies reports whether user passes with the code the secret gives,
// with the given parameters, after steps periods of 30 s from now (more
// than 2: the import marks the steps around it used; another each time, as
// a code passes once).
func verifies(t *testing.T, d database, ring *keyring.Ring, user string, alg otp.Algorithm, digits otp.Digits, steps int) bool {
	t.Helper()
	return verifyCode(t, d, ring, user, secret160, alg, digits, steps)
}

// verifyCode is verifies with the secret given.
func verifyCode(t *testing.T, d database, ring *keyring.Ring, user, secret string, alg otp.Algorithm, digits otp.Digits, steps int) bool {
	t.Helper()
	later := time.Now().Add(time.Duration(steps) * 30 * time.Second)
	tf, err := twofa.New(twofa.Config{Issuer: "Test", Store: mustStore(t, d), Keys: ring, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	code, err := otptotp.GenerateCodeCustom(secret, later, otptotp.ValidateOpts{Period: 30, Digits: digits, Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tf.Verify(context.Background(), user, "login", code)
	return err == nil
}

func TestImport(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		d.migrate(t)
		keys, ring := ringText(t, "k1")
		file := filepath.Join(t.TempDir(), "users.csv")
		if err := os.WriteFile(file, []byte(importFile), 0o600); err != nil {
			t.Fatal(err)
		}
		r := twofaCmd(t, []string{"TWOFA_KEYS=" + keys}, "-db", d.dsn, "import", file)
		if r.code != 1 {
			t.Errorf("exit %d, want 1 for a file with bad lines", r.code)
		}
		if want := "import: imported 3 users; 7 lines refused\n"; r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
		// Each bad line, by number, with what is wrong.
		for _, want := range []string{
			"line 6: totp: bad otpauth URL", // no secret
			"line 7: ",                      // a 40-bit secret
			"line 8: algorithm: ",           // MD5
			"line 9: 4 fields, want 5",      // a missing field
			`line 10: user "alice" is already on line 2`,
			"line 11: totp: bad otpauth URL", // an HOTP URL
			"line 12: ",                      // 7 digits
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}
		if !strings.Contains(r.stderr, "line 7: totp: imported secret is not base32 of a usable key: under 80 bits") {
			t.Errorf("the short secret is not named:\n%s", r.stderr)
		}
		if !strings.Contains(r.stderr, "line 12: totp: imported secret's algorithm, digits or period not supported") {
			t.Errorf("the bad digits are not named:\n%s", r.stderr)
		}
		if got := strings.Count(r.stderr, "\nline ") + map[bool]int{true: 1}[strings.HasPrefix(r.stderr, "line ")]; got != 7 {
			t.Errorf("%d lines reported, want 7:\n%s", got, r.stderr)
		}
		if strings.Contains(r.stderr, secret160) || strings.Contains(r.stderr, "JBSWY3DP,") {
			t.Errorf("a secret is in the errors:\n%s", r.stderr)
		}
		// The good lines are imported, each with its own parameters.
		if !verifies(t, d, ring, "alice", otp.AlgorithmSHA1, otp.DigitsSix, 3) {
			t.Error("alice's imported secret does not verify")
		}
		if !verifies(t, d, ring, "bob", otp.AlgorithmSHA1, otp.DigitsSix, 3) {
			t.Error("bob (user from the URL's account) does not verify")
		}
		if !verifies(t, d, ring, "carol", otp.AlgorithmSHA256, otp.DigitsEight, 3) {
			t.Error("carol's SHA-256, 8-digit secret does not verify")
		}
		// The bad ones left nothing behind, not even a staged secret.
		for _, u := range []string{"dave", "erin", "frank", "gina", "hank", "ivan"} {
			if rows := rowsOf(t, d, u); len(rows) != 0 {
				t.Errorf("%s was refused but has rows: %v", u, rows)
			}
		}

		// Again, without -replace: every user who has a secret is refused
		// and keeps it.
		again := filepath.Join(t.TempDir(), "again.csv")
		other := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		if err := os.WriteFile(again, []byte("alice,"+other+",SHA1,6,30\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + keys}, "-db", d.dsn, "import", again)
		if r.code != 1 || !strings.Contains(r.stderr, `line 1: user "alice" already has an authenticator app`) {
			t.Errorf("re-import: exit %d, stderr %q", r.code, r.stderr)
		}
		if !verifies(t, d, ring, "alice", otp.AlgorithmSHA1, otp.DigitsSix, 4) {
			t.Error("a refused re-import changed alice's secret")
		}
		// With -replace, the new secret takes the old one's place.
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + keys}, "-db", d.dsn, "import", "-replace", again)
		if r.code != 0 || r.stdout != "import: imported 1 users; 0 lines refused\n" {
			t.Errorf("-replace: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if !verifyCode(t, d, ring, "alice", other, otp.AlgorithmSHA1, otp.DigitsSix, 5) {
			t.Error("alice does not verify with the replacing secret")
		}

		// -check reads the file and writes nothing.
		checkFile := filepath.Join(t.TempDir(), "check.csv")
		if err := os.WriteFile(checkFile, []byte("zoe,"+secret160+",SHA1,6,30\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + keys}, "-db", d.dsn, "import", "-check", checkFile)
		if r.code != 0 || r.stdout != "import: would import 1 users; 0 lines refused\n" {
			t.Errorf("-check: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if rows := rowsOf(t, d, "zoe"); len(rows) != 0 {
			t.Errorf("-check imported zoe: %v", rows)
		}
	})
}

func TestImportNeedsKeys(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	if r := twofaCmd(t, nil, "-db", db, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	file := filepath.Join(t.TempDir(), "u.csv")
	os.WriteFile(file, []byte("alice,"+secret160+",SHA1,6,30\n"), 0o600)
	r := twofaCmd(t, nil, "-db", db, "import", file)
	if r.code != 2 || !strings.Contains(r.stderr, "no keys") {
		t.Errorf("exit %d, stderr %q; want 2 and no keys", r.code, r.stderr)
	}
}

// TestImportRace runs several imports of the same users at once, as two
// operators (or a retried job) might: each user is imported by exactly
// one of them, and the others are told the user already has an app.
func TestImportRace(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		d.migrate(t)
		keys, _ := ringText(t, "k1")
		const users, runs = 20, 5
		var lines strings.Builder
		for i := range users {
			fmt.Fprintf(&lines, "user%02d,%s,SHA1,6,30\n", i, secret160)
		}
		file := filepath.Join(t.TempDir(), "users.csv")
		if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		results := make([]result, runs)
		var wg sync.WaitGroup
		for i := range runs {
			wg.Go(func() { results[i] = twofaCmd(t, []string{"TWOFA_KEYS=" + keys}, "-db", d.dsn, "import", file) })
		}
		wg.Wait()
		imported := 0
		for i, r := range results {
			var n, refused int
			if _, err := fmt.Sscanf(r.stdout, "import: imported %d users; %d lines refused", &n, &refused); err != nil {
				t.Fatalf("run %d: stdout %q, stderr %q", i, r.stdout, r.stderr)
			}
			if n+refused != users {
				t.Errorf("run %d: %d imported + %d refused, want %d lines", i, n, refused, users)
			}
			if got := strings.Count(r.stderr, "already has an authenticator app"); got != refused {
				t.Errorf("run %d: %d lines refused, %d of them as already set up:\n%s", i, refused, got, r.stderr)
			}
			imported += n
		}
		if imported != users {
			t.Errorf("%d imports in all, want each of the %d users imported once", imported, users)
		}
	})
}

// TestImportInput: the file may come on standard input, and a line past
// the bound stops the import at that line, after the lines before it.
func TestImportInput(t *testing.T) {
	d := database{dialect: sqlstore.SQLite}
	d.db, d.dsn = testdb.SQLite(t)
	d.migrate(t)
	keys, ring := ringText(t, "k1")
	run := func(stdin string, args ...string) result {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-db", d.dsn, "import"}, args...)...)
		cmd.Env = append(os.Environ(), "TWOFA_KEYS="+keys)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
	}
	r := run("alice,"+secret160+",SHA1,6,30\n", "-")
	if r.code != 0 || r.stdout != "import: imported 1 users; 0 lines refused\n" {
		t.Errorf("from stdin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !verifies(t, d, ring, "alice", otp.AlgorithmSHA1, otp.DigitsSix, 3) {
		t.Error("alice, imported from stdin, does not verify")
	}
	long := "bob," + secret160 + ",SHA1,6,30\ncarol," + strings.Repeat("A", 9000) + ",SHA1,6,30\ndave," + secret160 + ",SHA1,6,30\n"
	r = run(long, "-")
	if r.code != 1 || !strings.Contains(r.stderr, "line 2: longer than 8192 bytes; stopped after 1 users imported") {
		t.Errorf("long line: exit %d, stderr %q", r.code, r.stderr)
	}
	if rows := rowsOf(t, d, "dave"); len(rows) != 0 {
		t.Errorf("dave, after the long line, was imported: %v", rows)
	}
}
