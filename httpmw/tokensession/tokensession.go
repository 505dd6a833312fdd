// Package tokensession keeps httpmw's second-step mark with the
// application's own access token, for clients that send no cookies (mobile
// apps, command-line tools) but an "Authorization: Bearer <token>" header:
//
//	s := tokensession.New(tokens) // tokens: the application's TokenStore
//	mw, err := httpmw.New(httpmw.Config{
//		// ...
//		User:    userOfToken, // the application's own lookup, by tokensession.FromRequest
//		Session: s,           // httpmw.New takes Renew from it as the RenewSession
//	})
//
// The application issues its tokens at its own login (the password step),
// [NewToken] giving a token and the [Hash] to keep in its token table. The
// mark lives in that table, on the token's row, through the four methods
// of [TokenStore]; it ends when the token does.
//
// # Hashes, never tokens
//
// The Session hashes the token of each request with SHA-256 and hands the
// store only that hash: the store, its errors and its logs never see a
// token, and a copy of the token table opens no account. A missing,
// malformed or unknown token, or an Authorization header longer than
// [MaxTokenLen], is simply no session (not logged in): never a panic, and
// never a store call.
//
// # Renewal
//
// When the second step is passed, [Session.Renew] gives the token's row a
// new token and sends that token to the client in the [RotatedHeader]
// response header ("Set-Authorization: Bearer <new token>"), with
// "Cache-Control: no-store". The old token stops working at once. A
// client keeps whatever Set-Authorization it receives, on any status, as
// the Authorization of its next requests, as a browser keeps Set-Cookie.
//
// A token that the application's own login hands to the app in a response
// body cannot be planted by a third party the way a session cookie can, so
// session fixation, the first reason to renew, mostly does not apply. The
// Session renews all the same: OWASP ASVS 5.0 7.2.4 asks for a new session
// token on every authentication, including a second step (SECURITY.md,
// "The application can rotate its session ID when the second step
// completes"), and OWASP's session management guidance for any change of
// privilege. With it, a token copied while only the password had been
// given (from a log, a proxy, a crash report) never carries the second
// step. The cost: a client that loses the answer of its second step (the
// network drops) holds a dead token and logs in again; and of requests sent
// in parallel with the old token while one of them renews it, the others
// find no session (see httpmw.Config.RenewSession), which a mobile app
// sending its second step alone does not meet.
//
// A browser application that reads the header from JavaScript across
// origins must list it in Access-Control-Expose-Headers.
package tokensession

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/twofa-go/twofa/httpmw"
)

// MaxTokenLen is the longest token the Session reads, in bytes: room for
// a signed token, and a bound on the work an attacker's header costs.
const MaxTokenLen = 4096

// RotatedHeader is the response header that carries the token the Session
// gave the client in place of the one it sent: "Bearer " and the token, to
// be sent as it is in the Authorization header of the next requests.
const RotatedHeader = "Set-Authorization"

var (
	// ErrNoToken reports a request without an Authorization header.
	ErrNoToken = errors.New("tokensession: no bearer token")
	// ErrMalformedToken reports an Authorization header that is not one
	// "Bearer <token>" (another scheme, two headers, characters a token
	// cannot hold).
	ErrMalformedToken = errors.New("tokensession: malformed bearer token")
	// ErrTokenTooLong reports an Authorization header longer than a token
	// of MaxTokenLen bytes.
	ErrTokenTooLong = errors.New("tokensession: bearer token too long")
	// ErrUnknownToken is what a TokenStore returns, wrapped or not, from
	// SetMark and Rotate for a hash it has no live token for.
	ErrUnknownToken = errors.New("tokensession: unknown token")
)

// Hash is the SHA-256 of a token: what the application's token table keeps
// and looks up, in place of the token.
type Hash [sha256.Size]byte

// HashToken returns the hash of token.
func HashToken(token string) Hash {
	return sha256.Sum256([]byte(token))
}

// String returns h in lower-case hexadecimal, for a text column.
func (h Hash) String() string {
	return hex.EncodeToString(h[:])
}

// NewToken returns a new token of 256 random bits, in base64url without
// padding (43 characters), and its hash. The application's login may use
// it for the tokens it issues; Renew uses it for the tokens it gives in
// exchange.
func NewToken() (string, Hash) {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	token := base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// FromRequest returns the hash of r's bearer token: the only Authorization
// header of r, "Bearer" (in any case) then one or more spaces and a token68
// (RFC 6750 §2.1). It is what the application's Config.User looks its user
// up by. An error is ErrNoToken, ErrMalformedToken or ErrTokenTooLong, and
// never quotes the header.
func FromRequest(r *http.Request) (Hash, error) {
	vs := r.Header.Values("Authorization")
	switch {
	case len(vs) == 0:
		return Hash{}, ErrNoToken
	case len(vs) > 1:
		return Hash{}, ErrMalformedToken
	}
	token, err := parse(vs[0])
	if err != nil {
		return Hash{}, err
	}
	return HashToken(token), nil
}

// parse returns the token of an Authorization header value.
func parse(v string) (string, error) {
	const scheme = "bearer"
	if len(v) > len(scheme)+1+MaxTokenLen+64 {
		// Refused before any other work; 64 leaves room for extra spaces.
		return "", ErrTokenTooLong
	}
	if len(v) <= len(scheme) || !equalFold(v[:len(scheme)], scheme) || v[len(scheme)] != ' ' {
		return "", ErrMalformedToken
	}
	i := len(scheme)
	for i < len(v) && v[i] == ' ' {
		i++
	}
	token := v[i:]
	if len(token) > MaxTokenLen {
		return "", ErrTokenTooLong
	}
	if !token68(token) {
		return "", ErrMalformedToken
	}
	return token, nil
}

// equalFold compares s with lower-case ASCII lower, folding ASCII letters
// only: a scheme is ASCII, and no other byte may stand for one of its
// letters.
func equalFold(s, lower string) bool {
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// token68 reports whether s is a token68 of RFC 9110 §11.2: one or more of
// ALPHA, DIGIT and "-._~+/", then any number of "=".
func token68(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// TokenStore is the application's token table, as the Session needs it.
// Each method takes the hash of a token, never the token. A token that
// expired is unknown, as one never issued is.
type TokenStore interface {
	// Mark returns the mark recorded with the token. If the token is
	// unknown or has no mark, ok is false and err is nil; err is for
	// system errors only, and denies access.
	Mark(ctx context.Context, token Hash) (m httpmw.Mark, ok bool, err error)
	// SetMark records m with the token, in place of any mark it had. An
	// unknown token is ErrUnknownToken.
	SetMark(ctx context.Context, token Hash, m httpmw.Mark) error
	// ClearMark removes the token's mark; an unknown token, or one with no
	// mark, is not an error.
	ClearMark(ctx context.Context, token Hash) error
	// Rotate moves the token's row, its user, its mark and all, from old to
	// next in one atomic step (one UPDATE of the hash column), so old no
	// longer finds it; of two calls for one old hash, one moves it and the
	// other returns ErrUnknownToken. An unknown old token is
	// ErrUnknownToken.
	Rotate(ctx context.Context, old, next Hash) error
}

// Session is an [httpmw.Session] that keeps the mark with the request's
// bearer token in a TokenStore, with the RenewSession that goes with it.
type Session struct {
	store TokenStore
}

var (
	_ httpmw.SessionRenewer = (*Session)(nil)
	_ httpmw.LoginBinder    = (*Session)(nil)
)

// LoginID implements [httpmw.LoginBinder]: a mobile app keeps no cookie,
// so an e-mailed code and a pending authenticator set-up are bound to its
// token instead. The ID is derived from the token's hash, not the hash
// itself, so what twofa stores with a code matches nothing in the token
// table; a new token (Renew) is a new login ID.
func (s *Session) LoginID(r *http.Request) (string, bool) {
	h, err := FromRequest(r)
	if err != nil {
		return "", false
	}
	id := sha256.Sum256(append([]byte("twofa/tokensession/login\x00"), h[:]...))
	return base64.RawURLEncoding.EncodeToString(id[:]), true
}

// New returns a Session keeping the mark in store.
func New(store TokenStore) *Session {
	return &Session{store: store}
}

// Mark implements [httpmw.Session]. A request without a well-formed bearer
// token has no mark, and the store is not asked.
func (s *Session) Mark(r *http.Request) (httpmw.Mark, bool, error) {
	h, err := FromRequest(r)
	if err != nil {
		return httpmw.Mark{}, false, nil
	}
	m, ok, err := s.store.Mark(r.Context(), h)
	if err != nil {
		return httpmw.Mark{}, false, fmt.Errorf("tokensession: read mark: %w", err)
	}
	if !ok || m.UserID == "" {
		return httpmw.Mark{}, false, nil
	}
	return m, true, nil
}

// SetMark implements [httpmw.Session]. A request without a bearer token has
// no session to mark: an error, which denies the step.
func (s *Session) SetMark(w http.ResponseWriter, r *http.Request, m httpmw.Mark) error {
	if m.UserID == "" {
		return errors.New("tokensession: a mark needs a user ID")
	}
	h, err := FromRequest(r)
	if err != nil {
		return fmt.Errorf("tokensession: set mark: %w", err)
	}
	if err := s.store.SetMark(r.Context(), h, m); err != nil {
		return fmt.Errorf("tokensession: set mark: %w", err)
	}
	return nil
}

// ClearMark implements [httpmw.Session]. A request without a bearer token
// has no mark to clear.
func (s *Session) ClearMark(w http.ResponseWriter, r *http.Request) error {
	h, err := FromRequest(r)
	if err != nil {
		return nil
	}
	if err := s.store.ClearMark(r.Context(), h); err != nil {
		return fmt.Errorf("tokensession: clear mark: %w", err)
	}
	return nil
}

// Renew is an [httpmw.Config].RenewSession: it moves r's token row to a new
// token ([TokenStore].Rotate), sends that token in the [RotatedHeader]
// header of w with "Cache-Control: no-store", and returns a copy of r that
// carries it in its Authorization header, so that the mark that follows,
// and Config.User, find the row under its new hash. A token another
// request rotated a moment before (unknown now) is reported as
// [httpmw.ErrSessionRenewed], and nothing is written.
func (s *Session) Renew(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	old, err := FromRequest(r)
	if err != nil {
		return r, fmt.Errorf("tokensession: renew: %w", err)
	}
	token, next := NewToken()
	if err := s.store.Rotate(r.Context(), old, next); err != nil {
		if errors.Is(err, ErrUnknownToken) {
			return r, fmt.Errorf("tokensession: renew: %w (%w)", httpmw.ErrSessionRenewed, err)
		}
		return r, fmt.Errorf("tokensession: renew: %w", err)
	}
	auth := "Bearer " + token
	w.Header().Set(RotatedHeader, auth)
	w.Header().Set("Cache-Control", "no-store")
	nr := r.Clone(r.Context())
	nr.Header.Set("Authorization", auth)
	return nr, nil
}
