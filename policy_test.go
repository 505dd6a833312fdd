package twofa_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// policyFixture is a fixture whose Config.Policy answers *pol, or polErr.
type policyFixture struct {
	*fixture
	mu     sync.Mutex
	pol    twofa.Policy
	polErr error
	calls  int
}

func newPolicyFixture(t testing.TB) *policyFixture {
	t.Helper()
	pf := &policyFixture{}
	pf.fixture = newFixture(t, memory.New(), func(c *twofa.Config) {
		c.Policy = func(_ context.Context, user string) (twofa.Policy, error) {
			pf.mu.Lock()
			defer pf.mu.Unlock()
			pf.calls++
			return pf.pol, pf.polErr
		}
	})
	return pf
}

func (pf *policyFixture) set(p twofa.Policy, err error) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	pf.pol, pf.polErr = p, err
}

// Where a user stands with each policy, by what they have set up and the
// time: the grace period counts its days up, ends at the deadline itself,
// and every deadline a policy can hold (zero, before 1970, centuries
// away) gives an answer, never a panic or a negative count.
func TestStanding(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	type want struct {
		met, grace, overdue, below bool
		days                       int
		offered                    string
	}
	for _, c := range []struct {
		name     string
		has      string // "", "app", "key", "app+key"
		pol      twofa.Policy
		at       time.Duration // the clock, from start
		want     want
		deadline time.Time // when set, overrides pol.Deadline
	}{
		{name: "optional, nothing set up", pol: twofa.Policy{}, want: want{met: true, offered: "[]"}},
		{name: "optional, app", has: "app", pol: twofa.Policy{}, want: want{met: true, offered: "[totp email backup]"}},
		{name: "required, nothing, ten days of grace", pol: twofa.Policy{Required: true, Deadline: start.Add(10 * 24 * time.Hour)},
			want: want{grace: true, days: 10, offered: "[]"}},
		{name: "required, nothing, one second left is a day", pol: twofa.Policy{Required: true, Deadline: start.Add(time.Second)},
			want: want{grace: true, days: 1, offered: "[]"}},
		{name: "required, nothing, a day and a second left are two", pol: twofa.Policy{Required: true, Deadline: start.Add(24*time.Hour + time.Second)},
			want: want{grace: true, days: 2, offered: "[]"}},
		{name: "required, nothing, at the deadline", pol: twofa.Policy{Required: true, Deadline: start},
			want: want{overdue: true, offered: "[]"}},
		{name: "required, nothing, past the deadline", pol: twofa.Policy{Required: true, Deadline: start.Add(-time.Hour)},
			want: want{overdue: true, offered: "[]"}},
		{name: "required, nothing, zero deadline", pol: twofa.Policy{Required: true},
			want: want{overdue: true, offered: "[]"}},
		{name: "required, nothing, deadline before 1970", pol: twofa.Policy{Required: true, Deadline: time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC)},
			want: want{overdue: true, offered: "[]"}},
		{name: "required, nothing, deadline in year 9999", pol: twofa.Policy{Required: true, Deadline: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
			want: want{grace: true, days: 106752, offered: "[]"}}, // the largest Duration, counted up
		{name: "required, app", has: "app", pol: twofa.Policy{Required: true},
			want: want{met: true, offered: "[totp email backup]"}},
		{name: "phishing-resistant, app only, in grace", has: "app", pol: twofa.Policy{PhishingResistant: true, Deadline: start.Add(48 * time.Hour)},
			want: want{grace: true, below: true, days: 2, offered: "[totp email backup]"}},
		{name: "phishing-resistant, app only, past deadline", has: "app", pol: twofa.Policy{PhishingResistant: true, Deadline: start.Add(-time.Second)},
			want: want{overdue: true, below: true, offered: "[totp email backup]"}},
		{name: "phishing-resistant, nothing, past deadline", pol: twofa.Policy{PhishingResistant: true},
			want: want{overdue: true, offered: "[]"}},
		{name: "phishing-resistant, key", has: "key", pol: twofa.Policy{PhishingResistant: true},
			want: want{met: true, offered: "[webauthn]"}},
		{name: "phishing-resistant, app and key: only the key offered", has: "app+key", pol: twofa.Policy{PhishingResistant: true},
			want: want{met: true, offered: "[webauthn]"}},
		{name: "optional, app and key: all offered", has: "app+key", pol: twofa.Policy{},
			want: want{met: true, offered: "[webauthn totp email backup]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pf := newPolicyFixture(t)
			pf.now = start
			switch c.has {
			case "app":
				pf.setUp(t, "u")
			case "key":
				pf.addKey(t, "u", "YubiKey")
			case "app+key":
				pf.setUp(t, "u")
				pf.addKey(t, "u", "YubiKey")
			}
			pf.now = start.Add(c.at)
			pf.set(c.pol, nil)
			st, err := pf.tf.Standing(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			got := want{met: st.Met, grace: st.Grace, overdue: st.Overdue, below: st.BelowStrength, days: st.DaysLeft}
			a, err := pf.tf.Account(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			got.offered = fmt.Sprint(a.Offered)
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if !reflect.DeepEqual(a.Standing, st) {
				t.Fatalf("Account's standing %+v, Standing's %+v", a.Standing, st)
			}
			if st.DaysLeft < 0 || st.Met && (st.Grace || st.Overdue) || st.Grace == st.Overdue && !st.Met {
				t.Fatalf("inconsistent standing: %+v", st)
			}
		})
	}
}

// The standing follows the clock as it reads each time: a clock stepped
// back across the deadline opens the grace again (the service keeps no
// state to notice it), and one that cannot be right denies.
func TestStandingClock(t *testing.T) {
	pf := newPolicyFixture(t)
	deadline := pf.now.Add(36 * time.Hour)
	pf.set(twofa.Policy{Required: true, Deadline: deadline}, nil)
	steps := []struct {
		at      time.Time
		grace   bool
		days    int
		overdue bool
	}{
		{deadline.Add(-36 * time.Hour), true, 2, false},
		{deadline.Add(-12 * time.Hour), true, 1, false},
		{deadline.Add(time.Nanosecond), false, 0, true},
		{deadline.Add(-time.Nanosecond), true, 1, false}, // back across it
		{deadline, false, 0, true},
	}
	for _, s := range steps {
		pf.now = s.at
		st, err := pf.tf.Standing(ctx, "u")
		if err != nil || st.Grace != s.grace || st.DaysLeft != s.days || st.Overdue != s.overdue {
			t.Fatalf("at %v: %+v, %v", s.at, st, err)
		}
	}
	for _, broken := range []time.Time{{}, time.Unix(-1, 0), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		pf.now = broken
		if _, err := pf.tf.Standing(ctx, "u"); !errors.Is(err, twofa.ErrInvalidTime) {
			t.Errorf("Standing at %v: %v, want ErrInvalidTime", broken, err)
		}
		if _, err := pf.tf.Account(ctx, "u"); !errors.Is(err, twofa.ErrInvalidTime) {
			t.Errorf("Account at %v: %v, want ErrInvalidTime", broken, err)
		}
	}
}

// A user whose policy admits only security keys, and who has one, has
// every code refused with ErrMethodNotAllowed before it is looked at: the
// code is not used up, the throttle counts nothing, and the same codes
// pass once the policy no longer asks for keys. A user with no key yet
// still passes with the app.
func TestVerifyRefusesWeakerMethod(t *testing.T) {
	pf := newPolicyFixture(t)
	pf.setUp(t, "u")
	mailed := pf.mailCode(t, "u")
	app := pf.appCode(t)
	pf.set(twofa.Policy{PhishingResistant: true}, nil)

	pf.addKey(t, "u", "YubiKey")
	for _, code := range []string{app, mailed, pf.codes[0], "000000", "junk!"} {
		if m, err := pf.tf.Verify(ctx, "u", login, code); !errors.Is(err, twofa.ErrMethodNotAllowed) || m != "" {
			t.Fatalf("Verify(%q) with a key and a phishing-resistant policy: %q, %v", code, m, err)
		}
	}
	if st, _ := pf.store.Throttle(ctx, "u"); st.Failures != 0 {
		t.Fatalf("refusals counted %d failures", st.Failures)
	}
	sent := len(pf.mail.Messages())
	if err := pf.tf.SendCode(ctx, "u", login); !errors.Is(err, twofa.ErrMethodNotAllowed) || len(pf.mail.Messages()) != sent {
		t.Fatalf("SendCode with a key and a phishing-resistant policy: %v, %d mails", err, len(pf.mail.Messages())-sent)
	}
	if a, _ := pf.tf.Account(ctx, "u"); a.BackupRemaining != 10 {
		t.Fatalf("a backup code was used up: %d left", a.BackupRemaining)
	}
	pf.set(twofa.Policy{}, nil)
	for _, c := range []struct {
		code string
		m    twofa.Method
	}{{mailed, twofa.Email}, {app, twofa.TOTP}, {pf.codes[0], twofa.Backup}} {
		if m, err := pf.tf.Verify(ctx, "u", login, c.code); err != nil || m != c.m {
			t.Fatalf("%s code once the policy allows it: %v, %v", c.m, m, err)
		}
	}

	// No key yet: the app still passes (the only way to reach adding one).
	g := newPolicyFixture(t)
	g.setUp(t, "u")
	g.set(twofa.Policy{PhishingResistant: true}, nil)
	if m, err := g.tf.Verify(ctx, "u", login, g.appCode(t)); err != nil || m != twofa.TOTP {
		t.Fatalf("app code, phishing-resistant policy, no key: %v, %v", m, err)
	}
}

// A policy that cannot be read denies at every entry point: Requires
// answers true with the error, Account, Standing and Verify fail with
// ErrPolicy, and Verify uses up nothing.
func TestPolicyErrorDenies(t *testing.T) {
	pf := newPolicyFixture(t)
	pf.setUp(t, "u")
	app := pf.appCode(t)
	pf.set(twofa.Policy{}, errors.New("directory down"))
	for _, user := range []string{"u", "nobody"} {
		if r, err := pf.tf.Requires(ctx, user); !r || !errors.Is(err, twofa.ErrPolicy) {
			t.Errorf("Requires(%s): %v, %v", user, r, err)
		}
		if _, err := pf.tf.Account(ctx, user); !errors.Is(err, twofa.ErrPolicy) {
			t.Errorf("Account(%s): %v", user, err)
		}
		if _, err := pf.tf.Standing(ctx, user); !errors.Is(err, twofa.ErrPolicy) {
			t.Errorf("Standing(%s): %v", user, err)
		}
	}
	for _, code := range []string{app, pf.codes[0]} {
		if m, err := pf.tf.Verify(ctx, "u", login, code); !errors.Is(err, twofa.ErrPolicy) || m != "" {
			t.Errorf("Verify(%q): %q, %v", code, m, err)
		}
	}
	pf.set(twofa.Policy{}, nil)
	if m, err := pf.tf.Verify(ctx, "u", login, app); err != nil || m != twofa.TOTP {
		t.Fatalf("the app code once the policy reads: %v, %v", m, err)
	}
	if a, _ := pf.tf.Account(ctx, "u"); a.BackupRemaining != 10 {
		t.Fatalf("a backup code was used up: %d left", a.BackupRemaining)
	}
}

// Without Config.Policy, every user meets the zero policy and nothing is
// filtered: today's behaviour.
func TestNoPolicy(t *testing.T) {
	f := newFixture(t, memory.New())
	f.setUp(t, "u")
	f.addKey(t, "u", "YubiKey")
	st, err := f.tf.Standing(ctx, "u")
	if err != nil || !reflect.DeepEqual(st, twofa.Standing{Met: true}) {
		t.Fatalf("standing without a policy: %+v, %v", st, err)
	}
	a, _ := f.tf.Account(ctx, "u")
	if fmt.Sprint(a.Offered) != "[webauthn totp email backup]" || !a.Standing.Met {
		t.Fatalf("account without a policy: %+v", a)
	}
}

func TestPhishingResistantMethods(t *testing.T) {
	for m, want := range map[twofa.Method]bool{
		twofa.WebAuthn: true, "passkey": true, twofa.TOTP: false, twofa.Email: false, twofa.Backup: false, "remember": false, "": false,
	} {
		if twofa.PhishingResistant(m) != want {
			t.Errorf("PhishingResistant(%q) = %v", m, !want)
		}
	}
}

// Policy.Keys become the user's authenticator rules (webauthn
// Config.Rules): a key whose model the policy denies is refused at
// registration, no longer meets a phishing-resistant policy, and so leaves
// the user's app offered and accepted.
func TestPolicyKeyRules(t *testing.T) {
	pf := newPolicyFixture(t)
	pf.setUp(t, "u")
	pf.addKey(t, "u", "YubiKey")
	a, err := pf.tf.Account(ctx, "u")
	if err != nil || len(a.Keys) != 1 {
		t.Fatalf("account: %+v, %v", a, err)
	}
	model := a.Keys[0].AAGUID
	pf.set(twofa.Policy{PhishingResistant: true}, nil)
	if st, _ := pf.tf.Standing(ctx, "u"); !st.Met {
		t.Fatalf("allowed key: %+v", st)
	}
	pf.set(twofa.Policy{PhishingResistant: true, Keys: webauthn.KeyRules{Deny: []webauthn.AAGUID{model}}}, nil)
	st, err := pf.tf.Standing(ctx, "u")
	if err != nil || st.Met || !st.BelowStrength || !st.Overdue {
		t.Fatalf("denied key: %+v, %v", st, err)
	}
	if m, err := pf.tf.Verify(ctx, "u", login, pf.appCode(t)); err != nil || m != twofa.TOTP {
		t.Fatalf("app code with the only key denied: %v, %v", m, err)
	}
	d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	pf.set(twofa.Policy{PhishingResistant: true, Keys: webauthn.KeyRules{Deny: []webauthn.AAGUID{model, d.Auth.Aaguid}}}, nil)
	id, options, err := pf.tf.WebAuthn.BeginRegistration(ctx, "u", "u", "Another")
	if err == nil {
		_, err = pf.tf.WebAuthn.FinishRegistration(ctx, id, "u", d.Attest(t, virtualkey.RP, options))
	}
	if !errors.Is(err, webauthn.ErrKeyRefused) {
		t.Fatalf("registering a denied model: %v", err)
	}
	// An error of the policy is an error of the rules: refused.
	pf.set(twofa.Policy{}, errors.New("directory down"))
	if _, err := pf.tf.WebAuthn.Keys(ctx, "u"); !errors.Is(err, twofa.ErrPolicy) {
		t.Fatalf("keys with the policy down: %v", err)
	}
}
