package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyBackup(s storage.BackupSet) storage.BackupSet {
	s.Salt = bytes.Clone(s.Salt)
	hashes := make([][]byte, len(s.Hashes))
	for i, h := range s.Hashes {
		hashes[i] = bytes.Clone(h)
	}
	s.Hashes = hashes
	s.UsedAt = slices.Clone(s.UsedAt)
	return s
}

// BackupSet implements [storage.BackupStore].
func (s *Store) BackupSet(_ context.Context, userID string) (storage.BackupSet, error) {
	if err := checkUser(userID); err != nil {
		return storage.BackupSet{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.backup[userID]
	if !ok {
		return storage.BackupSet{}, storage.ErrNotFound
	}
	set = copyBackup(set)
	set.Throttle = s.throttle[userID]
	return set, nil
}

// ReplaceBackupSet implements [storage.BackupStore].
func (s *Store) ReplaceBackupSet(_ context.Context, set storage.BackupSet, prevSetID string) (bool, error) {
	if err := checkUser(set.UserID); err != nil {
		return false, err
	}
	if err := storage.CheckTime(set.Created); err != nil {
		return false, err
	}
	if err := storage.CheckText(set.SetID, set.KDF); err != nil {
		return false, err
	}
	if set.SetID == "" || set.SetID == prevSetID {
		return false, fmt.Errorf("%w: a new backup set needs a new, non-empty set ID", storage.ErrInvalidArgument)
	}
	set = copyBackup(set)
	set.UsedAt = make([]time.Time, len(set.Hashes))
	set.Throttle = storage.ThrottleState{} // read from s.throttle, never kept here
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backup[set.UserID].SetID != prevSetID { // "" when there is none
		return false, nil
	}
	s.backup[set.UserID] = set
	return true, nil
}

// UseBackupCode implements [storage.BackupStore].
func (s *Store) UseBackupCode(_ context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	return s.useBackupCode(userID, setID, index, at, false)
}

// UseBackupCodeAndResetThrottle implements [storage.BackupStore].
func (s *Store) UseBackupCodeAndResetThrottle(_ context.Context, userID, setID string, index int, at time.Time) (bool, error) {
	return s.useBackupCode(userID, setID, index, at, true)
}

// useBackupCode uses the code and, if reset and it was used, clears the
// throttle state under the same lock.
func (s *Store) useBackupCode(userID, setID string, index int, at time.Time, reset bool) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	// The zero time would read back as "unused": the code would stay
	// usable after it was used.
	if err := storage.CheckTime(at); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.backup[userID]
	if !ok || set.SetID != setID || index < 0 || index >= len(set.UsedAt) || !set.UsedAt[index].IsZero() {
		return false, nil
	}
	set.UsedAt[index] = at
	if reset {
		delete(s.throttle, userID)
	}
	return true, nil
}

// SetBackupDisabled implements [storage.BackupStore].
func (s *Store) SetBackupDisabled(_ context.Context, userID string, disabled bool) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.backup[userID]
	if !ok {
		return storage.ErrNotFound
	}
	set.Disabled = disabled
	s.backup[userID] = set
	return nil
}

// DeleteBackupSet implements [storage.BackupStore].
func (s *Store) DeleteBackupSet(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.backup, userID)
	return nil
}
