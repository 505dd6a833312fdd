// Package memory is an in-process [storage.Store] for tests and for
// applications that run as one process. Everything is lost when the process
// ends, and nothing is shared with another process: use package
// [github.com/twofa-go/twofa/storage/sqlstore] to share state between
// application servers.
package memory

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/twofa-go/twofa/storage"
)

// Store keeps every record in maps behind one mutex. It is safe for
// concurrent use; records go in and come out as copies, so a caller never
// shares memory with the store.
type Store struct {
	mu       sync.Mutex
	totp     map[string]storage.TOTPRecord
	throttle map[string]storage.ThrottleState
	backup   map[string]storage.BackupSet
	email    map[string]storage.EmailState
	// creds are every user's WebAuthn credentials, oldest first.
	creds      []storage.WebAuthnCredential
	handles    map[string][]byte
	keysOff    map[string]bool // users who turned security keys off
	ceremonies map[string]storage.Ceremony
	// byExpiry holds every stored ceremony's expiry, soonest first, so a
	// put finds the expired ones without a scan; an entry whose ceremony
	// was taken or trimmed stays until it comes up (see PutCeremony).
	byExpiry expiryHeap
	// userCeremonies lists each user's ceremony IDs by expiry, then ID,
	// soonest first, so the ones beyond keep are at the front.
	userCeremonies map[string][]string
	// browsers are remembered browsers by ID; browserHash maps a token
	// hash to its browser's ID.
	browsers    map[string]storage.Browser
	browserHash map[string]string
	// userBrowsers holds each user's browser IDs, so that a user's list
	// and the trim of an add cost the user's browsers, not everyone's.
	userBrowsers map[string]map[string]struct{}
	// logs holds each user's security log, oldest first (see AppendLog).
	logs    map[string][]storage.LogEntry
	version int64
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		totp:           make(map[string]storage.TOTPRecord),
		throttle:       make(map[string]storage.ThrottleState),
		backup:         make(map[string]storage.BackupSet),
		email:          make(map[string]storage.EmailState),
		handles:        make(map[string][]byte),
		keysOff:        make(map[string]bool),
		ceremonies:     make(map[string]storage.Ceremony),
		userCeremonies: make(map[string][]string),
		browsers:       make(map[string]storage.Browser),
		browserHash:    make(map[string]string),
		userBrowsers:   make(map[string]map[string]struct{}),
		logs:           make(map[string][]storage.LogEntry),
	}
}

// Ephemeral reports true: the records end with the process. It lets
// twofa.New accept keyring.Random beside this store, and only beside it.
func (s *Store) Ephemeral() bool { return true }

// checkUser refuses an ID no store keeps, before anything is read or
// written, so that the memory store answers as a database does.
func checkUser(id string) error {
	return storage.CheckUserID(id)
}

func copySecret(s *storage.TOTPSecret) *storage.TOTPSecret {
	if s == nil {
		return nil
	}
	c := *s
	c.Sealed = bytes.Clone(s.Sealed)
	c.Binding = bytes.Clone(s.Binding)
	return &c
}

func copyTOTP(r storage.TOTPRecord) storage.TOTPRecord {
	r.Active = copySecret(r.Active)
	r.Pending = copySecret(r.Pending)
	return r
}

// TOTP implements [storage.TOTPStore].
func (s *Store) TOTP(_ context.Context, userID string) (storage.TOTPRecord, error) {
	if err := checkUser(userID); err != nil {
		return storage.TOTPRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.totp[userID]
	if !ok {
		return storage.TOTPRecord{}, storage.ErrNotFound
	}
	r = copyTOTP(r)
	r.Throttle = s.throttle[userID]
	return r, nil
}

// PutTOTP implements [storage.TOTPStore].
func (s *Store) PutTOTP(_ context.Context, rec storage.TOTPRecord) (int64, error) {
	if err := storage.CheckTOTPRecord(rec); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A missing record reads as version 0, which only an insert expects.
	cur := s.totp[rec.UserID]
	if cur.Version != rec.Version {
		return 0, storage.ErrConflict
	}
	// Versions come from one counter, so a record deleted and made again
	// never repeats a version a stale reader still holds.
	s.version++
	next := copyTOTP(rec)
	next.LastStep = cur.LastStep
	next.Throttle = storage.ThrottleState{} // read from s.throttle, never kept here
	next.Version = s.version
	s.totp[rec.UserID] = next
	return next.Version, nil
}

// AdvanceTOTPStep implements [storage.TOTPStore].
func (s *Store) AdvanceTOTPStep(_ context.Context, userID string, step int64) (bool, error) {
	return s.advanceTOTPStep(userID, step, false)
}

// AdvanceTOTPStepAndResetThrottle implements [storage.TOTPStore].
func (s *Store) AdvanceTOTPStepAndResetThrottle(_ context.Context, userID string, step int64) (bool, error) {
	return s.advanceTOTPStep(userID, step, true)
}

// advanceTOTPStep advances the step and, if reset and it advanced, clears
// the throttle state under the same lock.
func (s *Store) advanceTOTPStep(userID string, step int64, reset bool) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.totp[userID]
	if !ok {
		return false, storage.ErrNotFound
	}
	if r.LastStep >= step {
		return false, nil
	}
	r.LastStep = step
	s.totp[userID] = r
	if reset {
		delete(s.throttle, userID)
	}
	return true, nil
}

// DeleteTOTP implements [storage.TOTPStore].
func (s *Store) DeleteTOTP(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.totp, userID)
	return nil
}

// TOTPRecords implements [storage.TOTPLister]. It looks at every record
// for each batch, as the map keeps no order: a walk over n records costs
// n/limit passes over all of them, fine for the numbers a process keeps.
func (s *Store) TOTPRecords(_ context.Context, afterUserID string, limit int) ([]storage.TOTPRecord, error) {
	if afterUserID != "" {
		if err := checkUser(afterUserID); err != nil {
			return nil, err
		}
	}
	if limit < 1 || limit > storage.MaxTOTPBatch {
		return nil, storage.ErrInvalidArgument
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.totp {
		if id > afterUserID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]storage.TOTPRecord, len(ids))
	for i, id := range ids {
		out[i] = copyTOTP(s.totp[id]) // Throttle zero, as the contract says
	}
	return out, nil
}

// CountTOTP implements [storage.TOTPLister].
func (s *Store) CountTOTP(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.totp), nil
}

// Throttle implements [storage.ThrottleStore].
func (s *Store) Throttle(_ context.Context, userID string) (storage.ThrottleState, error) {
	if err := checkUser(userID); err != nil {
		return storage.ThrottleState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttle[userID], nil
}

// SwapThrottle implements [storage.ThrottleStore].
func (s *Store) SwapThrottle(_ context.Context, userID string, old, next storage.ThrottleState) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	// The zero state is no record and carries no time to check.
	if next.Failures != 0 || !next.Last.IsZero() {
		if err := storage.CheckTime(next.Last); err != nil {
			return false, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A missing state reads as the zero state. Times compare with Equal,
	// not ==: the same instant may come with another location or a
	// monotonic clock reading.
	cur := s.throttle[userID]
	if cur.Failures != old.Failures || !cur.Last.Equal(old.Last) {
		return false, nil
	}
	if next.Failures == 0 && next.Last.IsZero() {
		delete(s.throttle, userID)
	} else {
		s.throttle[userID] = next
	}
	return true, nil
}

// ResetThrottle implements [storage.ThrottleStore].
func (s *Store) ResetThrottle(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.throttle, userID)
	return nil
}
