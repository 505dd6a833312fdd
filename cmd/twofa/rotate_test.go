package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pquerna/otp"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/sqlstore"
)

// ringTextOf parses a ring in TWOFA_KEYS's form.
func ringTextOf(t *testing.T, text string) (string, *keyring.Ring) {
	t.Helper()
	r, err := keyring.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return text, r
}

// keyCounts is the secrets per key ID the store holds, by the library.
func keyCounts(t *testing.T, d database, keys string) map[string]int {
	t.Helper()
	_, ring := ringTextOf(t, keys)
	tf, err := twofa.New(twofa.Config{Issuer: "Test", Store: mustStore(t, d), Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tf.TOTP.KeyReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep.Secrets
}

func TestRotateKeys(t *testing.T) {
	databases(t, func(t *testing.T, d database) {
		ctx := context.Background()
		d.migrate(t)
		_, oldRing := ringText(t, "2025")
		tf, _ := d.service(t, oldRing)
		const users = 7
		secrets := map[string]string{}
		for i := range users {
			u := fmt.Sprintf("user%d", i)
			secrets[u] = confirmTOTP(t, tf, u)
		}
		// A pending set-up is sealed too, and must move as well.
		if _, err := tf.TOTP.Begin(ctx, "pending", "p@example.com", "s"); err != nil {
			t.Fatal(err)
		}
		newKeys, _ := ringText(t, "2026", "2025")
		keyFile := filepath.Join(t.TempDir(), "keys")
		if err := os.WriteFile(keyFile, []byte("# new key first\n"+strings.ReplaceAll(newKeys, ",", "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}

		// Resumed after user3, as an interrupted run prints: user4 to user6
		// only ("pending" sorts before "user3").
		r := twofaCmd(t, nil, "-db", d.dsn, "-keys-file", keyFile, "rotate-keys", "-after", "user3")
		if r.code != 0 || !strings.Contains(r.stdout, "rotate-keys: 3 records visited, 3 secrets sealed again") {
			t.Fatalf("resumed run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if got := keyCounts(t, d, newKeys); fmt.Sprint(got) != fmt.Sprintf("map[2025:%d 2026:3]", users+1-3) {
			t.Errorf("secrets per key after the resumed run: %v", got)
		}

		r = twofaCmd(t, nil, "-db", d.dsn, "-keys-file", keyFile, "rotate-keys", "-batch", "3")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{
			fmt.Sprintf("rotate-keys: %d records visited, %d secrets sealed again under key \"2026\"\n", users+1, users+1-3),
			fmt.Sprintf("2025 %d 0", users+1-3),
			fmt.Sprintf("2026 (primary) 3 %d", users+1),
			"every secret is under key \"2026\"",
		} {
			if !strings.Contains(squeeze(r.stdout), want) {
				t.Errorf("stdout does not say %q:\n%s", want, r.stdout)
			}
		}
		if got := keyCounts(t, d, newKeys); fmt.Sprint(got) != fmt.Sprintf("map[2026:%d]", users+1) {
			t.Errorf("secrets per key after rotate-keys: %v", got)
		}
		// The secrets still open: the users log in with the same phones.
		_, newRing := ringTextOf(t, newKeys)
		if !verifyCode(t, d, newRing, "user3", secrets["user3"], otp.AlgorithmSHA1, otp.DigitsSix, 3) {
			t.Error("user3 does not verify after rotation")
		}

		// status reads the same figures, and says the old key can go.
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + newKeys}, "-db", d.dsn, "status")
		if !strings.Contains(squeeze(r.stdout), fmt.Sprintf("2026 %d primary", users+1)) || !strings.Contains(r.stdout, "the ring's other keys can be dropped") {
			t.Errorf("status after rotation:\n%s", r.stdout)
		}

		// A ring without the key the secrets are under: nothing opens,
		// nothing is lost, and the command fails saying so.
		third, _ := ringText(t, "2027")
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + third}, "-db", d.dsn, "rotate-keys")
		if r.code != 1 || !strings.Contains(r.stderr, `secrets under key "2026" open with no key of the ring`) {
			t.Errorf("rotate with a foreign ring: exit %d, stderr %q", r.code, r.stderr)
		}
		if got := keyCounts(t, d, newKeys); fmt.Sprint(got) != fmt.Sprintf("map[2026:%d]", users+1) {
			t.Errorf("a failed rotation changed the records: %v", got)
		}
		r = twofaCmd(t, []string{"TWOFA_KEYS=" + third}, "-db", d.dsn, "status")
		if !strings.Contains(squeeze(r.stdout), "2026 8 MISSING from the ring") {
			t.Errorf("status does not flag the missing key:\n%s", r.stdout)
		}
	})
}

// TestProgress runs rotate-keys on a terminal (script(1) gives it one) and
// sees the bar drawn; TestRotateKeys, on pipes, sees none (twofaCmd
// checks every run for control characters).
func TestProgress(t *testing.T) {
	// script(1) is in util-linux (Debian's bsdutils, always installed).
	script := testdb.NeedTool(t, "script")
	db, path := testdb.SQLite(t)
	d := database{path, db, sqlstore.SQLite}
	d.migrate(t)
	_, ring := ringText(t, "a")
	tf, _ := d.service(t, ring)
	confirmTOTP(t, tf, "alice")
	newKeys, _ := ringText(t, "b", "a")
	cmd := exec.Command(script, "-qec", bin+" -db "+path+" rotate-keys", "/dev/null")
	cmd.Env = append(os.Environ(), "TWOFA_KEYS="+newKeys)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "\rrotating keys [") || !strings.Contains(string(out), "] 1/1") {
		t.Errorf("no progress bar on a terminal:\n%q", out)
	}
}

// squeeze joins the fields of every line with one space, so that tests
// read tables whatever their column widths.
func squeeze(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(strings.Join(strings.Fields(line), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
