package httpmw_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/virtualkey"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// addPasskey registers a discoverable credential for user through the
// service, on a device that holds the user handle the options name, as a
// passkey does. The browser's credProps says "resident key" when rk.
func (a *app) addPasskey(user string, opts virtualwebauthn.AuthenticatorOptions, rk bool) *virtualkey.Device {
	a.t.Helper()
	id, options, err := a.tf.WebAuthn.BeginRegistration(ctx, user, user, "Passkey")
	if err != nil {
		a.t.Fatal(err)
	}
	parsed, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		a.t.Fatal(err)
	}
	opts.UserHandle = []byte(parsed.UserID)
	d := virtualkey.New(opts)
	response := d.Attest(a.t, virtualkey.RP, options)
	if rk {
		var v map[string]any
		json.Unmarshal(response, &v)
		v["clientExtensionResults"] = map[string]any{"credProps": map[string]any{"rk": true}}
		response, _ = json.Marshal(v)
	}
	if _, err := a.tf.WebAuthn.FinishRegistration(ctx, id, user, response); err != nil {
		a.t.Fatal(err)
	}
	return d
}

type ceremonyView struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

// passkeyBegin starts a sign-in as the login form's script does.
func (b *browser) passkeyBegin() ceremonyView {
	b.a.t.Helper()
	var c ceremonyView
	b.call("POST", "passkey/begin", nil).ok(b.a.t, "passkey/begin", &c)
	return c
}

// passkeyFinish answers c with d, going on to next.
func (b *browser) passkeyFinish(c ceremonyView, response []byte, next string) answer {
	b.a.t.Helper()
	return b.call("POST", "passkey/finish", map[string]any{"ceremony": c.Ceremony, "response": json.RawMessage(response), "next": next})
}

// A passkey that verified the user signs a visitor in with no password
// and no code: the application's login, a renewed session and a mark of
// method passkey, fresh for step-up, named in the settings and the log.
func TestPasskeySignIn(t *testing.T) {
	events := &atomic.Int32{}
	a := newApp(t, func(tc *twofa.Config, _ *httpmw.Config) {
		tc.Events = func(_ context.Context, e event.Event) {
			if e.Kind == event.PasskeySignIn && e.Method == string(twofa.Passkey) && e.UserID == "alice" {
				events.Add(1)
			}
		}
	})
	a.enroll("alice")
	d := a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, true)

	b := a.browser() // no login: a visitor on the login page
	c := b.passkeyBegin()
	var done struct {
		Method twofa.Method `json:"method"`
		Next   string       `json:"next"`
	}
	renews := a.renewCount()
	b.passkeyFinish(c, d.Assert(t, virtualkey.RP, c.Options), "/account").ok(t, "passkey/finish", &done)
	if done.Method != twofa.Passkey || done.Next != "/account" {
		t.Fatalf("finish answered %+v", done)
	}
	if a.logInCount() != 1 || a.renewCount() != renews+1 || events.Load() != 1 {
		t.Fatalf("log-ins %d, renewals %d, events %d: want 1 each", a.logInCount(), a.renewCount()-renews, events.Load())
	}
	if got := b.passes("/account"); got.body != `account for alice by "passkey"` {
		t.Fatalf("after the passkey: %q", got.body)
	}
	// Both factors, just now: the step-up routes pass without asking.
	b.passes("/settings/password")
	if page := b.passes("/2fa/settings"); !strings.Contains(page.body, `id="signed-in-passkey"`) {
		t.Fatal("the settings do not say the session signed in with a passkey")
	}
	var acc struct {
		SignedInWith string `json:"signedInWith"`
	}
	b.call("GET", "account", nil).ok(t, "account", &acc)
	if acc.SignedInWith != "passkey" {
		t.Fatalf("account view signedInWith %q", acc.SignedInWith)
	}
	log, err := a.tf.Activity(ctx, "alice", 10)
	if err != nil {
		t.Fatal(err)
	}
	if log[0].Kind != event.PasskeySignIn || log[0].Method != twofa.Passkey || log[0].What != "Signed in with a passkey, without a password" {
		t.Fatalf("newest log entry %+v", log[0])
	}
	for _, e := range log {
		if e.Kind == event.Verified && e.Method == twofa.WebAuthn {
			t.Fatalf("the passkey's key check logged as a sign-in of its own: %+v", log)
		}
	}
	// Later on, the mark ages as any: step-up asks again.
	a.clock.Add(httpmw.DefaultStepUpAge + time.Minute)
	if got := b.get("/settings/password"); got.status != http.StatusSeeOther {
		t.Fatalf("an old passkey sign-in passed step-up: %d", got.status)
	}

	// Another site's page to go on to becomes the home page.
	o := a.browser()
	c = o.passkeyBegin()
	o.passkeyFinish(c, d.Assert(t, virtualkey.RP, c.Options), "//evil.example/").ok(t, "finish", &done)
	if done.Next != "/" {
		t.Fatalf("next %q, want /", done.Next)
	}
}

// What must not sign in: a passkey without user verification, keys
// turned off, a response used twice, a key no user has, a response made
// for another site, a request from another site.
func TestPasskeySignInRefused(t *testing.T) {
	a := newApp(t)
	alice := a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, true)
	bob := a.addPasskey("bob", virtualwebauthn.AuthenticatorOptions{UserNotVerified: true}, true)
	carol := a.addPasskey("carol", virtualwebauthn.AuthenticatorOptions{}, true)
	if err := a.tf.Disable(ctx, "carol", twofa.WebAuthn); err != nil {
		t.Fatal(err)
	}
	stranger := virtualkey.New(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte("not-a-handle")})

	// The options ask for user verification, whatever the configuration.
	b := a.browser()
	c := b.passkeyBegin()
	if !strings.Contains(string(c.Options), `"userVerification":"required"`) {
		t.Fatalf("options do not require user verification: %s", c.Options)
	}
	evil := virtualwebauthn.RelyingParty{ID: virtualkey.RP.ID, Name: "Evil", Origin: "https://evil.example"}
	cases := []struct {
		name   string
		answer func(c ceremonyView) []byte
		typ    string
		status int
	}{
		{"no user verification", func(c ceremonyView) []byte { return bob.Assert(t, virtualkey.RP, c.Options) }, httpmw.ProblemKeyRefused, http.StatusForbidden},
		{"keys turned off", func(c ceremonyView) []byte { return carol.Assert(t, virtualkey.RP, c.Options) }, httpmw.ProblemMethodOff, http.StatusConflict},
		{"no such key", func(c ceremonyView) []byte { return stranger.Assert(t, virtualkey.RP, c.Options) }, httpmw.ProblemKeyRefused, http.StatusForbidden},
		{"another origin", func(c ceremonyView) []byte { return alice.Assert(t, evil, c.Options) }, httpmw.ProblemKeyRefused, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser()
			c := b.passkeyBegin()
			b.passkeyFinish(c, tc.answer(c), "/account").problem(t, tc.name, tc.typ, tc.status)
			if got := b.get("/account"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
				t.Fatalf("after a refused sign-in: %d %q, want the login", got.status, got.location)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		b := a.browser()
		c := b.passkeyBegin()
		response := alice.Assert(t, virtualkey.RP, c.Options)
		b.passkeyFinish(c, response, "/").ok(t, "first", nil)
		o := a.browser()
		o.passkeyFinish(c, response, "/").problem(t, "replay", httpmw.ProblemKeyRefused, http.StatusForbidden)
		if got := o.get("/account"); got.status != http.StatusSeeOther {
			t.Fatalf("the replay signed in: %d", got.status)
		}
	})
	t.Run("cross-site request", func(t *testing.T) {
		before := a.logInCount()
		b := a.browser()
		b.call("POST", "passkey/begin", nil, "Sec-Fetch-Site", "cross-site").
			problem(t, "begin", httpmw.ProblemCrossOrigin, http.StatusForbidden)
		c := b.passkeyBegin()
		response := alice.Assert(t, virtualkey.RP, c.Options)
		b.call("POST", "passkey/finish", map[string]any{"ceremony": c.Ceremony, "response": json.RawMessage(response)},
			"Sec-Fetch-Site", "", "Origin", "https://evil.example").problem(t, "finish", httpmw.ProblemCrossOrigin, http.StatusForbidden)
		if a.logInCount() != before {
			t.Fatal("a cross-site finish logged someone in")
		}
	})
}

// Bodies the finish does not take get a problem, and sign no one in.
func TestPasskeySignInBadBodies(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	for _, tc := range []struct {
		name, body string
		status     int
		typ        string
	}{
		{"empty", "", http.StatusUnsupportedMediaType, httpmw.ProblemBadRequest},
		{"not JSON", "{", http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"array", "[]", http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"no ceremony", `{"response": {}}`, http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"response a string", `{"ceremony": "x", "response": "y"}`, http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"unknown field", `{"ceremony": "x", "response": {}, "user": "alice"}`, http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"wrong type", `{"ceremony": 7, "response": {}}`, http.StatusBadRequest, httpmw.ProblemBadRequest},
		{"unknown ceremony", `{"ceremony": "x", "response": {}}`, http.StatusForbidden, httpmw.ProblemKeyRefused},
		{"junk response", `{"ceremony": "x", "response": {"id": 1}}`, http.StatusForbidden, httpmw.ProblemKeyRefused},
		{"too large", `{"ceremony": "` + strings.Repeat("x", httpmw.MaxJSONBody) + `", "response": {}}`, http.StatusRequestEntityTooLarge, httpmw.ProblemTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			got := b.call("POST", "passkey/finish", body)
			if tc.body == "" {
				// No body and no content type at all.
				got = b.call("POST", "passkey/finish", nil)
			}
			got.problem(t, tc.name, tc.typ, tc.status)
		})
	}
	b.call("POST", "passkey/begin", `{"x": 1}`).problem(t, "begin with a field", httpmw.ProblemBadRequest, http.StatusBadRequest)
	if a.logInCount() != 0 {
		t.Fatal("a bad body logged someone in")
	}
}

// One ceremony, 50 finishes at once with the same good response: exactly
// one signs in. 50 begins at once each get a ceremony of their own.
func TestPasskeySignInParallel(t *testing.T) {
	st := &handleBarrier{newBarrier()}
	a := newApp(t, withStore(st))
	d := a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, true)
	bs := make([]*browser, 50)
	for i := range bs {
		bs[i] = a.browser()
	}
	seen := map[string]bool{}
	for i, g := range parallel(50, func(i int) answer { return bs[i].call("POST", "passkey/begin", nil) }) {
		var c ceremonyView
		g.ok(t, "begin", &c)
		if seen[c.Ceremony] {
			t.Fatalf("begin %d: ceremony given twice", i)
		}
		seen[c.Ceremony] = true
	}
	c := bs[0].passkeyBegin()
	response := d.Assert(t, virtualkey.RP, c.Options)
	// Each finish that got the ceremony waits, at the look-up of its
	// user, for the others: had more than one got it, all would read the
	// key's counter before any wrote it.
	st.arm(50)
	got := parallel(50, func(i int) answer { return bs[i].passkeyFinish(c, response, "/account") })
	signedIn := 0
	for i, g := range got {
		switch g.status {
		case http.StatusOK:
			signedIn++
		case http.StatusForbidden:
			g.problem(t, "parallel finish", httpmw.ProblemKeyRefused, http.StatusForbidden)
		default:
			t.Fatalf("answer %d: %d %s", i, g.status, g.body)
		}
	}
	if signedIn != 1 || a.logInCount() != 1 {
		t.Fatalf("%d of 50 finishes of one ceremony signed in, %d log-ins: want 1", signedIn, a.logInCount())
	}
	log, _ := a.tf.Activity(ctx, "alice", 100)
	if n := countKind(log, event.PasskeySignIn); n != 1 {
		t.Fatalf("%d sign-ins in the log, want 1", n)
	}
}

// handleBarrier holds the look-ups of a user by passkey until 50 wait,
// or a while has passed.
type handleBarrier struct{ *barrier }

func (b *handleBarrier) WebAuthnUserByHandle(ctx context.Context, h []byte) (string, error) {
	b.wait()
	return b.barrier.WebAuthnUserByHandle(ctx, h)
}

func countKind(log []twofa.Activity, k event.Kind) int {
	n := 0
	for _, e := range log {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// handleDown is a store whose look-up of a user by passkey fails once
// down is set, and whose write of a key's use fails once updateDown is.
type handleDown struct {
	storage.Store
	down, updateDown atomic.Bool
}

func (s *handleDown) WebAuthnUserByHandle(ctx context.Context, h []byte) (string, error) {
	if s.down.Load() {
		return "", errDown
	}
	return s.Store.WebAuthnUserByHandle(ctx, h)
}

func (s *handleDown) UpdateWebAuthnCredential(ctx context.Context, c storage.WebAuthnCredential) error {
	if s.updateDown.Load() {
		return errDown
	}
	return s.Store.UpdateWebAuthnCredential(ctx, c)
}

// A store, clock or application login that fails denies: a problem that
// names no cause, and no one signed in.
func TestPasskeySignInFailuresDeny(t *testing.T) {
	st := &handleDown{Store: memory.New()}
	var logInErr atomic.Pointer[error]
	var unseen atomic.Bool
	a := newApp(t, withStore(st), func(_ *twofa.Config, mc *httpmw.Config) {
		next := mc.LogIn
		mc.LogIn = func(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
			if p := logInErr.Load(); p != nil {
				return r, *p
			}
			if unseen.Load() {
				return r, nil // logs no one in: a misconfigured LogIn
			}
			return next(w, r, userID)
		}
	})
	d := a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, true)
	try := func(what, typ string, status int) {
		t.Helper()
		b := a.browser()
		c := b.passkeyBegin()
		b.passkeyFinish(c, d.Assert(t, virtualkey.RP, c.Options), "/").problem(t, what, typ, status)
		if got := b.get("/account"); got.status != http.StatusSeeOther {
			t.Fatalf("%s: signed in: %d", what, got.status)
		}
	}
	// go-webauthn reports a failed look-up of the user as a response that
	// does not verify: refused, if not as unavailable.
	st.down.Store(true)
	try("user look-up down", httpmw.ProblemKeyRefused, http.StatusForbidden)
	st.down.Store(false)
	st.updateDown.Store(true)
	try("key update down", httpmw.ProblemUnavailable, http.StatusInternalServerError)
	st.updateDown.Store(false)

	e := errors.New("app database down")
	logInErr.Store(&e)
	try("LogIn fails", httpmw.ProblemUnavailable, http.StatusInternalServerError)
	logInErr.Store(nil)
	unseen.Store(true)
	try("LogIn unseen", httpmw.ProblemUnavailable, http.StatusInternalServerError)
	unseen.Store(false)

	// A clock before 1970 begins no ceremony.
	back := a.clock.Now()
	a.clock.Add(-time.Duration(back.Unix()+3600) * time.Second)
	got := a.browser().call("POST", "passkey/begin", nil)
	if got.status < 500 || got.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("begin with the clock before 1970: %d %s", got.status, got.body)
	}
	a.clock.Add(back.Sub(a.clock.Now()))
	// A clock that goes wrong between begin and finish signs no one in.
	for _, jump := range []time.Duration{-time.Duration(back.Unix()+3600) * time.Second, 250 * 365 * 24 * time.Hour} {
		b := a.browser()
		c := b.passkeyBegin()
		response := d.Assert(t, virtualkey.RP, c.Options)
		a.clock.Add(jump)
		b.passkeyFinish(c, response, "/").problem(t, "clock gone wrong", httpmw.ProblemUnavailable, http.StatusServiceUnavailable)
		a.clock.Add(-jump)
		if got := b.get("/account"); got.status != http.StatusSeeOther {
			t.Fatalf("signed in on a clock gone wrong: %d", got.status)
		}
	}
	b := a.browser()
	c := b.passkeyBegin()
	b.passkeyFinish(c, d.Assert(t, virtualkey.RP, c.Options), "/").ok(t, "all up again", nil)
	if a.logInCount() != 1 {
		t.Fatalf("%d log-ins, want only the last", a.logInCount())
	}
}

// Without Config.LogIn there is no passkey sign-in: no route, no
// operation in the document, no invitation.
func TestPasskeySignInOff(t *testing.T) {
	a := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) { mc.LogIn, mc.InvitePasskey = nil, true })
	a.browser().call("POST", "passkey/begin", nil).problem(t, "off", httpmw.ProblemNotFound, http.StatusNotFound)
	if strings.Contains(string(a.mw.OpenAPI()), "passkey/begin") {
		t.Fatal("the document lists passkey sign-in, which is off")
	}
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.pass(code) // straight to /account, no invitation
}

// The invitation after a login with a code: shown to a user with no
// passkey, declined with "Not now" for this device only, never to a user
// with a passkey or whose keys are off, and off by default.
func TestPasskeyInvitation(t *testing.T) {
	a := newApp(t, func(_ *twofa.Config, mc *httpmw.Config) { mc.InvitePasskey = true })
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	got := b.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}})
	a.clock.Add(30 * time.Second)
	if got.status != http.StatusSeeOther || got.location != "/2fa/invite?next=%2Faccount" {
		t.Fatalf("verify: %d %q, want the invitation", got.status, got.location)
	}
	page := b.get(got.location)
	for _, want := range []string{`id="invite-create"`, `static/passkey.js`, `value="/account"`, `id="invite-later"`} {
		if page.status != http.StatusOK || !strings.Contains(page.body, want) {
			t.Fatalf("invitation page %d lacks %s: %.300s", page.status, want, page.body)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("invitation CSP %q", csp)
	}
	later := b.post("/2fa/invite", url.Values{"next": {"/account"}})
	if later.status != http.StatusSeeOther || later.location != "/account" {
		t.Fatalf("Not now: %d %q", later.status, later.location)
	}
	ck := later.header.Get("Set-Cookie")
	if !strings.Contains(ck, "twofa-invite-later=1") || !strings.Contains(ck, "Max-Age=2592000") || !strings.Contains(ck, "HttpOnly") {
		t.Fatalf("Not now's cookie %q", ck)
	}
	// The next login on this device goes straight on; on another, the
	// invitation is back.
	b.post("/logout", nil)
	b.login("alice")
	b.pass(code)
	o := a.browser()
	o.login("alice")
	var passed struct {
		InvitePasskey bool `json:"invitePasskey"`
	}
	o.call("POST", "verify", map[string]any{"code": code()}).ok(t, "API verify", &passed)
	a.clock.Add(30 * time.Second)
	if !passed.InvitePasskey {
		t.Fatal("the API does not tell the client it may invite")
	}
	// Declined on b: the API says so too.
	b.post("/logout", nil)
	b.login("alice")
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "API verify", &passed)
	a.clock.Add(30 * time.Second)
	if passed.InvitePasskey {
		t.Fatal("the API invites on a device that said Not now")
	}
	// A passkey made, the invitation is gone everywhere; a security key
	// that is no passkey keeps it.
	key := a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, false)
	n := a.browser()
	n.login("alice")
	if got := n.post("/2fa/verify", url.Values{"code": {code()}, "next": {"/account"}}); !strings.HasPrefix(got.location, "/2fa/invite") {
		t.Fatalf("with a security key only: %q, want the invitation", got.location)
	}
	a.clock.Add(30 * time.Second)
	// A login with that key on the challenge page: its script is sent to
	// the invitation too.
	k := a.browser()
	k.login("alice")
	status, begin := k.postJSON("/2fa/key/begin", nil)
	if status != http.StatusOK {
		t.Fatalf("key/begin: %d", status)
	}
	var ceremony, next string
	json.Unmarshal(begin["ceremony"], &ceremony)
	status, done := k.postJSON("/2fa/key/finish?next=%2Faccount", map[string]any{"ceremony": ceremony, "response": json.RawMessage(key.Assert(t, virtualkey.RP, begin["options"]))})
	json.Unmarshal(done["next"], &next)
	if status != http.StatusOK || next != "/2fa/invite?next=%2Faccount" {
		t.Fatalf("key login: %d, next %q, want the invitation", status, next)
	}
	a.addPasskey("alice", virtualwebauthn.AuthenticatorOptions{}, true)
	n = a.browser()
	n.login("alice")
	n.pass(code)
	if got := n.get("/2fa/invite?next=%2Faccount"); got.status != http.StatusSeeOther || got.location != "/account" {
		t.Fatalf("the invitation with a passkey: %d %q", got.status, got.location)
	}
	// Keys turned off: no invitation either.
	daveCode := a.enroll("dave")
	a.addPasskey("dave", virtualwebauthn.AuthenticatorOptions{}, false)
	if err := a.tf.Disable(ctx, "dave", twofa.WebAuthn); err != nil {
		t.Fatal(err)
	}
	dv := a.browser()
	dv.login("dave")
	dv.pass(daveCode)
	// Off by default.
	off := newApp(t)
	offCode := off.enroll("alice")
	ob := off.browser()
	ob.login("alice")
	ob.pass(offCode)
}

// BenchmarkPasskeySignIn is one sign-in through the JSON API: begin, the
// virtual authenticator's assertion (ECDSA P-256, as a real one signs),
// finish with the application's login, the renewal and the mark.
func BenchmarkPasskeySignIn(b *testing.B) {
	rig := newVerifyRig(b, memory.New())
	id, options, err := rig.tf.WebAuthn.BeginRegistration(ctx, "alice", "alice", "Passkey")
	if err != nil {
		b.Fatal(err)
	}
	parsed, _ := virtualwebauthn.ParseAttestationOptions(string(options))
	d := virtualkey.New(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(parsed.UserID)})
	if _, err := rig.tf.WebAuthn.FinishRegistration(ctx, id, "alice", d.Attest(b, virtualkey.RP, options)); err != nil {
		b.Fatal(err)
	}
	post := func(path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://example.com/2fa/api/"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		rig.h.ServeHTTP(w, r)
		return w
	}
	b.ReportAllocs()
	for b.Loop() {
		w := post("passkey/begin", `{}`)
		var c ceremonyView
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != http.StatusOK {
			b.Fatalf("begin: %d %s", w.Code, w.Body)
		}
		body, _ := json.Marshal(map[string]any{"ceremony": c.Ceremony, "response": json.RawMessage(d.Assert(b, virtualkey.RP, c.Options))})
		if w := post("passkey/finish", string(body)); w.Code != http.StatusOK {
			b.Fatalf("finish: %d %s", w.Code, w.Body)
		}
	}
}
