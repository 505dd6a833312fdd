package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofa-go/twofa"
)

// policyConfig is the example's demonstration policy, from the flags
// -require-by and -admin-keys: who must use a second factor, by when, and
// of what strength. The zero value asks nothing of anyone.
type policyConfig struct {
	// Require asks every user for a second factor, from Deadline on: a
	// user without one until then is told how many days remain, and after
	// it is sent to set one up before anything else.
	Require bool
	// Deadline ends the grace period; zero means at once.
	Deadline time.Time
	// AdminKeys asks administrators for a security key or passkey, by
	// the same deadline: their other methods are then not offered.
	AdminKeys bool
}

// on reports whether the policy asks anything of anyone.
func (p policyConfig) on() bool { return p.Require || p.AdminKeys }

// parsePolicy reads the flags: requireBy is "" (optional), "now", or a
// date, 2027-01-31, the first day on which a second factor is required
// (midnight UTC).
func parsePolicy(requireBy string, adminKeys bool) (policyConfig, error) {
	p := policyConfig{AdminKeys: adminKeys}
	switch requireBy = strings.TrimSpace(requireBy); requireBy {
	case "":
		// Optional for users; keys for administrators, if asked, at once.
		return p, nil
	case "now":
		p.Require = true
		return p, nil
	}
	d, err := time.Parse(time.DateOnly, requireBy)
	if err != nil || d.Year() < 1970 || d.Year() > 9999 {
		return policyConfig{}, fmt.Errorf("-require-by %q: want now or a date such as 2027-01-31", requireBy)
	}
	p.Require, p.Deadline = true, d
	return p, nil
}

// policy is the application's twofa.Config.Policy: what it asks of
// userID, from the user's role. An administrator whose record cannot be
// read is refused (the error denies), never let through on the weaker
// policy.
func (a *app) policy(ctx context.Context, userID string) (twofa.Policy, error) {
	p := twofa.Policy{Required: a.pol.Require, Deadline: a.pol.Deadline}
	if !a.pol.AdminKeys {
		return p, nil
	}
	u, err := a.userByID(ctx, userID)
	if errors.Is(err, errNoUser) {
		return p, nil // no such user has a role: the policy of everyone
	}
	if err != nil {
		return twofa.Policy{}, err
	}
	if u.Admin {
		p.PhishingResistant = true
	}
	return p, nil
}

// PolicyProblem says how the user falls short of their policy, for the
// administrator page's "Out of policy" list: "" for a user who meets it
// or is within the grace period with nothing set up.
func (r adminRow) PolicyProblem() string {
	st := r.State.Standing
	switch {
	case st.BelowStrength && st.Grace:
		return fmt.Sprintf("Below the required strength: no security key or passkey (%s left)", daysWord(st.DaysLeft))
	case st.BelowStrength:
		return "Below the required strength, past the deadline: no security key or passkey"
	case st.Overdue && st.Policy.PhishingResistant:
		return "Past the deadline: no security key or passkey"
	case st.Overdue:
		return "Past the deadline: no second factor"
	}
	return ""
}

// PolicyGrace says how long a user who has not met the policy yet has
// left, for the users table: "" for anyone else.
func (r adminRow) PolicyGrace() string {
	if st := r.State.Standing; st.Grace {
		return daysWord(st.DaysLeft) + " left to set up"
	}
	return ""
}

func daysWord(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
