package httpmw

import "fmt"

// msgKeyOnly says why a user whose policy is phishing-resistant is offered
// only security keys and passkeys.
const msgKeyOnly = "Your organisation requires a security key or passkey for this account."

// PolicyNotice words where the user stands with their policy
// (twofa.Standing), for the challenge and the settings: the days left to
// set a method up or add a security key, that it must be done now, or why
// only security keys and passkeys are offered. "" when there is nothing to
// say. The template "policy" shows it.
func (p Page) PolicyNotice() string {
	st := p.State.Standing
	switch {
	case st.Grace && st.BelowStrength:
		return msgKeyOnly + " Add one within " + days(st.DaysLeft) + ": after that, you will have to add one before anything else."
	case st.Grace && st.Policy.PhishingResistant:
		return "Your organisation requires a security key or passkey at login. Add one within " + days(st.DaysLeft) + ": after that, you will have to add one before anything else."
	case st.Grace:
		return "Your organisation requires a second step at login. Set one up within " + days(st.DaysLeft) + ": after that, you will have to set one up before anything else."
	case st.Overdue && (st.BelowStrength || st.Policy.PhishingResistant):
		return msgKeyOnly + " Add one below to go on."
	case st.Overdue && !p.SetUpRequired:
		return "Your organisation requires a second step at login. Set up " + p.PrimaryNames() + " below to go on."
	case st.Met && st.Policy.PhishingResistant:
		return msgKeyOnly + " Other methods are not offered at login."
	}
	return ""
}

// PolicyUrgent reports a notice that asks for action now (the deadline has
// passed), which the template shows as an alert.
func (p Page) PolicyUrgent() bool { return p.State.Standing.Overdue }

// days words n days, n ≥ 1.
func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
