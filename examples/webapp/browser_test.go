package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/internal/browser"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
)

// person drives the running example through its pages, as a person at a
// browser would: only what the pages show, through clicks and typing.
type person struct {
	t     *testing.T
	tab   context.Context
	base  string
	clock *fake.Clock
	shots string // where screenshots go, "" for none
	// axe is the source of axe-core, run once on each page seen; "" on a
	// developer's machine without it (see browser.AxeSource).
	axe     string
	checked map[string]bool
}

// Phone width: every page is walked at it, and checked there.
const phoneWidth, phoneHeight = 390, 844

// check looks at the page as drawn: at phone width no text is drawn over
// other text and nothing is wider than the screen, and axe-core finds no
// violation of WCAG 2.1 A or AA. Axe runs once per page (its path, heading
// and messages), the layout check on every load.
func (p *person) check() {
	p.t.Helper()
	problems, err := browser.Layout(p.tab)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(problems) > 0 {
		p.t.Errorf("at %d px, %s:\n\t%s", phoneWidth, p.location(), strings.Join(problems, "\n\t"))
	}
	key := eval[string](p, `location.pathname + " " + (document.querySelector("h1") || {}).textContent + " " + [...document.querySelectorAll("[role=alert]:not([hidden]), [role=status], [aria-invalid=true]")].map(e => e.id || e.className).join(",")`)
	if p.checked[key] || p.axe == "" {
		return
	}
	p.checked[key] = true
	violations, err := browser.Axe(p.tab, p.axe)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(violations) > 0 {
		p.t.Errorf("axe-core at %s:\n\t%s", p.location(), strings.Join(violations, "\n\t"))
	}
}

// step runs actions and fails the test on the first error, naming what the
// person was doing.
func (p *person) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.tab, actions...); err != nil {
		p.t.Fatalf("%s: %v (at %s)", what, err, p.location())
	}
}

func (p *person) location() string {
	loc, _ := chromedp.Run(p.tab, chromedp.Location())
	return loc
}

func (p *person) text(id string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.tab, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		p.t.Fatalf("read #%s: %v (at %s)", id, err, p.location())
	}
	return s
}

// eval runs a script in the page and returns its value.
func eval[T any](p *person, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

func (p *person) open(path string, waitID string) {
	p.t.Helper()
	p.step("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.ID(waitID)))
	p.loaded("open " + path)
}

// loaded waits until the page has loaded with its script (the script is
// deferred, and runs after readyState leaves "loading"; buttons of security
// keys do nothing before it), then checks it.
func (p *person) loaded(what string) {
	p.t.Helper()
	p.step(what, chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
	p.check()
}

// navigate runs actions that load a new page, such as a click that submits
// a form, and waits for that page to show the element next. The old page
// is marked first, so that an element of the same id on it does not count.
func (p *person) navigate(what, next string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.step(what, append([]chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](`window.oldPage = true`)}, actions...)...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// While the page changes, the script may fail: try again.
		done, err := chromedp.Run(p.tab, chromedp.Evaluate[bool](`window.oldPage === undefined && document.readyState === "complete"`))
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: no new page (at %s)", what, p.location())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.step(what, chromedp.WaitVisible(chromedp.ID(next)))
	p.check()
}

// click clicks the element id, which loads a page that shows next.
func (p *person) click(id, next string) {
	p.t.Helper()
	p.navigate("click #"+id, next, chromedp.Click(chromedp.ID(id)))
}

func (p *person) shot(name string) {
	p.t.Helper()
	if p.shots == "" {
		return
	}
	// Screenshots for the README are of a desktop window; the walk goes
	// on at phone width.
	p.step("desktop width", chromedp.EmulateViewport(1200, 900))
	if err := browser.Screenshot(p.tab, filepath.Join(p.shots, name+".png")); err != nil {
		p.t.Fatal(err)
	}
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
}

// login types the e-mail address and password; the page that follows is
// the home page (wait "nav-home" with "twofa-status") or the challenge
// (wait "verify" or "use-key").
func (p *person) login(email, password, wait string) {
	p.t.Helper()
	p.open("/login", "login")
	p.navigate("log in as "+email, wait,
		chromedp.SetValue(chromedp.ID("email"), email),
		chromedp.SetValue(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")))
}

func (p *person) logout(forget bool) {
	p.t.Helper()
	id := "logout"
	if forget {
		id = "logout-forget"
	}
	p.click(id, "login")
}

// enterCode types a code on the challenge (or set-up) page and submits it
// with the button id, then waits for next.
func (p *person) enterCode(code, button, next string) {
	p.t.Helper()
	// Fields are filled as properties (SetValue), never with Clear and
	// SendKeys: Clear changes the value attribute, and chromedp v0.23's
	// SendKeys reads the node's attributes unlocked while its event loop
	// writes them, a data race that -race reported under load. (The
	// administrator's walk types with real key events.)
	p.navigate("enter a code", next,
		chromedp.SetValue(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID(button)))
}

// keyboard types text into the element id with the keyboard alone: Tab
// until it has the focus (if it has not already, by autofocus), then the
// keys.
func (p *person) keyboard(id, text string) {
	p.t.Helper()
	p.focus(id)
	p.step("type into #"+id, chromedp.KeyEvent(text))
}

// focus moves the keyboard's focus to the element id with Tab, as a person
// without a mouse does.
func (p *person) focus(id string) {
	p.t.Helper()
	if f, err := browser.Focused(p.tab); err == nil && f == id {
		return
	}
	if err := browser.TabTo(p.tab, id, 40); err != nil {
		p.t.Fatalf("%v (at %s)", err, p.location())
	}
}

// press moves the focus to the element id and presses key (kb.Enter or
// " "), which loads a page that shows next.
func (p *person) press(id, key, next string) {
	p.t.Helper()
	p.focus(id)
	p.navigate("press "+strconv.Quote(key)+" on #"+id, next, chromedp.KeyEvent(key))
}

// onHome asserts the home page, and which way the session passed.
func (p *person) onHome(passedWith string) {
	p.t.Helper()
	p.step("home", chromedp.WaitVisible(chromedp.ID("twofa-status")))
	got := ""
	if eval[bool](p, `document.getElementById("passed-with") !== null`) {
		got = p.text("passed-with")
	}
	if !strings.Contains(got, passedWith) {
		p.t.Fatalf("home page: passed with %q, want %q", got, passedWith)
	}
}

// walker starts the example in process for a browser test and returns the
// person who walks it in tab, at phone width: on a fake clock, so that
// codes of later time steps come without waiting, and on localhost, which
// WebAuthn needs. set changes the test's settings before the start.
func walker(t *testing.T, tab context.Context, set func(*config)) *person {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	clock := fake.NewClock(time.Now())
	cfg := config{
		DB: filepath.Join(t.TempDir(), "webapp.db"), Origin: base,
		DemoPassword: "demo-password", AdminPassword: "admin-password",
		Log: io.Discard, Now: clock.Now, PasswordCost: bcrypt.MinCost,
	}
	set(&cfg)
	h, closeDB, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	p := &person{t: t, tab: tab, base: base, clock: clock, shots: os.Getenv("TWOFA_SCREENSHOTS"),
		axe: browser.AxeSource(t), checked: map[string]bool{}}
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	return p
}

var mailCode = regexp.MustCompile(`\b(\d{6,8})\b`)

func TestBrowser(t *testing.T) {
	tab := browser.New(t)
	// A security key, which keeps no passkey: with a passkey on it, the
	// login page's autofill would sign in at once, without the password
	// this walk types (TestBrowserPasskey walks that).
	if _, err := authenticator(tab, false); err != nil {
		t.Fatal(err)
	}

	p := walker(t, tab, func(c *config) {
	})
	base, clock := p.base, p.clock
	p.step("phone width", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	const demo, demoPW = "demo@example.com", "demo-password"

	// Log in with the password alone: 2FA is off.
	p.login(demo, demoPW, "twofa-status")
	if s := p.text("twofa-status"); s != "off" {
		t.Fatalf("2FA status of a new user: %q", s)
	}
	p.shot("home")

	// Set up the authenticator app: read the secret from the page and
	// compute the code a phone would show.
	p.click("settings", "totp-setup")
	p.click("totp-setup", "secret")
	p.shot("totp-setup")
	phone := phoneFor(t, p.text("secret"), clock)
	// A wrong code first: the field says it is wrong, to screen readers too.
	p.enterCode("000000", "save", "error")
	if inv := eval[string](p, `document.getElementById("code").getAttribute("aria-invalid")`); inv != "true" {
		t.Fatalf("the set-up's code field after a wrong code: aria-invalid %q", inv)
	}
	// The set-up goes on to backup codes, shown once.
	p.enterCode(phone(), "save", "codes")
	p.shot("backup-codes")
	codes := eval[[]string](p, `[...document.querySelectorAll("#codes code")].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("backup codes on the page: %q", codes)
	}
	href := eval[string](p, `document.getElementById("codes-pdf").href`)
	pdf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(href, "data:application/pdf;base64,"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the PDF link: %.60q, %v", href, err)
	}
	renderPDF(t, pdf)
	p.click("codes-saved", "totp-move")
	clock.Add(30 * time.Second)
	// A page that only answers a POST, opened as a link: the settings.
	p.open("/2fa/totp/confirm", "totp-move")

	// Log out, log in: the code is asked for, and passes.
	p.logout(false)
	p.login(demo, demoPW, "verify")
	code := phone()
	p.enterCode(code, "verify", "twofa-status")
	p.onHome("authenticator app")

	// The same code again, in a new session: refused, told to wait for
	// the app's next code; a code of no shape is told the shapes; a wrong
	// one, the tries left before a lock.
	p.logout(false)
	p.login(demo, demoPW, "verify")
	if im := eval[string](p, `document.getElementById("code").inputMode`); im != "" {
		t.Fatalf("the challenge with backup codes asks for the number pad (%q)", im)
	}
	p.enterCode(code, "verify", "error")
	if e := p.text("error"); !strings.Contains(e, "already used") || !strings.Contains(e, "next code") {
		t.Fatalf("replayed code: %q", e)
	}
	p.enterCode("12-ab", "verify", "error")
	if e := p.text("error"); !strings.Contains(e, "A backup code is ten letters and digits") {
		t.Fatalf("a code of no shape: %q", e)
	}
	p.enterCode("000000", "verify", "tries-left")
	if e := p.text("tries-left"); !strings.Contains(e, "more wrong codes lock the second step") {
		t.Fatalf("tries left: %q", e)
	}
	clock.Add(30 * time.Second)
	p.enterCode(phone(), "verify", "twofa-status")

	p.logout(false)
	p.login(demo, demoPW, "verify")
	p.enterCode(codes[3], "verify", "twofa-status")
	p.onHome("backup code")
	p.logout(false)
	p.login(demo, demoPW, "verify")
	p.enterCode(codes[3], "verify", "error")
	if e := p.text("error"); !strings.Contains(e, "already used: each works once") || strings.Contains(e, "next code") {
		t.Fatalf("a used backup code: %q", e)
	}
	clock.Add(30 * time.Second)
	p.enterCode(phone(), "verify", "twofa-status")

	// New backup codes end the old ones: asked first, then shown.
	clock.Add(time.Minute)
	p.open("/2fa/settings", "backup-generate")
	p.click("backup-generate", "confirm")
	if s := p.text("confirm-text"); !strings.Contains(s, "9 unused backup codes stop working") {
		t.Fatalf("new backup codes asked with %q", s)
	}
	p.click("confirm", "codes")
	p.click("codes-saved", "backup-remaining")
	if s := p.text("backup-remaining"); s != "10 unused codes left." {
		t.Fatalf("after new codes: %q", s)
	}

	// A security key, through Chrome's virtual authenticator.
	p.open("/2fa/settings", "key-name")
	p.navigate("add a key", "webauthn-disable",
		chromedp.SetValue(chromedp.ID("key-name"), "Virtual key"),
		chromedp.Click(chromedp.ID("add-key")))
	if name := eval[string](p, `document.querySelector("#webauthn input[name=name]").value`); name != "Virtual key" {
		t.Fatalf("the key's name on the settings: %q", name)
	}
	p.shot("settings")
	// A name that is markup shows as text: no element, no script.
	const markup = `<img src=x onerror="window.pwned=1">`
	p.navigate("rename the key", "webauthn-disable", chromedp.Evaluate[chromedp.Void](`{
		const form = document.querySelector('#webauthn form[action$="keys/rename"]');
		form.querySelector("input[name=name]").value = `+strconv.Quote(markup)+`;
		form.querySelector("button").click();
	}`))
	if name := eval[string](p, `document.querySelector("#webauthn input[name=name]").value`); name != markup {
		t.Fatalf("the key's new name on the settings: %q", name)
	}
	if n := eval[int](p, `document.querySelectorAll("img:not([src^='data:'])").length + (window.pwned ? 100 : 0)`); n != 0 {
		t.Fatalf("the key's name became markup (%d)", n)
	}
	p.logout(false)
	// The key's script goes on to the page in data-next, which is local
	// whatever next the challenge was given.
	p.login(demo, demoPW, "use-key")
	p.open("/2fa/?next="+url.QueryEscape("//evil.example/"), "use-key")
	p.click("use-key", "twofa-status")
	if loc := p.location(); !strings.HasPrefix(loc, base+"/") {
		t.Fatalf("the key login went to %s", loc)
	}
	p.onHome("security key")

	// A code by e-mail, read from the development mailer's page.
	p.open("/2fa/settings", "email-setup")
	p.click("email-setup", "email-disable")
	p.logout(false)
	p.login(demo, demoPW, "send-email")
	p.shot("challenge") // every method on offer
	p.click("send-email", "verify")
	p.open("/dev/mail", "nav-home")
	// The newest mail with a code: the notice that e-mail codes were turned
	// on came at the same time and has none.
	var m []string
	texts := eval[[]string](p, `[...document.querySelectorAll(".mail .text")].map(e => e.textContent)`)
	for _, text := range texts {
		if m = mailCode.FindStringSubmatch(text); m != nil {
			break
		}
	}
	if m == nil {
		t.Fatalf("no code in the mail: %q", texts)
	}
	p.open("/2fa/", "verify")
	p.enterCode(m[1], "verify", "twofa-status")
	p.onHome("code by e-mail")

	// Remember this browser: logging out and in asks nothing more.
	p.logout(false)
	p.login(demo, demoPW, "verify")
	clock.Add(30 * time.Second)
	p.step("tick remember", chromedp.Click(chromedp.ID("remember")))
	p.enterCode(phone(), "verify", "twofa-status")
	p.logout(false)
	p.login(demo, demoPW, "twofa-status")
	p.onHome("remembered browser")

	// Revoke it (the settings ask for a fresh step first): asked again.
	p.open("/2fa/settings", "verify")
	clock.Add(30 * time.Second)
	p.enterCode(phone(), "verify", "browsers-revoke-all")
	if s := p.text("this-browser"); s != "this browser" {
		t.Fatalf("this browser in the list: %q", s)
	}
	p.click("browsers-revoke-all", "notice")
	p.logout(false)
	p.login(demo, demoPW, "verify")
	clock.Add(30 * time.Second)
	p.enterCode(phone(), "verify", "twofa-status")
	p.logout(false)

	// The administrator, who needs a second factor of their own for the
	// administration, resets the user.
	// They set it up and log in with the keyboard alone: Tab, Enter and
	// Space, no click. A wrong password first keeps the address typed.
	const admin, adminPW = "admin@example.com", "admin-password"
	p.open("/login", "login")
	p.keyboard("email", admin)
	p.keyboard("password", "not the password")
	p.press("password", kb.Enter, "error")
	if v := eval[string](p, `document.getElementById("email").value`); v != admin {
		t.Fatalf("after a wrong password the address reads %q", v)
	}
	p.keyboard("password", adminPW)
	p.press("password", kb.Enter, "twofa-status")
	p.press("settings", kb.Enter, "totp-setup")
	p.press("totp-setup", " ", "secret")
	adminPhone := phoneFor(t, p.text("secret"), clock)
	p.keyboard("code", adminPhone())
	p.press("code", kb.Enter, "codes")
	p.press("codes-saved", kb.Enter, "totp-move")
	clock.Add(30 * time.Second)
	p.press("logout", " ", "login")
	p.keyboard("email", admin)
	p.keyboard("password", adminPW)
	p.press("password", kb.Enter, "verify")
	if im := eval[string](p, `document.getElementById("code").inputMode`); im != "" {
		t.Fatalf("the challenge with backup codes asks for the number pad (%q)", im)
	}
	p.keyboard("code", adminPhone())
	p.press("code", kb.Enter, "twofa-status")

	p.open("/admin", "reset-demo-example-com")
	p.shot("admin")
	p.click("reset-demo-example-com", "confirm")
	if s := p.text("confirm-text"); !strings.Contains(s, "authenticator app: enabled") {
		t.Fatalf("the reset asked with %q", s)
	}
	p.click("confirm", "notice")
	p.click("log-demo-example-com", "security-log")
	if s := p.text("security-log"); !strings.Contains(s, "Two-factor authentication reset by an administrator") {
		t.Fatalf("the security log after the reset: %q", s)
	}
	p.logout(false)
	// A page asked for before the login is where the login goes on to.
	p.open("/2fa/settings", "login")
	p.navigate("log in for the settings", "totp-setup",
		chromedp.SetValue(chromedp.ID("email"), demo),
		chromedp.SetValue(chromedp.ID("password"), demoPW),
		chromedp.Click(chromedp.ID("login")))
	if n := eval[int](p, `document.querySelectorAll(".status.enabled").length`); n != 0 {
		t.Fatalf("%d methods still on after the reset", n)
	}
	p.open("/", "twofa-status")
	if s := p.text("twofa-status"); s != "off" {
		t.Fatalf("2FA after the reset: %q", s)
	}
	if len(p.checked) < 15 && p.axe != "" {
		t.Fatalf("axe-core ran on only %d pages", len(p.checked))
	}
	t.Logf("axe-core ran on %d pages, the layout check on every load", len(p.checked))
}

// phoneFor returns what a phone shows for the grouped secret read from the
// set-up page, at the clock's time.
func phoneFor(t *testing.T, grouped string, clock *fake.Clock) func() string {
	return func() string { return fake.AppCode(t, grouped, clock.Now()) }
}

// renderPDF checks that the PDF renders to a page image.
func renderPDF(t *testing.T, pdf []byte) {
	t.Helper()
	testdb.NeedTool(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "codes.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "50", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("rendered page: %v", err)
	}
}

// authenticator adds a virtual authenticator to the tab that answers at
// once, as after a touch: a platform one that keeps passkeys (resident
// keys) and verifies the user, as a phone or laptop does, or a security
// key that keeps none.
func authenticator(tab context.Context, passkeys bool) (webauthn.AuthenticatorID, error) {
	if _, err := chromedp.Call(tab, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return "", err
	}
	transport := webauthn.AuthenticatorTransportUsb
	if passkeys {
		transport = webauthn.AuthenticatorTransportInternal
	}
	res, err := chromedp.Call(tab, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   transport,
			HasResidentKey:              passkeys,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", err
	}
	return res.AuthenticatorID, nil
}
