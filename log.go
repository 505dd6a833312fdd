package twofa

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage"
)

const (
	// DefaultLogKeep is how many security-log entries a user keeps when
	// Config.LogKeep is zero.
	DefaultLogKeep = 200
	// MaxLogKeep is the largest Config.LogKeep New accepts.
	MaxLogKeep = 10000
	// DefaultLogRetention is how long security-log entries are kept when
	// Config.LogRetention is zero.
	DefaultLogRetention = 90 * 24 * time.Hour
	// logTimeout bounds a log write, which does not wait for the request
	// that caused it: a client that hangs up does not erase its trace.
	logTimeout = 10 * time.Second
)

// logged are the events the security log keeps: every change to a user's
// second factor, each sign-in with it, locks and their lifting, and
// remembered browsers. Failures are not logged one by one (a password is
// enough to cause them in any number); the lock they lead to is.
var logged = map[event.Kind]bool{
	event.Enrolled:        true,
	event.Removed:         true,
	event.Disabled:        true,
	event.EnabledAgain:    true,
	event.Verified:        true,
	event.BackupUsed:      true,
	event.BackupGenerated: true,
	event.Locked:          true,
	event.ThrottleUnlock:  true,
	event.Reset:           true,
	event.Remembered:      true,
	event.Forgotten:       true,
	event.Resealed:        true,
	event.Renamed:         true,
	event.CloneWarning:    true,
	event.NoMethodLeft:    true,
	event.BackupOnly:      true,
	event.PasskeySignIn:   true,
}

// logHook records each logged event in the user's security log, then
// passes every event on to next. A failed write changes nothing of what
// caused the event; it emits event.LogFailed to next, so it is seen.
func (s *Service) logHook(next event.Hook) event.Hook {
	return func(ctx context.Context, e event.Event) {
		if logged[e.Kind] && !passkeyKeyCheck(ctx, e) {
			s.record(ctx, next, e)
		}
		next.Emit(ctx, e)
	}
}

func (s *Service) record(ctx context.Context, next event.Hook, e event.Event) {
	at := e.Time
	if at.IsZero() {
		at = s.now()
	}
	entry := storage.LogEntry{UserID: e.UserID, Time: at, Kind: string(e.Kind), Method: e.Method, Detail: e.Reason}
	if e.Kind == event.Locked {
		// When the lock ends says more than a reason would.
		entry.Detail = "until unlocked"
		if !e.Until.IsZero() {
			entry.Detail = "until " + e.Until.UTC().Format(time.RFC3339)
		}
	}
	// The cut-off of a clock near 1970 would itself be refused.
	before := at.Add(-s.logFor)
	if floor := time.Unix(1, 0); before.Before(floor) {
		before = floor
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logTimeout)
	defer cancel()
	if err := s.store.AppendLog(ctx, entry, s.logKeep, before); err != nil {
		next.Emit(ctx, event.Event{Kind: event.LogFailed, Method: e.Method, UserID: e.UserID, Time: e.Time, Reason: string(e.Kind)})
	}
}

// Activity is one entry of a user's security log, as [Service.Activity]
// returns it.
type Activity struct {
	Time time.Time
	// Kind is what happened, as package event names it.
	Kind event.Kind
	// Method is the method concerned; empty when none is.
	Method Method
	// Detail is a short fixed explanation ("revoked", or when a lock ends
	// as "until 2026-11-30T12:00:00Z"); it never holds a secret.
	Detail string
	// What says what happened in words, for people: "Signed in with the
	// authenticator app".
	What string
}

// Activity returns the user's newest security-log entries, at most limit,
// newest first. The log keeps, per user, the last Config.LogKeep events
// within Config.LogRetention: methods added, turned off or on, removed;
// sign-ins with each method; new backup codes and each one used; locks,
// unlocks and resets; browsers remembered and forgotten; secrets sealed
// again under a new key. [Service.Reset] keeps the log: it is the record of
// what happened, the reset included.
//
// A limit below 1 is an error matching storage.ErrInvalidArgument.
func (s *Service) Activity(ctx context.Context, userID string, limit int) ([]Activity, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	entries, err := s.store.Log(ctx, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("twofa: read the security log: %w", err)
	}
	list := make([]Activity, 0, len(entries))
	for _, e := range entries {
		list = append(list, Activity{Time: e.Time, Kind: event.Kind(e.Kind), Method: Method(e.Method), Detail: e.Detail, What: Describe(e)})
	}
	return list, nil
}

// activityWords say, for people, what each logged kind means; %s is the
// method's name, where the phrase has one.
var activityWords = map[event.Kind]string{
	event.Enrolled:        "Added %s",
	event.Removed:         "Removed %s",
	event.Disabled:        "Turned off %s",
	event.EnabledAgain:    "Turned on %s again",
	event.Verified:        "Signed in with %s",
	event.BackupUsed:      "Signed in with a backup code",
	event.BackupGenerated: "Made a new set of backup codes",
	event.Locked:          "Locked after too many wrong codes",
	event.ThrottleUnlock:  "Unlocked by an administrator",
	event.Reset:           "Two-factor authentication reset by an administrator",
	event.Remembered:      "Remembered a browser",
	event.Forgotten:       "Forgot a remembered browser",
	event.Resealed:        "Secret of %s sealed again under a new key",
	event.Renamed:         "Renamed %s",
	event.CloneWarning:    "Warning: %s may have been copied",
	event.NoMethodLeft:    "No second sign-in step left",
	event.BackupOnly:      "Only backup codes left",
	event.PasskeySignIn:   "Signed in with a passkey, without a password",
}

// methodWords name the methods in the log, with their article.
var methodWords = map[Method]string{
	TOTP:     "the authenticator app",
	WebAuthn: "a security key",
	Email:    "codes by e-mail",
	Backup:   "backup codes",
	Passkey:  "a passkey",
}

// Describe says in words what a security-log entry records, as the
// settings page and an operator show it: "Signed in with the
// authenticator app", "Locked after too many wrong codes (until 30 Nov
// 2026, 12:00 UTC)". An entry of a kind or method it does not know is
// named by its identifiers.
func Describe(e storage.LogEntry) string {
	words, ok := activityWords[event.Kind(e.Kind)]
	if !ok {
		words = e.Kind
		if e.Method != "" {
			words += " (" + e.Method + ")"
		}
	} else if strings.Contains(words, "%s") {
		m, ok := methodWords[Method(e.Method)]
		if !ok {
			m = "a sign-in method"
			if e.Method != "" {
				m = "method " + e.Method
			}
		}
		words = fmt.Sprintf(words, m)
	}
	switch {
	case event.Kind(e.Kind) == event.Verified && Method(e.Method) == Email:
		words = "Signed in with a code by e-mail"
	case event.Kind(e.Kind) == event.Locked && e.Detail == "until unlocked":
		words += " (until an administrator unlocks it)"
	case event.Kind(e.Kind) == event.Locked && strings.HasPrefix(e.Detail, "until "):
		if until, err := time.Parse(time.RFC3339, strings.TrimPrefix(e.Detail, "until ")); err == nil {
			words += " (until " + until.UTC().Format("2 Jan 2006, 15:04 UTC") + ")"
		}
	case event.Kind(e.Kind) == event.Forgotten && e.Detail == "expired":
		words = "A remembered browser expired"
	case event.Kind(e.Kind) == event.Forgotten && e.Detail == "all revoked":
		words = "Forgot every remembered browser"
	}
	return words
}
