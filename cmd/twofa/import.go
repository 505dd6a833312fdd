package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twofa-go/twofa/totp"
)

// maxImportLine bounds one line of an import file: an otpauth URL with a
// long label and issuer fits many times over.
const maxImportLine = 8 << 10

// csvHeader is the header line an import file may start with.
const csvHeader = "user_id,secret,algorithm,digits,period"

// importLine is one user to import, as read from a line.
type importLine struct {
	user, account string
	secret        totp.Imported
}

// parseImportLine reads one line: an otpauth URL whose account name is the
// user ID, "USER,otpauth://...", or "USER,SECRET,ALGORITHM,DIGITS,PERIOD"
// (period in seconds). Errors never quote the secret.
func parseImportLine(line string) (importLine, error) {
	if strings.HasPrefix(line, "otpauth:") {
		im, account, err := totp.ParseImportURL(line)
		if err != nil {
			return importLine{}, err
		}
		if account == "" {
			return importLine{}, errors.New("the URL names no account to take as the user ID")
		}
		return importLine{user: account, account: account, secret: im}, nil
	}
	r := csv.NewReader(strings.NewReader(line))
	r.FieldsPerRecord = -1
	f, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return importLine{}, fmt.Errorf("not CSV: %v", pe.Err)
		}
		return importLine{}, fmt.Errorf("not CSV: %v", err)
	}
	if len(f) == 2 && strings.HasPrefix(f[1], "otpauth:") {
		im, account, err := totp.ParseImportURL(f[1])
		if err != nil {
			return importLine{}, err
		}
		return importLine{user: f[0], account: account, secret: im}, nil
	}
	if len(f) != 5 {
		return importLine{}, fmt.Errorf("%d fields, want 5 (%s) or 2 (user_id,otpauth-url)", len(f), csvHeader)
	}
	for i, name := range strings.Split(csvHeader, ",") {
		if strings.TrimSpace(f[i]) == "" {
			return importLine{}, fmt.Errorf("field %s is empty", name)
		}
	}
	alg, err := totp.ParseAlgorithm(strings.TrimSpace(f[2]))
	if err != nil {
		return importLine{}, fmt.Errorf("algorithm: %w", err)
	}
	digits, err := strconv.Atoi(strings.TrimSpace(f[3]))
	if err != nil {
		return importLine{}, errors.New("digits: not a number")
	}
	period, err := strconv.Atoi(strings.TrimSpace(f[4]))
	if err != nil || period < 1 || period > 3600 {
		return importLine{}, errors.New("period: not a number of seconds")
	}
	im, err := totp.ParseSecret(f[1], alg, digits, time.Duration(period)*time.Second)
	if err != nil {
		return importLine{}, err
	}
	return importLine{user: f[0], secret: im}, nil
}

// importFile imports the authenticator secrets of a file, a user a line.
// Each user is imported whole or not at all (totp.Service.Import); a bad
// line is reported by its number and skipped, and the good lines are
// imported all the same, so that one typo does not hold up a migration.
// The exit status is 1 if any line was refused.
func (e *env) importFile(args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	replace := fs.Bool("replace", false, "replace a secret a user already has")
	check := fs.Bool("check", false, "only check the file: import nothing")
	if err := fs.Parse(args); err != nil {
		return usageError("import: %v", err)
	}
	if fs.NArg() != 1 {
		return usageError("import takes one file (- for standard input)")
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ring, err := e.keys()
	if err != nil {
		return err
	}
	tf, err := e.ready(ring)
	if err != nil {
		return err
	}

	bar := &progress{w: e.stderr, on: e.progress, label: "importing, line"}
	seen := map[string]int{} // user ID to the line that imported it
	var imported, refused, n int
	refuse := func(format string, args ...any) {
		bar.done()
		refused++
		fmt.Fprintf(e.stderr, "line %d: "+format+"\n", append([]any{n}, args...)...)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), maxImportLine)
	for sc.Scan() {
		n++
		bar.update(n, 0)
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") || (n == 1 && strings.EqualFold(strings.ReplaceAll(line, " ", ""), csvHeader)) {
			continue
		}
		l, err := parseImportLine(line)
		if err != nil {
			refuse("%v", err)
			continue
		}
		if first, ok := seen[l.user]; ok {
			refuse("user %q is already on line %d", l.user, first)
			continue
		}
		seen[l.user] = n
		if *check {
			imported++
			continue
		}
		switch err := e.importUser(tf.TOTP, l, *replace); {
		case errors.Is(err, totp.ErrAlreadySetUp):
			refuse("user %q already has an authenticator app (use -replace to replace it)", l.user)
		case err != nil:
			refuse("user %q: %v", l.user, err)
		default:
			imported++
		}
		if e.ctx.Err() != nil {
			break
		}
	}
	bar.done()
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("longer than %d bytes", maxImportLine)
		}
		return fmt.Errorf("line %d: %w; stopped after %d users imported", n+1, err, imported)
	}
	if err := e.ctx.Err(); err != nil {
		return fmt.Errorf("interrupted at line %d after %d users imported: %w", n, imported, err)
	}
	verb := "imported"
	if *check {
		verb = "would import"
	}
	fmt.Fprintf(e.stdout, "import: %s %d users; %d lines refused\n", verb, imported, refused)
	if refused > 0 {
		return fmt.Errorf("import: %d lines refused (listed above)", refused)
	}
	return nil
}

// importTries bounds the attempts at one user whose record another writer
// changes meanwhile (another import, the user's own set-up).
const importTries = 10

// importUser imports one user, reading the record again when another
// change landed in between: the next try then sees that change (an import
// by someone else is ErrAlreadySetUp), never writes over it. Two imports
// of one user that retry in step would take each other's staged secret
// away again and again, so each waits a random, growing while first.
func (e *env) importUser(svc *totp.Service, l importLine, replace bool) error {
	var err error
	for try := range importTries {
		if try > 0 {
			wait := time.Duration(rand.Int64N(int64(try) * int64(20*time.Millisecond)))
			select {
			case <-e.ctx.Done():
				return e.ctx.Err()
			case <-time.After(wait):
			}
		}
		err = svc.Import(e.ctx, l.user, l.account, l.secret, totp.ImportOptions{Replace: replace})
		if !errors.Is(err, totp.ErrConcurrentChange) {
			return err
		}
	}
	return err
}
