package webauthn

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// TestShippedTableWellFormed checks every entry of providers.go as the
// generator does: a model, and a name fit to show on one line.
func TestShippedTableWellFormed(t *testing.T) {
	if len(shippedProviders) < 100 {
		t.Fatalf("the shipped table has %d names; the list had about 300", len(shippedProviders))
	}
	for a, name := range shippedProviders {
		if a.IsZero() {
			t.Errorf("the zero AAGUID is named %q", name)
		}
		if name == "" || name != strings.TrimSpace(name) || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 128 {
			t.Errorf("%v: name %q", a, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Errorf("%v: name %q has %U", a, name, r)
			}
		}
		if b, err := ParseAAGUID(a.String()); err != nil || b != a {
			t.Errorf("%v does not read back: %v", a, err)
		}
	}
}

// TestOldRecords: a record whose credential has no AAGUID (or one of the
// wrong length) reads, names no provider, and passes rules that do not
// ask for a model; an allow list refuses it, as it refuses any key that
// did not say what it is.
func TestOldRecords(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	svc, err := New(Config{RPID: "example.com", Origins: []string{"https://example.com"}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for i, aaguid := range [][]byte{nil, {1, 2, 3}} {
		rec := record{Credential: gowebauthn.Credential{ID: []byte{byte(i + 1)}, PublicKey: []byte{1}}}
		rec.Credential.Authenticator.AAGUID = aaguid
		data, err := rec.marshal()
		if err != nil {
			t.Fatal(err)
		}
		c := storage.WebAuthnCredential{ID: rec.Credential.ID, UserID: "u", Name: "Old", Data: data, Created: time.Unix(1700000000, 0)}
		if err := store.AddWebAuthnCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := svc.Keys(ctx, "u")
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	for _, k := range keys {
		if !k.AAGUID.IsZero() || k.Provider != "" || k.Name != "Old" || k.Refused != "" {
			t.Errorf("old key %+v", k)
		}
		if why, _ := (KeyRules{Deny: []AAGUID{{9}}, DeviceBound: true}).refusal(k.AAGUID, k.Synced); why != "" {
			t.Errorf("refused by rules that name no model of it: %s", why)
		}
		if _, err := (KeyRules{Allow: []AAGUID{{9}}}).refusal(k.AAGUID, k.Synced); !errors.Is(err, ErrModelNotAllowed) {
			t.Error("an allow list lets a key without a model through")
		}
	}
}
