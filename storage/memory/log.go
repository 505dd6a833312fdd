package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// AppendLog implements [storage.LogStore]. A user's entries are kept
// oldest first, by Time and then by order of appending, so the ones to trim
// are at the front.
func (s *Store) AppendLog(_ context.Context, e storage.LogEntry, keep int, before time.Time) error {
	if err := storage.CheckLogEntry(e); err != nil {
		return err
	}
	if err := storage.CheckTime(before); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d log entries", storage.ErrInvalidArgument, keep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.logs[e.UserID]
	// After every entry at or before e.Time: an entry of the same time
	// appended later is newer.
	i, _ := slices.BinarySearchFunc(list, e.Time, func(x storage.LogEntry, t time.Time) int {
		if x.Time.After(t) {
			return 1
		}
		return -1
	})
	list = slices.Insert(list, i, e)
	drop := 0
	for drop < len(list) && list[drop].Time.Before(before) {
		drop++
	}
	drop = max(drop, len(list)-keep)
	// In place: the array never holds more than keep+1 entries, and
	// Delete clears the tail, so dropped entries' strings are freed.
	list = slices.Delete(list, 0, drop)
	if len(list) == 0 {
		delete(s.logs, e.UserID)
		return nil
	}
	s.logs[e.UserID] = list
	return nil
}

// Log implements [storage.LogStore].
func (s *Store) Log(_ context.Context, userID string, limit int) ([]storage.LogEntry, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: a limit of %d log entries", storage.ErrInvalidArgument, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.logs[userID]
	out := make([]storage.LogEntry, 0, min(limit, len(list)))
	for i := len(list) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, list[i])
	}
	return out, nil
}

// DeleteLog implements [storage.LogStore].
func (s *Store) DeleteLog(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logs, userID)
	return nil
}
