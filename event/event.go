// Package event describes the security-relevant things twofa does, for the
// application to record, alert on or mail to the user.
//
// Every factor package takes a [Hook]. An event names the user, the method
// and what happened; it never holds a secret, a code or a token, so a hook
// may log it as it is. [Slog] adapts a [log/slog.Logger].
package event

import (
	"context"
	"log/slog"
	"time"
)

// Kind says what happened.
type Kind string

// The kinds of event.
const (
	Enrolled        Kind = "enrolled"           // a method was set up and confirmed
	Imported        Kind = "imported"           // a secret made by another system was imported, enabled at once
	SetupStarted    Kind = "setup_started"      // a set-up (or a move to a new phone) began
	Verified        Kind = "verified"           // a second-factor check passed
	Failed          Kind = "failed"             // a second-factor check failed
	ReplayRefused   Kind = "replay_refused"     // a code already used was presented again
	Throttled       Kind = "throttled"          // an attempt was refused by the throttle
	Disabled        Kind = "disabled"           // a method was turned off for a while
	EnabledAgain    Kind = "enabled"            // a disabled method was turned back on
	Removed         Kind = "removed"            // a method and its secret were deleted
	Resealed        Kind = "resealed"           // a secret was sealed again under the primary key
	BackupUsed      Kind = "backup_used"        // a backup code was used: tell the user
	BackupGenerated Kind = "backup_generated"   // a new set of backup codes replaced the old
	Reset           Kind = "reset"              // an administrator removed every method of a user
	CodeSent        Kind = "code_sent"          // a one-time code was mailed
	NoticeFailed    Kind = "notice_failed"      // a security notice could not be mailed
	LogFailed       Kind = "log_failed"         // an event could not be written to the security log
	Renamed         Kind = "renamed"            // a security key was renamed
	CloneWarning    Kind = "clone_warning"      // a security key's sign count did not increase
	ThrottleUnlock  Kind = "throttle_unlock"    // an administrator cleared a user's failures
	Remembered      Kind = "browser_remembered" // a browser was remembered, to skip the second step
	Forgotten       Kind = "browser_revoked"    // a remembered browser was revoked or expired
	Locked          Kind = "locked"             // failed attempts began a lock: tell the user
	NoMethodLeft    Kind = "no_method_left"     // the last enabled method was turned off or removed
	BackupOnly      Kind = "backup_only"        // the last primary method went and backup codes alone remain, which do not count
	PasskeySignIn   Kind = "passkey_sign_in"    // a passkey that verified the user signed in, as both factors, without a password
)

// Event is one security-relevant occurrence.
type Event struct {
	Kind   Kind
	Method string // "totp", "backup", ...
	UserID string
	Time   time.Time
	// Reason adds a short, fixed explanation ("malformed code", "store
	// error"); it never holds user input.
	Reason string
	// Until is when a lock ends by itself, for Kind Locked; zero for a lock
	// that only an administrator lifts, and for every other kind.
	Until time.Time
}

// Hook receives events. It is called synchronously, so it should not block;
// a nil Hook discards events.
type Hook func(context.Context, Event)

// Emit calls h if it is not nil.
func (h Hook) Emit(ctx context.Context, e Event) {
	if h != nil {
		h(ctx, e)
	}
}

// Slog returns a hook that writes each event to l at level Info, or Warn for
// failures, refused replays and throttling.
func Slog(l *slog.Logger) Hook {
	return func(ctx context.Context, e Event) {
		level := slog.LevelInfo
		switch e.Kind {
		case Failed, ReplayRefused, Throttled, Locked:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("event", string(e.Kind)),
			slog.String("method", e.Method),
			slog.String("user", e.UserID),
			slog.Time("at", e.Time),
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if !e.Until.IsZero() {
			attrs = append(attrs, slog.Time("until", e.Until))
		}
		l.LogAttrs(ctx, level, "twofa", attrs...)
	}
}
