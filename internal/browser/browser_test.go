package browser_test

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/twofa-go/twofa/internal/browser"
)

const formPage = `<!doctype html>
<title>browser test</title>
<form method="post" action="/hello">
  <label>Name <input id="name" name="name"></label>
  <button id="submit">Say hello</button>
</form>`

// passkeyJS registers a passkey and signs in with it, as a page of a relying
// party on localhost would, and resolves to what the two ceremonies returned.
const passkeyJS = `(async () => {
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const created = await navigator.credentials.create({publicKey: {
    rp: {id: "localhost", name: "twofa test"},
    user: {id: random(16), name: "ada@example.com", displayName: "Ada"},
    challenge: random(32),
    pubKeyCredParams: [{type: "public-key", alg: -7}, {type: "public-key", alg: -257}],
    authenticatorSelection: {residentKey: "required", userVerification: "required"},
    timeout: 10000,
  }});
  const got = await navigator.credentials.get({publicKey: {
    rpId: "localhost",
    challenge: random(32),
    allowCredentials: [{type: "public-key", id: created.rawId}],
    userVerification: "required",
    timeout: 10000,
  }});
  return {
    createdType: created.type,
    createdID: created.id,
    attachment: created.authenticatorAttachment,
    gotType: got.type,
    gotID: got.id,
    signature: got.toJSON().response.signature,
  };
})()`

type ceremonies struct {
	CreatedType string `json:"createdType"`
	CreatedID   string `json:"createdID"`
	Attachment  string `json:"attachment"`
	GotType     string `json:"gotType"`
	GotID       string `json:"gotID"`
	Signature   string `json:"signature"`
}

func TestBrowser(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, formPage)
	})
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>hello</title><p id="greeting">Hello, %s!</p>`,
			html.EscapeString(r.FormValue("name")))
	})
	srv := httptest.NewServer(mux) // on 127.0.0.1
	t.Cleanup(srv.Close)
	// localhost, not 127.0.0.1: only the name is a secure context for WebAuthn.
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	ctx := browser.New(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.SendKeys(chromedp.ID("name"), "Ada <Lovelace>"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("greeting")),
	)
	if err != nil {
		t.Fatalf("fill and submit the form: %v", err)
	}
	greeting, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	if err != nil {
		t.Fatalf("read the greeting: %v", err)
	}
	if want := "Hello, Ada <Lovelace>!"; greeting != want {
		t.Errorf("greeting = %q, want %q", greeting, want)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatalf("read the window width: %v", err)
	}
	if width != 1200 {
		t.Errorf("window.innerWidth = %d, want 1200", width)
	}

	authenticator, err := browser.VirtualAuthenticator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[ceremonies](passkeyJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("register and sign in with a passkey: %v", err)
	}
	if got.CreatedType != "public-key" || got.GotType != "public-key" {
		t.Errorf("credential types = %q, %q; want public-key", got.CreatedType, got.GotType)
	}
	if got.CreatedID == "" || got.GotID != got.CreatedID {
		t.Errorf("signed in with credential %q, registered %q", got.GotID, got.CreatedID)
	}
	if got.Attachment != "platform" {
		t.Errorf("authenticatorAttachment = %q, want platform", got.Attachment)
	}
	if got.Signature == "" {
		t.Error("assertion has no signature")
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil {
		t.Fatalf("read the authenticator's credentials: %v", err)
	}
	// Chromium's authenticator counts the registration and the sign-in.
	if len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential || creds.Credentials[0].SignCount != 2 {
		for _, c := range creds.Credentials {
			t.Logf("credential: resident %v, sign count %v", c.IsResidentCredential, c.SignCount)
		}
		t.Errorf("authenticator holds %d credentials, want one resident credential with sign count 2", len(creds.Credentials))
	}

	path := filepath.Join(t.TempDir(), "page.png")
	if err := browser.Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		t.Errorf("screenshot is %v", b)
	}
}
