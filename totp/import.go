package totp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage"
)

// Imported is an authenticator-app secret that another system made and a
// phone already holds, to be carried over by [Service.Import] so that the
// user keeps the phone. Make one with [ParseSecret] or [ParseImportURL], or
// fill it in; Import checks it either way.
//
// Its String method names the parameters and the key's length, never the
// key, so printing one by mistake leaks nothing.
type Imported struct {
	Key       []byte // the raw secret, not base32
	Algorithm Algorithm
	Digits    int           // 6 or 8
	Period    time.Duration // whole seconds, 1s to 5 minutes
}

// MinImportBits is the shortest secret Import takes. RFC 4226 (R6) asks for
// 128 bits and recommends 160, which new set-ups use; but 80-bit secrets
// (16 base32 characters) were the common default of older libraries and of
// Google's own examples, and refusing them would strand exactly the phones
// an import is for. Below 80 bits a secret is refused with ErrShortSecret:
// the user sets up again.
const MinImportBits = 80

const (
	minImportKey = MinImportBits / 8
	// maxImportKey bounds a key: no app makes a longer one, and HMAC hashes
	// a longer key down anyway.
	maxImportKey = 128
	// maxSecretText bounds the base32 text read, spaces and padding
	// included.
	maxSecretText = 512
)

var (
	// ErrBadSecret reports an imported secret that cannot be used: not
	// base32, empty, or too long. The message never quotes the secret.
	ErrBadSecret = errors.New("totp: imported secret is not base32 of a usable key")
	// ErrShortSecret reports a secret under MinImportBits. It wraps
	// ErrBadSecret.
	ErrShortSecret = fmt.Errorf("%w: under %d bits", ErrBadSecret, MinImportBits)
	// ErrBadParameters reports an algorithm, number of digits or period
	// that twofa does not compute codes with.
	ErrBadParameters = errors.New("totp: imported secret's algorithm, digits or period not supported")
	// ErrAlreadySetUp reports that the user already has a confirmed secret
	// (enabled or disabled) and the import did not ask to replace it;
	// nothing was changed.
	ErrAlreadySetUp = errors.New("totp: already set up for this user")
)

// ParseSecret reads a base32 secret as apps and libraries show it: upper or
// lower case, with or without '=' padding, with spaces between groups. The
// algorithm, digits and period are the ones the old system computed codes
// with (most used SHA1, 6 digits, 30 seconds).
func ParseSecret(secret string, alg Algorithm, digits int, period time.Duration) (Imported, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return Imported{}, err
	}
	im := Imported{Key: key, Algorithm: alg, Digits: digits, Period: period}
	if err := im.check(); err != nil {
		return Imported{}, err
	}
	return im, nil
}

// ParseImportURL reads an otpauth://totp/ URL as [ParseURL] does, with
// the floor of MinImportBits instead of 128 bits, and returns the secret
// with the account its label names. Errors match ErrBadURL, and
// ErrBadSecret or ErrShortSecret for the secret.
func ParseImportURL(raw string) (im Imported, account string, err error) {
	e, key, err := parseURL(raw, minImportKey)
	if err != nil {
		return Imported{}, "", err
	}
	im = Imported{Key: key, Algorithm: e.Algorithm, Digits: e.Digits, Period: e.Period}
	if err := im.check(); err != nil {
		return Imported{}, "", fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	return im, e.Account, nil
}

// decodeSecret reads base32 text, refusing with ErrBadSecret or
// ErrShortSecret errors that never quote it.
func decodeSecret(text string) ([]byte, error) {
	if len(text) > maxSecretText {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrBadSecret, maxSecretText)
	}
	text = strings.ToUpper(strings.TrimRight(strings.ReplaceAll(text, " ", ""), "="))
	if text == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadSecret)
	}
	// Lengths of 1, 3 or 6 characters past a multiple of 8 hold no whole
	// byte; the decoder would drop them silently.
	key, err := b32.DecodeString(text)
	if n := len(text) % 8; err != nil || n == 1 || n == 3 || n == 6 {
		return nil, fmt.Errorf("%w: not base32", ErrBadSecret)
	}
	if len(key) < minImportKey {
		return nil, ErrShortSecret
	}
	if len(key) > maxImportKey {
		return nil, fmt.Errorf("%w: over %d bits", ErrBadSecret, maxImportKey*8)
	}
	return key, nil
}

// check applies the rules of ParseSecret to a value filled in by hand.
func (im Imported) check() error {
	switch {
	case len(im.Key) < minImportKey:
		return ErrShortSecret
	case len(im.Key) > maxImportKey:
		return fmt.Errorf("%w: over %d bits", ErrBadSecret, maxImportKey*8)
	}
	if _, err := im.Algorithm.hash(); err != nil {
		return fmt.Errorf("%w: unknown algorithm", ErrBadParameters)
	}
	if im.Digits != 6 && im.Digits != 8 {
		return fmt.Errorf("%w: digits must be 6 or 8", ErrBadParameters)
	}
	if im.Period < time.Second || im.Period > maxPeriodSeconds*time.Second || im.Period%time.Second != 0 {
		return fmt.Errorf("%w: period must be whole seconds from 1s to %ds", ErrBadParameters, maxPeriodSeconds)
	}
	return nil
}

// String describes im without its key.
func (im Imported) String() string {
	return fmt.Sprintf("totp.Imported{%v, %d digits, %v, %d-bit key}", im.Algorithm, im.Digits, im.Period, len(im.Key)*8)
}

// GoString is String, so that %#v does not print the key either.
func (im Imported) GoString() string { return im.String() }

// ImportOptions changes what Import does; the zero value is the safe
// default.
type ImportOptions struct {
	// Replace lets the import take the place of a confirmed secret the
	// user already has. Without it such a user gets ErrAlreadySetUp.
	Replace bool
}

// Import stores im for userID, sealed, confirmed and enabled at once: the
// user's phone keeps working and no set-up page is shown. account labels
// the secret (userID when empty; see [ErrBadAccount]).
//
// Codes the old system may have accepted just before are refused: the time
// steps from the one before the current step to the one after it are
// marked used, so the first code twofa takes is one the phone shows after
// the import (up to two periods later). Codes the old system accepts after
// the import are not known here: stop its second step before importing.
//
// A user with a confirmed secret gets ErrAlreadySetUp unless opt.Replace;
// a set-up the user had begun is dropped. The import is never half
// applied: the secret becomes active only after its time steps are marked
// used, and a failure leaves the user's method as it was (a staged copy,
// which no session can confirm and no code verifies, may remain until the
// next write). If another change lands in between, it returns
// ErrConcurrentChange and the other change stands; a retry then sees it
// (ErrAlreadySetUp for another import). Of any number of concurrent
// imports for one user without Replace, exactly one succeeds.
//
// It emits event.Imported, which the module's notices do not mail: a bulk
// migration should not mail every user. Errors never quote the secret.
func (s *Service) Import(ctx context.Context, userID, account string, im Imported, opt ImportOptions) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if account = strings.TrimSpace(account); account == "" {
		account = userID
	}
	if err := checkLabelPart("account", account); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAccount, err)
	}
	if err := im.check(); err != nil {
		return err
	}
	now, err := s.clock()
	if err != nil {
		return err
	}
	sealed, err := s.cfg.Keys.Seal(sealPurpose, userID, im.Key)
	if err != nil {
		return fmt.Errorf("totp: seal secret: %w", err)
	}
	old, err := s.cfg.Store.TOTP(ctx, userID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		old = storage.TOTPRecord{UserID: userID}
	case err != nil:
		return fmt.Errorf("totp: load: %w", err)
	}
	if old.Active != nil && !opt.Replace {
		return ErrAlreadySetUp
	}
	period := int64(im.Period / time.Second)
	sec := storage.TOTPSecret{
		Sealed:    sealed,
		Algorithm: im.Algorithm.String(),
		Digits:    im.Digits,
		Period:    int(period),
		Created:   now,
	}

	// First the secret is staged as a pending set-up with no session
	// binding, which no session can confirm, dated so that it has already
	// expired, so State does not show it: a record must exist before its
	// LastStep can move, and the active secret must not change before it
	// has.
	staged := old
	staged.Account = account
	staged.Pending = &storage.TOTPSecret{
		Sealed: sec.Sealed, Algorithm: sec.Algorithm, Digits: sec.Digits, Period: sec.Period,
		Created: now.Add(-s.cfg.SetupValidity),
	}
	v, err := s.cfg.Store.PutTOTP(ctx, staged)
	if err != nil {
		return s.storeErr("stage imported secret", err)
	}
	// The old system may have accepted the codes of the step before, this
	// one and the one after (its own skew, whatever ours is): mark all
	// three used. LastStep holds a step's start in Unix seconds.
	burn := (now.Unix()/period + 1) * period
	if _, err := s.cfg.Store.AdvanceTOTPStep(ctx, userID, burn); err != nil {
		s.unstage(ctx, old, v)
		return s.storeErr("mark imported steps used", err)
	}
	final := staged
	final.Version = v
	final.Active, final.Pending, final.Disabled = &sec, nil, false
	if _, err := s.cfg.Store.PutTOTP(ctx, final); err != nil {
		if !errors.Is(err, storage.ErrConflict) {
			s.unstage(ctx, old, v)
		}
		return s.storeErr("save imported secret", err)
	}
	s.emit(ctx, event.Imported, userID, now, "")
	return nil
}

// unstage puts back the record as it was before an import staged its
// secret at version v, if nothing else wrote since. It is best effort: the
// staged secret it removes is inert anyway.
func (s *Service) unstage(ctx context.Context, old storage.TOTPRecord, v int64) {
	old.Version = v
	_, _ = s.cfg.Store.PutTOTP(ctx, old)
}
