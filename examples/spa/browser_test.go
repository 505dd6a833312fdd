package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/apitest"
	"github.com/twofa-go/twofa/internal/browser"
	"github.com/twofa-go/twofa/internal/fake"
)

// person drives the single-page application in Chromium as a person does:
// what the page shows, clicks and typing. The page never reloads: each
// step waits for the view (or message) it leads to.
type person struct {
	t       *testing.T
	tab     context.Context
	base    string
	width   int
	axe     string
	checked map[string]bool
}

// check looks at the page as drawn: nothing wider than the screen, no text
// over other text, and no WCAG 2.1 A or AA violation that axe-core finds.
// Axe runs once per view and set of messages shown.
func (p *person) check() {
	p.t.Helper()
	problems, err := browser.Layout(p.tab)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(problems) > 0 {
		p.t.Errorf("at %d px, view %s:\n\t%s", p.width, p.view(), strings.Join(problems, "\n\t"))
	}
	key := eval[string](p, `[...document.querySelectorAll("section:not([hidden]), section:not([hidden]) [id]:not([hidden]), .message:not(:empty), [aria-invalid=true]")].map(e => e.id).join(",")`)
	if p.checked[key] || p.axe == "" {
		return
	}
	p.checked[key] = true
	violations, err := browser.Axe(p.tab, p.axe)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(violations) > 0 {
		p.t.Errorf("axe-core at %d px, view %s:\n\t%s", p.width, p.view(), strings.Join(violations, "\n\t"))
	}
}

func (p *person) view() string {
	v, _ := chromedp.Run(p.tab, chromedp.Evaluate[string](`(document.querySelector("main > section:not([hidden])") || {}).id`))
	return v
}

func (p *person) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.tab, actions...); err != nil {
		p.t.Fatalf("%s: %v (view %s, error %q)", what, err, p.view(), p.text("error"))
	}
}

func eval[T any](p *person, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

func (p *person) text(id string) string {
	v, _ := chromedp.Run(p.tab, chromedp.Evaluate[string](`(document.getElementById(`+strconv.Quote(id)+`) || {}).textContent || ""`))
	return v
}

// until waits for a condition of the page (a script returning true), and
// checks the page once it holds.
func (p *person) until(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(p.tab, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out (view %s, error %q, notice %q)", what, p.view(), p.text("error"), p.text("notice"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.check()
}

// act clears the messages, runs actions, and waits for cond.
func (p *person) act(what, cond string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.step(what, append([]chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](`document.getElementById("error").textContent = ""; document.getElementById("notice").textContent = ""`)}, actions...)...)
	p.until(what, cond)
}

func viewIs(name string) string {
	return `!document.getElementById("view-` + name + `").hidden && document.activeElement === document.querySelector("#view-` + name + ` h1")`
}

const errorShown = `document.getElementById("error").textContent !== ""`

func (p *person) click(id, cond string) {
	p.t.Helper()
	p.act("click #"+id, cond, chromedp.Click(chromedp.ID(id)))
}

// fill sets a field's value, as typing does, and submits with the button.
func (p *person) fill(field, value, button, cond string) {
	p.t.Helper()
	p.act("type into #"+field, cond,
		chromedp.SetValue(chromedp.ID(field), value),
		chromedp.Click(chromedp.ID(button)))
}

func (p *person) login(cond string) {
	p.t.Helper()
	p.step("fill the login", chromedp.SetValue(chromedp.ID("email"), demo))
	p.fill("password", demoPW, "login", cond)
}

func (p *person) logout(button string) {
	p.t.Helper()
	p.click(button, viewIs("login"))
	if n := p.text("notice"); n != "You are logged out." {
		p.t.Fatalf("after logout: %q", n)
	}
}

// keyboard moves the focus to id with Tab alone and types text.
func (p *person) keyboard(id, text string) {
	p.t.Helper()
	if f, err := browser.Focused(p.tab); err != nil || f != id {
		if err := browser.TabTo(p.tab, id, 20); err != nil {
			p.t.Fatal(err)
		}
	}
	p.step("type into #"+id, chromedp.KeyEvent(text))
}

var retryIn = regexp.MustCompile(`Next try at (\d\d):(\d\d):(\d\d)\.`)

// TestBrowser walks the application in Chromium, with its virtual
// authenticator, at a desktop's width and a phone's.
func TestBrowser(t *testing.T) {
	for _, size := range [][2]int{{1200, 900}, {390, 844}} {
		t.Run(fmt.Sprintf("%dpx", size[0]), func(t *testing.T) { walk(t, size[0], size[1]) })
	}
}

func walk(t *testing.T, width, height int) {
	tab := browser.New(t)
	if _, err := browser.VirtualAuthenticator(tab); err != nil {
		t.Fatal(err)
	}
	// The back end in process, on a fake clock; WebAuthn wants localhost.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	clock := fake.NewClock(time.Now())
	mail := &mailbox{}
	a, err := newApp(config{Origin: base, DemoPassword: demoPW, Log: io.Discard, Now: clock.Now, PasswordCost: bcrypt.MinCost, Mailer: mail})
	if err != nil {
		t.Fatal(err)
	}
	// Every exchange with twofa's JSON API is checked against its OpenAPI
	// document, and the page must use nothing else of twofa: no page
	// under /2fa/ outside /2fa/api/.
	contract, err := apitest.New(a.mw.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	routes := a.routes()
	checked := contract.Handler(t, routes)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/2fa/api/"):
			checked.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/2fa/"):
			t.Errorf("the page asked for twofa's page %s", r.URL.Path)
			fallthrough
		default:
			routes.ServeHTTP(w, r)
		}
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	p := &person{t: t, tab: tab, base: base, width: width, axe: browser.AxeSource(t), checked: map[string]bool{}}
	p.step("window size", chromedp.EmulateViewport(int64(width), int64(height)))
	p.step("open the page", chromedp.Navigate(base+"/"))
	p.until("the login", viewIs("login"))

	// The login with the keyboard alone: a wrong password first, which
	// is said, read out and marked on its field, and keeps the address.
	p.keyboard("email", demo)
	p.keyboard("password", "not the password")
	p.act("press Enter", errorShown, chromedp.KeyEvent(kb.Enter))
	if e := p.text("error"); e != "Wrong e-mail address or password." {
		t.Fatalf("wrong password: %q", e)
	}
	if f, _ := browser.Focused(tab); f != "password" || eval[string](p, `document.getElementById("password").getAttribute("aria-invalid")`) != "true" {
		t.Fatalf("after a wrong password the focus is on %q", f)
	}
	if v := eval[string](p, `document.getElementById("email").value`); v != demo {
		t.Fatalf("after a wrong password the address reads %q", v)
	}
	p.keyboard("password", demoPW)
	p.act("press Enter", viewIs("home"), chromedp.KeyEvent(kb.Enter))
	if s := p.text("no-second-step"); eval[bool](p, `document.getElementById("no-second-step").hidden`) || !strings.Contains(s, "no second factor") {
		t.Fatalf("home without a second factor: %q", s)
	}
	// A reload keeps the session: the page starts from /api/me.
	p.step("reload", chromedp.Reload())
	p.until("the home page after a reload", viewIs("home"))
	// The session gone (expired, or ended elsewhere): the next request
	// shows the login, and says why.
	if _, err := chromedp.Call(tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	p.click("nav-home", viewIs("login"))
	if n := p.text("notice"); n != "Your session has ended. Please log in again." {
		t.Fatalf("after the session ended: %q", n)
	}
	p.login(viewIs("home"))
	p.logout("logout")

	if testing.Short() {
		return
	}
	secondStep(p, clock, mail)
	// The walk went through each of these operations of the API, with
	// these answers.
	seen := contract.Seen()
	for op, statuses := range map[string][]int{
		"getChallenge": {200}, "verify": {200, 401, 429}, "beginKeyLogin": {200}, "finishKeyLogin": {200},
		"getAccount": {200, 401}, "beginTOTP": {200}, "confirmTOTP": {200, 401}, "generateBackupCodes": {200},
		"beginKeyRegistration": {200}, "finishKeyRegistration": {200}, "revokeAllBrowsers": {200},
		"disableMethod": {200}, "enableMethod": {200}, "sendEmailCode": {200}, "renameKey": {200, 422}, "removeKey": {200},
	} {
		for _, status := range statuses {
			if seen[op][status] == 0 {
				t.Errorf("the walk never saw %s answer %d (saw %v)", op, status, seen[op])
			}
		}
	}
	if len(p.checked) < 12 && p.axe != "" {
		t.Fatalf("axe-core ran on only %d views", len(p.checked))
	}
	t.Logf("axe-core ran on %d views at %d px, the layout check after every step", len(p.checked), width)
}

// secondStep is the walk through twofa's JSON API: an authenticator app
// set up from the secret the API sent, backup codes, a replayed code, the
// throttle's wait, a security key added and used, a step-up.
func secondStep(p *person, clock *fake.Clock, mail *mailbox) {
	t := p.t
	shown := func(id string) string { return `!document.getElementById("` + id + `").hidden` }
	codesShown := `[...document.querySelectorAll("#codes code")].map(c => c.textContent)`

	p.login(viewIs("home"))
	p.click("nav-settings", viewIs("settings"))
	if s := p.text("totp-state"); s != "Authenticator app: not set up." {
		t.Fatalf("a new user's app: %q", s)
	}

	// The set-up: the key as the API sent it, and its QR code drawn.
	p.click("totp-setup", shown("totp-enroll")+` && document.getElementById("secret").textContent !== "" && document.getElementById("qr").complete`)
	secret := p.text("secret")
	if w := eval[int](p, `document.getElementById("qr").naturalWidth`); w < 21 {
		t.Fatalf("the QR code is not drawn (width %d)", w)
	}
	phone := func() string { return fake.AppCode(t, secret, clock.Now()) }
	p.fill("totp-code", "000000", "totp-confirm", errorShown)
	if inv := eval[string](p, `document.getElementById("totp-code").getAttribute("aria-invalid")`); inv != "true" {
		t.Fatalf("a wrong first code: aria-invalid %q, error %q", inv, p.text("error"))
	}
	p.fill("totp-code", phone(), "totp-confirm", shown("backup-new"))
	codes := eval[[]string](p, codesShown)
	if len(codes) != 10 || p.text("notice") == "" {
		t.Fatalf("after the set-up: codes %q, notice %q", codes, p.text("notice"))
	}
	if s := p.text("totp-state"); s != "Authenticator app: on." {
		t.Fatalf("after the set-up: %q", s)
	}

	// A security key, through Chromium's virtual authenticator. Its name
	// is the user's text: markup stays text.
	const keyName = `Virtual <img src=x onerror="window.pwned=1">`
	p.step("name the key", chromedp.SetValue(chromedp.ID("key-name"), keyName))
	p.click("add-key", `[...document.querySelectorAll("#keys .key-name")].some(e => e.textContent === `+strconv.Quote(keyName)+`)`)
	if n := eval[int](p, `document.querySelectorAll("img:not(#qr)").length + (window.pwned ? 100 : 0)`); n != 0 {
		t.Fatalf("the key's name became markup (%d)", n)
	}
	// Renamed: an empty name is refused on its field, a new one shown.
	p.act("rename the key to nothing", errorShown,
		chromedp.SetValue(chromedp.ID("key-rename-0"), " "),
		chromedp.Click(chromedp.CSS(`#keys .key-rename button`)))
	if inv := eval[string](p, `document.getElementById("key-rename-0").getAttribute("aria-invalid")`); inv != "true" {
		t.Fatalf("an empty name: aria-invalid %q, error %q", inv, p.text("error"))
	}
	p.act("rename the key", `document.querySelector("#keys .key-name").textContent === "Work key"`,
		chromedp.SetValue(chromedp.ID("key-rename-0"), "Work key"),
		chromedp.Click(chromedp.CSS(`#keys .key-rename button`)))
	p.logout("logout")

	// The second step with the app's code.
	clock.Add(30 * time.Second)
	p.login(viewIs("challenge"))
	if !eval[bool](p, shown("challenge-key")+" && "+shown("verify-form")) {
		t.Fatal("the challenge does not offer both the key and a code")
	}
	// With the keyboard: Tab to the field, type, Enter.
	code := phone()
	p.keyboard("code", code)
	p.act("press Enter", viewIs("home"), chromedp.KeyEvent(kb.Enter))
	if s := p.text("passed-with"); s != "an authenticator app" {
		t.Fatalf("passed with %q", s)
	}

	// The same code in a new session: refused, with the API's words, on
	// the field, which has the focus.
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.fill("code", code, "verify", errorShown)
	if e := p.text("error"); !strings.Contains(e, "already used") {
		t.Fatalf("a replayed code: %q", e)
	}
	if f, _ := browser.Focused(p.tab); f != "code" || eval[string](p, `document.getElementById("code").getAttribute("aria-invalid")`) != "true" {
		t.Fatalf("after a replayed code the focus is on %q", f)
	}

	// Wrong codes until the throttle makes the user wait: the wait is shown
	// in seconds, from Retry-After. A right code is refused until then.
	var wait time.Duration
	for i := 0; i < 20 && wait == 0; i++ {
		p.fill("code", "000000", "verify", errorShown)
		if m := retryIn.FindStringSubmatch(p.text("error")); m != nil {
			// The page's time is its clock plus Retry-After: the wait
			// is that less this machine's time of day, within a minute.
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			sec, _ := strconv.Atoi(m[3])
			now := time.Now()
			at := time.Date(now.Year(), now.Month(), now.Day(), h, mi, sec, 0, time.Local)
			if at.Before(now.Add(-time.Minute)) {
				at = at.AddDate(0, 0, 1) // past midnight
			}
			wait = max(at.Sub(now), time.Second)
		}
	}
	if wait <= 0 || wait > 24*time.Hour {
		t.Fatalf("no wait shown after 20 wrong codes: %q", p.text("error"))
	}
	if e := p.text("error"); !strings.Contains(e, "Too many") {
		t.Fatalf("the throttle's words: %q", e)
	}
	// A right code (a backup code: the app's would be the replayed one
	// until the clock moves) is refused until then.
	p.fill("code", codes[1], "verify", errorShown)
	if e := p.text("error"); !retryIn.MatchString(e) {
		t.Fatalf("a right code while throttled: %q", e)
	}
	clock.Add(wait + 30*time.Second)
	p.fill("code", phone(), "verify", viewIs("home"))

	// A backup code.
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.fill("code", codes[0], "verify", viewIs("home"))
	if s := p.text("passed-with"); s != "a backup code" {
		t.Fatalf("passed with %q", s)
	}

	// The security key.
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.click("use-key", viewIs("home"))
	if s := p.text("passed-with"); s != "a security key" {
		t.Fatalf("passed with %q", s)
	}

	// New backup codes: the old set ends.
	p.click("nav-settings", viewIs("settings"))
	if s := p.text("backup-state"); s != "9 unused codes left." {
		t.Fatalf("backup codes after one used: %q", s)
	}
	p.click("backup-generate", shown("backup-new")+` && document.getElementById("backup-state").textContent === "10 unused codes left."`)
	if fresh := eval[[]string](p, codesShown); len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("new backup codes: %q", fresh)
	}

	// Long after the last step, the settings ask for a new one first, and
	// come back.
	clock.Add(httpmw.DefaultStepUpAge + time.Minute)
	p.click("nav-home", viewIs("home"))
	p.click("nav-settings", viewIs("challenge"))
	p.click("use-key", viewIs("settings"))

	// The app off, and on again.
	p.click("totp-disable", shown("totp-enable"))
	if s := p.text("totp-state"); s != "Authenticator app: off." || p.text("notice") == "" {
		t.Fatalf("after turning the app off: %q, notice %q", s, p.text("notice"))
	}
	p.click("totp-enable", shown("totp-disable"))

	// Codes by e-mail, turned on, then a login with one.
	p.click("email-enable", shown("email-disable"))
	if s := p.text("email-state"); s != "Codes by e-mail: on." {
		t.Fatalf("after turning e-mail codes on: %q", s)
	}
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.click("send-email", `document.getElementById("notice").textContent !== ""`)
	if f, _ := browser.Focused(p.tab); f != "code" {
		t.Fatalf("after sending a code the focus is on %q", f)
	}
	p.fill("code", mail.code(t, demo), "verify", viewIs("home"))
	if s := p.text("passed-with"); s != "a code by e-mail" {
		t.Fatalf("passed with %q", s)
	}
	p.click("nav-settings", viewIs("settings"))

	// Remember this browser: the next login asks nothing more, but the
	// settings still want a fresh step, which a remembered browser is not.
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.step("tick remember", chromedp.Click(chromedp.ID("remember")))
	p.click("use-key", viewIs("home"))
	p.logout("logout")
	p.login(viewIs("home"))
	if s := p.text("passed-with"); s != "a remembered browser" {
		t.Fatalf("passed with %q", s)
	}
	p.click("nav-settings", viewIs("challenge"))
	if eval[bool](p, `document.getElementById("remember").checked`) {
		t.Fatal("remember is ticked already on a new challenge")
	}
	p.click("use-key", viewIs("settings"))
	remembered := `document.querySelectorAll("#browsers li[id^=browser-]").length`
	if n := eval[int](p, remembered); n != 1 || !strings.Contains(p.text("browsers"), "(this browser)") {
		t.Fatalf("remembered browsers: %d, %q", n, p.text("browsers"))
	}
	p.click("browsers-forget-all", remembered+" === 0")
	p.logout("logout")
	p.login(viewIs("challenge"))
	p.click("use-key", viewIs("home"))

	// A step-up left for the logout: the next login goes home, not on to
	// the settings it was for.
	clock.Add(httpmw.DefaultStepUpAge + time.Minute)
	p.click("nav-settings", viewIs("challenge"))
	p.logout("challenge-logout")
	p.login(viewIs("challenge"))
	p.click("use-key", viewIs("home"))

	// The key removed: the challenge no longer offers it.
	p.click("nav-settings", viewIs("settings"))
	p.act("remove the key", `document.querySelectorAll("#keys .key-name").length === 0`,
		chromedp.Click(chromedp.CSS(`#keys .key-remove`)))
	p.logout("logout")
	p.login(viewIs("challenge"))
	if !eval[bool](p, `document.getElementById("challenge-key").hidden`) {
		t.Fatal("the challenge offers a removed key")
	}

	// Moving to a different phone: the new app's codes pass, the old
	// one's no longer.
	clock.Add(30 * time.Second)
	p.fill("code", phone(), "verify", viewIs("home"))
	p.click("nav-settings", viewIs("settings"))
	if s := p.text("totp-setup"); s != "Move to a different phone" {
		t.Fatalf("the app's button once set up: %q", s)
	}
	p.click("totp-setup", shown("totp-enroll")+` && document.getElementById("secret").textContent !== `+strconv.Quote(secret))
	moved := p.text("secret")
	clock.Add(30 * time.Second)
	p.fill("totp-code", fake.AppCode(t, moved, clock.Now()), "totp-confirm", `document.getElementById("totp-enroll").hidden`)
	p.logout("logout")
	clock.Add(30 * time.Second)
	p.login(viewIs("challenge"))
	p.fill("code", phone(), "verify", errorShown)
	p.fill("code", fake.AppCode(t, moved, clock.Now()), "verify", viewIs("home"))
	p.logout("logout")
}

// mailbox is the back end's mailer in the test: it keeps what it sends.
type mailbox struct {
	mu   sync.Mutex
	sent []emailotp.Message
}

func (m *mailbox) Send(_ context.Context, msg emailotp.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

var mailCode = regexp.MustCompile(`\b(\d{6,8})\b`)

// code returns the code in the newest message to to.
func (m *mailbox) code(t *testing.T, to string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To != to {
			continue
		}
		if c := mailCode.FindStringSubmatch(m.sent[i].Text); c != nil {
			return c[1]
		}
	}
	t.Fatalf("no code mailed to %s among %d messages", to, len(m.sent))
	return ""
}
