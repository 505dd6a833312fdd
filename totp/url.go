package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
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
// parameter, as Google Authenticator expects.
func (e *Enrollment) URL() string {
	q := url.Values{}
	q.Set("secret", e.Secret)
	q.Set("issuer", e.Issuer)
	q.Set("algorithm", e.Algorithm.String())
	q.Set("digits", strconv.Itoa(e.Digits))
	q.Set("period", strconv.Itoa(int(e.Period/time.Second)))
	u := url.URL{
		Scheme:   "otpauth",
		Host:     "totp",
		Path:     "/" + e.Issuer + ":" + e.Account,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// maxURL bounds the URLs ParseURL reads; a real one is under 300 bytes.
const maxURL = 2048

// ErrBadURL reports an otpauth URL that ParseURL refuses.
var ErrBadURL = errors.New("totp: bad otpauth URL")

// ParseURL reads an otpauth://totp/ URL, as made by [Enrollment.URL] or by
// another service. Missing parameters take the Key URI defaults (SHA1, 6
// digits, 30 seconds). Secrets under 128 bits (RFC 4226 R6), counters
// (hotp), and an issuer parameter that contradicts the label are refused.
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
	label := strings.TrimPrefix(u.Path, "/")
	if label == "" || strings.Contains(label, "/") {
		return nil, fmt.Errorf("%w: missing or bad label", ErrBadURL)
	}
	e := &Enrollment{Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}
	if issuer, account, ok := strings.Cut(label, ":"); ok {
		e.Issuer, e.Account = issuer, strings.TrimLeft(account, " ")
	} else {
		e.Account = label
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: bad query", ErrBadURL)
	}
	if is := q.Get("issuer"); is != "" {
		if e.Issuer != "" && e.Issuer != is {
			return nil, fmt.Errorf("%w: issuer parameter differs from label", ErrBadURL)
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
