// Package virtualkey is a software security key for tests, on
// github.com/descope/virtualwebauthn.
package virtualkey

import (
	"crypto/ecdsa"
	"crypto/x509"
	"testing"

	"github.com/descope/virtualwebauthn"
)

// RP is the relying party the tests use.
var RP = virtualwebauthn.RelyingParty{ID: "example.com", Name: "Example", Origin: "https://example.com"}

// Device is one authenticator holding one credential.
type Device struct {
	Auth virtualwebauthn.Authenticator
	Cred virtualwebauthn.Credential
}

// New returns a device with a fresh credential.
func New(opts virtualwebauthn.AuthenticatorOptions) *Device {
	d := &Device{Auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), Cred: credential()}
	d.Auth.AddCredential(d.Cred)
	return d
}

// credential draws an EC2 credential whose public key virtualwebauthn
// encodes correctly. It writes the coordinates with big.Int.Bytes, without
// padding, so about one key in 128 has a short x or y, which go-webauthn
// rightly refuses; a real authenticator pads them.
func credential() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(err)
		}
		// The uncompressed point is 0x04, x and y, each padded to 32
		// bytes: a leading zero is a coordinate virtualwebauthn shortens.
		b, err := k.(*ecdsa.PrivateKey).PublicKey.Bytes()
		if err != nil {
			panic(err)
		}
		if b[1] != 0 && b[33] != 0 {
			return c
		}
	}
}

// Attest answers a registration ceremony's options as relying party rp.
func (d *Device) Attest(t testing.TB, rp virtualwebauthn.RelyingParty, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatalf("parse creation options: %v\n%s", err, options)
	}
	return []byte(virtualwebauthn.CreateAttestationResponse(rp, d.Auth, d.Cred, *opts))
}

// Assert answers a login ceremony's options, with the counter moved on as
// a real key does.
func (d *Device) Assert(t testing.TB, rp virtualwebauthn.RelyingParty, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatalf("parse request options: %v\n%s", err, options)
	}
	d.Cred.Counter++
	return []byte(virtualwebauthn.CreateAssertionResponse(rp, d.Auth, d.Cred, *opts))
}
