package webauthn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// A security key registered and then used as the second step. The browser's
// part (navigator.credentials.create and get, fed the options and sending
// back the response as JSON) is played here by a virtual authenticator.
func Example() {
	ctx := context.Background()
	keys, err := webauthn.New(webauthn.Config{
		RPID:          "example.com",
		RPDisplayName: "Acme",
		Origins:       []string{"https://example.com"},
		Store:         memory.New(),
	})
	if err != nil {
		log.Fatal(err)
	}
	rp := virtualwebauthn.RelyingParty{ID: "example.com", Name: "Acme", Origin: "https://example.com"}
	authenticator := virtualwebauthn.NewAuthenticator()
	cred := newCredential()
	authenticator.AddCredential(cred)

	// Registration: options to the browser, its response back.
	ceremony, options, err := keys.BeginRegistration(ctx, "alice", "alice@example.com", "Blue key")
	if err != nil {
		log.Fatal(err)
	}
	creation, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		log.Fatal(err)
	}
	response := virtualwebauthn.CreateAttestationResponse(rp, authenticator, cred, *creation)
	key, err := keys.FinishRegistration(ctx, ceremony, "alice", []byte(response))
	fmt.Println(key.Name, err)

	// The second step of a later login.
	ceremony, options, err = keys.BeginLogin(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	request, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		log.Fatal(err)
	}
	cred.Counter++ // a real key counts its signatures
	assertion := virtualwebauthn.CreateAssertionResponse(rp, authenticator, cred, *request)
	res, err := keys.FinishLogin(ctx, ceremony, "alice", []byte(assertion))
	fmt.Println(res.Key.Name, err)

	// The same response again is refused: its ceremony was used up.
	_, err = keys.FinishLogin(ctx, ceremony, "alice", []byte(assertion))
	fmt.Println(err != nil)
	// Output:
	// Blue key <nil>
	// Blue key <nil>
	// true
}

// newCredential returns a new EC2 key pair for the virtual authenticator,
// skipping one whose public point has a coordinate with a leading zero
// byte, which virtualwebauthn encodes short.
func newCredential() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			log.Fatal(err)
		}
		b, err := k.(*ecdsa.PrivateKey).PublicKey.Bytes()
		if err != nil {
			log.Fatal(err)
		}
		if b[1] != 0 && b[33] != 0 {
			return c
		}
	}
}

// Names for authenticator models: the shipped table, and an
// application's own.
func ExampleProvider() {
	yubiKey, err := webauthn.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(webauthn.Provider(yubiKey))
	_, err = webauthn.ParseAAGUID("2fc0579f8113")
	fmt.Println(errors.Is(err, webauthn.ErrAAGUID))
	// Output:
	// YubiKey 5 Series with NFC
	// true
}

// Only keys bound to one device, of approved models: a synced passkey is
// refused, and nothing is stored.
func ExampleKeyRules() {
	ctx := context.Background()
	yubiKey, _ := webauthn.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	keys, err := webauthn.New(webauthn.Config{
		RPID:    "example.com",
		Origins: []string{"https://example.com"},
		Store:   memory.New(),
		Rules: func(ctx context.Context, userID string) (webauthn.KeyRules, error) {
			// Read from the application's policy for userID; an error
			// refuses.
			return webauthn.KeyRules{Allow: []webauthn.AAGUID{yubiKey}, DeviceBound: true}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	rp := virtualwebauthn.RelyingParty{ID: "example.com", Name: "example.com", Origin: "https://example.com"}
	// A password manager's passkey: backup eligible, another model.
	phone := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	cred := newCredential()
	phone.AddCredential(cred)

	ceremony, options, err := keys.BeginRegistration(ctx, "alice", "alice@example.com", "Phone")
	if err != nil {
		log.Fatal(err)
	}
	creation, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		log.Fatal(err)
	}
	response := virtualwebauthn.CreateAttestationResponse(rp, phone, cred, *creation)
	_, err = keys.FinishRegistration(ctx, ceremony, "alice", []byte(response))
	fmt.Println(errors.Is(err, webauthn.ErrKeyRefused))
	fmt.Println(err)
	list, _ := keys.Keys(ctx, "alice")
	fmt.Println(len(list), "keys")
	// Output:
	// true
	// webauthn: this authenticator is not allowed: its model is not on the allow list
	// 0 keys
}
