package twofa_test

import (
	"testing"

	"github.com/twofa-go/twofa"
)

// BenchmarkPolicy is what Config.Policy adds to the account view and to
// the questions asked on every request, on the memory store, for a user
// with an app, e-mail codes, backup codes and a security key: without a
// policy, with a required one, and with a keys-only one (which narrows
// Offered and reads the keys' rules from the policy too).
func BenchmarkPolicy(b *testing.B) {
	for _, c := range []struct {
		name string
		pol  *twofa.Policy
	}{
		{"none", nil},
		{"required", &twofa.Policy{Required: true}},
		{"keys-only", &twofa.Policy{PhishingResistant: true}},
	} {
		pf := newPolicyFixture(b)
		if c.pol == nil {
			pf.fixture = newFixture(b, pf.store)
		} else {
			pf.set(*c.pol, nil)
		}
		pf.setUp(b, "u")
		pf.addKey(b, "u", "YubiKey")
		b.Run("Account/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if a, err := pf.tf.Account(ctx, "u"); err != nil || !a.Standing.Met {
					b.Fatal(a.Standing, err)
				}
			}
		})
		b.Run("Requires/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, err := pf.tf.Requires(ctx, "u"); err != nil || !r {
					b.Fatal(r, err)
				}
			}
		})
		b.Run("Standing/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if st, err := pf.tf.Standing(ctx, "u"); err != nil || !st.Met {
					b.Fatal(st, err)
				}
			}
		})
	}
}
