package memory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func copyBrowser(b storage.Browser) storage.Browser {
	b.Hash = bytes.Clone(b.Hash)
	return b
}

// BrowserByHash implements [storage.BrowserStore].
func (s *Store) BrowserByHash(_ context.Context, hash []byte) (storage.Browser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.browserHash[string(hash)]
	if !ok {
		return storage.Browser{}, storage.ErrNotFound
	}
	return copyBrowser(s.browsers[id]), nil
}

// browsersOf returns the user's browsers, uncopied, in no order.
func (s *Store) browsersOf(userID string) []storage.Browser {
	ids := s.userBrowsers[userID]
	list := make([]storage.Browser, 0, len(ids))
	for id := range ids {
		list = append(list, s.browsers[id])
	}
	return list
}

// removeBrowser deletes the browser id, which must exist, from every map.
func (s *Store) removeBrowser(id string) {
	b := s.browsers[id]
	delete(s.browserHash, string(b.Hash))
	delete(s.browsers, id)
	ids := s.userBrowsers[b.UserID]
	delete(ids, id)
	if len(ids) == 0 {
		delete(s.userBrowsers, b.UserID)
	}
}

// Browsers implements [storage.BrowserStore].
func (s *Store) Browsers(_ context.Context, userID string) ([]storage.Browser, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []storage.Browser{}
	for _, b := range s.browsersOf(userID) {
		list = append(list, copyBrowser(b))
	}
	slices.SortFunc(list, func(a, b storage.Browser) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return list, nil
}

// AddBrowser implements [storage.BrowserStore].
func (s *Store) AddBrowser(_ context.Context, b storage.Browser, keep int) error {
	if err := checkUser(b.UserID); err != nil {
		return err
	}
	if err := storage.CheckTime(b.Created, b.LastUsed); err != nil {
		return err
	}
	if err := storage.CheckText(b.ID, b.Label); err != nil {
		return err
	}
	if keep < 1 {
		return fmt.Errorf("%w: keep %d browsers", storage.ErrInvalidArgument, keep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.browsers[b.ID]; ok {
		return storage.ErrConflict
	}
	if _, ok := s.browserHash[string(b.Hash)]; ok {
		return storage.ErrConflict
	}
	// The others, least recently used first; all but the last keep-1 go.
	others := s.browsersOf(b.UserID)
	if drop := len(others) - (keep - 1); drop > 0 {
		slices.SortFunc(others, func(x, y storage.Browser) int {
			return cmp.Or(x.LastUsed.Compare(y.LastUsed), x.Created.Compare(y.Created), cmp.Compare(x.ID, y.ID))
		})
		for _, x := range others[:drop] {
			s.removeBrowser(x.ID)
		}
	}
	s.browsers[b.ID] = copyBrowser(b)
	s.browserHash[string(b.Hash)] = b.ID
	if s.userBrowsers[b.UserID] == nil {
		s.userBrowsers[b.UserID] = make(map[string]struct{})
	}
	s.userBrowsers[b.UserID][b.ID] = struct{}{}
	return nil
}

// TouchBrowser implements [storage.BrowserStore].
func (s *Store) TouchBrowser(_ context.Context, userID, id string, at time.Time) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := storage.CheckTime(at); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.browsers[id]
	if !ok || b.UserID != userID {
		return storage.ErrNotFound
	}
	if at.After(b.LastUsed) {
		b.LastUsed = at
		s.browsers[id] = b
	}
	return nil
}

// DeleteBrowser implements [storage.BrowserStore].
func (s *Store) DeleteBrowser(_ context.Context, userID, id string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.browsers[id]; ok && b.UserID == userID {
		s.removeBrowser(id)
	}
	return nil
}

// DeleteBrowsers implements [storage.BrowserStore].
func (s *Store) DeleteBrowsers(_ context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.userBrowsers[userID] {
		s.removeBrowser(id)
	}
	return nil
}
