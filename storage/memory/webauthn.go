package memory

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyCredential(c storage.WebAuthnCredential) storage.WebAuthnCredential {
	c.ID = bytes.Clone(c.ID)
	c.Data = bytes.Clone(c.Data)
	return c
}

// checkCredentialTimes checks Created, and LastUsed unless it is zero,
// which means never used.
func checkCredentialTimes(c storage.WebAuthnCredential) error {
	if err := storage.CheckTime(c.Created); err != nil {
		return err
	}
	if !c.LastUsed.IsZero() {
		return storage.CheckTime(c.LastUsed)
	}
	return nil
}

// WebAuthnHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnHandle(_ context.Context, userID string) ([]byte, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.handles[userID]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return bytes.Clone(h), nil
}

// PutWebAuthnHandle implements [storage.WebAuthnStore].
func (s *Store) PutWebAuthnHandle(_ context.Context, userID string, handle []byte) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.handles[userID]; ok {
		return storage.ErrConflict
	}
	for _, h := range s.handles {
		if bytes.Equal(h, handle) {
			return storage.ErrConflict
		}
	}
	s.handles[userID] = bytes.Clone(handle)
	return nil
}

// WebAuthnDisabled implements [storage.WebAuthnStore].
func (s *Store) WebAuthnDisabled(_ context.Context, userID string) (bool, error) {
	if err := checkUser(userID); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keysOff[userID], nil
}

// SetWebAuthnDisabled implements [storage.WebAuthnStore].
func (s *Store) SetWebAuthnDisabled(_ context.Context, userID string, disabled bool) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.handles[userID]; !ok {
		return storage.ErrNotFound
	}
	if disabled {
		s.keysOff[userID] = true
	} else {
		delete(s.keysOff, userID)
	}
	return nil
}

// WebAuthnUserByHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnUserByHandle(_ context.Context, handle []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, h := range s.handles {
		if bytes.Equal(h, handle) {
			return u, nil
		}
	}
	return "", storage.ErrNotFound
}

// WebAuthnCredentials implements [storage.WebAuthnStore].
func (s *Store) WebAuthnCredentials(_ context.Context, userID string) ([]storage.WebAuthnCredential, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []storage.WebAuthnCredential{}
	for _, c := range s.creds {
		if c.UserID == userID {
			out = append(out, copyCredential(c))
		}
	}
	slices.SortFunc(out, func(a, b storage.WebAuthnCredential) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return bytes.Compare(a.ID, b.ID)
	})
	return out, nil
}

// AddWebAuthnCredential implements [storage.WebAuthnStore].
func (s *Store) AddWebAuthnCredential(_ context.Context, c storage.WebAuthnCredential) error {
	if err := checkUser(c.UserID); err != nil {
		return err
	}
	if err := checkCredentialTimes(c); err != nil {
		return err
	}
	if err := storage.CheckText(c.Name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.creds, func(x storage.WebAuthnCredential) bool { return bytes.Equal(x.ID, c.ID) }) {
		return storage.ErrConflict
	}
	s.creds = append(s.creds, copyCredential(c))
	return nil
}

// UpdateWebAuthnCredential implements [storage.WebAuthnStore].
func (s *Store) UpdateWebAuthnCredential(_ context.Context, c storage.WebAuthnCredential) error {
	if err := checkUser(c.UserID); err != nil {
		return err
	}
	if !c.LastUsed.IsZero() {
		if err := storage.CheckTime(c.LastUsed); err != nil {
			return err
		}
	}
	if err := storage.CheckText(c.Name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.creds {
		if x.UserID == c.UserID && bytes.Equal(x.ID, c.ID) {
			s.creds[i].Name, s.creds[i].Data, s.creds[i].LastUsed = c.Name, bytes.Clone(c.Data), c.LastUsed
			return nil
		}
	}
	return storage.ErrNotFound
}

// DeleteWebAuthnCredential implements [storage.WebAuthnStore].
func (s *Store) DeleteWebAuthnCredential(_ context.Context, userID string, id []byte) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = slices.DeleteFunc(s.creds, func(x storage.WebAuthnCredential) bool {
		return x.UserID == userID && bytes.Equal(x.ID, id)
	})
	return nil
}

// DeleteWebAuthnCredentials implements [storage.WebAuthnStore].
func (s *Store) DeleteWebAuthnCredentials(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = slices.DeleteFunc(s.creds, func(x storage.WebAuthnCredential) bool { return x.UserID == userID })
	delete(s.handles, userID)
	delete(s.keysOff, userID)
	return nil
}

// expiryEntry is one ceremony's place in byExpiry.
type expiryEntry struct {
	expires time.Time
	id      string
}

// expiryHeap is a min-heap of expiries, for container/heap.
type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// compareCeremony orders a user's ceremonies: the one that expires first
// (then the smaller ID) first, which is the first to be trimmed.
func compareCeremony(a, b storage.Ceremony) int {
	return cmp.Or(a.Expires.Compare(b.Expires), cmp.Compare(a.ID, b.ID))
}

// removeCeremony deletes the ceremony id from the map and from its user's
// list; its byExpiry entry goes when it comes up.
func (s *Store) removeCeremony(id string) {
	c, ok := s.ceremonies[id]
	if !ok {
		return
	}
	delete(s.ceremonies, id)
	ids := slices.DeleteFunc(s.userCeremonies[c.UserID], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.userCeremonies, c.UserID)
	} else {
		s.userCeremonies[c.UserID] = ids
	}
}

// PutCeremony implements [storage.CeremonyStore]. Removing the expired
// ceremonies pops the heap only as far as now, and trimming the user's
// ceremonies touches only the user's list, so a put costs O(log n) plus
// what it removes, and O(keep) to keep the list in order.
func (s *Store) PutCeremony(_ context.Context, c storage.Ceremony, now time.Time, keep int) error {
	if c.UserID != "" {
		if err := checkUser(c.UserID); err != nil {
			return err
		}
	}
	if err := storage.CheckTime(c.Expires, now); err != nil {
		return err
	}
	if err := storage.CheckText(c.ID, c.Kind); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d ceremonies", storage.ErrInvalidArgument, keep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ceremonies[c.ID]; ok {
		return storage.ErrConflict
	}
	for len(s.byExpiry) > 0 && !s.byExpiry[0].expires.After(now) {
		e := heap.Pop(&s.byExpiry).(expiryEntry)
		// The entry may belong to a ceremony taken, or trimmed, and its ID
		// put again since: remove only what is stored and due.
		if x, ok := s.ceremonies[e.id]; ok && !x.Expires.After(now) {
			s.removeCeremony(e.id)
		}
	}
	c.Data = bytes.Clone(c.Data)
	s.ceremonies[c.ID] = c
	heap.Push(&s.byExpiry, expiryEntry{c.Expires, c.ID})
	ids := s.userCeremonies[c.UserID]
	at, _ := slices.BinarySearchFunc(ids, c, func(id string, c storage.Ceremony) int {
		return compareCeremony(s.ceremonies[id], c)
	})
	ids = slices.Insert(ids, at, c.ID)
	for len(ids) > keep {
		delete(s.ceremonies, ids[0])
		ids = ids[1:]
	}
	s.userCeremonies[c.UserID] = ids
	// Entries of taken and trimmed ceremonies stay in the heap until they
	// come up; rebuild it when they outnumber the live ones, which keeps
	// its size within twice the store's, at O(1) a put over time.
	if len(s.byExpiry) > 2*len(s.ceremonies)+64 {
		s.byExpiry = s.byExpiry[:0]
		for id, x := range s.ceremonies {
			s.byExpiry = append(s.byExpiry, expiryEntry{x.Expires, id})
		}
		heap.Init(&s.byExpiry)
	}
	return nil
}

// DeleteCeremonies implements [storage.CeremonyStore].
func (s *Store) DeleteCeremonies(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.userCeremonies[userID] {
		delete(s.ceremonies, id)
	}
	delete(s.userCeremonies, userID)
	return nil
}

// TakeCeremony implements [storage.CeremonyStore].
func (s *Store) TakeCeremony(_ context.Context, id string) (storage.Ceremony, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ceremonies[id]
	if !ok {
		return storage.Ceremony{}, storage.ErrNotFound
	}
	s.removeCeremony(id)
	return c, nil
}
