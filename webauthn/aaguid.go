package webauthn

// The shipped table of names (providers.go) is refreshed from the
// community list of passkey providers' AAGUIDs; see internal/aaguidgen.
//go:generate go run ./internal/aaguidgen -o providers.go

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AAGUID names an authenticator model (WebAuthn §6.5.1): every key of one
// make and model reports the same 16 bytes when it registers. Keys that
// send no model (attestation "none" on some platforms, U2F keys) report
// all zeroes.
type AAGUID [16]byte

// ErrAAGUID reports text that is not an AAGUID in its canonical form.
var ErrAAGUID = errors.New("webauthn: an AAGUID is 32 hex digits in groups of 8-4-4-4-12")

// ErrKeyRefused reports an authenticator that the user's KeyRules do not
// allow. It is wrapped with the rule that refused it: one of ErrModelDenied,
// ErrModelNotAllowed, ErrSyncedRefused.
var ErrKeyRefused = errors.New("webauthn: this authenticator is not allowed")

// The rule that refused a key, each matching ErrKeyRefused too.
var (
	ErrModelDenied     = fmt.Errorf("%w: %s", ErrKeyRefused, whyDenied)
	ErrModelNotAllowed = fmt.Errorf("%w: %s", ErrKeyRefused, whyNotAllowed)
	ErrSyncedRefused   = fmt.Errorf("%w: %s", ErrKeyRefused, whySynced)
)

// The reasons Key.Refused gives.
const (
	whyDenied     = "its model is on the deny list"
	whyNotAllowed = "its model is not on the allow list"
	whySynced     = "synced passkeys are not allowed, only keys bound to one device"
)

// ParseAAGUID reads the canonical form, 8-4-4-4-12 hex digits
// ("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), in either case. Anything else
// is refused with an error matching ErrAAGUID.
func ParseAAGUID(s string) (AAGUID, error) {
	var a AAGUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return a, ErrAAGUID
	}
	j := 0
	for _, group := range [5][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		n, err := hex.Decode(a[j:], []byte(s[group[0]:group[1]]))
		if err != nil {
			return AAGUID{}, ErrAAGUID
		}
		j += n
	}
	return a, nil
}

// String returns the canonical form, lower case.
func (a AAGUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], a[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], a[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], a[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], a[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], a[10:16])
	return string(b[:])
}

// IsZero reports whether a is all zeroes: the authenticator did not say
// what model it is.
func (a AAGUID) IsZero() bool { return a == AAGUID{} }

// MarshalText writes the canonical form, so an AAGUID reads well in JSON.
func (a AAGUID) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads the canonical form.
func (a *AAGUID) UnmarshalText(b []byte) error {
	v, err := ParseAAGUID(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// aaguidOf converts go-webauthn's AAGUID bytes; anything but 16 bytes
// (a record written before the model was kept, or a malformed one) is
// the zero AAGUID, which names no model.
func aaguidOf(b []byte) AAGUID {
	var a AAGUID
	if len(b) == len(a) {
		copy(a[:], b)
	}
	return a
}

// Provider is the shipped name of the authenticator model a, "" if
// unknown: the community list of passkey providers' AAGUIDs, as of the
// library's release. Config.Providers names models over it for a Service.
func Provider(a AAGUID) string {
	if a.IsZero() {
		return ""
	}
	return shippedProviders[a]
}

// provider is the name a Service gives a: the application's, else the
// shipped one.
func (s *Service) provider(a AAGUID) string {
	if a.IsZero() {
		return ""
	}
	if n, ok := s.cfg.Providers[a]; ok {
		return n
	}
	return Provider(a)
}

// KeyRules say which authenticators a user may register and use.
//
// The AAGUID is the authenticator's own claim: with attestation "none",
// which this package asks for, nothing proves it. An allow list keeps
// honest users on the approved models; it does not stop someone who
// builds or patches an authenticator to claim another model's AAGUID.
type KeyRules struct {
	Allow       []AAGUID // when not empty, only these models
	Deny        []AAGUID // never these
	DeviceBound bool     // refuse synced (backup-eligible) passkeys
}

// refusal returns why the rules refuse a key of model a, backup-eligible
// or not, and the error to answer; "" and nil when they allow it.
func (r KeyRules) refusal(a AAGUID, backupEligible bool) (string, error) {
	switch {
	case slices.Contains(r.Deny, a):
		return whyDenied, ErrModelDenied
	case len(r.Allow) > 0 && !slices.Contains(r.Allow, a):
		return whyNotAllowed, ErrModelNotAllowed
	case r.DeviceBound && backupEligible:
		return whySynced, ErrSyncedRefused
	}
	return "", nil
}

// rules asks Config.Rules for userID's rules; nil allows every
// authenticator. An error is returned as it is, wrapped, never taken as
// "no rules": like a failing store, it fails the registration or sign-in
// (a server fault, not ErrKeyRefused, which says the rules refused).
func (s *Service) rules(ctx context.Context, userID string) (KeyRules, error) {
	if s.cfg.Rules == nil {
		return KeyRules{}, nil
	}
	r, err := s.cfg.Rules(ctx, userID)
	if err != nil {
		return KeyRules{}, fmt.Errorf("webauthn: key rules: %w", err)
	}
	return r, nil
}

// maxProviderName bounds a model's name, as the generator bounds the
// shipped ones: one line beside the user's own name for the key.
const maxProviderName = 128

// checkProviders refuses names an application gives models that a page
// could not show on one line as they are: empty, too long, not UTF-8,
// control or formatting characters (which can reorder the text around
// them), spaces around; and the zero AAGUID, which names no model.
func checkProviders(p map[AAGUID]string) error {
	for a, name := range p {
		if a.IsZero() {
			return errors.New("webauthn: Config.Providers names the zero AAGUID, which no model has")
		}
		ok := name != "" && name == strings.TrimSpace(name) && utf8.ValidString(name) && utf8.RuneCountInString(name) <= maxProviderName
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				ok = false
			}
		}
		if !ok {
			return fmt.Errorf("webauthn: Config.Providers[%v]: a name is 1 to %d characters of text on one line, without spaces around", a, maxProviderName)
		}
	}
	return nil
}
