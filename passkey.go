package twofa

import (
	"context"
	"errors"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/webauthn"
)

var (
	// ErrPasskeysOff reports a passkey sign-in on a Service without
	// security keys (Config.WebAuthn.RPID unset).
	ErrPasskeysOff = errors.New("twofa: passkeys are not configured (Config.WebAuthn.RPID)")
	// ErrUserNotVerified reports a passkey that proved only that someone
	// touched it, not who (no PIN or biometric): one factor, which cannot
	// sign in alone.
	ErrUserNotVerified = errors.New("twofa: the passkey did not verify the user, so it cannot sign in without a password")
)

// BeginPasskeySignIn starts a sign-in with a passkey alone, for a visitor
// no one knows yet: the options ({"publicKey": ...}) ask the browser for
// any passkey of this site, with user verification required whatever
// Config.WebAuthn.RequireUserVerification says. See
// webauthn.Service.BeginPasskeyLogin for the bound on unfinished
// sign-ins.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (ceremony string, options []byte, err error) {
	if s.WebAuthn == nil {
		return "", nil, ErrPasskeysOff
	}
	return s.WebAuthn.BeginPasskeyLogin(ctx)
}

// FinishPasskeySignIn checks the browser's answer to a ceremony of
// BeginPasskeySignIn and returns the user whose passkey it is. A passkey
// that verified the user is both factors: the caller logs the user in
// with no password and records the second step as passed with method
// Passkey. The ceremony is used once whatever the outcome. Refused: a
// response without user verification (ErrUserNotVerified), a user whose
// security keys are turned off (webauthn.ErrNotEnabled), a key no user
// has and any response that does not verify (webauthn.ErrResponse), an
// unknown or used ceremony (webauthn.ErrCeremony). A sign-in emits
// event.PasskeySignIn, which the security log keeps ("Signed in with a
// passkey"); the key check inside it is not logged a second time.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte) (userID string, err error) {
	if s.WebAuthn == nil {
		return "", ErrPasskeysOff
	}
	userID, res, err := s.WebAuthn.FinishPasskeyLogin(context.WithValue(ctx, passkeySignInKey{}, true), ceremony, response)
	if err != nil {
		return "", err
	}
	if !res.UserVerified {
		// The ceremony asks for it, and go-webauthn checks it then; this
		// holds whatever the options said.
		s.events.Emit(ctx, event.Event{Kind: event.Failed, Method: string(Passkey), UserID: userID, Time: s.now(), Reason: "user not verified"})
		return "", ErrUserNotVerified
	}
	s.events.Emit(ctx, event.Event{Kind: event.PasskeySignIn, Method: string(Passkey), UserID: userID, Time: s.now()})
	return userID, nil
}

// passkeySignInKey marks the context of a passkey sign-in.
type passkeySignInKey struct{}

// passkeyKeyCheck reports the key check inside a passkey sign-in, which
// the security log leaves out: the sign-in's own entry says it all, and a
// second "Signed in with a security key" would read as another sign-in.
func passkeyKeyCheck(ctx context.Context, e event.Event) bool {
	return e.Kind == event.Verified && e.Method == webauthn.Method && ctx.Value(passkeySignInKey{}) != nil
}
