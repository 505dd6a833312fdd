package webauthn

import (
	"bytes"
	"strings"
	"testing"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"
)

// FuzzCeremonyData decodes arbitrary stored ceremonies without a panic,
// and round-trips every name with its session.
func FuzzCeremonyData(f *testing.F) {
	seed := func(name string) []byte {
		d := ceremonyData{Name: name, Session: gowebauthn.SessionData{Challenge: "c2VlZA", UserID: []byte("handle")}}
		b, err := d.marshal()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(""), "")
	f.Add(seed("YubiKey"), "Key")
	f.Add(seed(strings.Repeat("\U0001F511", 64)), strings.Repeat("é", 64))
	f.Add([]byte{0x80}, "x")
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "x")
	f.Add([]byte{200, 'a'}, strings.Repeat("a", 200))
	f.Fuzz(func(t *testing.T, stored []byte, name string) {
		var d ceremonyData
		_ = d.unmarshal(stored) // any input: an error or a value, never a panic

		in := ceremonyData{Name: name, Session: gowebauthn.SessionData{Challenge: "Y2hhbGxlbmdl", UserID: stored}}
		b, err := in.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var out ceremonyData
		if err := out.unmarshal(b); err != nil {
			t.Fatalf("unmarshal of a marshalled ceremony: %v", err)
		}
		if out.Name != in.Name || out.Session.Challenge != in.Session.Challenge || !bytes.Equal(out.Session.UserID, in.Session.UserID) {
			t.Fatalf("round trip: %q %q %x, want %q %q %x", out.Name, out.Session.Challenge, out.Session.UserID,
				in.Name, in.Session.Challenge, in.Session.UserID)
		}
	})
}
