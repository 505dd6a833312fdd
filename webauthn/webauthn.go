// Package webauthn adds security keys and passkeys (WebAuthn) as a second
// factor, on github.com/go-webauthn/webauthn.
//
// # What this package adds to go-webauthn
//
//   - Ceremony state is kept in the store and taken from it atomically on
//     first use: the same response submitted twice against one ceremony,
//     or raced from several requests, is refused. go-webauthn checks a
//     response against session data but does not know if it was used.
//   - Ceremonies expire (go-webauthn's timeouts are enforced) and are bound
//     to the user they were begun for. Each begin removes every expired
//     ceremony and keeps at most [Config.MaxCeremonies] per user and
//     [Config.MaxPasskeyCeremonies] passkey sign-ins in all, so begin
//     requests cannot pile up rows.
//   - A response without the user-present flag (no one touched the key) is
//     refused.
//   - A user has at most [Config.MaxKeys] keys ([DefaultMaxKeys], 25): a
//     registration is refused with [ErrTooManyKeys] when it begins and
//     again, counting keys added meanwhile, when it finishes.
//   - A credential ID is registered once across all users; a user's keys
//     are sent as exclusions so the browser refuses a known key early.
//   - A sign count that does not increase (a cloned key) is refused unless
//     [Config.AllowCloneWarning] says to accept and only report it.
//   - Each user gets a random WebAuthn user handle, never the application's
//     user ID.
//   - Origins are HTTPS only, except http://localhost for development.
//   - A clock that [storage.CheckTime] refuses (the zero time, before
//     1970, past 2262) fails every Begin and Finish: no key passes on a
//     time that makes expiry meaningless.
//   - Every method taking a user ID applies [storage.CheckUserID] before
//     any store call, and refuses an ID outside it with an error matching
//     [storage.ErrInvalidUserID].
//
// # Names people recognise
//
// Each key keeps the AAGUID its authenticator reported when it was
// registered: the model ("YubiKey 5 Series with NFC", "Google Password
// Manager"). [Key.Provider] names it from [Config.Providers], else from
// the table shipped with the package ([Provider]), taken from the
// community list github.com/passkeydeveloper/passkey-authenticator-aaguids
// (see NOTICE; `go generate ./webauthn` refreshes it). The user's own name
// for a key stays [Key.Name]; a settings page shows the provider beside
// it. Keys stored before the model was read show no provider.
//
// # Which authenticators a user may use
//
// [Config.Rules] gives a user's [KeyRules]: models allowed, models denied,
// and whether synced passkeys (backup eligible, which the provider may copy
// to other devices) are refused. The rules are read when a registration
// begins, and enforced when it finishes: a refused key fails with
// [ErrKeyRefused], wrapped with the rule, and is not stored. They hold at
// every sign-in too: a key registered before a rule changed stops passing
// ([ErrKeyRefused]), and [Key.Refused] says why, so the settings can show
// it. Rules that cannot be read (an error) refuse the registration or the
// sign-in, as a failing store does.
//
// This package asks for attestation "none", so the AAGUID is the
// authenticator's own claim, not proof: an allow list keeps honest users
// on the approved models, and does not stop an authenticator built or
// patched to claim another model. Proving the model needs attestation
// ("direct" or "enterprise") checked against the FIDO Metadata Service.
// go-webauthn could do it (its Config.MDS, with a provider from its
// metadata/providers packages, which must download and refresh the
// Service's signed list); this package does not use it yet. Backup
// eligibility is likewise the authenticator's claim. A key whose
// authenticator names no model (an all-zero AAGUID, as many U2F keys and
// some platforms send) is refused by any allow list: go-webauthn's own
// Filtering lets it through, and is one setting for every user.
package webauthn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/storage"
)

// Method is the name of this method in events and account views.
const Method = "webauthn"

// MaxResponse bounds the size of a browser's response that is parsed.
const MaxResponse = 64 << 10

const (
	kindRegistration = "registration"
	kindLogin        = "login"
	kindPasskey      = "passkey"
	maxNameLen       = 64
)

// DefaultMaxKeys is how many security keys and passkeys one user may have
// unless Config.MaxKeys says otherwise: a key on the key ring, a spare in a
// drawer, the passkeys of a few phones, laptops and password managers, and
// room to spare; few enough that the list (and the exclusions sent at
// every registration) stays small.
const DefaultMaxKeys = 25

// maxMaxKeys bounds Config.MaxKeys: a bound that no one reaches is no
// bound.
const maxMaxKeys = 1000

var (
	// ErrCeremony reports a ceremony that is unknown, already used,
	// expired, dropped for newer ones (Config.MaxCeremonies), or begun for
	// another user or purpose.
	ErrCeremony = errors.New("webauthn: no such ceremony (unknown, used, expired, replaced by newer ones, or for another user)")
	// ErrResponse reports a browser response that does not verify: bad
	// JSON, wrong origin or relying party, bad signature, missing user
	// verification when required, or a key that is not the user's.
	ErrResponse = errors.New("webauthn: response does not verify")
	// ErrDuplicateKey reports a key that is already registered, to this
	// user or another: each key can only be added once.
	ErrDuplicateKey = errors.New("webauthn: this key is already registered")
	// ErrCloned reports a sign count that did not increase: the key may
	// have been cloned.
	ErrCloned = errors.New("webauthn: the key's signature counter went backwards; it may be cloned")
	// ErrNoKeys reports a user with no security keys.
	ErrNoKeys = errors.New("webauthn: no security keys for this user")
	// ErrNotFound reports a key ID the user does not have.
	ErrNotFound = errors.New("webauthn: no such key")
	// ErrNotEnabled reports a user who turned security keys off.
	ErrNotEnabled = errors.New("webauthn: security keys are turned off for this user")
	// ErrTooManyKeys reports a registration begun or finished while the
	// user has Config.MaxKeys keys: one must be removed first.
	ErrTooManyKeys = errors.New("webauthn: the user has as many security keys as allowed; remove one first")
	// ErrBadName reports a key name that is empty, too long or not text.
	ErrBadName = errors.New("webauthn: key names are 1 to 64 characters of text")
)

// Store is what the service needs from a store.
type Store interface {
	storage.WebAuthnStore
	storage.CeremonyStore
}

// Config configures a Service. RPID, Origins and Store are required.
type Config struct {
	// RPID is the relying party ID: the site's domain ("example.com").
	RPID string
	// RPDisplayName names the site in the browser's prompt; default RPID.
	RPDisplayName string
	// Origins are the origins pages run at ("https://example.com"). Only
	// HTTPS, except http://localhost (any port) for development.
	Origins []string
	Store   Store
	// Timeout is how long a registration or second-factor login may take;
	// default 5 minutes.
	Timeout time.Duration
	// PasskeyTimeout is how long a passkey sign-in may take; default 2
	// minutes, or Timeout if that is shorter. Anyone can begin one, without
	// a password, so its ceremonies are kept for less time.
	PasskeyTimeout time.Duration
	// MaxCeremonies bounds a user's unfinished ceremonies (registrations
	// and logins together); default 5. Beginning one more drops the user's
	// ceremony that expires first, which then fails with ErrCeremony: only
	// the newest few tabs or retries of one user can finish.
	MaxCeremonies int
	// MaxPasskeyCeremonies bounds the unfinished passkey sign-ins of all
	// visitors together, since no user is known when one begins; default
	// 1000. Past it the oldest is dropped, so someone beginning sign-ins
	// faster than MaxPasskeyCeremonies per PasskeyTimeout can make others'
	// fail: limit the rate of the begin endpoint per client, as for any
	// unauthenticated endpoint. Expired ceremonies of every user are
	// removed whenever one begins.
	MaxPasskeyCeremonies int
	// MaxKeys bounds a user's security keys and passkeys; default
	// DefaultMaxKeys (25), at most 1000. A registration is refused with
	// ErrTooManyKeys when it begins and again when it finishes, while the
	// user has MaxKeys. Finishes of one user are serialised within a
	// Service, so on one server the bound is exact however many
	// registrations run at once; servers sharing a store each check before
	// they write, so k servers finishing at the same instant can leave at
	// most k-1 keys over it.
	MaxKeys int
	// RequireUserVerification refuses keys that did not verify the user (a
	// PIN or biometric). By default it is asked for ("preferred") and
	// reported, not required.
	RequireUserVerification bool
	// AllowCloneWarning accepts a login whose sign count did not increase,
	// and only reports it in an event; by default such a login is refused.
	AllowCloneWarning bool
	// Rules says which authenticators userID may register and sign in
	// with; nil allows every one. It is asked when a registration begins
	// and again when it finishes, and at every sign-in (a key whose model
	// became refused stops passing). An error refuses.
	Rules func(ctx context.Context, userID string) (KeyRules, error)
	// Providers names authenticator models for this application, over the
	// shipped table that Provider reads (a company's own keys, say). New
	// refuses a name that is empty, over 128 characters, or not plain text
	// on one line, and the zero AAGUID.
	Providers map[AAGUID]string
	Events    event.Hook
	Now       func() time.Time
	Rand      io.Reader
}

// Service registers keys and checks logins. It is safe for concurrent use
// and keeps no state of its own.
type Service struct {
	cfg Config
	wa  *gowebauthn.WebAuthn
	uv  protocol.UserVerificationRequirement
	// adding serialises the count and the write of a new key per user
	// (striped by a hash of the user ID), so parallel finishes cannot all
	// see room for one more.
	adding [64]sync.Mutex
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("webauthn: Config.Store is required")
	}
	if cfg.RPID == "" {
		return nil, errors.New("webauthn: Config.RPID is required")
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("webauthn: Config.Origins is required")
	}
	for _, o := range cfg.Origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	if cfg.Timeout < 0 || cfg.PasskeyTimeout < 0 || cfg.MaxCeremonies < 0 || cfg.MaxPasskeyCeremonies < 0 || cfg.MaxKeys < 0 {
		return nil, errors.New("webauthn: Config timeouts and limits cannot be negative")
	}
	if err := checkProviders(cfg.Providers); err != nil {
		return nil, err
	}
	if cfg.MaxKeys > maxMaxKeys {
		return nil, fmt.Errorf("webauthn: Config.MaxKeys must be at most %d", maxMaxKeys)
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.PasskeyTimeout == 0 {
		cfg.PasskeyTimeout = min(2*time.Minute, cfg.Timeout)
	}
	if cfg.MaxCeremonies == 0 {
		cfg.MaxCeremonies = 5
	}
	if cfg.MaxPasskeyCeremonies == 0 {
		cfg.MaxPasskeyCeremonies = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	uv := protocol.VerificationPreferred
	if cfg.RequireUserVerification {
		uv = protocol.VerificationRequired
	}
	timeout := gowebauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	wa, err := gowebauthn.New(&gowebauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.Origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: uv,
		},
		Timeouts: gowebauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Service{cfg: cfg, wa: wa, uv: uv}, nil
}

// checkOrigin allows https:// origins, and http://localhost for
// development.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("webauthn: origin %q is not scheme://host[:port]", o)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && u.Hostname() == "localhost":
		return nil
	}
	return fmt.Errorf("webauthn: origin %q must be https (http only for localhost)", o)
}

// Key describes a user's security key, without its public key.
type Key struct {
	ID       string // base64url, as the browser names it
	Name     string
	Created  time.Time
	LastUsed time.Time
	// Passkey is true for a discoverable credential, which can sign in
	// without a user name.
	Passkey bool
	// Synced is true for a passkey that its provider may copy to the
	// user's other devices (the backup-eligible flag, set when it was
	// registered): a synced passkey rather than one bound to a device.
	Synced bool
	// AAGUID is the model the authenticator said it is when it was
	// registered; zero when it did not say, or for a key stored before
	// the model was kept.
	AAGUID AAGUID
	// Provider names the model: Config.Providers' name, else the shipped
	// one (Provider), else "".
	Provider string
	// Refused names the rule of the user's current KeyRules that refuses
	// this key (a rule changed since it was registered): RefusedModelDenied,
	// RefusedModelNotAllowed or RefusedSynced; "" when they allow it. A
	// refused key does not pass a sign-in.
	Refused string
}

// user adapts a user to go-webauthn.
type user struct {
	handle []byte
	name   string
	creds  []gowebauthn.Credential
}

func (u *user) WebAuthnID() []byte                           { return u.handle }
func (u *user) WebAuthnName() string                         { return u.name }
func (u *user) WebAuthnDisplayName() string                  { return u.name }
func (u *user) WebAuthnCredentials() []gowebauthn.Credential { return u.creds }

// record is what Data holds for a credential: a version byte, a flags
// byte, then go-webauthn's own (msgpack) encoding of the credential, which
// reads several times faster than its JSON.
type record struct {
	Credential gowebauthn.Credential
	Passkey    bool
}

const recordV1 = 1

func (r *record) marshal() ([]byte, error) {
	flags := byte(0)
	if r.Passkey {
		flags = 1
	}
	return r.Credential.MarshalMsg([]byte{recordV1, flags})
}

func (r *record) unmarshal(b []byte) error {
	if len(b) < 2 || b[0] != recordV1 {
		return errors.New("webauthn: stored key has an unknown format")
	}
	r.Passkey = b[1]&1 != 0
	if _, err := r.Credential.UnmarshalMsg(b[2:]); err != nil {
		return fmt.Errorf("webauthn: stored key is unreadable: %w", err)
	}
	return nil
}

// loadUser reads the user's handle (making one if create) and credentials.
func (s *Service) loadUser(ctx context.Context, userID, name string, create bool) (*user, []stored, error) {
	handle, err := s.cfg.Store.WebAuthnHandle(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) && create {
		handle = make([]byte, 32)
		if _, err := io.ReadFull(s.cfg.Rand, handle); err != nil {
			return nil, nil, fmt.Errorf("webauthn: random: %w", err)
		}
		err = s.cfg.Store.PutWebAuthnHandle(ctx, userID, handle)
		if errors.Is(err, storage.ErrConflict) { // made concurrently: use that one
			handle, err = s.cfg.Store.WebAuthnHandle(ctx, userID)
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrNoKeys
	}
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: load user: %w", err)
	}
	keys, err := s.load(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	u := &user{handle: handle, name: name}
	for _, k := range keys {
		u.creds = append(u.creds, k.rec.Credential)
	}
	return u, keys, nil
}

// stored is a credential as stored, with its record decoded.
type stored struct {
	storage.WebAuthnCredential
	rec record
}

// load reads and decodes the user's credentials.
func (s *Service) load(ctx context.Context, userID string) ([]stored, error) {
	creds, err := s.cfg.Store.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("webauthn: load keys: %w", err)
	}
	out := make([]stored, len(creds))
	for i, c := range creds {
		out[i].WebAuthnCredential = c
		if err := out[i].rec.unmarshal(c.Data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ceremonyData is what a stored ceremony holds: the key's name, for a
// registration, and go-webauthn's session data.
type ceremonyData struct {
	Session gowebauthn.SessionData
	Name    string
}

// marshal writes the name's length in bytes as a uvarint, the name, then
// the session in msgpack. A name of 64 characters can take 256 bytes, more
// than one byte can count; a uvarint below 128 is the same single byte the
// first format wrote, so ceremonies stored before the change still read.
func (d *ceremonyData) marshal() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(len(d.Name)))
	b = append(b, d.Name...)
	return d.Session.MarshalMsg(b)
}

func (d *ceremonyData) unmarshal(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return errors.New("webauthn: stored ceremony is unreadable")
	}
	b = b[k:]
	d.Name = string(b[:n])
	if _, err := d.Session.UnmarshalMsg(b[n:]); err != nil {
		return fmt.Errorf("webauthn: stored ceremony is unreadable: %w", err)
	}
	return nil
}

func (s *Service) begin(ctx context.Context, now time.Time, userID, kind string, session *gowebauthn.SessionData, name string, options any) (string, []byte, error) {
	var id [18]byte
	if _, err := io.ReadFull(s.cfg.Rand, id[:]); err != nil {
		return "", nil, fmt.Errorf("webauthn: random: %w", err)
	}
	cd := ceremonyData{Session: *session, Name: name}
	data, err := cd.marshal()
	if err != nil {
		return "", nil, fmt.Errorf("webauthn: %w", err)
	}
	timeout, keep := s.cfg.Timeout, s.cfg.MaxCeremonies
	if userID == "" {
		timeout, keep = s.cfg.PasskeyTimeout, s.cfg.MaxPasskeyCeremonies
	}
	c := storage.Ceremony{ID: base64.RawURLEncoding.EncodeToString(id[:]), UserID: userID, Kind: kind, Data: data, Expires: now.Add(timeout)}
	// The store drops every expired ceremony and, beyond keep, the user's
	// (or the passkey pool's) that expire first: begin calls cannot pile up
	// rows, and a ceremony dropped so finishes with ErrCeremony.
	if err := s.cfg.Store.PutCeremony(ctx, c, now, keep); err != nil {
		return "", nil, fmt.Errorf("webauthn: store ceremony: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return "", nil, fmt.Errorf("webauthn: %w", err)
	}
	return c.ID, opts, nil
}

// take consumes the ceremony and checks it was begun for userID and kind,
// and is not expired. It returns the time the rest of the finish uses;
// with a clock that cannot be trusted it fails before the store is read.
func (s *Service) take(ctx context.Context, id, userID, kind string) (ceremonyData, time.Time, error) {
	now, err := s.now()
	if err != nil {
		return ceremonyData{}, time.Time{}, err
	}
	c, err := s.cfg.Store.TakeCeremony(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ceremonyData{}, time.Time{}, ErrCeremony
	}
	if err != nil {
		return ceremonyData{}, time.Time{}, fmt.Errorf("webauthn: take ceremony: %w", err)
	}
	if c.Kind != kind || c.UserID != userID || !now.Before(c.Expires) {
		return ceremonyData{}, time.Time{}, ErrCeremony
	}
	var d ceremonyData
	if err := d.unmarshal(c.Data); err != nil {
		return ceremonyData{}, time.Time{}, err
	}
	// go-webauthn checks the session's expiry too, against the wall clock
	// (its timeouts are enforced); ours, above, uses the configured clock.
	return d, now, nil
}

// now reads the configured clock and refuses a time no factor may act on
// (storage.CheckTime): a clock that was never set, or is wildly wrong,
// denies every ceremony rather than letting expiry checks pass.
func (s *Service) now() (time.Time, error) {
	now := s.cfg.Now()
	if err := storage.CheckTime(now); err != nil {
		return time.Time{}, fmt.Errorf("webauthn: clock: %w", err)
	}
	return now, nil
}

// checkUser applies storage's rule for user IDs, before any store call,
// so every store sees the same IDs whatever its engine would accept.
func checkUser(userID string) error {
	if err := storage.CheckUserID(userID); err != nil {
		return fmt.Errorf("webauthn: %w", err)
	}
	return nil
}

// validName reports whether name, trimmed, is 1 to 64 characters of valid
// UTF-8 without control characters or line breaks: a name is shown on
// one line in the user's list of keys.
func validName(name string) bool {
	n := strings.TrimSpace(name)
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxNameLen {
		return false
	}
	for _, r := range n {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// BeginRegistration starts adding a key called name for userID (account is
// the user name shown by the browser). It returns the ceremony ID and the
// options JSON, {"publicKey": {...}}, whose publicKey member is for
// PublicKeyCredential.parseCreationOptionsFromJSON. The user's existing
// keys are excluded. An empty name (or only spaces) lets the key be named
// after its model when it finishes (Key.Provider, cut to 64 characters),
// or "Passkey" or "Security key" when the model is unknown.
func (s *Service) BeginRegistration(ctx context.Context, userID, account, name string) (ceremony string, options []byte, err error) {
	if err := checkUser(userID); err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(name) != "" && !validName(name) {
		return "", nil, ErrBadName
	}
	now, err := s.now()
	if err != nil {
		return "", nil, err
	}
	// The rules are asked first, so that a user whose rules cannot be
	// read begins nothing and gets no user handle; nothing of them goes
	// into the options, which the browser could ignore: the finish
	// enforces them.
	if _, err := s.rules(ctx, userID); err != nil {
		return "", nil, err
	}
	if account == "" {
		account = userID
	}
	u, _, err := s.loadUser(ctx, userID, account, true)
	if err != nil {
		return "", nil, err
	}
	if len(u.creds) >= s.cfg.MaxKeys {
		return "", nil, ErrTooManyKeys
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := s.wa.BeginRegistration(u, gowebauthn.WithExclusions(exclude),
		gowebauthn.WithExtensions(gowebauthn.WithExtensionCredProps()))
	if err != nil {
		return "", nil, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	return s.begin(ctx, now, userID, kindRegistration, session, strings.TrimSpace(name), creation)
}

// FinishRegistration checks the browser's response (credential.toJSON())
// and stores the key. The ceremony is used up whatever the outcome, once
// the user ID and the clock pass their checks (which read no store).
func (s *Service) FinishRegistration(ctx context.Context, ceremony, userID string, response []byte) (Key, error) {
	if err := checkUser(userID); err != nil {
		return Key{}, err
	}
	d, now, err := s.take(ctx, ceremony, userID, kindRegistration)
	if err != nil {
		return Key{}, err
	}
	parsed, err := parseCreation(response)
	if err != nil {
		return Key{}, err
	}
	u, _, err := s.loadUser(ctx, userID, userID, false)
	if err != nil {
		return Key{}, err
	}
	cred, err := s.wa.CreateCredential(u, d.Session, parsed)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s", ErrResponse, describe(err))
	}
	// The rules are read again, not carried from the begin: a rule
	// changed meanwhile applies.
	rules, err := s.rules(ctx, userID)
	if err != nil {
		return Key{}, err
	}
	if _, err := rules.refusal(aaguidOf(cred.Authenticator.AAGUID), synced(cred.Flags)); err != nil {
		return Key{}, err
	}
	// The browser says, through the credProps extension, whether the key
	// made a discoverable credential (a passkey).
	rec := record{Credential: *cred}
	if p := parsed.ClientExtensionResults.CredProps; p != nil && p.RK != nil {
		rec.Passkey = *p.RK
	}
	data, err := rec.marshal()
	if err != nil {
		return Key{}, fmt.Errorf("webauthn: %w", err)
	}
	name := d.Name
	if name == "" {
		name = s.defaultName(aaguidOf(cred.Authenticator.AAGUID), rec.Passkey || synced(cred.Flags))
	}
	c := storage.WebAuthnCredential{ID: cred.ID, UserID: userID, Name: name, Data: data, Created: now}
	if err := s.addKey(ctx, c); err != nil {
		return Key{}, err
	}
	s.emit(ctx, event.Enrolled, userID, now, "")
	return s.keyOf(c, rec, nil), nil
}

// defaultName names a key the user gave no name: its model's name, fit
// to the bound on names, else what kind of key it is.
func (s *Service) defaultName(a AAGUID, passkey bool) string {
	if p := s.provider(a); p != "" {
		if r := []rune(p); len(r) > maxNameLen {
			p = strings.TrimSpace(string(r[:maxNameLen]))
		}
		if validName(p) {
			return p
		}
	}
	if passkey {
		return "Passkey"
	}
	return "Security key"
}

// stripeSeed places user IDs on the stripes of Service.adding.
var stripeSeed = maphash.MakeSeed()

// addKey stores c unless its user already has MaxKeys keys. The count is
// read again here, not taken from the start of the finish: keys added
// meanwhile count, and the stripe lock keeps this Service's finishes of
// one user from counting at once.
func (s *Service) addKey(ctx context.Context, c storage.WebAuthnCredential) error {
	mu := &s.adding[maphash.String(stripeSeed, c.UserID)%uint64(len(s.adding))]
	mu.Lock()
	defer mu.Unlock()
	have, err := s.cfg.Store.WebAuthnCredentials(ctx, c.UserID)
	if err != nil {
		return fmt.Errorf("webauthn: load keys: %w", err)
	}
	if len(have) >= s.cfg.MaxKeys {
		return ErrTooManyKeys
	}
	switch err := s.cfg.Store.AddWebAuthnCredential(ctx, c); {
	case errors.Is(err, storage.ErrConflict):
		return ErrDuplicateKey
	case err != nil:
		return fmt.Errorf("webauthn: store key: %w", err)
	}
	return nil
}

// Result is a passed login.
type Result struct {
	Key Key
	// UserVerified is true when the key verified the user (PIN or
	// biometric), not just their presence.
	UserVerified bool
	// CloneWarning is true when the sign count did not increase and
	// Config.AllowCloneWarning let the login through.
	CloneWarning bool
}

// BeginLogin starts a second-factor login for userID, allowing the user's
// keys. It returns ErrNoKeys for a user without keys.
func (s *Service) BeginLogin(ctx context.Context, userID string) (ceremony string, options []byte, err error) {
	if err := checkUser(userID); err != nil {
		return "", nil, err
	}
	now, err := s.now()
	if err != nil {
		return "", nil, err
	}
	u, _, err := s.loadUser(ctx, userID, userID, false)
	if err != nil {
		return "", nil, err
	}
	if len(u.creds) == 0 {
		return "", nil, ErrNoKeys
	}
	if off, err := s.cfg.Store.WebAuthnDisabled(ctx, userID); err != nil {
		return "", nil, fmt.Errorf("webauthn: load user: %w", err)
	} else if off {
		return "", nil, ErrNotEnabled
	}
	assertion, session, err := s.wa.BeginLogin(u, gowebauthn.WithUserVerification(s.uv))
	if err != nil {
		return "", nil, fmt.Errorf("webauthn: begin login: %w", err)
	}
	return s.begin(ctx, now, userID, kindLogin, session, "", assertion)
}

// FinishLogin checks the browser's response for the ceremony begun for
// userID. The ceremony is used up whatever the outcome, once the user ID
// and the clock pass their checks (which read no store).
func (s *Service) FinishLogin(ctx context.Context, ceremony, userID string, response []byte) (Result, error) {
	if err := checkUser(userID); err != nil {
		return Result{}, err
	}
	d, now, err := s.take(ctx, ceremony, userID, kindLogin)
	if err != nil {
		return Result{}, err
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return Result{}, err
	}
	u, keys, err := s.loadUser(ctx, userID, userID, false)
	if err != nil {
		return Result{}, err
	}
	cred, err := s.wa.ValidateLogin(u, d.Session, parsed)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s", ErrResponse, describe(err))
	}
	return s.finish(ctx, now, userID, keys, cred, parsed)
}

// passkeyTimeout gives a passkey sign-in its own timeout, in the options
// the browser gets and in go-webauthn's enforced expiry.
func (s *Service) passkeyTimeout(o *protocol.PublicKeyCredentialRequestOptions) error {
	o.Timeout = int(s.cfg.PasskeyTimeout.Milliseconds())
	return nil
}

// BeginPasskeyLogin starts a passwordless sign-in: no user is known yet,
// and the browser offers the passkeys it has for this site.
func (s *Service) BeginPasskeyLogin(ctx context.Context) (ceremony string, options []byte, err error) {
	now, err := s.now()
	if err != nil {
		return "", nil, err
	}
	// A passkey signs in without a password: it must verify the user,
	// whatever Config.RequireUserVerification asks of second factors.
	assertion, session, err := s.wa.BeginDiscoverableLogin(gowebauthn.WithUserVerification(protocol.VerificationRequired), s.passkeyTimeout)
	if err != nil {
		return "", nil, fmt.Errorf("webauthn: begin passkey login: %w", err)
	}
	return s.begin(ctx, now, "", kindPasskey, session, "", assertion)
}

// FinishPasskeyLogin checks a passkey sign-in and returns the user it
// belongs to.
func (s *Service) FinishPasskeyLogin(ctx context.Context, ceremony string, response []byte) (userID string, res Result, err error) {
	d, now, err := s.take(ctx, ceremony, "", kindPasskey)
	if err != nil {
		return "", Result{}, err
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return "", Result{}, err
	}
	var keys []stored
	handler := func(_, handle []byte) (gowebauthn.User, error) {
		id, err := s.cfg.Store.WebAuthnUserByHandle(ctx, handle)
		if err == nil {
			err = checkUser(id)
		}
		if err != nil {
			return nil, err
		}
		u, st, err := s.loadUser(ctx, id, id, false)
		if err != nil {
			return nil, err
		}
		userID, keys = id, st
		return u, nil
	}
	cred, err := s.wa.ValidateDiscoverableLogin(handler, d.Session, parsed)
	if err != nil {
		return "", Result{}, fmt.Errorf("%w: %s", ErrResponse, describe(err))
	}
	res, err = s.finish(ctx, now, userID, keys, cred, parsed)
	return userID, res, err
}

// finish applies the sign count and records the use.
func (s *Service) finish(ctx context.Context, now time.Time, userID string, keys []stored, cred *gowebauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (Result, error) {
	if off, err := s.cfg.Store.WebAuthnDisabled(ctx, userID); err != nil {
		return Result{}, fmt.Errorf("webauthn: load user: %w", err)
	} else if off {
		return Result{}, ErrNotEnabled
	}
	// Credential IDs are public (login options list them), so a plain
	// comparison leaks nothing; the challenge, the one secret a response
	// is checked against, go-webauthn compares in constant time.
	var k *stored
	for i := range keys {
		if string(keys[i].ID) == string(cred.ID) {
			k = &keys[i]
		}
	}
	if k == nil {
		return Result{}, fmt.Errorf("%w: not one of the user's keys", ErrResponse)
	}
	// A key registered before a rule changed is held to the rule now.
	rules, err := s.rules(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	if _, err := rules.refusal(aaguidOf(k.rec.Credential.Authenticator.AAGUID), synced(k.rec.Credential.Flags)); err != nil {
		return Result{}, err
	}
	res := Result{UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(), CloneWarning: cred.Authenticator.CloneWarning}
	if res.CloneWarning {
		s.emit(ctx, event.CloneWarning, userID, now, "sign count did not increase")
		if !s.cfg.AllowCloneWarning {
			return Result{}, ErrCloned
		}
	}
	k.rec.Credential = *cred
	data, err := k.rec.marshal()
	if err != nil {
		return Result{}, fmt.Errorf("webauthn: %w", err)
	}
	k.Data, k.LastUsed = data, now
	if err := s.cfg.Store.UpdateWebAuthnCredential(ctx, k.WebAuthnCredential); err != nil {
		return Result{}, fmt.Errorf("webauthn: update key: %w", err)
	}
	s.emit(ctx, event.Verified, userID, now, "")
	res.Key = s.keyOf(k.WebAuthnCredential, k.rec, nil)
	return res, nil
}

// Disable turns the user's security keys off for a while; they are kept,
// and Enable turns them on again. A user without keys gets ErrNoKeys.
func (s *Service) Disable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, true, event.Disabled)
}

// Enable turns the user's security keys back on.
func (s *Service) Enable(ctx context.Context, userID string) error {
	return s.setDisabled(ctx, userID, false, event.EnabledAgain)
}

func (s *Service) setDisabled(ctx context.Context, userID string, off bool, k event.Kind) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	keys, err := s.load(ctx, userID)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return ErrNoKeys
	}
	// Already so: no change, so no event and no notice.
	if was, err := s.cfg.Store.WebAuthnDisabled(ctx, userID); err != nil {
		return fmt.Errorf("webauthn: load user: %w", err)
	} else if was == off {
		return nil
	}
	if err := s.cfg.Store.SetWebAuthnDisabled(ctx, userID, off); err != nil {
		return fmt.Errorf("webauthn: save: %w", err)
	}
	s.emit(ctx, k, userID, s.cfg.Now(), "")
	return nil
}

// State is a user's security keys at a glance.
type State struct {
	Keys     []Key
	Disabled bool
}

// State returns the user's keys and whether they are turned off.
func (s *Service) State(ctx context.Context, userID string) (State, error) {
	if err := checkUser(userID); err != nil {
		return State{}, err
	}
	keys, err := s.Keys(ctx, userID)
	if err != nil {
		return State{}, err
	}
	off, err := s.cfg.Store.WebAuthnDisabled(ctx, userID)
	if err != nil {
		return State{}, fmt.Errorf("webauthn: load user: %w", err)
	}
	return State{Keys: keys, Disabled: off}, nil
}

// Keys returns the user's keys, oldest first.
func (s *Service) Keys(ctx context.Context, userID string) ([]Key, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	loaded, err := s.load(ctx, userID)
	if err != nil {
		return nil, err
	}
	rules, err := s.rules(ctx, userID)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(loaded))
	for _, k := range loaded {
		keys = append(keys, s.keyOf(k.WebAuthnCredential, k.rec, &rules))
	}
	return keys, nil
}

// Rename gives the user's key id a new name.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	if !validName(name) {
		return ErrBadName
	}
	c, err := s.find(ctx, userID, id)
	if err != nil {
		return err
	}
	c.Name = strings.TrimSpace(name)
	if err := s.cfg.Store.UpdateWebAuthnCredential(ctx, c); err != nil {
		return fmt.Errorf("webauthn: rename: %w", err)
	}
	s.emit(ctx, event.Renamed, userID, s.cfg.Now(), "")
	return nil
}

// Remove deletes the user's key id; it can no longer sign in.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	c, err := s.find(ctx, userID, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteWebAuthnCredential(ctx, userID, c.ID); err != nil {
		return fmt.Errorf("webauthn: remove: %w", err)
	}
	s.emit(ctx, event.Removed, userID, s.cfg.Now(), "")
	return nil
}

// RemoveAll deletes every key of the user, their user handle, and their
// unfinished ceremonies. It emits event.Removed (and so a notice) only when
// the user had a key: removing none is not news.
func (s *Service) RemoveAll(ctx context.Context, userID string) error {
	if err := checkUser(userID); err != nil {
		return err
	}
	had, err := s.cfg.Store.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return fmt.Errorf("webauthn: load keys: %w", err)
	}
	if err := s.cfg.Store.DeleteWebAuthnCredentials(ctx, userID); err != nil {
		return fmt.Errorf("webauthn: remove all: %w", err)
	}
	if err := s.cfg.Store.DeleteCeremonies(ctx, userID); err != nil {
		return fmt.Errorf("webauthn: remove all: %w", err)
	}
	if len(had) > 0 {
		s.emit(ctx, event.Removed, userID, s.cfg.Now(), "")
	}
	return nil
}

func (s *Service) find(ctx context.Context, userID, id string) (storage.WebAuthnCredential, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return storage.WebAuthnCredential{}, ErrNotFound
	}
	stored, err := s.cfg.Store.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return storage.WebAuthnCredential{}, fmt.Errorf("webauthn: load keys: %w", err)
	}
	for _, c := range stored {
		if string(c.ID) == string(raw) {
			return c, nil
		}
	}
	return storage.WebAuthnCredential{}, ErrNotFound
}

// keyOf describes a stored key; rules, when not nil, are the user's
// current KeyRules, which fill in Key.Refused.
func (s *Service) keyOf(c storage.WebAuthnCredential, rec record, rules *KeyRules) Key {
	a := aaguidOf(rec.Credential.Authenticator.AAGUID)
	k := Key{
		ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, Created: c.Created, LastUsed: c.LastUsed,
		Passkey: rec.Passkey, Synced: synced(rec.Credential.Flags),
		AAGUID: a, Provider: s.provider(a),
	}
	if rules != nil {
		k.Refused, _ = rules.refusal(a, k.Synced)
	}
	return k
}

// synced reports a credential its provider may copy to other devices: the
// backup-eligible flag, or the backup-state flag, which an authenticator
// only sets on a credential that is eligible.
func synced(f gowebauthn.CredentialFlags) bool {
	return f.BackupEligible || f.BackupState
}

// errNotPresent refuses a response whose user-present flag is clear: no
// one touched the key, so it may be signing for malware on the machine.
// go-webauthn checks the flag too (not for conditional registration); ours
// holds whatever its options or version.
var errNotPresent = fmt.Errorf("%w: the key did not confirm the user was present", ErrResponse)

// parseCreation and parseAssertion parse a browser response, refusing
// anything large before parsing, and any the user was not present for.
func parseCreation(b []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrResponse, MaxResponse)
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrResponse, describe(err))
	}
	if !p.Response.AttestationObject.AuthData.Flags.HasUserPresent() {
		return nil, errNotPresent
	}
	return p, nil
}

func parseAssertion(b []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrResponse, MaxResponse)
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrResponse, describe(err))
	}
	if !p.Response.AuthenticatorData.Flags.HasUserPresent() {
		return nil, errNotPresent
	}
	return p, nil
}

// describe returns go-webauthn's explanation of err: its *protocol.Error
// carries the useful part in Details.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.Details != "" {
			return pe.Details
		}
		return pe.Type
	}
	return err.Error()
}

func (s *Service) emit(ctx context.Context, k event.Kind, userID string, at time.Time, reason string) {
	s.cfg.Events.Emit(ctx, event.Event{Kind: k, Method: Method, UserID: userID, Time: at, Reason: reason})
}
