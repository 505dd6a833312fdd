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
// issuer.
//
// The label and every parameter are percent-encoded (RFC 3986): a space is
// %20 and a '+' is %2B, never a bare '+', which some apps read as a plus
// and others as a space (Google Authenticator showed "Acme+Photos" for
// url.Values' issuer=Acme+Photos). A '/', '?', '#' or '%' in a name stays in
// the name. For an Enrollment that [ParseURL] returned or [Service.Begin]
// made, ParseURL(e.URL()) gives e back.
func (e *Enrollment) URL() string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if e.Issuer != "" {
		escapeKeyURI(&b, e.Issuer)
		b.WriteByte(':')
	}
	escapeKeyURI(&b, e.Account)
	b.WriteString("?secret=")
	escapeKeyURI(&b, e.Secret)
	if e.Issuer != "" {
		b.WriteString("&issuer=")
		escapeKeyURI(&b, e.Issuer)
	}
	b.WriteString("&algorithm=")
	escapeKeyURI(&b, e.Algorithm.String())
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(e.Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(e.Period / time.Second)))
	return b.String()
}

// escapeKeyURI writes s percent-encoded, keeping only RFC 3986's unreserved
// characters and '@' (which the Key URI format's own examples leave bare in
// an e-mail address) as they are. Every other byte, UTF-8 included, is %XX,
// which every URL decoder reads the same way in a path and in a query.
func escapeKeyURI(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '@':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
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

// readLabel splits a decoded label into issuer and account. Spaces may
// follow the colon (Key URI format); they belong to the separator, and
// spaces around a name are not part of it.
func readLabel(label string) (issuer, account string, err error) {
	if i, a, ok := strings.Cut(label, ":"); ok {
		issuer, account = strings.TrimSpace(i), strings.TrimSpace(a)
		if err := checkLabelPart("issuer", issuer); issuer != "" && err != nil {
			return "", "", fmt.Errorf("%w: %v", ErrBadURL, err)
		}
	} else {
		account = strings.TrimSpace(label)
	}
	if err := checkLabelPart("account", account); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	return issuer, account, nil
}

// readFormLabel is readLabel of a raw label decoded as a form value.
func readFormLabel(raw string) (issuer, account string, ok bool) {
	form, err := url.QueryUnescape(raw)
	if err != nil {
		return "", "", false
	}
	issuer, account, err = readLabel(form)
	return issuer, account, err == nil
}

// literalPlus returns the query parameter key of raw read as RFC 3986 reads
// it, with '+' a plus, or "" if it does not decode.
func literalPlus(raw, key string) string {
	q, err := url.ParseQuery(strings.ReplaceAll(raw, "+", "%2B"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(q.Get(key))
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
//
// Other services spell a space in the issuer parameter as %20 or as '+'
// (url.Values); both read as a space. A label form-encoded as a whole, a
// '+' for each space as Java's URLEncoder writes it, is read so when the
// issuer parameter shows that is what its '+' meant; a '+' written bare in
// both the label and the parameter, with no such sign, is a plus.
func ParseURL(raw string) (*Enrollment, error) {
	e, _, err := parseURL(raw, minSetupKey)
	return e, err
}

// minSetupKey is the shortest secret ParseURL takes: 128 bits (RFC 4226
// R6). Imports take shorter ones (minImportKey), to keep phones that
// already hold them.
const minSetupKey = 16

// parseURL is ParseURL with a floor of minKey bytes for the secret; it
// returns the decoded secret too.
func parseURL(raw string, minKey int) (*Enrollment, []byte, error) {
	if len(raw) > maxURL {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrBadURL, maxURL)
	}
	if !utf8.ValidString(raw) {
		return nil, nil, fmt.Errorf("%w: not UTF-8", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: does not parse", ErrBadURL)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Opaque != "" {
		return nil, nil, fmt.Errorf("%w: not an otpauth://totp/ URL", ErrBadURL)
	}
	// The label is read from the escaped path, so that an encoded slash
	// is part of a name while a literal one makes a path, not a label.
	label, ok := strings.CutPrefix(u.EscapedPath(), "/")
	if !ok || label == "" || strings.Contains(label, "/") {
		return nil, nil, fmt.Errorf("%w: missing or bad label", ErrBadURL)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad query", ErrBadURL)
	}
	e := &Enrollment{Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}
	path, err := url.PathUnescape(label)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad label encoding", ErrBadURL)
	}
	if e.Issuer, e.Account, err = readLabel(path); err != nil {
		return nil, nil, err
	}
	// A parameter is read as a form value ('+' a space), as url.Values and
	// most libraries write it. An issuer the label names too must agree
	// with it; where they differ only because one side used '+' for a
	// space, the writer's meaning is plain and both spellings are taken.
	if is := strings.TrimSpace(q.Get("issuer")); is != "" {
		if err := checkLabelPart("issuer", is); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
		switch {
		case e.Issuer == "" || e.Issuer == is:
			e.Issuer = is
		case strings.ReplaceAll(e.Issuer, "+", " ") == is:
			// The label was form-encoded too (Java's URLEncoder): read
			// all of it so. Names with a space are far more common than
			// names with a plus, so this reading goes first.
			issuer, account, ok := readFormLabel(label)
			if !ok || issuer != is {
				return nil, nil, fmt.Errorf("%w: issuer parameter differs from label", ErrBadURL)
			}
			e.Issuer, e.Account = issuer, account
		case e.Issuer == literalPlus(u.RawQuery, "issuer"):
			// issuer=Disney+ meant a plus, as RFC 3986 reads it.
		default:
			return nil, nil, fmt.Errorf("%w: issuer parameter differs from label", ErrBadURL)
		}
	}
	key, err := decodeSecret(q.Get("secret"))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if len(key) < minKey {
		return nil, nil, fmt.Errorf("%w: %w: under %d bits", ErrBadURL, ErrShortSecret, minKey*8)
	}
	e.Secret = b32.EncodeToString(key)
	if s := q.Get("algorithm"); s != "" {
		if e.Algorithm, err = ParseAlgorithm(s); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
	}
	if s := q.Get("digits"); s != "" {
		if e.Digits, err = strconv.Atoi(s); err != nil || (e.Digits != 6 && e.Digits != 8) {
			return nil, nil, fmt.Errorf("%w: digits must be 6 or 8", ErrBadURL)
		}
	}
	if s := q.Get("period"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > maxPeriodSeconds {
			return nil, nil, fmt.Errorf("%w: period must be 1 to %d seconds", ErrBadURL, maxPeriodSeconds)
		}
		e.Period = time.Duration(p) * time.Second
	}
	return e, key, nil
}
