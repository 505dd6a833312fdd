package storage

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrInvalidUserID reports a user ID outside the one rule every entry
	// point and every store applies (see CheckUserID).
	ErrInvalidUserID = errors.New("storage: invalid user ID")

	// ErrInvalidTime reports a time no store keeps and no factor trusts:
	// before 1970 (a clock that was never set, or the zero time), or past
	// 2262 (where Unix nanoseconds end).
	ErrInvalidTime = errors.New("storage: invalid time")
)

// MaxUserIDLen is the longest user ID, in bytes.
const MaxUserIDLen = 255

// CheckUserID applies the rule for user IDs: 1 to MaxUserIDLen bytes of
// valid UTF-8 without a NUL byte. The rule is the same on every engine, so
// an ID that one store keeps every other store keeps too. It returns nil or
// an error matching ErrInvalidUserID, which never quotes the ID.
func CheckUserID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidUserID)
	case len(id) > MaxUserIDLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidUserID, MaxUserIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidUserID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return fmt.Errorf("%w: holds a NUL byte", ErrInvalidUserID)
		}
	}
	return nil
}

var (
	minTime = time.Unix(1, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// CheckTime returns nil for a time a store can keep and a factor may act
// on, and an error matching ErrInvalidTime for any other: the zero time, a
// clock before 1970, or one past the year 2262. Every factor checks its
// clock with it and denies on an error; every store refuses such a time in
// a write, so a broken clock can never mark a code used at "no time".
//
// With several times, it checks each and returns the first error.
func CheckTime(ts ...time.Time) error {
	for _, t := range ts {
		if t.Before(minTime) || t.After(maxTime) {
			return fmt.Errorf("%w: %s", ErrInvalidTime, t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// CheckText returns nil for a string every store keeps as text, and an
// error matching ErrInvalidArgument, which never quotes it, for one that
// is not valid UTF-8 or holds a NUL byte: PostgreSQL refuses those and
// SQLite keeps them, so the rule decides, not the engine. Stores apply it
// to the text they write (record IDs, labels, names); a factor that writes
// text from a request, such as a browser's User-Agent as a label, can clean
// it first with strings.ToValidUTF8 and by dropping NUL bytes.
//
// With several strings, it checks each and returns the first error.
func CheckText(ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalidArgument)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: text holds a NUL byte", ErrInvalidArgument)
		}
	}
	return nil
}
