package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Enrollment is a secret being set up, with everything an authenticator app
// needs: the otpauth URL for the QR code, and the secret as text for manual
// entry. It is returned only while a set-up is under way ([Service.Begin],
// [Service.Pending]); once confirmed, no API returns the secret again.
type Enrollment struct {
	Issuer    string
	Account   string
	Secret    string // base32, upper case, no padding
	Algorithm Algorithm
	Digits    int
	Period    time.Duration
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GroupedSecret returns the secret in groups of four characters, for a
// person to read and type: "ABCD EFGH IJKL ...".
func (e *Enrollment) GroupedSecret() string {
	var b strings.Builder
	for i := 0; i < len(e.Secret); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Secret[i:min(i+4, len(e.Secret))])
	}
	return b.String()
}

// URL returns the otpauth:// URL an authenticator app scans, in the Key URI
// format: the label is "issuer:account" and the issuer is repeated as a
// parameter, as Google Authenticator expects. Without an issuer the label is
// the account alone, since a label starting with a colon reads as an empty
// issuer. Each part is percent-encoded as a path segment, so a '/', '?',
// '#' or '%' in an account stays in the account. For an Enrollment that
// [ParseURL] returned or [Service.Begin] made, ParseURL(e.URL()) gives e
// back.
func (e *Enrollment) URL() string {
	q := url.Values{}
	q.Set("secret", e.Secret)
	if e.Issuer != "" {
		q.Set("issuer", e.Issuer)
	}
	q.Set("algorithm", e.Algorithm.String())
	q.Set("digits", strconv.Itoa(e.Digits))
	q.Set("period", strconv.Itoa(int(e.Period/time.Second)))
	label := url.PathEscape(e.Account)
	if e.Issuer != "" {
		label = url.PathEscape(e.Issuer) + ":" + label
	}
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// maxLabelPart bounds an issuer or account name, so that any URL made of
// them fits a QR code and ParseURL's limit.
const maxLabelPart = 255

// checkLabelPart applies the Key URI format's rule for an issuer or an
// account name: not empty, no colon (the colon separates the two, written
// plainly or as %3A, so no encoding can carry one inside a part), valid
// UTF-8, no control characters, and no leading or trailing spaces (an app
// drops the spaces after the colon, so they cannot survive a round trip).
func checkLabelPart(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s", what)
	case len(s) > maxLabelPart:
		return fmt.Errorf("%s longer than %d bytes", what, maxLabelPart)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s not UTF-8", what)
	case strings.ContainsRune(s, ':'):
		return fmt.Errorf("%s contains a colon", what)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%s begins or ends with white space", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%s contains a control character", what)
	}
	return nil
}

// maxURL bounds the URLs ParseURL reads; a real one is under 300 bytes.
const maxURL = 2048

// ErrBadURL reports an otpauth URL that ParseURL refuses.
var ErrBadURL = errors.New("totp: bad otpauth URL")

// ParseURL reads an otpauth://totp/ URL, as made by [Enrollment.URL] or by
// another service. Missing parameters take the Key URI defaults (SHA1, 6
// digits, 30 seconds). Secrets under 128 bits (RFC 4226 R6), counters
// (hotp), an issuer parameter that contradicts the label, and an issuer or
// account that breaks the Key URI format's rule (empty, a colon inside,
// control characters, over 255 bytes) are refused. White space around the
// issuer and the account is dropped, as apps drop it: the Key URI format
// lets spaces follow the label's colon.
func ParseURL(raw string) (*Enrollment, error) {
	if len(raw) > maxURL {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadURL, maxURL)
	}
	if !utf8.ValidString(raw) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: does not parse", ErrBadURL)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: not an otpauth://totp/ URL", ErrBadURL)
	}
	// The label is read from the escaped path, so that an encoded slash
	// is part of a name while a literal one makes a path, not a label.
	label, ok := strings.CutPrefix(u.EscapedPath(), "/")
	if !ok || label == "" || strings.Contains(label, "/") {
		return nil, fmt.Errorf("%w: missing or bad label", ErrBadURL)
	}
	if label, err = url.PathUnescape(label); err != nil {
		return nil, fmt.Errorf("%w: bad label encoding", ErrBadURL)
	}
	e := &Enrollment{Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}
	// Spaces may follow the colon (Key URI format); they belong to the
	// separator, and spaces around a name are not part of it.
	if issuer, account, ok := strings.Cut(label, ":"); ok {
		e.Issuer, e.Account = strings.TrimSpace(issuer), strings.TrimSpace(account)
		if err := checkLabelPart("issuer", e.Issuer); e.Issuer != "" && err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
	} else {
		e.Account = strings.TrimSpace(label)
	}
	if err := checkLabelPart("account", e.Account); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: bad query", ErrBadURL)
	}
	if is := strings.TrimSpace(q.Get("issuer")); is != "" {
		if e.Issuer != "" && e.Issuer != is {
			return nil, fmt.Errorf("%w: issuer parameter differs from label", ErrBadURL)
		}
		if err := checkLabelPart("issuer", is); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
		e.Issuer = is
	}
	secret := strings.ToUpper(strings.TrimRight(q.Get("secret"), "="))
	key, err := b32.DecodeString(secret)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("%w: secret missing, not base32, or under 128 bits", ErrBadURL)
	}
	e.Secret = b32.EncodeToString(key)
	if s := q.Get("algorithm"); s != "" {
		if e.Algorithm, err = ParseAlgorithm(s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
	}
	if s := q.Get("digits"); s != "" {
		if e.Digits, err = strconv.Atoi(s); err != nil || (e.Digits != 6 && e.Digits != 8) {
			return nil, fmt.Errorf("%w: digits must be 6 or 8", ErrBadURL)
		}
	}
	if s := q.Get("period"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > maxPeriodSeconds {
			return nil, fmt.Errorf("%w: period must be 1 to %d seconds", ErrBadURL, maxPeriodSeconds)
		}
		e.Period = time.Duration(p) * time.Second
	}
	return e, nil
}
