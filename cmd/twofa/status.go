package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/twofa-go/twofa/keyring"
)

// methodCount is how many users have one method in each state.
type methodCount struct {
	method                     string
	enabled, disabled, pending int
}

// The counts read twofa's tables directly: storage offers no count of
// users per method, and the command, which owns the connection, only
// reads. Each query counts users, not rows (a user has one row per method,
// or several security keys).
var countQueries = []struct {
	method string
	query  string
}{
	{"webauthn", `SELECT
		COUNT(CASE WHEN COALESCE(h.disabled, 0) = 0 THEN 1 END),
		COUNT(CASE WHEN COALESCE(h.disabled, 0) <> 0 THEN 1 END),
		0
	FROM (SELECT DISTINCT user_id FROM twofa_webauthn_credentials) c
	LEFT JOIN twofa_webauthn_handles h ON h.user_id = c.user_id`},
	{"totp", `SELECT
		COUNT(CASE WHEN active_sealed IS NOT NULL AND disabled = 0 THEN 1 END),
		COUNT(CASE WHEN active_sealed IS NOT NULL AND disabled <> 0 THEN 1 END),
		COUNT(CASE WHEN active_sealed IS NULL AND pending_sealed IS NOT NULL THEN 1 END)
	FROM twofa_totp`},
	{"email", `SELECT
		COUNT(CASE WHEN disabled = 0 THEN 1 END),
		COUNT(CASE WHEN disabled <> 0 THEN 1 END),
		0
	FROM twofa_email`},
	{"backup", `SELECT
		COUNT(CASE WHEN disabled = 0 THEN 1 END),
		COUNT(CASE WHEN disabled <> 0 THEN 1 END),
		0
	FROM twofa_backup_sets`},
}

func (e *env) status() error {
	if err := e.open(); err != nil {
		return err
	}
	n, err := e.migrated()
	if err != nil {
		return err
	}
	counts := make([]methodCount, 0, len(countQueries))
	for _, q := range countQueries {
		c := methodCount{method: q.method}
		if err := e.db.QueryRowContext(e.ctx, q.query).Scan(&c.enabled, &c.disabled, &c.pending); err != nil {
			return fmt.Errorf("count %s users: %w", q.method, err)
		}
		counts = append(counts, c)
	}
	var failing int
	if err := e.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM twofa_throttle WHERE failures > 0").Scan(&failing); err != nil {
		return fmt.Errorf("count users with failed attempts: %w", err)
	}

	fmt.Fprintf(e.stdout, "schema: %d migrations\n\nusers per method:\n", n)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  method\tenabled\tdisabled\tpending")
	for _, c := range counts {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", c.method, c.enabled, c.disabled, c.pending)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nusers with failed attempts counted: %d\n", failing)
	return e.keyReport()
}

// keyReport prints the authenticator secrets per key ID. The IDs are
// read in the clear from the sealed values, so no key is needed; with the
// ring, each ID is marked primary, in the ring, or missing from it.
func (e *env) keyReport() error {
	var ring *keyring.Ring
	if e.keyFile != "" || os.Getenv("TWOFA_KEYS") != "" {
		r, err := e.keys()
		if err != nil {
			return err
		}
		ring = r
	}
	tf, err := e.serviceWith(cmp.Or(ring, throwaway()))
	if err != nil {
		return err
	}
	rep, err := tf.TOTP.KeyReport(e.ctx)
	if err != nil {
		return fmt.Errorf("count records per key ID: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nauthenticator secrets per key ID (%d records):\n", rep.Records)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  key ID\tsecrets\tring")
	for _, id := range slices.Sorted(maps.Keys(rep.Secrets)) {
		name, where := id, "(no keys given)"
		if name == "" {
			name = "(damaged)"
		}
		switch {
		case ring == nil:
		case id == rep.Primary:
			where = "primary"
		case slices.Contains(rep.NotInRing, id):
			where = "MISSING from the ring"
		default:
			where = "old key"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", name, rep.Secrets[id], where)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ring != nil && len(rep.Secrets) > 0 && rep.Secrets[rep.Primary] == sum(rep.Secrets) {
		fmt.Fprintf(e.stdout, "every secret is under the primary key %q: the ring's other keys can be dropped\n", rep.Primary)
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
