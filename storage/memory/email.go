package memory

import (
	"bytes"
	"context"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyCode(c *storage.EmailCode) *storage.EmailCode {
	if c == nil {
		return nil
	}
	x := *c
	x.Hash = bytes.Clone(c.Hash)
	x.Binding = bytes.Clone(c.Binding)
	return &x
}

func copyEmail(s storage.EmailState) storage.EmailState {
	s.Code = copyCode(s.Code)
	return s
}

// Email implements [storage.EmailStore].
func (s *Store) Email(_ context.Context, userID string) (storage.EmailState, error) {
	if err := checkUser(userID); err != nil {
		return storage.EmailState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok {
		return storage.EmailState{}, storage.ErrNotFound
	}
	st = copyEmail(st)
	st.Throttle = s.throttle[userID]
	return st, nil
}

// PutEmail implements [storage.EmailStore].
func (s *Store) PutEmail(_ context.Context, userID string, disabled bool, since time.Time) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := storage.CheckTime(since); err != nil {
		return err
	}
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
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.email, userID)
	return nil
}

// SwapEmailCode implements [storage.EmailStore].
func (s *Store) SwapEmailCode(_ context.Context, userID string, prev, next *storage.EmailCode) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	if next != nil {
		if err := storage.CheckTime(next.Sent, next.Expires); err != nil {
			return false, err
		}
		if err := storage.CheckText(next.ID); err != nil {
			return false, err
		}
	}
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
	st.Code = copyCode(next)
	s.email[userID] = st
	return true, nil
}

// FailEmailCode implements [storage.EmailStore].
func (s *Store) FailEmailCode(_ context.Context, userID, id string) (int, error) {
	if err := checkUser(userID); err != nil {
		return 0, err
	}
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
	return s.consumeEmailCode(userID, id, maxFailures, false)
}

// ConsumeEmailCodeAndResetThrottle implements [storage.EmailStore].
func (s *Store) ConsumeEmailCodeAndResetThrottle(_ context.Context, userID, id string, maxFailures int) (bool, error) {
	return s.consumeEmailCode(userID, id, maxFailures, true)
}

// consumeEmailCode consumes the code and, if reset and it was consumed,
// clears the throttle state under the same lock.
func (s *Store) consumeEmailCode(userID, id string, maxFailures int, reset bool) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.email[userID]
	if !ok || st.Code == nil || st.Code.ID != id || st.Code.Failures >= maxFailures {
		return false, nil
	}
	st.Code = nil
	s.email[userID] = st
	if reset {
		delete(s.throttle, userID)
	}
	return true, nil
}
