package webauthn_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/webauthn"
)

// sessionUser stands for the application's session: the user is named by
// a header.
func sessionUser(r *http.Request) (userID, account string, ok bool) {
	u := r.Header.Get("X-Test-User")
	return u, u + "@example.com", u != ""
}

// serve sends body to h as user ("" for nobody) and checks the headers
// every answer has.
func serve(t testing.TB, h http.Handler, method, user string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "https://example.com/webauthn", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	return rec
}

func postOK(t testing.TB, h http.Handler, user string, body []byte, answer any) {
	t.Helper()
	rec := serve(t, h, http.MethodPost, user, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), answer); err != nil {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
}

type beginAnswer struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

func begin(t testing.TB, h http.Handler, user, body string) beginAnswer {
	t.Helper()
	var a beginAnswer
	postOK(t, h, user, []byte(body), &a)
	if a.Ceremony == "" || len(a.Options) == 0 {
		t.Fatalf("begin answer %+v", a)
	}
	return a
}

func finishBody(ceremony string, response []byte) []byte {
	b, err := json.Marshal(struct {
		Ceremony string          `json:"ceremony"`
		Response json.RawMessage `json:"response"`
	}{ceremony, response})
	if err != nil {
		panic(err)
	}
	return b
}

type keyAnswer struct {
	Key struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Passkey bool   `json:"passkey"`
	} `json:"key"`
}

type loginAnswer struct {
	OK           bool `json:"ok"`
	UserVerified bool `json:"userVerified"`
}

// wantError checks an error answer: its status, a JSON body with an error
// message, and none of the strings the request sent.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, sent ...string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	checkErrorBody(t, rec, sent...)
}

func checkErrorBody(t testing.TB, rec *httptest.ResponseRecorder, sent ...string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	for _, s := range sent {
		if s != "" && strings.Contains(rec.Body.String(), s) {
			t.Fatalf("error body %q repeats the request's %q", rec.Body, s)
		}
	}
}

// logins records OnLogin calls.
type logins struct{ users []string }

func (l *logins) onLogin(w http.ResponseWriter, _ *http.Request, userID string, _ webauthn.Result) {
	l.users = append(l.users, userID)
	http.SetCookie(w, &http.Cookie{Name: "session", Value: "second-factor-passed"})
}

// credentialID is the id member of a browser response.
func credentialID(t testing.TB, response []byte) string {
	t.Helper()
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(response, &r); err != nil || r.ID == "" {
		t.Fatalf("response %s: %v", response, err)
	}
	return r.ID
}

func TestHandlersFlow(t *testing.T) {
	f := newFixture(t, memory.New())
	var l logins
	h := &webauthn.Handlers{Service: f.svc, User: sessionUser, OnLogin: l.onLogin}
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})

	b := begin(t, h.BeginRegistration(), "u", `{"name": " YubiKey "}`)
	var k keyAnswer
	// Whitespace around the response is fine.
	body := []byte(`{"ceremony": "` + b.Ceremony + `", "response": ` + "\n" + string(d.attest(t, rp, b.Options)) + " }\n")
	postOK(t, h.FinishRegistration(), "u", body, &k)
	keys, err := f.svc.Keys(ctx, "u")
	if err != nil || len(keys) != 1 || k.Key.ID != keys[0].ID || k.Key.Name != "YubiKey" {
		t.Fatalf("key answered %+v, stored %+v, %v", k, keys, err)
	}

	// A name of 64 four-byte characters, 256 bytes, is kept whole.
	wide := strings.Repeat("\U0001F511", 64)
	b = begin(t, h.BeginRegistration(), "u", `{"name": "`+wide+`"}`)
	var wk keyAnswer
	postOK(t, h.FinishRegistration(), "u", finishBody(b.Ceremony, newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(t, rp, b.Options)), &wk)
	if wk.Key.Name != wide {
		t.Fatalf("wide name answered as %q", wk.Key.Name)
	}
	wantError(t, serve(t, h.BeginRegistration(), http.MethodPost, "u", []byte(`{"name": "`+wide+`\U0001F511"}`)), http.StatusBadRequest)

	b = begin(t, h.BeginLogin(), "u", "")
	response := d.assert(t, rp, b.Options)
	var a loginAnswer
	postOK(t, h.FinishLogin(), "u", finishBody(b.Ceremony, response), &a)
	if !a.OK || !a.UserVerified {
		t.Fatalf("login answer %+v", a)
	}
	if len(l.users) != 1 || l.users[0] != "u" {
		t.Fatalf("OnLogin calls %q, want [u]", l.users)
	}

	// The same response again is refused, and OnLogin is not called.
	rec := serve(t, h.FinishLogin(), http.MethodPost, "u", finishBody(b.Ceremony, response))
	wantError(t, rec, http.StatusForbidden, b.Ceremony, credentialID(t, response))
	if len(l.users) != 1 {
		t.Fatalf("OnLogin called again: %q", l.users)
	}

	// A ceremony begun for u cannot be finished by v.
	b = begin(t, h.BeginLogin(), "u", "")
	rec = serve(t, h.FinishLogin(), http.MethodPost, "v", finishBody(b.Ceremony, d.assert(t, rp, b.Options)))
	wantError(t, rec, http.StatusForbidden)
	if len(l.users) != 1 {
		t.Fatalf("OnLogin called for another user's ceremony: %q", l.users)
	}
}

func TestHandlersOnLoginAnswer(t *testing.T) {
	f := newFixture(t, memory.New())
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(t, "u", "Key", d)
	login := func(h *webauthn.Handlers) *httptest.ResponseRecorder {
		b := begin(t, h.BeginLogin(), "u", "")
		return serve(t, h.FinishLogin(), http.MethodPost, "u", finishBody(b.Ceremony, d.assert(t, rp, b.Options)))
	}

	// OnLogin that only sets a cookie: the handler answers.
	var l logins
	rec := login(&webauthn.Handlers{Service: f.svc, User: sessionUser, OnLogin: l.onLogin})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Set-Cookie"), "second-factor-passed") ||
		!strings.Contains(rec.Body.String(), `"ok":true`) {
		t.Fatalf("OnLogin setting a cookie: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}

	// OnLogin that answers itself.
	rec = login(&webauthn.Handlers{Service: f.svc, User: sessionUser,
		OnLogin: func(w http.ResponseWriter, _ *http.Request, _ string, _ webauthn.Result) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"next":"/home"}`)
		}})
	if rec.Code != http.StatusAccepted || rec.Body.String() != `{"next":"/home"}` {
		t.Fatalf("OnLogin answering: %d %s", rec.Code, rec.Body)
	}

	// No OnLogin.
	var a loginAnswer
	rec = login(&webauthn.Handlers{Service: f.svc, User: sessionUser})
	if err := json.Unmarshal(rec.Body.Bytes(), &a); rec.Code != http.StatusOK || err != nil || !a.OK {
		t.Fatalf("no OnLogin: %d %s", rec.Code, rec.Body)
	}
}

func TestHandlersPasskey(t *testing.T) {
	f := newFixture(t, memory.New())
	var l logins
	h := &webauthn.Handlers{Service: f.svc, User: sessionUser, OnLogin: l.onLogin}
	devices := map[string]*device{}
	for _, user := range []string{"alice", "bob"} {
		b := begin(t, h.BeginRegistration(), user, `{"name": "Passkey"}`)
		opts, err := virtualwebauthn.ParseAttestationOptions(string(b.Options))
		if err != nil {
			t.Fatal(err)
		}
		d := newDevice(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(opts.UserID)})
		var k keyAnswer
		postOK(t, h.FinishRegistration(), user, finishBody(b.Ceremony, d.attest(t, rp, b.Options)), &k)
		devices[user] = d
	}
	for _, user := range []string{"bob", "alice"} {
		// No one is signed in yet.
		b := begin(t, h.BeginPasskeyLogin(), "", "")
		var a loginAnswer
		postOK(t, h.FinishPasskeyLogin(), "", finishBody(b.Ceremony, devices[user].assert(t, rp, b.Options)), &a)
		if !a.OK || len(l.users) == 0 || l.users[len(l.users)-1] != user {
			t.Fatalf("passkey of %s: answer %+v, OnLogin calls %q", user, a, l.users)
		}
	}
	if len(l.users) != 2 {
		t.Fatalf("OnLogin calls %q, want 2", l.users)
	}
}

func TestHandlersStatus(t *testing.T) {
	f := newFixture(t, memory.New())
	var l logins
	h := &webauthn.Handlers{Service: f.svc, User: sessionUser, OnLogin: l.onLogin}
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.mustRegister(t, "u", "Key", d)
	handlers := map[string]http.Handler{
		"BeginRegistration": h.BeginRegistration(), "FinishRegistration": h.FinishRegistration(),
		"BeginLogin": h.BeginLogin(), "FinishLogin": h.FinishLogin(),
		"BeginPasskeyLogin": h.BeginPasskeyLogin(), "FinishPasskeyLogin": h.FinishPasskeyLogin(),
	}

	t.Run("method", func(t *testing.T) {
		for name, hh := range handlers {
			for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodOptions} {
				rec := serve(t, hh, m, "u", nil)
				if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("%s %s: %d, Allow %q", m, name, rec.Code, rec.Header().Get("Allow"))
				}
			}
		}
	})

	t.Run("not signed in", func(t *testing.T) {
		for _, name := range []string{"BeginRegistration", "FinishRegistration", "BeginLogin", "FinishLogin"} {
			wantError(t, serve(t, handlers[name], http.MethodPost, "", []byte(`{"name":"Key"}`)), http.StatusUnauthorized)
		}
	})

	big := `{"ceremony":"x","response":{"id":"` + strings.Repeat("A", 1<<20) + `"}}`
	for _, tc := range []struct {
		name     string
		handlers []string
		body     string
		want     int
	}{
		{"empty", []string{"BeginRegistration", "FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, "", 400},
		{"not JSON", []string{"BeginRegistration", "FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, "{{{", 400},
		{"truncated", []string{"BeginRegistration", "FinishRegistration", "FinishLogin"}, `{"ceremony":"x","resp`, 400},
		{"trailing garbage", []string{"BeginRegistration"}, `{"name":"Key"} garbage`, 400},
		{"two values", []string{"FinishRegistration", "FinishLogin"}, `{"ceremony":"x","response":{}}{}`, 400},
		{"trailing brace", []string{"FinishLogin"}, `{"ceremony":"x","response":{}}}`, 400},
		{"array", []string{"BeginRegistration", "FinishLogin"}, `[]`, 400},
		{"null", []string{"BeginRegistration", "FinishLogin", "FinishPasskeyLogin"}, `null`, 400},
		{"name a number", []string{"BeginRegistration"}, `{"name": 5}`, 400},
		{"bad name", []string{"BeginRegistration"}, `{"name": "a\nb"}`, 400},
		{"ceremony a number", []string{"FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, `{"ceremony": 5, "response": {}}`, 400},
		{"response a string", []string{"FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, `{"ceremony": "x", "response": "e30"}`, 400},
		{"response null", []string{"FinishRegistration", "FinishLogin"}, `{"ceremony": "x", "response": null}`, 400},
		{"no ceremony", []string{"FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, `{"response": {}}`, 400},
		{"not UTF-8", []string{"FinishLogin"}, "{\"ceremony\": \"\xff\", \"response\": {}}", 403},
		{"unknown ceremony", []string{"FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, `{"ceremony": "unknown-ceremony", "response": {}}`, 403},
		{"1 MiB", []string{"BeginRegistration", "FinishRegistration", "FinishLogin", "FinishPasskeyLogin"}, big, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range tc.handlers {
				rec := serve(t, handlers[name], http.MethodPost, "u", []byte(tc.body))
				if rec.Code/100 == 2 || rec.Code == http.StatusInternalServerError {
					t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
				}
				wantError(t, rec, tc.want, "unknown-ceremony", strings.Repeat("A", 100))
			}
		})
	}

	t.Run("garbage response", func(t *testing.T) {
		// A response that parses as JSON but not as a credential, for a
		// live ceremony: refused, without repeating it.
		const marker = "c2VjcmV0LW1hcmtlcg"
		garbage := []byte(`{"id":"` + marker + `","rawId":"` + marker + `","type":"public-key","response":{"clientDataJSON":"` + marker + `"}}`)
		b := begin(t, h.BeginLogin(), "u", "")
		wantError(t, serve(t, h.FinishLogin(), http.MethodPost, "u", finishBody(b.Ceremony, garbage)), http.StatusForbidden, marker, b.Ceremony)
		b = begin(t, h.BeginRegistration(), "u", `{"name":"Other"}`)
		wantError(t, serve(t, h.FinishRegistration(), http.MethodPost, "u", finishBody(b.Ceremony, garbage)), http.StatusForbidden, marker, b.Ceremony)
	})

	t.Run("wrong origin", func(t *testing.T) {
		b := begin(t, h.BeginLogin(), "u", "")
		evil := rp
		evil.Origin = "https://examp1e.com"
		wantError(t, serve(t, h.FinishLogin(), http.MethodPost, "u", finishBody(b.Ceremony, d.assert(t, evil, b.Options))),
			http.StatusForbidden, "examp1e")
	})

	t.Run("duplicate key", func(t *testing.T) {
		for _, user := range []string{"u", "v"} {
			b := begin(t, h.BeginRegistration(), user, `{"name":"Again"}`)
			wantError(t, serve(t, h.FinishRegistration(), http.MethodPost, user, finishBody(b.Ceremony, d.attest(t, rp, b.Options))),
				http.StatusConflict)
		}
	})

	t.Run("no keys", func(t *testing.T) {
		wantError(t, serve(t, h.BeginLogin(), http.MethodPost, "nobody", nil), http.StatusNotFound)
	})

	t.Run("cloned", func(t *testing.T) {
		d.Cred.Counter = 10
		b := begin(t, h.BeginLogin(), "u", "")
		postOK(t, h.FinishLogin(), "u", finishBody(b.Ceremony, d.assert(t, rp, b.Options)), &loginAnswer{})
		d.Cred.Counter = 3
		b = begin(t, h.BeginLogin(), "u", "")
		wantError(t, serve(t, h.FinishLogin(), http.MethodPost, "u", finishBody(b.Ceremony, d.assert(t, rp, b.Options))), http.StatusForbidden)
	})

	if len(l.users) != 1 {
		t.Fatalf("OnLogin calls %q, want only the one passed login", l.users)
	}
}

// FuzzFinishHandlers posts bodies to the finish handlers, each against a
// ceremony begun for it: "CEREMONY" in the body is replaced by its ID.
func FuzzFinishHandlers(f *testing.F) {
	const placeholder = "CEREMONY"
	fx := newFixture(f, memory.New())
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	fx.mustRegister(f, "u", "Key", d)
	h := &webauthn.Handlers{Service: fx.svc, User: sessionUser,
		OnLogin: func(http.ResponseWriter, *http.Request, string, webauthn.Result) {}}

	_, options, err := fx.svc.BeginLogin(ctx, "u")
	if err != nil {
		f.Fatal(err)
	}
	assertion := d.assert(f, rp, options)
	_, options, err = fx.svc.BeginRegistration(ctx, "u", "u", "Seed")
	if err != nil {
		f.Fatal(err)
	}
	attestation := newDevice(virtualwebauthn.AuthenticatorOptions{}).attest(f, rp, options)
	f.Add(finishBody(placeholder, assertion))
	f.Add(finishBody(placeholder, attestation))
	f.Add(finishBody(placeholder, halve(f, assertion)))
	f.Add(finishBody(placeholder, halve(f, attestation)))
	f.Add([]byte(""))
	f.Add([]byte("{}"))
	f.Add([]byte(`{"ceremony":"CEREMONY","response":{}}`))
	f.Add([]byte(`{"ceremony":"CEREMONY","response":{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":"AAAA"}}}`))
	r := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		b := make([]byte, 64)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}

	finishers := []struct {
		name   string
		h      http.Handler
		begin  func() (string, []byte, error)
		finish func(id string) // uses the ceremony up, if the handler did not
	}{
		{"FinishLogin", h.FinishLogin(),
			func() (string, []byte, error) { return fx.svc.BeginLogin(ctx, "u") },
			func(id string) { fx.svc.FinishLogin(ctx, id, "u", nil) }},
		{"FinishRegistration", h.FinishRegistration(),
			func() (string, []byte, error) { return fx.svc.BeginRegistration(ctx, "u", "u", "Fuzz") },
			func(id string) { fx.svc.FinishRegistration(ctx, id, "u", nil) }},
		{"FinishPasskeyLogin", h.FinishPasskeyLogin(),
			func() (string, []byte, error) { return fx.svc.BeginPasskeyLogin(ctx) },
			func(id string) { fx.svc.FinishPasskeyLogin(ctx, id, nil) }},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, fin := range finishers {
			id, _, err := fin.begin()
			if err != nil {
				t.Fatal(err)
			}
			rec := serve(t, fin.h, http.MethodPost, "u", bytes.ReplaceAll(body, []byte(placeholder), []byte(id)))
			fin.finish(id)
			// A pass would need the fresh ceremony's challenge signed.
			if rec.Code/100 == 2 || rec.Code == http.StatusInternalServerError {
				t.Fatalf("%s: %d %s", fin.name, rec.Code, rec.Body)
			}
			checkErrorBody(t, rec)
		}
	})
}

// halve cuts every string in a response's "response" member in half,
// leaving base64 that is truncated.
func halve(t testing.TB, response []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(response, &m); err != nil {
		t.Fatal(err)
	}
	inner, _ := m["response"].(map[string]any)
	for k, v := range inner {
		if s, ok := v.(string); ok {
			inner[k] = s[:len(s)/2]
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
