package webauthn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// rawUser is a go-webauthn user holding the benchmark's one credential.
type rawUser struct{ cred gowebauthn.Credential }

func (u rawUser) WebAuthnID() []byte          { return []byte("bench-user-handle") }
func (u rawUser) WebAuthnName() string        { return "u" }
func (u rawUser) WebAuthnDisplayName() string { return "u" }
func (u rawUser) WebAuthnCredentials() []gowebauthn.Credential {
	return []gowebauthn.Credential{u.cred}
}

// BenchmarkFinishLogin measures FinishLogin on the memory store — taking
// the ceremony, loading the user's keys, go-webauthn's checks, the sign
// count and the update — beside go-webauthn alone parsing and validating a
// response of the same key. Beginning the ceremony and signing the
// assertion are outside the timer in both.
func BenchmarkFinishLogin(b *testing.B) {
	store := memory.New()
	f := newFixture(b, store)
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(b, "u", "Key", d)

	b.Run("twofa", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			id, options, err := f.svc.BeginLogin(ctx, "u")
			if err != nil {
				b.Fatal(err)
			}
			resp := d.assert(b, rp, options)
			b.StartTimer()
			if _, err := f.svc.FinishLogin(ctx, id, "u", resp); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("go-webauthn", func(b *testing.B) {
		stored, _ := store.WebAuthnCredentials(ctx, "u")
		var cred gowebauthn.Credential
		if _, err := cred.UnmarshalMsg(stored[0].Data[2:]); err != nil { // after version and flags
			b.Fatal(err)
		}
		user := rawUser{cred}
		wa, err := gowebauthn.New(&gowebauthn.Config{RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: []string{rp.Origin}})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			b.StopTimer()
			assertion, session, err := wa.BeginLogin(user)
			if err != nil {
				b.Fatal(err)
			}
			options, _ := json.Marshal(assertion)
			resp := d.assert(b, rp, options)
			b.StartTimer()
			parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := wa.ValidateLogin(user, *session, parsed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBeginLogin measures BeginLogin of a user who already holds
// MaxCeremonies unfinished ceremonies, so every begin also drops one: the
// steady state of a user (or attacker) beginning over and over.
func BenchmarkBeginLogin(b *testing.B) {
	for _, backend := range testdb.Backends {
		b.Run(backend.Name, func(b *testing.B) {
			store, _ := backend.Open(b)
			f := newFixture(b, store)
			f.mustRegister(b, "u", "Key", newDevice(virtualwebauthn.AuthenticatorOptions{}))
			for range 5 {
				f.now = f.now.Add(time.Microsecond)
				if _, _, err := f.svc.BeginLogin(ctx, "u"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				f.now = f.now.Add(time.Microsecond)
				if _, _, err := f.svc.BeginLogin(ctx, "u"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFinishRegistration measures FinishRegistration on the memory
// store, without rules and with rules of 20 allowed and 20 denied models
// and DeviceBound, which are read at the finish and checked against the
// new key. Beginning, making the authenticator's answer and removing the
// key again (so the user stays under MaxKeys) are outside the timer.
func BenchmarkFinishRegistration(b *testing.B) {
	rules := webauthn.KeyRules{DeviceBound: true}
	for i := range 20 {
		rules.Allow = append(rules.Allow, webauthn.AAGUID{byte(i), 1})
		rules.Deny = append(rules.Deny, webauthn.AAGUID{byte(i), 2})
	}
	model := rules.Allow[len(rules.Allow)-1] // the last one checked
	for _, bc := range []struct {
		name  string
		rules func(context.Context, string) (webauthn.KeyRules, error)
	}{
		{"no-rules", nil},
		{"rules", func(context.Context, string) (webauthn.KeyRules, error) { return rules, nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, memory.New(), func(c *webauthn.Config) { c.Rules = bc.rules })
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				id, options, err := f.svc.BeginRegistration(ctx, "u", "u", "Key")
				if err != nil {
					b.Fatal(err)
				}
				resp := modelDevice(model, false).attest(b, rp, options)
				b.StartTimer()
				k, err := f.svc.FinishRegistration(ctx, id, "u", resp)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := f.svc.Remove(ctx, "u", k.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
