package httpmw

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twofa-go/twofa"
)

// Mark records that a user passed the second step in a session.
type Mark struct {
	UserID string
	// Method is how: a factor, or remember.Method ("browser") for a
	// remembered browser, which skips the second step at login but never
	// counts as a fresh one for step-up. It is "" in the context of a
	// request by a user with no method to pass.
	Method twofa.Method
	// At is when the step was passed, for step-up.
	At time.Time
}

// Session keeps the mark in the application's own session (scs,
// gorilla/sessions, its own), so that it ends when the session does.
// [CookieSession] is an implementation for applications whose session
// cannot hold it.
type Session interface {
	// Mark returns the mark in r's session. If there is none, ok is false
	// and err is nil; err is for system errors only, and denies access.
	Mark(r *http.Request) (m Mark, ok bool, err error)
	// SetMark records m in r's session, writing to w what it must (a
	// cookie), before anything else is written.
	SetMark(w http.ResponseWriter, r *http.Request, m Mark) error
	// ClearMark removes the mark from r's session; none is not an error.
	ClearMark(w http.ResponseWriter, r *http.Request) error
}

// CookieSession is a [Session] that keeps the mark in a cookie of its own,
// signed with an HMAC and bound to the application's session ID: when the
// application's session ends or gets a new ID, the mark no longer passes.
//
// Its cookie follows Config.Origin like every other: New keeps a copy of
// the *CookieSession it is given, with that rule, and leaves the
// application's value as it is. Used on its own, outside a Middleware, a
// CookieSession always makes a Secure cookie with the "__Host-" prefix.
type CookieSession struct {
	// Key signs marks: at least 32 random bytes, kept secret and shared by
	// every server of the application. Required. Never a key of the
	// keyring itself: keyring.Ring.DeriveKey gives one from it (see
	// package keyring, "One key, several uses").
	Key []byte
	// SessionID returns the ID of the application's session in r, or ""
	// when r has none (no mark then passes). After the application renews
	// its session ID (Config.RenewSession), it must return the new ID for
	// the request RenewSession returned, with the cookies RenewSession set
	// on its ResponseWriter: reading the session cookie from r does.
	// Required.
	SessionID func(r *http.Request) string
	// Name names the cookie; "" means "twofa". It gets the "__Host-" prefix
	// wherever the cookie is Secure.
	Name string

	// ck is set by New, on its own copy, from Config.Origin. The zero
	// value, for a CookieSession used on its own, is the safe rule: a
	// Secure cookie with the "__Host-" prefix.
	ck cookieRules
}

var _ Session = (*CookieSession)(nil)

// errMark reports a mark cookie that does not verify. It is never shown:
// such a mark is simply absent.
var errMark = errors.New("httpmw: invalid mark")

func (c *CookieSession) name() string {
	n := c.Name
	if n == "" {
		n = "twofa"
	}
	return c.ck.name(n)
}

func (c *CookieSession) check() error {
	if len(c.Key) < 32 {
		return errors.New("httpmw: CookieSession.Key must have at least 32 bytes")
	}
	if c.SessionID == nil {
		return errors.New("httpmw: CookieSession.SessionID is required")
	}
	return nil
}

// Mark implements [Session].
func (c *CookieSession) Mark(r *http.Request) (Mark, bool, error) {
	if err := c.check(); err != nil {
		return Mark{}, false, err
	}
	sid := c.SessionID(r)
	if sid == "" {
		return Mark{}, false, nil
	}
	ck, err := r.Cookie(c.name())
	if err != nil {
		return Mark{}, false, nil
	}
	m, err := decodeMark(c.Key, sid, ck.Value)
	if err != nil {
		return Mark{}, false, nil
	}
	return m, true, nil
}

// SetMark implements [Session].
func (c *CookieSession) SetMark(w http.ResponseWriter, r *http.Request, m Mark) error {
	if err := c.check(); err != nil {
		return err
	}
	sid := c.SessionID(r)
	if sid == "" {
		return errors.New("httpmw: the request has no application session to mark")
	}
	http.SetCookie(w, c.ck.cookie(c.name(), encodeMark(c.Key, sid, m), 0))
	return nil
}

// ClearMark implements [Session].
func (c *CookieSession) ClearMark(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, c.ck.cookie(c.name(), "", -1))
	return nil
}

// canonical decodes base64url without padding and refuses the other
// spellings of the same bytes (non-zero trailing bits). Strict makes a copy
// of the encoding: made once, not per request.
var canonical = base64.RawURLEncoding.Strict()

// decodeExact decodes s, refusing every spelling but the one the encoder
// writes: Go's decoder skips CR and LF anywhere, even in Strict mode, so
// "AQ\r\nID" would decode as "AQID" does. The length of what decoded must
// be exactly what its encoding takes.
func decodeExact(s string) ([]byte, error) {
	b, err := canonical.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if canonical.EncodedLen(len(b)) != len(s) {
		return nil, errMark
	}
	return b, nil
}

// markVersion starts every signed mark, so the format can change.
const markVersion = 1

// encodeMark returns the cookie value of m for the session sid: the mark in
// base64url, a dot, and an HMAC-SHA256 over a label, the session ID and the
// mark. The session ID is signed, not stored.
func encodeMark(key []byte, sid string, m Mark) string {
	payload := make([]byte, 0, 16+len(m.Method)+len(m.UserID))
	payload = append(payload, markVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(m.At.UnixNano()))
	payload = binary.AppendUvarint(payload, uint64(len(m.Method)))
	payload = append(payload, m.Method...)
	payload = append(payload, m.UserID...)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(markMAC(key, sid, payload))
}

// decodeMark returns the mark in value if it was signed with key for the
// session sid.
func decodeMark(key []byte, sid, value string) (Mark, error) {
	p, s, ok := strings.Cut(value, ".")
	if !ok || len(value) > 4096 {
		return Mark{}, errMark
	}
	payload, err1 := decodeExact(p)
	sig, err2 := decodeExact(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, markMAC(key, sid, payload)) {
		return Mark{}, errMark
	}
	if len(payload) < 10 || payload[0] != markVersion {
		return Mark{}, errMark
	}
	at := int64(binary.BigEndian.Uint64(payload[1:9]))
	n, size := binary.Uvarint(payload[9:])
	rest := payload[9+max(size, 0):]
	if size <= 0 || n > uint64(len(rest)) {
		return Mark{}, errMark
	}
	return Mark{Method: twofa.Method(rest[:n]), UserID: string(rest[n:]), At: time.Unix(0, at)}, nil
}

func markMAC(key []byte, sid string, payload []byte) []byte {
	m := macs.Get().(*keyedMAC)
	defer macs.Put(m)
	// Keying an HMAC costs two hash blocks and four allocations; on every
	// request that is most of what the middleware adds, so keyed states are
	// kept for reuse. An application has one key; a state for another is
	// keyed anew.
	if m.h == nil || subtle.ConstantTimeCompare(m.key, key) != 1 {
		m.key = bytes.Clone(key)
		m.h = hmac.New(sha256.New, m.key)
	}
	h := m.h
	h.Reset()
	h.Write([]byte("twofa second-step mark\x00"))
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(sid)))])
	h.Write([]byte(sid))
	h.Write(payload)
	return h.Sum(nil)
}

// keyedMAC is an HMAC keyed with key, kept in macs between uses.
type keyedMAC struct {
	key []byte
	h   hash.Hash
}

var macs = sync.Pool{New: func() any { return new(keyedMAC) }}
