package httpmw

// PolicyNotice words where the user stands with their policy
// (twofa.Standing), for the challenge and the settings, in the page's
// language: the days left to set a method up or add a security key, that
// it must be done now, or why only security keys and passkeys are offered.
// "" when there is nothing to say. The template "policy" shows it.
func (p Page) PolicyNotice() string {
	st := p.State.Standing
	switch {
	case st.Grace && st.BelowStrength:
		return p.T("policy.keys-only.grace", "Count", st.DaysLeft)
	case st.Grace && st.Policy.PhishingResistant:
		return p.T("policy.keys-at-login.grace", "Count", st.DaysLeft)
	case st.Grace:
		return p.T("policy.required.grace", "Count", st.DaysLeft)
	case st.Overdue && (st.BelowStrength || st.Policy.PhishingResistant):
		return p.T("policy.keys-only.overdue")
	case st.Overdue && !p.SetUpRequired:
		return p.T("policy.required.overdue", "Methods", p.PrimaryNames())
	case st.Met && st.Policy.PhishingResistant:
		return p.T("policy.keys-only.met")
	}
	return ""
}

// PolicyUrgent reports a notice that asks for action now (the deadline has
// passed), which the template shows as an alert.
func (p Page) PolicyUrgent() bool { return p.State.Standing.Overdue }
