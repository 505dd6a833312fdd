// Package remember keeps the browsers on which users chose to skip the
// second step for a while ("remember this browser for 28 days").
//
// The browser holds a random 256-bit token in a cookie; the store keeps only
// its SHA-256 digest, with the user, when it was made, when it was last used
// and a label ("Firefox on Linux") for the user's list. A remembered browser
// lasts [DefaultWindow] since it was last used, so one used every few weeks
// keeps working and one left alone expires. It ends sooner when the user
// revokes it, logs out on it, or loses their second factor to a removal or
// an administrator reset ([Service.RevokeAll]).
//
// A remembered browser is a convenience outside NIST SP 800-63B AAL2 (§5.1):
// whoever holds the browser skips the second step. It is opt-in, per user
// and per browser.
//
// A user has at most [DefaultMaxBrowsers] (Config.MaxBrowsers) remembered
// at once; remembering one more forgets the least recently used. A label is
// kept as at most [MaxLabel] characters of printable UTF-8, whatever the
// application or the User-Agent header passed.
package remember

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage"
)

// DefaultWindow is how long a remembered browser lasts since its last use.
const DefaultWindow = 28 * 24 * time.Hour

// DefaultMaxBrowsers is how many browsers one user may have remembered at
// once unless Config.MaxBrowsers says otherwise: more than one person's
// phones, laptops and work and home computers, and few enough that a user's
// list stays readable and an attacker who holds the password and the
// second factor for a while cannot grow it without bound.
const DefaultMaxBrowsers = 20

// maxMaxBrowsers bounds Config.MaxBrowsers: a bound that no one reaches is
// no bound.
const maxMaxBrowsers = 1000

// Method names remembered browsers in events, and is the Method of the
// mark (httpmw.Mark) a remembered browser makes: such a mark skips the
// second step at login but is never a fresh one for step-up.
const Method = "browser"

// tokenBytes is the size of a token: 256 bits from the random source.
const tokenBytes = 32

var (
	// ErrNotRemembered reports a token that lets nobody skip the second step:
	// malformed, unknown, revoked, expired, or another user's.
	ErrNotRemembered = errors.New("remember: browser not remembered")
	// ErrClock reports a clock reading that cannot be right (see
	// storage.CheckTime); errors.Is matches storage.ErrInvalidTime too.
	ErrClock = errors.New("remember: clock reading cannot be right")
)

// Config configures a Service. Store is required.
type Config struct {
	Store storage.BrowserStore
	// Window is how long a browser stays remembered since its last use;
	// zero means DefaultWindow.
	Window time.Duration
	// MaxBrowsers is how many browsers a user may have remembered at once,
	// 1 to 1000; zero means DefaultMaxBrowsers. Remembering one more drops
	// the least recently used, whose token then no longer passes.
	MaxBrowsers int
	// Events receives Remembered and Forgotten events.
	Events event.Hook
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of tokens; nil means crypto/rand.
	Rand io.Reader
}

// Service remembers browsers. It is safe for concurrent use.
type Service struct {
	store  storage.BrowserStore
	window time.Duration
	keep   int
	events event.Hook
	now    func() time.Time
	rand   io.Reader
}

// New validates cfg, fills in defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("remember: Config.Store is required")
	}
	if cfg.Window < 0 {
		return nil, errors.New("remember: Config.Window is negative")
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBrowsers < 0 || cfg.MaxBrowsers > maxMaxBrowsers {
		return nil, fmt.Errorf("remember: Config.MaxBrowsers must be 1 to %d (0 for the default)", maxMaxBrowsers)
	}
	if cfg.MaxBrowsers == 0 {
		cfg.MaxBrowsers = DefaultMaxBrowsers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Service{store: cfg.Store, window: cfg.Window, keep: cfg.MaxBrowsers, events: cfg.Events, now: cfg.Now, rand: cfg.Rand}, nil
}

// Window is how long a browser stays remembered since its last use, for the
// cookie's lifetime.
func (s *Service) Window() time.Duration { return s.window }

// Browser is a remembered browser as the user's list shows it.
type Browser struct {
	// ID names the browser for Revoke; it is not the token.
	ID       string
	Label    string
	Created  time.Time
	LastUsed time.Time
	// Expires is when the browser is forgotten unless used before.
	Expires time.Time
}

// Remember records a new remembered browser of the user, labelled label (see
// [Label]), and returns the token for the browser's cookie. The label is
// kept as text fit for any store and page: bytes that are not UTF-8,
// controls, bidi and other format characters are dropped, spaces collapsed,
// and the rest cut to MaxLabel characters; an empty one reads "Unknown
// browser". The token is
// shown nowhere else and cannot be read back. If the user then has more
// than Config.MaxBrowsers, the least recently used are forgotten.
func (s *Service) Remember(ctx context.Context, userID, label string) (token string, err error) {
	if err := checkUser(userID); err != nil {
		return "", err
	}
	now, err := s.clock()
	if err != nil {
		return "", err
	}
	raw := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", fmt.Errorf("remember: read random: %w", err)
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, id); err != nil {
		return "", fmt.Errorf("remember: read random: %w", err)
	}
	hash := sha256.Sum256(raw)
	b := storage.Browser{
		ID:       base64.RawURLEncoding.EncodeToString(id),
		UserID:   userID,
		Hash:     hash[:],
		Label:    cleanLabel(label),
		Created:  now,
		LastUsed: now,
	}
	if err := s.store.AddBrowser(ctx, b, s.keep); err != nil {
		return "", fmt.Errorf("remember: add browser: %w", err)
	}
	s.emit(ctx, event.Remembered, userID, now, "")
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Check returns nil when token is a live remembered browser of userID, and
// starts its window again from now. It returns ErrNotRemembered for any
// token that does not pass, and a store or clock error otherwise; every
// error means the user takes the second step.
func (s *Service) Check(ctx context.Context, userID, token string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	now, err := s.clock()
	if err != nil {
		return err
	}
	b, err := s.lookup(ctx, token)
	if err != nil {
		return err
	}
	// A token stays with the user it was made for, whoever is logged in.
	if b.UserID != userID {
		return ErrNotRemembered
	}
	if !now.Before(b.LastUsed.Add(s.window)) {
		if err := s.store.DeleteBrowser(ctx, b.UserID, b.ID); err != nil {
			return fmt.Errorf("remember: delete expired browser: %w", err)
		}
		s.emit(ctx, event.Forgotten, b.UserID, now, "expired")
		return ErrNotRemembered
	}
	switch err := s.store.TouchBrowser(ctx, b.UserID, b.ID, now); {
	case errors.Is(err, storage.ErrNotFound):
		// Revoked between the read and now.
		return ErrNotRemembered
	case err != nil:
		return fmt.Errorf("remember: touch browser: %w", err)
	}
	return nil
}

// Forget revokes the remembered browser holding token, if it is one of
// userID's, as logging out on that browser does. An unknown token is not an
// error.
func (s *Service) Forget(ctx context.Context, userID, token string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	b, err := s.lookup(ctx, token)
	if errors.Is(err, ErrNotRemembered) || err == nil && b.UserID != userID {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Revoke(ctx, userID, b.ID)
}

// Which returns the ID (as List shows it) of userID's remembered browser
// holding token, so that a page can mark "this browser" in the list; it
// returns ErrNotRemembered for a token of no browser of the user's, and
// changes nothing.
func (s *Service) Which(ctx context.Context, userID, token string) (string, error) {
	if err := checkUser(userID); err != nil {
		return "", err
	}
	b, err := s.lookup(ctx, token)
	if err != nil {
		return "", err
	}
	if b.UserID != userID {
		return "", ErrNotRemembered
	}
	return b.ID, nil
}

// List returns the user's remembered browsers that have not expired, oldest
// first, and drops the expired ones from the store.
func (s *Service) List(ctx context.Context, userID string) ([]Browser, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	now, err := s.clock()
	if err != nil {
		return nil, err
	}
	all, err := s.store.Browsers(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("remember: list browsers: %w", err)
	}
	list := make([]Browser, 0, len(all))
	for _, b := range all {
		expires := b.LastUsed.Add(s.window)
		if !now.Before(expires) {
			if err := s.store.DeleteBrowser(ctx, userID, b.ID); err != nil {
				return nil, fmt.Errorf("remember: delete expired browser: %w", err)
			}
			continue
		}
		list = append(list, Browser{ID: b.ID, Label: b.Label, Created: b.Created, LastUsed: b.LastUsed, Expires: expires})
	}
	return list, nil
}

// Revoke forgets the user's remembered browser id (from List). An unknown
// id is not an error.
func (s *Service) Revoke(ctx context.Context, userID, id string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if err := s.store.DeleteBrowser(ctx, userID, id); err != nil {
		return fmt.Errorf("remember: revoke browser: %w", err)
	}
	s.emit(ctx, event.Forgotten, userID, s.now(), "revoked")
	return nil
}

// RevokeAll forgets every remembered browser of the user: on an
// administrator reset, when a factor is removed, when the password changes.
func (s *Service) RevokeAll(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	had, err := s.store.Browsers(ctx, userID)
	if err != nil {
		return fmt.Errorf("remember: list browsers: %w", err)
	}
	if err := s.store.DeleteBrowsers(ctx, userID); err != nil {
		return fmt.Errorf("remember: revoke browsers: %w", err)
	}
	// An event only when a browser was forgotten: a user with none lost
	// nothing.
	if len(had) > 0 {
		s.emit(ctx, event.Forgotten, userID, s.now(), "all revoked")
	}
	return nil
}

// canonical decodes a token in its one spelling: base64url without padding
// and without stray bits.
var canonical = base64.RawURLEncoding.Strict()

// cookieLen is the length of a token as the cookie holds it. The decoder
// skips CR and LF wherever they are, so without this check "token\n" would
// be a second spelling of a token.
var cookieLen = canonical.EncodedLen(tokenBytes)

// lookup finds the browser holding token, or returns ErrNotRemembered.
func (s *Service) lookup(ctx context.Context, token string) (storage.Browser, error) {
	if len(token) != cookieLen {
		return storage.Browser{}, ErrNotRemembered
	}
	raw, err := canonical.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return storage.Browser{}, ErrNotRemembered
	}
	hash := sha256.Sum256(raw)
	// The lookup is by the digest of a 256-bit random value, so how long
	// it takes tells nothing about any stored token.
	b, err := s.store.BrowserByHash(ctx, hash[:])
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Browser{}, ErrNotRemembered
	}
	if err != nil {
		return storage.Browser{}, fmt.Errorf("remember: look up browser: %w", err)
	}
	return b, nil
}

// clock reads the clock and refuses a reading no store keeps (the zero
// time, before 1970, after 2262): a window computed from it means nothing.
func (s *Service) clock() (time.Time, error) {
	now := s.now()
	if err := storage.CheckTime(now); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrClock, err)
	}
	return now, nil
}

// checkUser applies the one rule for user IDs before any store is asked,
// so every store answers the same (errors.Is storage.ErrInvalidUserID).
func checkUser(userID string) error {
	if err := storage.CheckUserID(userID); err != nil {
		return fmt.Errorf("remember: %w", err)
	}
	return nil
}

func (s *Service) emit(ctx context.Context, k event.Kind, userID string, at time.Time, reason string) {
	s.events.Emit(ctx, event.Event{Kind: k, Method: Method, UserID: userID, Time: at, Reason: reason})
}
