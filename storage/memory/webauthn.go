package memory

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyCredential(c storage.WebAuthnCredential) storage.WebAuthnCredential {
	c.ID = bytes.Clone(c.ID)
	c.Data = bytes.Clone(c.Data)
	return c
}

// WebAuthnHandle implements [storage.WebAuthnStore].
func (s *Store) WebAuthnHandle(_ context.Context, userID string) ([]byte, error) {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keysOff[userID], nil
}

// SetWebAuthnDisabled implements [storage.WebAuthnStore].
func (s *Store) SetWebAuthnDisabled(_ context.Context, userID string, disabled bool) error {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = slices.DeleteFunc(s.creds, func(x storage.WebAuthnCredential) bool {
		return x.UserID == userID && bytes.Equal(x.ID, id)
	})
	return nil
}

// DeleteWebAuthnCredentials implements [storage.WebAuthnStore].
func (s *Store) DeleteWebAuthnCredentials(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = slices.DeleteFunc(s.creds, func(x storage.WebAuthnCredential) bool { return x.UserID == userID })
	delete(s.handles, userID)
	delete(s.keysOff, userID)
	return nil
}

// PutCeremony implements [storage.CeremonyStore].
func (s *Store) PutCeremony(_ context.Context, c storage.Ceremony) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ceremonies[c.ID]; ok {
		return storage.ErrConflict
	}
	// Ceremonies begun and never finished would pile up: drop the expired
	// ones now and then. The wall clock is fine here; whether a ceremony
	// may be used is decided by the caller's clock.
	if len(s.ceremonies) >= s.pruneAt {
		now := time.Now()
		for id, x := range s.ceremonies {
			if x.Expires.Before(now) {
				delete(s.ceremonies, id)
			}
		}
		// Scan again only once the map has doubled: live ceremonies are
		// never dropped, and the scan costs O(1) per insert over time.
		s.pruneAt = max(1024, 2*len(s.ceremonies))
	}
	c.Data = bytes.Clone(c.Data)
	s.ceremonies[c.ID] = c
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
	delete(s.ceremonies, id)
	return c, nil
}
