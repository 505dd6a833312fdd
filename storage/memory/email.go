package memory

import (
	"bytes"
	"context"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyEmail(s storage.EmailState) storage.EmailState {
	if s.Code != nil {
		c := *s.Code
		c.Hash = bytes.Clone(c.Hash)
		s.Code = &c
	}
	return s
}

// Email implements [storage.EmailStore].
func (s *Store) Email(_ context.Context, userID string) (storage.EmailState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok {
		return storage.EmailState{}, storage.ErrNotFound
	}
	return copyEmail(st), nil
}

// PutEmail implements [storage.EmailStore].
func (s *Store) PutEmail(_ context.Context, userID string, disabled bool, since time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok {
		st = storage.EmailState{UserID: userID, Since: since}
	}
	st.Disabled = disabled
	s.email[userID] = st
	return nil
}

// DeleteEmail implements [storage.EmailStore].
func (s *Store) DeleteEmail(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.email, userID)
	return nil
}

// SwapEmailCode implements [storage.EmailStore].
func (s *Store) SwapEmailCode(_ context.Context, userID string, prev *storage.EmailCode, next storage.EmailCode) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok {
		return false, storage.ErrNotFound
	}
	cur := st.Code
	if (cur == nil) != (prev == nil) || cur != nil && (cur.ID != prev.ID || cur.Failures != prev.Failures) {
		return false, nil
	}
	next.Hash = bytes.Clone(next.Hash)
	st.Code = &next
	s.email[userID] = st
	return true, nil
}

// FailEmailCode implements [storage.EmailStore].
func (s *Store) FailEmailCode(_ context.Context, userID, id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok || st.Code == nil || st.Code.ID != id {
		return 0, storage.ErrNotFound
	}
	st.Code.Failures++
	return st.Code.Failures, nil
}

// ConsumeEmailCode implements [storage.EmailStore].
func (s *Store) ConsumeEmailCode(_ context.Context, userID, id string, maxFailures int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok || st.Code == nil || st.Code.ID != id || st.Code.Failures >= maxFailures {
		return false, nil
	}
	st.Code = nil
	s.email[userID] = st
	return true, nil
}
