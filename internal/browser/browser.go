// Package browser runs end-to-end tests in a real, headless Chromium driven
// through the DevTools protocol (github.com/chromedp/chromedp).
//
// [New] starts a fresh browser for one test and returns the context of its
// tab, on which the test runs chromedp actions. [VirtualAuthenticator] gives
// the tab a passkey authenticator that needs no person, so pages can run
// navigator.credentials.create and get. [Screenshot] saves the whole page as
// a PNG. [Layout] and [Axe] check a page as drawn: nothing wider than the
// viewport and no text over other text, and no WCAG 2.1 A or AA violation
// that axe-core finds; [TabTo] moves the focus with the keyboard alone.
//
// # Finding Chromium
//
// New looks for the program named by TWOFA_CHROMIUM, or else for
// /usr/bin/chromium, chromium, chromium-browser and google-chrome on PATH.
// Without one the test is skipped on a developer's machine and fails when
// CI=true, as for every other external tool (.ci/run installs Debian's
// chromium).
//
// # WebAuthn needs a secure context
//
// Serve the pages from httptest on 127.0.0.1 but load them as
// http://localhost:PORT: localhost is a secure context without TLS, and
// WebAuthn refuses an IP address as the relying party ID.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/twofa-go/twofa/internal/testdb"
)

// ChromiumEnv names the environment variable holding the path of the browser
// to use instead of looking for one.
const ChromiumEnv = "TWOFA_CHROMIUM"

// Timeout bounds the whole life of a browser that [New] starts, so that a
// hung page fails its test instead of hanging CI. It is generous: under
// go test -race ./... on two shared cores a walk of many pages takes
// several times what it takes alone, and a tight bound made it flaky.
const Timeout = 5 * time.Minute

// Window size in CSS pixels: wide enough for screenshots of a desktop page.
const (
	width  = 1200
	height = 900
)

// New starts a headless Chromium for the test and returns the context of its
// one tab; pass it to chromedp.Run, chromedp.Do and the functions of this
// package. The browser has a fresh profile under t.TempDir, stops when the
// test ends, and is killed after [Timeout].
//
// Every message of the page's console is logged when the test ends. An
// uncaught JavaScript exception or a call of console.error fails the test;
// entries of the browser's own log, such as a failed request answered with
// 401, do not.
func New(t testing.TB) context.Context {
	t.Helper()
	exe := chromium(t)

	// Start from chromedp's defaults (after Puppeteer's: headless, no
	// extensions, /dev/shm not used, no popup blocking, ...) and set the
	// flags that TESTING.md found necessary on their own, so that they stay
	// whatever the defaults become. Without the networking flags Chromium
	// keeps calling hosts that CI cannot reach.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(width, height),
	)
	out := new(syncBuffer)
	opts = append(opts, chromedp.CombinedOutput(out))

	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)

	// Console messages, collected until the tab closes.
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
		read     = make(chan struct{})
	)
	t.Cleanup(func() {
		// Close the browser gracefully, then make sure it is gone (the
		// allocator's cancel waits for the process) before t.TempDir
		// removes its profile.
		if err := chromedp.Cancel(tabCtx); err != nil {
			t.Logf("browser: close: %v", err)
		}
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		<-read
		if t.Failed() && out.Len() > 0 {
			t.Logf("browser: output of %s:\n%s", exe, out)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range messages {
			t.Logf("browser: console %s:%d: %s", m.URL, m.Line+1, m)
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				t.Errorf("browser: JavaScript error at %s:%d: %s", m.URL, m.Line+1, m.Text)
			}
		}
	})

	// Start the browser now, so that a browser that cannot start fails here
	// with its output rather than in the test's first action.
	if err := chromedp.Do(tabCtx); err != nil {
		close(read)
		t.Fatalf("browser: start %s: %v\n%s", exe, err, out)
	}
	console := chromedp.Console(tabCtx)
	go func() {
		defer close(read)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()
	return tabCtx
}

// chromium returns the path of the browser to run.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		return testdb.NeedTool(t, p)
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return testdb.NeedTool(t, "chromium") // skips, or fails when CI=true
}

// VirtualAuthenticator enables the WebAuthn domain in the tab of ctx and adds
// a virtual platform authenticator that answers at once, as after a
// fingerprint: CTAP2 over the internal transport, with resident keys and user
// verification that succeeds. It stores its credentials until the tab
// closes; read them with the cdproto webauthn.GetCredentials command and the
// returned id.
func VirtualAuthenticator(ctx context.Context) (webauthn.AuthenticatorID, error) {
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return "", fmt.Errorf("browser: enable webauthn: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		// Every field the protocol would default is set: a false
		// AutomaticPresenceSimulation, the zero value, makes create() wait
		// for a touch that never comes.
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("browser: add virtual authenticator: %w", err)
	}
	return res.AuthenticatorID, nil
}

// Screenshot writes a PNG of the whole page in the tab of ctx to path,
// including what lies below the window.
func Screenshot(ctx context.Context, path string) error {
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("browser: screenshot: layout: %w", err)
	}
	size := m.CSSContentSize
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		Clip:                  &page.Viewport{Width: size.Width, Height: size.Height, Scale: 1},
		CaptureBeyondViewport: new(true),
	})
	if err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return nil
}

// syncBuffer collects the browser's output, which chromedp writes from its
// own goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
