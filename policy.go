package twofa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/webauthn"
)

// ErrMethodNotAllowed reports a code (an authenticator app's, an e-mailed
// one, a backup code) from a user whose Policy asks for phishing-resistant
// methods and who has one: only a security key or passkey passes for them.
// Verify returns it before the code is looked at, so nothing is used up and
// the throttle counts nothing.
var ErrMethodNotAllowed = errors.New("twofa: this method is not allowed by the user's policy")

// ErrPolicy wraps every error of Config.Policy: it denies, as a store
// error does.
var ErrPolicy = errors.New("twofa: policy")

// passkeyMethod is the method a session passed with a passkey as a whole
// login (sign-in without a password) is marked with; it is as
// phishing-resistant as a security key.
const passkeyMethod Method = "passkey"

// PhishingResistant reports whether a second step passed with method m
// resists phishing: a security key or passkey, whose signature is bound to
// the site's origin, so that a look-alike site cannot relay it. Codes (an
// app's, an e-mailed one, a backup code) and a remembered browser do not.
func PhishingResistant(m Method) bool { return m == WebAuthn || m == passkeyMethod }

// Policy is what the application asks of one user's second factor
// (Config.Policy), typically from the user's roles or tenant.
//
// The zero Policy is today's behaviour without one: a second factor is
// optional, any method passes.
type Policy struct {
	// Required asks for a second factor: a user without one is sent to
	// set one up, once Deadline has passed.
	Required bool
	// Deadline ends the grace period of a required policy: until then a
	// user who does not meet the policy still passes (the pages say how
	// many days remain); from then on (at Deadline itself included) they
	// are sent to set a method up before anything else. The zero time
	// means no grace: required at once. A deadline before 1970 is in the
	// past and means the same; one far in the future is a long grace.
	Deadline time.Time
	// PhishingResistant asks for security keys or passkeys only, and
	// implies Required. A user who has one passes only with one: the
	// other methods are not offered, and Verify refuses their codes with
	// ErrMethodNotAllowed. A user who has none yet keeps passing with the
	// methods they have (weaker, but better than the password alone) and
	// is asked to add a key: during the grace period by a notice, after
	// it before anything else. A remembered browser does not skip the
	// second step for them: its cookie may have been won by relaying a
	// code to a look-alike site, which is what the policy is to stop.
	//
	// A lost key: backup codes are codes, as phishable as the app's, and
	// are refused too (a backup code that passed would be the very bypass
	// the policy closes). An administrator removes the lost key
	// (Service.RemoveKey) or resets the user (Service.Reset); the user
	// then passes with what is left, or the password alone, and adds a
	// new key, which after the deadline is all they can do. Users under
	// this policy should register two keys. Without Config.WebAuthn no
	// user can meet it.
	PhishingResistant bool
	// Keys are the user's authenticator rules: allow and deny lists of
	// models (AAGUIDs) and whether synced passkeys are refused. New hands
	// them to package webauthn as its Config.Rules when Config.Policy is
	// set and Config.WebAuthn.Rules is not, so a key they refuse is
	// refused at registration and no longer passes a sign-in; nor does it
	// meet a PhishingResistant policy.
	Keys webauthn.KeyRules
}

// required reports whether p asks for a second factor at all.
func (p Policy) required() bool { return p.Required || p.PhishingResistant }

// Standing is where a user stands with their Policy, at one time.
type Standing struct {
	// Policy is the user's policy, as Config.Policy returned it (the zero
	// Policy without Config.Policy).
	Policy Policy
	// Met reports a user who meets the policy: it asks for nothing, or
	// the user has a method that passes it enabled (any primary method; a
	// security key or passkey where the policy is PhishingResistant).
	Met bool
	// Grace reports a user who does not meet the policy and may still
	// pass until Policy.Deadline.
	Grace bool
	// DaysLeft is the number of days left in the grace period, counted up
	// (a second left is one day, 24 hours and a second two): the user is
	// never told less time than they have. It is at least 1 during the
	// grace period and 0 otherwise, never negative.
	DaysLeft int
	// Overdue reports a user who does not meet the policy after its
	// deadline: they must set a method up (add a key, where the policy is
	// PhishingResistant) before anything else.
	Overdue bool
	// BelowStrength reports a user whose policy is PhishingResistant and
	// who has a primary method on, but no security key or passkey: during
	// the grace period and after it.
	BelowStrength bool
}

// judge says where a user stands with p at now: hasKey, whether they have
// a security key or passkey that passes; primary, whether they have any
// primary method on. now has passed storage.CheckTime.
func judge(p Policy, hasKey, primary bool, now time.Time) Standing {
	st := Standing{Policy: p, Met: true}
	if !p.required() {
		return st
	}
	switch {
	case p.PhishingResistant:
		st.Met = hasKey
		st.BelowStrength = !hasKey && primary
	default:
		st.Met = primary
	}
	if st.Met {
		return st
	}
	// A deadline before 1970 (or the zero time) is in the past of every
	// clock CheckTime accepts: no grace. time.Time.Sub saturates, so a
	// deadline centuries away is a long grace, not an overflow.
	if left := p.Deadline.Sub(now); !p.Deadline.IsZero() && left > 0 {
		st.Grace = true
		// Counted up without adding first: left may be the largest
		// Duration.
		st.DaysLeft = int(left / day)
		if left%day != 0 {
			st.DaysLeft++
		}
		return st
	}
	st.Overdue = true
	return st
}

// usableKey reports whether keys holds one that passes: not refused by the
// user's rules.
func usableKey(keys []KeyInfo) bool {
	return slices.ContainsFunc(keys, func(k KeyInfo) bool { return k.Refused == "" })
}

const day = 24 * time.Hour

// policy returns the user's policy: the zero Policy without Config.Policy.
func (s *Service) policy(ctx context.Context, userID string) (Policy, bool, error) {
	if s.policyFn == nil {
		return Policy{}, false, nil
	}
	p, err := s.policyFn(ctx, userID)
	if err != nil {
		return Policy{}, true, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return p, true, nil
}

// applyPolicy reads the user's policy and, with one, sets a.Standing and
// narrows a.Offered to security keys and passkeys for a user whose policy
// asks for them and who has one.
func (s *Service) applyPolicy(ctx context.Context, userID string, a *Account) error {
	p, ok, err := s.policy(ctx, userID)
	if err != nil || !ok {
		a.Standing = Standing{Met: true}
		return err
	}
	now := s.now()
	if err := storage.CheckTime(now); err != nil {
		return fmt.Errorf("twofa: clock: %w", err)
	}
	a.Standing = judge(p, slices.Contains(a.Offered, WebAuthn) && usableKey(a.Keys), a.Requires(), now)
	if p.PhishingResistant && a.Standing.Met {
		a.Offered = slices.DeleteFunc(a.Offered, func(m Method) bool { return !PhishingResistant(m) })
	}
	return nil
}

// Standing returns where the user stands with their policy now: the same
// as Account(...).Standing, reading no more than it must (the policy,
// then the keys or a primary method only if the policy asks for one), as
// Middleware.Handler asks it on every request. Without Config.Policy every
// user meets the zero Policy, and nothing is read. A policy, clock or store
// error is returned, and denies.
func (s *Service) Standing(ctx context.Context, userID string) (Standing, error) {
	if err := checkUser(userID); err != nil {
		return Standing{}, err
	}
	p, ok, err := s.policy(ctx, userID)
	if err != nil || !ok {
		return Standing{Met: true}, err
	}
	now := s.now()
	if err := storage.CheckTime(now); err != nil {
		return Standing{}, fmt.Errorf("twofa: clock: %w", err)
	}
	if !p.required() {
		return judge(p, false, false, now), nil
	}
	if !p.PhishingResistant {
		// Any primary method meets it: the app, read first, costs one read.
		primary, err := s.hasPrimary(ctx, userID)
		if err != nil {
			return Standing{}, err
		}
		return judge(p, false, primary, now), nil
	}
	hasKey := false
	if s.WebAuthn != nil {
		ws, err := s.WebAuthn.State(ctx, userID)
		if err != nil {
			return Standing{}, err
		}
		hasKey = !ws.Disabled && usableKey(ws.Keys)
	}
	primary := hasKey
	if !primary {
		if primary, err = s.hasPrimary(ctx, userID); err != nil {
			return Standing{}, err
		}
	}
	return judge(p, hasKey, primary, now), nil
}

// allowed returns ErrMethodNotAllowed when the user's policy admits only
// security keys and passkeys and the user has one: a typed code is then
// refused before it is looked at. A user who has none yet passes with
// what they have (see Policy.PhishingResistant).
func (s *Service) allowed(ctx context.Context, userID string, p Policy) error {
	if !p.PhishingResistant || s.WebAuthn == nil {
		return nil
	}
	ws, err := s.WebAuthn.State(ctx, userID)
	if err != nil {
		return err
	}
	if !ws.Disabled && usableKey(ws.Keys) {
		return ErrMethodNotAllowed
	}
	return nil
}
