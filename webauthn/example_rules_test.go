package webauthn_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

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
