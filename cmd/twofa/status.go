package main

import (
	"fmt"
	"text/tabwriter"
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
	return nil
}
