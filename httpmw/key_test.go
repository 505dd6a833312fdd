package httpmw_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/internal/virtualkey"
)

// postJSON posts v as a page's script does and decodes the answer.
func (b *browser) postJSON(path string, v any) (int, map[string]json.RawMessage) {
	b.a.t.Helper()
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", b.a.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var answer map[string]json.RawMessage
	json.Unmarshal(raw, &answer)
	return res.StatusCode, answer
}

// A security key added and used through the pages' JSON endpoints, as
// twofa.js calls them.
func TestSecurityKeyThroughPages(t *testing.T) {
	a := newApp(t)
	key := virtualkey.New(virtualwebauthn.AuthenticatorOptions{})
	b := a.browser()
	b.login("alice")

	status, begin := b.postJSON("/2fa/keys/begin", map[string]string{"name": "YubiKey"})
	if status != http.StatusOK {
		t.Fatalf("keys/begin: %d %s", status, begin["error"])
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	response := key.Attest(t, virtualkey.RP, begin["options"])
	if status, answer := b.postJSON("/2fa/keys/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusOK {
		t.Fatalf("keys/finish: %d %s", status, answer["error"])
	}
	acc, _ := a.tf.Account(ctx, "alice")
	if acc.Status(twofa.WebAuthn) != twofa.Enabled || len(acc.Keys) != 1 || acc.Keys[0].Name != "YubiKey" {
		t.Fatalf("after adding a key: %+v", acc)
	}
	// Her first method: the session that added it stays past the step.
	if got := b.passes("/account"); got.body != `account for alice by "webauthn"` {
		t.Fatalf("after adding the first key: %q", got.body)
	}
	b.passes("/2fa/settings")

	// The next login asks for the key, and the key passes.
	b.post("/logout", nil)
	b.login("alice")
	b.asked("/account")
	if page := b.passes("/2fa/"); !bytes.Contains([]byte(page.body), []byte(`id="use-key"`)) {
		t.Fatal("the challenge does not offer the key")
	}
	renews := a.renewCount()
	status, begin = b.postJSON("/2fa/key/begin", nil)
	if status != http.StatusOK {
		t.Fatalf("key/begin: %d %s", status, begin["error"])
	}
	json.Unmarshal(begin["ceremony"], &ceremony)
	response = key.Assert(t, virtualkey.RP, begin["options"])
	status, answer := b.postJSON("/2fa/key/finish?remember=1", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)})
	if status != http.StatusOK || string(answer["ok"]) != "true" {
		t.Fatalf("key/finish: %d %s", status, answer["error"])
	}
	if a.renewCount() != renews+1 {
		t.Fatalf("renewed %d times on a key login, want once", a.renewCount()-renews)
	}
	if got := b.passes("/account"); got.body != `account for alice by "webauthn"` {
		t.Fatalf("after the key: %q", got.body)
	}
	// "Remember this browser" came along in the query.
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Browsers) != 1 {
		t.Fatalf("browsers after a remembered key login: %+v", acc.Browsers)
	}

	// The same response again is refused, and passes nobody.
	other := a.browser()
	other.login("alice")
	if status, _ := other.postJSON("/2fa/key/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response)}); status != http.StatusForbidden {
		t.Fatalf("replayed assertion: %d, want 403", status)
	}
	other.asked("/account")

	// Removing the key forgets the remembered browsers too.
	if got := b.post("/2fa/keys/remove", map[string][]string{"id": {acc.Keys[0].ID}, "confirm": {"1"}}); got.status != http.StatusSeeOther {
		t.Fatalf("remove key: %d %s", got.status, got.body)
	}
	if acc, _ := a.tf.Account(ctx, "alice"); len(acc.Keys) != 0 || len(acc.Browsers) != 0 {
		t.Fatalf("after removing the key: %+v", acc)
	}
}
