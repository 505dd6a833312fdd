package storage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func TestCheckUserID(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		ok   bool
	}{
		{"plain", "alice", true},
		{"one byte", "a", true},
		{"longest", strings.Repeat("a", storage.MaxUserIDLen), true},
		{"four-byte letters", strings.Repeat("😀", storage.MaxUserIDLen/4), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", storage.MaxUserIDLen+1), false},
		{"megabyte", strings.Repeat("a", 1<<20), false},
		{"NUL", "ali\x00ce", false},
		{"invalid UTF-8", "ali\xffce", false},
		{"cut rune", "😀"[:3], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storage.CheckUserID(tc.id)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckUserID = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, storage.ErrInvalidUserID) {
				t.Fatalf("error %v does not match ErrInvalidUserID", err)
			}
			if err != nil && len(tc.id) > 1 && strings.Contains(err.Error(), tc.id) {
				t.Fatalf("error %q quotes the ID", err)
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"now", time.Now(), true},
		{"2001", time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC), true},
		{"zero", time.Time{}, false},
		{"epoch", time.Unix(0, 0), false},
		{"1969", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{"2300", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storage.CheckTime(tc.t)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckTime(%v) = %v, want ok %v", tc.t, err, tc.ok)
			}
			if err != nil && !errors.Is(err, storage.ErrInvalidTime) {
				t.Fatalf("error %v does not match ErrInvalidTime", err)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		ok      bool
	}{
		{"empty", "", true},
		{"plain", "Firefox on Linux", true},
		{"letters", "ünïcødé 用户 😀", true},
		{"NUL", "Fire\x00fox", false},
		{"NUL only", "\x00", false},
		{"invalid UTF-8", "Mozilla/5.0 \xff", false},
		{"cut rune", "😀"[:2], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storage.CheckText(tc.s)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckText = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, storage.ErrInvalidArgument) {
				t.Fatalf("error %v does not match ErrInvalidArgument", err)
			}
			if err != nil && len(tc.s) > 1 && strings.Contains(err.Error(), tc.s) {
				t.Fatalf("error %q quotes the text", err)
			}
		})
	}
}
