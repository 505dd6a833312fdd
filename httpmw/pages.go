package httpmw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/totp"
	"github.com/twofa-go/twofa/webauthn"
)

// Pages returns the handler of the challenge and settings pages, to mount
// at Config.Path:
//
//	mux.Handle("/2fa/", mw.Pages())
//
// The challenge needs only the application's first step; the settings need
// a second step passed within Config.StepUpAge (or a user with no method).
// Every POST must come from the application's own origin.
func (m *Middleware) Pages() http.Handler { return m.pages }

// MaxFormBody bounds the body of a page's form POST: the forms hold a code,
// a key's name and a page to go on to, and a few KB is plenty. A body past
// it is answered 413, unread.
const MaxFormBody = 8 << 10

// MaxJSONBody bounds the body of a security-key POST, the JSON of a
// browser's response: webauthn.MaxResponse and room for its envelope. A
// body past it is answered 413, unread.
const MaxJSONBody = webauthn.MaxResponse + 4<<10

// pageRoute is one route of the pages, under Config.Path.
type pageRoute struct {
	method, path string
	// json marks a route whose body is JSON (the security keys), bounded
	// by MaxJSONBody; the other POSTs take forms, bounded by MaxFormBody.
	json bool
	h    http.Handler
}

// table lists every route of the pages; routes builds the mux from it, and
// the tests walk it, so that no route escapes them.
func (m *Middleware) table() []pageRoute {
	stepUp := func(h http.HandlerFunc) http.Handler { return m.StepUp(0, h) }
	rs := []pageRoute{
		// The second step itself.
		{method: "GET", path: "{$}", h: http.HandlerFunc(m.challenge)},
		{method: "POST", path: "verify", h: http.HandlerFunc(m.verify)},
		{method: "POST", path: "email", h: http.HandlerFunc(m.sendEmail)},
	}
	if m.tf.WebAuthn != nil {
		keyLogin := &webauthn.Handlers{Service: m.tf.WebAuthn, User: m.cfg.User, OnLogin: m.keyPassed}
		rs = append(rs,
			pageRoute{method: "POST", path: "key/begin", json: true, h: keyLogin.BeginLogin()},
			pageRoute{method: "POST", path: "key/finish", json: true, h: keyLogin.FinishLogin()},
		)
	}
	// The settings.
	rs = append(rs,
		pageRoute{method: "GET", path: "settings", h: stepUp(m.settings)},
		pageRoute{method: "POST", path: "method", h: stepUp(m.method)},
		pageRoute{method: "GET", path: "totp", h: stepUp(m.totpPage)},
		pageRoute{method: "POST", path: "totp/begin", h: stepUp(m.totpBegin)},
		pageRoute{method: "POST", path: "totp/confirm", h: stepUp(m.totpConfirm)},
		pageRoute{method: "POST", path: "totp/cancel", h: stepUp(m.totpCancel)},
		pageRoute{method: "GET", path: "totp/paper.pdf", h: stepUp(m.totpPaper)},
		pageRoute{method: "POST", path: "backup", h: stepUp(m.backupGenerate)},
		pageRoute{method: "POST", path: "browsers/revoke", h: stepUp(m.browsersRevoke)},
	)
	if m.tf.WebAuthn != nil {
		keys := &webauthn.Handlers{Service: m.tf.WebAuthn, User: m.cfg.User}
		rs = append(rs,
			pageRoute{method: "POST", path: "keys/begin", json: true, h: m.StepUp(0, keys.BeginRegistration())},
			pageRoute{method: "POST", path: "keys/finish", json: true, h: m.StepUp(0, m.firstKey(keys.FinishRegistration()))},
			pageRoute{method: "POST", path: "keys/rename", h: stepUp(m.keyRename)},
			pageRoute{method: "POST", path: "keys/remove", h: stepUp(m.keyRemove)},
		)
	}
	if m.passkeySignIn() {
		rs = append(rs,
			pageRoute{method: "GET", path: "invite", h: stepUp(m.invite)},
			pageRoute{method: "POST", path: "invite", h: http.HandlerFunc(m.inviteLater)},
		)
	}
	rs = append(rs, pageRoute{method: "GET", path: "static/", h: http.StripPrefix(m.cfg.Path+"static/", http.FileServerFS(staticFS))})
	return append(rs, m.getRedirects(rs)...)
}

// getRedirects returns a GET route for each path of rs that answers only a
// POST: a browser lands there from a bookmark, the history, or a reload
// after an error, and is sent on to the page the form was on (the
// challenge for the second step's own forms, the settings for the others)
// instead of reading a bare "405 method not allowed".
func (m *Middleware) getRedirects(rs []pageRoute) []pageRoute {
	gets := map[string]bool{}
	for _, rt := range rs {
		if rt.method == "GET" {
			gets[rt.path] = true
		}
	}
	var out []pageRoute
	for _, rt := range rs {
		if rt.method != "POST" || gets[rt.path] {
			continue
		}
		gets[rt.path] = true
		to := m.cfg.Path + "settings"
		switch rt.path {
		case "verify", "email", "key/begin", "key/finish":
			to = m.cfg.Path
		}
		out = append(out, pageRoute{method: "GET", path: rt.path, h: http.RedirectHandler(to, http.StatusSeeOther)})
	}
	return out
}

func (m *Middleware) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range m.table() {
		h := rt.h
		switch {
		case rt.method != "POST":
			h = noBody(h)
		case rt.json:
			h = boundedJSON(h)
		default:
			h = boundedForm(h)
		}
		mux.Handle(rt.method+" "+m.cfg.Path+rt.path, h)
	}
	// The JSON API checks where a request comes from itself, with the
	// same protection, to answer a problem rather than text.
	all := http.NewServeMux()
	all.Handle(m.cfg.Path+"api/", m.apiRoutes())
	all.Handle("/", m.cfg.CrossOrigin.Handler(mux))
	return m.speaking(all)
}

// noBody is h with the request's body ignored: no page reads one on GET,
// and r.FormValue would otherwise read a multipart body of any size, and
// spool its files to disk.
func noBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r = r.WithContext(r.Context())
			r.Body, r.ContentLength = http.NoBody, 0
		}
		h.ServeHTTP(w, r)
	})
}

// readBody reads r's body, of at most limit bytes, into memory, and returns
// a copy of r that reads it from there; it answers 413 (or 400 for a body
// broken off) and returns nil otherwise. A declared length past the limit
// is refused before a byte is read.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, json bool) *http.Request {
	fail := func(status int, msg string) *http.Request {
		if json {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, "{\"error\":%q}\n", msg)
		} else {
			http.Error(w, msg, status)
		}
		return nil
	}
	if r.ContentLength > limit {
		return fail(http.StatusRequestEntityTooLarge, "request body too large")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fail(http.StatusRequestEntityTooLarge, "request body too large")
	}
	if err != nil {
		return fail(http.StatusBadRequest, "request body broken off")
	}
	r = r.WithContext(r.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return r
}

// boundedForm is h with the form read from a body of at most MaxFormBody
// bytes, URL-encoded or multipart, in memory: never a file on disk.
func boundedForm(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r = readBody(w, r, MaxFormBody, false); r == nil {
			return
		}
		// Files larger than the memory given go to disk; the whole body is
		// smaller, so none does.
		if err := r.ParseMultipartForm(MaxFormBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// boundedJSON is h with a body of at most MaxJSONBody bytes.
func boundedJSON(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r = readBody(w, r, MaxJSONBody, true); r != nil {
			h.ServeHTTP(w, r)
		}
	})
}

// Page is what every page template gets. Its methods T, Date, DateTime,
// Number, Lang and Dir speak the request's language (see Templates).
type Page struct {
	// Path is where the pages are mounted, with a trailing slash, for links
	// and forms: {{.Path}}verify.
	Path string
	// Issuer is the application's name.
	Issuer string
	// Account is the user's account name.
	Account string
	// Notice and Error are messages about the last action; they never hold
	// what the user typed.
	Notice, Error string
	// Next is the local page to go on to after the challenge.
	Next string
	// Home is the application's home page (Config.Home), the way back
	// from every page.
	Home string
	// App is what Config.PageData returned, for the application's own
	// header and footer.
	App any

	// The challenge page.
	StepUp        bool // asking again before a sensitive action
	OfferRemember bool // show "remember this browser"
	EmailSent     bool

	// CodeInvalid marks Error as about the code typed: the field says so
	// to screen readers (aria-invalid, aria-describedby).
	CodeInvalid bool

	// State is the user's methods (settings, challenge).
	State twofa.Account

	// The settings page.
	SetUpRequired bool   // Config.RequireSetUp sent the user here
	ThisBrowser   string // the ID of this browser in State.Browsers, if remembered
	// SignedInWith is how this session passed the second step (the
	// mark's Method): twofa.Passkey for a passkey sign-in.
	SignedInWith twofa.Method
	// Activity is the user's recent security activity, newest first, at
	// most ActivityShown entries (twofa.Service.Activity).
	Activity []twofa.Activity

	// Confirm is the action the "confirm" page asks about.
	Confirm *Confirm

	// The authenticator set-up page.
	QRCode    template.URL // a data: URL of the QR code's PNG
	Secret    string       // the secret in groups of four, to type in
	SecretURL string       // the otpauth:// URL the QR code holds

	// The backup codes page: the codes, shown this once, and data: URLs
	// of the same as a text file and a PDF.
	Codes     []string
	CodesText template.URL
	CodesPDF  template.URL
	// FirstCodes marks the codes made right after the first method was
	// set up, the next step of that set-up.
	FirstCodes bool

	// malformed marks a code of no shape any offered method has: the
	// challenge says which shapes it takes, once it knows them.
	malformed bool
	// pr speaks the request's language (see T).
	pr *i18n.Printer
}

// Confirm is a destructive action the "confirm" page asks about before it
// is done: a form that posts Fields to Path+Action with confirm=1, or goes
// back to the settings. It works without JavaScript.
type Confirm struct {
	Title  string  // the question: "Remove your authenticator app?"
	Text   string  // what will be lost
	Button string  // the action's name: "Remove"
	Action string  // the form's path under Config.Path: "method"
	Fields []Field // the form's own fields, posted again
}

// Field is a form field of a Confirm.
type Field struct{ Name, Value string }

// confirmed reports whether r is the second post of a destructive action,
// the one its "confirm" page sends.
func confirmed(r *http.Request) bool { return r.FormValue("confirm") == "1" }

// askFirst shows the "confirm" page for c.
func (m *Middleware) askFirst(w http.ResponseWriter, r *http.Request, userID string, c Confirm) {
	p := m.page(r)
	var err error
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		if !m.clockRefusal(w, r, err) {
			m.fail(w, r, err)
		}
		return
	}
	p.Confirm = &c
	m.render(w, http.StatusOK, "confirm", p)
}

// PrimaryNames names the primary methods this application offers (an
// authenticator app always; security keys when configured; codes by e-mail
// when they can be sent to the user), as "an authenticator app, a security
// key or codes by e-mail": the pages mention no method that is turned off.
func (p Page) PrimaryNames() string {
	var names []string
	for _, m := range []twofa.Method{twofa.TOTP, twofa.WebAuthn, twofa.Email} {
		if p.Lists(string(m)) {
			names = append(names, p.T("method.a."+string(m)))
		}
	}
	return orList(p.printer(), names)
}

// orList joins names as "a, b or c", in pr's language.
func orList(pr *i18n.Printer, names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	list := names[0]
	for i, name := range names[1:] {
		if i == len(names)-2 {
			return pr.T("list.or", "List", list, "Last", name)
		}
		list = pr.T("list.comma", "List", list, "Next", name)
	}
	return list
}

// TriesLeft words how many more wrong codes start a lock, for a challenge
// that shows a wrong code or a wait: "" otherwise, and while locked.
func (p Page) TriesLeft() string {
	n := p.State.LockIn
	if p.Error == "" || n <= 0 || !p.CodeInvalid && p.State.Throttle == nil {
		return ""
	}
	return p.T("challenge.tries-left", "Count", n)
}

// DigitsOnly reports whether every code the challenge takes is digits (an
// app's or an e-mailed code, no backup code): the field then asks phones
// for the number pad.
func (p Page) DigitsOnly() bool { return !p.Offers(string(twofa.Backup)) }

// shapeMessage says what a code looks like, for the methods offered.
func shapeMessage(pr *i18n.Printer, offered []twofa.Method) string {
	has := map[twofa.Method]bool{}
	for _, m := range offered {
		has[m] = true
	}
	msg := pr.T("code.shape")
	switch {
	case has[twofa.TOTP] && has[twofa.Email]:
		msg += " " + pr.T("code.shape.app-email")
	case has[twofa.TOTP]:
		msg += " " + pr.T("code.shape.app")
	case has[twofa.Email]:
		msg += " " + pr.T("code.shape.email")
	}
	if has[twofa.Backup] {
		msg += " " + pr.T("code.shape.backup")
	}
	return msg
}

// Offers reports whether the challenge offers method m ("totp", "backup",
// "email", "webauthn").
func (p Page) Offers(m string) bool {
	for _, o := range p.State.Offered {
		if string(o) == m {
			return true
		}
	}
	return false
}

// Status returns the status of method m: "not set up", "pending",
// "enabled" or "disabled"; StatusText says it in the page's language.
func (p Page) Status(m string) string { return p.State.Status(twofa.Method(m)).String() }

// Lists reports whether the settings list method m (e-mail codes only where
// they can be sent, security keys only when configured).
func (p Page) Lists(m string) bool {
	for _, s := range p.State.Methods {
		if string(s.Method) == m {
			return true
		}
	}
	return false
}

// Primary reports whether the user has a method that protects the login on
// its own enabled: an authenticator app, a security key or codes by e-mail.
// Backup codes only stand in for one of them; the settings offer them only
// after one is set up.
func (p Page) Primary() bool {
	for _, s := range p.State.Methods {
		if s.Method != twofa.Backup && s.Status == twofa.Enabled {
			return true
		}
	}
	return false
}

// BackupAlone reports backup codes kept with no primary method enabled (the
// last one was removed or turned off): they no longer protect the login,
// and the settings say so.
func (p Page) BackupAlone() bool {
	return !p.Primary() && p.State.Status(twofa.Backup) != twofa.NotSetUp
}

// notices are the messages a redirect after an action may ask for, by key,
// so that no query string puts its own words on a page: each key's message
// is "notice.<key>" in the catalogue.
var notices = map[string]bool{
	"totp": true, "disabled": true, "enabled": true, "removed": true, "emailon": true, "renamed": true,
	"keyremoved": true, "revoked": true, "revokedall": true, "cancelled": true, "saved": true,
}

// notice is the message of the notice key done, or "".
func (p Page) notice(done string) string {
	if !notices[done] {
		return ""
	}
	return p.T("notice." + done)
}

func (m *Middleware) page(r *http.Request) Page {
	_, account, _ := m.cfg.User(r)
	var app any
	if m.cfg.PageData != nil {
		app = m.cfg.PageData(r)
	}
	p := Page{
		App:     app,
		Path:    m.cfg.Path,
		Issuer:  m.tf.Issuer(),
		Account: account,
		Next:    localPath(r.FormValue("next"), m.cfg.Home),
		Home:    m.cfg.Home,
		pr:      m.printer(r),
	}
	p.Notice = p.notice(r.URL.Query().Get("done"))
	return p
}

// render writes the page template name with headers that keep it out of
// caches and frames.
func (m *Middleware) render(w http.ResponseWriter, status int, name string, p Page) {
	var b bytes.Buffer
	if err := m.cfg.Templates.ExecuteTemplate(&b, name, p); err != nil {
		m.cfg.Logger.Error("twofa: render page", "page", name, "error", err)
		http.Error(w, p.T("error.unavailable"), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Language", p.Lang())
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers a system error: it denies, and says nothing of the cause.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	m.cfg.Deny(w, r, err)
}

// user returns the logged-in user, or answers the request and returns
// false.
func (m *Middleware) user(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	userID, account, ok := m.cfg.User(r)
	if !ok || userID == "" {
		m.cfg.Deny(w, r, ErrNotLoggedIn)
		return "", "", false
	}
	return userID, account, true
}

// challenge shows the methods the user can pass with, or sends on a user
// who needs no second step.
func (m *Middleware) challenge(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	p.StepUp = r.URL.Query().Get("stepup") == "1"
	p.EmailSent = r.URL.Query().Get("sent") == "1"
	m.showChallenge(w, r, userID, p, http.StatusOK)
}

func (m *Middleware) showChallenge(w http.ResponseWriter, r *http.Request, userID string, p Page, status int) {
	mark, ok, err := m.cfg.Session.Mark(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		m.fail(w, r, err)
		return
	}
	// A mark that does not count under the user's policy (a code's, where
	// only a key passes) is asked for again, not sent on to be refused.
	passed := ok && mark.UserID == userID && counts(mark, p.State.Standing)
	if passed && (!p.StepUp || m.fresh(mark, m.cfg.StepUpAge)) {
		http.Redirect(w, r, p.Next, http.StatusSeeOther)
		return
	}
	if !p.State.Requires() {
		to := p.Next
		if m.cfg.RequireSetUp || p.State.Standing.Overdue {
			to = m.cfg.Path + "settings"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	p.OfferRemember = m.cfg.OfferRemember && !p.StepUp && !p.State.Standing.Policy.PhishingResistant
	if p.malformed {
		p.Error = shapeMessage(p.pr, p.State.Offered)
	}
	if p.Error == "" && p.State.Throttle != nil {
		p.Error = throttleMessage(p.pr, p.State.Throttle, m.cfg.Now())
	}
	m.render(w, status, "challenge", p)
}

// verify checks a code from the app, an e-mail or a backup sheet.
func (m *Middleware) verify(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	p.StepUp = r.FormValue("stepup") == "1"
	login, _ := m.loginOf(r)
	method, err := m.tf.Verify(r.Context(), userID, login, r.FormValue("code"))
	switch {
	case errors.Is(err, twofa.ErrNoMethod):
		http.Redirect(w, r, p.Next, http.StatusSeeOther)
		return
	case err != nil:
		msg, status := codeMessage(p.pr, err, m.cfg.Now())
		if status == http.StatusInternalServerError {
			m.fail(w, r, err)
			return
		}
		p.Error, p.CodeInvalid = msg, status == http.StatusUnauthorized
		p.malformed = isMalformed(err)
		m.showChallenge(w, r, userID, p, status)
		return
	}
	m.passed(w, r, userID, method, r.FormValue("remember") == "1" && !p.StepUp, p.Next)
}

// passed completes the second step and sends the browser on.
func (m *Middleware) passed(w http.ResponseWriter, r *http.Request, userID string, method twofa.Method, rememberIt bool, next string) {
	r, err := m.complete(w, r, userID, method)
	if errors.Is(err, ErrSessionRenewed) {
		// A parallel request renewed the session: this one can record
		// nothing in it. On to the next page, which checks the renewed one.
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if err == nil && rememberIt && m.cfg.OfferRemember {
		_, err = m.remember(w, r, userID)
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if m.mayInvite(r, userID, method) {
		next = m.inviteURL(next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// keyPassed is the OnLogin of security-key logins.
func (m *Middleware) keyPassed(w http.ResponseWriter, r *http.Request, userID string, res webauthn.Result) {
	r, err := m.complete(w, r, userID, twofa.WebAuthn)
	if errors.Is(err, ErrSessionRenewed) {
		// As in passed: the page goes on to the next one, which checks the
		// session a parallel request renewed.
		return
	}
	if err == nil && r.URL.Query().Get("remember") == "1" && m.cfg.OfferRemember {
		_, err = m.remember(w, r, userID)
	}
	if err != nil {
		m.logError(r, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"error": m.printer(r).T("error.unavailable")})
		return
	}
	if m.mayInvite(r, userID, twofa.WebAuthn) {
		// The script goes on to the invitation, then to its next page.
		writeAPI(w, struct {
			OK           bool   `json:"ok"`
			UserVerified bool   `json:"userVerified"`
			Next         string `json:"next"`
		}{true, res.UserVerified, m.inviteURL(localPath(r.URL.Query().Get("next"), m.cfg.Home))})
	}
}

func (m *Middleware) sendEmail(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	p.StepUp = r.FormValue("stepup") == "1"
	var cool *emailotp.CooldownError
	switch err := m.tf.SendCode(r.Context(), userID, m.login(w, r)); {
	case err == nil:
		q := url.Values{"sent": {"1"}, "next": {p.Next}}
		if p.StepUp {
			q.Set("stepup", "1")
		}
		http.Redirect(w, r, m.cfg.Path+"?"+q.Encode(), http.StatusSeeOther)
		return
	case errors.As(err, &cool):
		p.Error = p.T("email.cooldown", "Wait", wait(p.pr, cool.RetryAt, m.cfg.Now()))
		m.showChallenge(w, r, userID, p, http.StatusTooManyRequests)
	case errors.Is(err, emailotp.ErrNotEnabled), errors.Is(err, emailotp.ErrUnavailable), errors.Is(err, twofa.ErrMethodNotAllowed):
		p.Error = p.T("email.unavailable")
		m.showChallenge(w, r, userID, p, http.StatusConflict)
	case errors.Is(err, emailotp.ErrSend):
		p.Error = p.T("email.not-sent")
		m.showChallenge(w, r, userID, p, http.StatusBadGateway)
	default:
		m.fail(w, r, err)
	}
}

// codeMessage words a failed code for the user, with the status to answer.
func codeMessage(pr *i18n.Printer, err error, now time.Time) (string, int) {
	switch {
	case errors.Is(err, twofa.ErrThrottled):
		return throttleMessage(pr, err, now), http.StatusTooManyRequests
	case errors.Is(err, backup.ErrUsed):
		return pr.T("code.backup-used"), http.StatusUnauthorized
	case errors.Is(err, totp.ErrReplay):
		return pr.T("code.replay"), http.StatusUnauthorized
	case isMalformed(err):
		return pr.T("code.malformed"), http.StatusUnauthorized
	case errors.Is(err, twofa.ErrInvalidCode), errors.Is(err, totp.ErrInvalidCode):
		return pr.T("code.invalid"), http.StatusUnauthorized
	case errors.Is(err, twofa.ErrMethodNotAllowed):
		return pr.T("policy.keys-only.use-key"), http.StatusConflict
	}
	return "", http.StatusInternalServerError
}

// isMalformed reports a code of no shape a method has (letters in an
// app's code, a backup code of the wrong length).
func isMalformed(err error) bool {
	return errors.Is(err, totp.ErrMalformed) || errors.Is(err, backup.ErrMalformed) || errors.Is(err, emailotp.ErrMalformed)
}

// throttleMessage words a refusal by the throttle: how long to wait, when
// a lock that ends by itself ends, and an administrator only for the lock
// that only an administrator lifts.
func throttleMessage(pr *i18n.Printer, err error, now time.Time) string {
	var t *twofa.ThrottledError
	switch {
	case !errors.As(err, &t):
		return pr.T("throttle.later")
	case t.Locked:
		return pr.T("throttle.locked")
	case t.RetryAt.Sub(now) >= lockWording:
		clock, date := endTime(pr, t.RetryAt, now)
		if date == "" {
			return pr.T("throttle.lock", "Wait", wait(pr, t.RetryAt, now), "Time", clock)
		}
		return pr.T("throttle.lock-date", "Wait", wait(pr, t.RetryAt, now), "Time", clock, "Date", date)
	}
	return pr.T("throttle.wait", "Wait", wait(pr, t.RetryAt, now))
}

// lockWording is the wait from which the challenge speaks of a lock, with
// the time it ends: longer than the throttle's back-off between attempts
// (15 minutes at most by default), as long as its locks (an hour at first).
const lockWording = 15 * time.Minute

// endTime words the time at, in UTC (the server does not know the user's
// time zone, and says which one it means): its clock time, and its date
// when it is not today's, else "".
func endTime(pr *i18n.Printer, at, now time.Time) (clock, date string) {
	at, now = at.UTC(), now.UTC()
	clock = at.Format("15:04")
	if y, m, d := at.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return clock, ""
	}
	return clock, pr.Date(at)
}

// wait words the time until at, rounded up to seconds, minutes, hours or
// days, in pr's language.
func wait(pr *i18n.Printer, at, now time.Time) string {
	d := at.Sub(now)
	up := func(unit time.Duration) int { return int((d + unit - 1) / unit) }
	switch {
	case d <= time.Second:
		return pr.T("wait.seconds", "Count", 1)
	case d < time.Minute:
		return pr.T("wait.seconds", "Count", up(time.Second))
	case d <= time.Minute:
		return pr.T("wait.minutes", "Count", 1)
	case d <= 2*time.Hour:
		return pr.T("wait.minutes", "Count", up(time.Minute))
	case d <= 48*time.Hour:
		return pr.T("wait.hours", "Count", up(time.Hour))
	}
	return pr.T("wait.days", "Count", up(24*time.Hour))
}

// settings shows every method of the user.
func (m *Middleware) settings(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	var err error
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		m.fail(w, r, err)
		return
	}
	if key := r.URL.Query().Get("error"); settingsErrors[key] {
		p.Error = p.T("settings.error." + key)
	}
	p.SetUpRequired = m.cfg.RequireSetUp && !p.State.Requires()
	if p.ThisBrowser, err = m.thisBrowser(r, userID); err != nil {
		m.fail(w, r, err)
		return
	}
	if p.Activity, err = m.tf.Activity(r.Context(), userID, ActivityShown); err != nil {
		m.fail(w, r, err)
		return
	}
	if mark, ok := FromContext(r.Context()); ok {
		p.SignedInWith = mark.Method
	}
	m.render(w, http.StatusOK, "settings", p)
}

// ActivityShown is how many entries of the user's security log the
// settings page lists under "Recent security activity".
const ActivityShown = 10

// thisBrowser returns the ID of r's browser among userID's remembered
// browsers, or "" if it is not one of them.
func (m *Middleware) thisBrowser(r *http.Request, userID string) (string, error) {
	ck, err := r.Cookie(m.ck.name(rememberCookie))
	if err != nil {
		return "", nil
	}
	id, err := m.tf.Browsers.Which(r.Context(), userID, ck.Value)
	if errors.Is(err, remember.ErrNotRemembered) {
		return "", nil
	}
	return id, err
}

// settingsErrors are the messages a redirect to the settings may ask for,
// by key, as notices are: "settings.error.<key>" in the catalogue.
var settingsErrors = map[string]bool{"name": true, "primary": true, "expired": true}

// Messages of refusals the settings show with the refusal's status, by
// their id in the catalogue.
const (
	msgBadAccount = "settings.error.account"
	msgTooSoon    = "settings.error.too-soon"
	msgClock      = "error.clock"
)

// refuseOnSettings shows the settings with msg, answered with status: a
// refusal the user can understand, never a 500.
func (m *Middleware) refuseOnSettings(w http.ResponseWriter, r *http.Request, userID string, status int, msg string) {
	p := m.page(r)
	var err error
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		if !m.clockRefusal(w, r, err) {
			m.fail(w, r, err)
		}
		return
	}
	if p.Activity, err = m.tf.Activity(r.Context(), userID, ActivityShown); err != nil {
		m.fail(w, r, err)
		return
	}
	p.Error = p.T(msg)
	m.render(w, status, "settings", p)
}

// clockRefusal answers a request that a clock no store accepts (the zero
// time, before 1970, past 2262) stopped, with a 503 and msgClock, and
// reports whether err was such; the error is logged for the operator.
// Nothing was changed: every factor checks its clock before it writes.
func (m *Middleware) clockRefusal(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, storage.ErrInvalidTime) {
		return false
	}
	m.logError(r, err)
	http.Error(w, m.printer(r).T(msgClock), http.StatusServiceUnavailable)
	return true
}

func (m *Middleware) toSettings(w http.ResponseWriter, r *http.Request, done string) {
	http.Redirect(w, r, m.cfg.Path+"settings?done="+done, http.StatusSeeOther)
}

// method turns a method off, on, or removes it.
func (m *Middleware) method(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	method := twofa.Method(r.FormValue("method"))
	var err error
	done := ""
	switch r.FormValue("action") {
	case "disable":
		err, done = m.tf.Disable(r.Context(), userID, method), "disabled"
	case "enable":
		err, done = m.tf.Enable(r.Context(), userID, method), "enabled"
		if err == nil {
			r, err = m.firstMethod(w, r, method)
		}
		if method == twofa.Email {
			done = "emailon"
		}
	case "remove":
		if !confirmed(r) {
			m.askRemove(w, r, userID, method)
			return
		}
		err, done = m.tf.Remove(r.Context(), userID, method), "removed"
	default:
		http.Error(w, m.printer(r).T("error.bad-form"), http.StatusBadRequest)
		return
	}
	switch {
	case errors.Is(err, twofa.ErrUnknownMethod):
		http.Error(w, m.printer(r).T("error.no-method"), http.StatusBadRequest)
	case isNotSetUp(err):
		http.Error(w, m.printer(r).T("error.not-set-up"), http.StatusConflict)
	case err != nil:
		m.fail(w, r, err)
	case done == "emailon":
		m.nextCodes(w, r, userID, done)
	default:
		m.toSettings(w, r, done)
	}
}

// askRemove asks before method is removed, saying what goes with it.
func (m *Middleware) askRemove(w http.ResponseWriter, r *http.Request, userID string, method twofa.Method) {
	state, err := m.tf.Account(r.Context(), userID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	pr := m.printer(r)
	if !slices.ContainsFunc(state.Methods, func(s twofa.MethodState) bool { return s.Method == method }) {
		http.Error(w, pr.T("error.no-method"), http.StatusBadRequest)
		return
	}
	c := Confirm{
		Title:  pr.T("confirm.remove." + string(method) + ".title"),
		Button: pr.T("confirm.remove"),
		Action: "method",
		Fields: []Field{{"method", string(method)}, {"action", "remove"}},
	}
	switch method {
	case twofa.TOTP, twofa.Email:
		c.Text = pr.T("confirm.remove." + string(method) + ".text")
	case twofa.WebAuthn:
		c.Text = pr.T("confirm.remove.webauthn.text", "Count", len(state.Keys))
	case twofa.Backup:
		c.Text = pr.T("confirm.remove.backup.text", "Count", state.BackupRemaining)
	}
	if method != twofa.Backup && onlyPrimary(state, method) {
		c.Text += " " + pr.T("confirm.only-method")
	}
	m.askFirst(w, r, userID, c)
}

// onlyPrimary reports whether method is the only primary method enabled.
func onlyPrimary(state twofa.Account, method twofa.Method) bool {
	for _, s := range state.Methods {
		if s.Method != twofa.Backup && s.Status == twofa.Enabled && s.Method != method {
			return false
		}
	}
	return state.Status(method) == twofa.Enabled
}

func isNotSetUp(err error) bool {
	return errors.Is(err, totp.ErrNotSetUp) || errors.Is(err, backup.ErrNotSetUp) ||
		errors.Is(err, emailotp.ErrNotEnabled) || errors.Is(err, webauthn.ErrNoKeys)
}

// totpPage shows the set-up under way: QR code, secret, code field.
func (m *Middleware) totpPage(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	m.showEnrollment(w, r, userID, m.page(r), http.StatusOK)
}

func (m *Middleware) showEnrollment(w http.ResponseWriter, r *http.Request, userID string, p Page, status int) {
	login, _ := m.loginOf(r)
	e, err := m.tf.TOTP.Pending(r.Context(), userID, login)
	if errors.Is(err, totp.ErrNotSetUp) {
		m.noSetUp(w, r, err)
		return
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	png, err := e.QRCode(256)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		m.fail(w, r, err)
		return
	}
	p.QRCode = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	p.Secret = e.GroupedSecret()
	p.SecretURL = e.URL()
	m.render(w, status, "totp", p)
}

// noSetUp sends a browser without a set-up under way to the settings,
// saying so when its own set-up expired (err is totp.ErrSetupExpired).
func (m *Middleware) noSetUp(w http.ResponseWriter, r *http.Request, err error) {
	to := m.cfg.Path + "settings"
	if errors.Is(err, totp.ErrSetupExpired) {
		to += "?error=expired"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (m *Middleware) totpBegin(w http.ResponseWriter, r *http.Request) {
	userID, account, ok := m.user(w, r)
	if !ok {
		return
	}
	switch _, err := m.tf.TOTP.Begin(r.Context(), userID, account, m.login(w, r)); {
	case errors.Is(err, totp.ErrBadAccount):
		// The name comes from the application, not the form: the user
		// cannot fix it, and an administrator may want to know.
		m.logError(r, err)
		m.refuseOnSettings(w, r, userID, http.StatusUnprocessableEntity, msgBadAccount)
		return
	case err != nil:
		m.fail(w, r, err)
		return
	}
	http.Redirect(w, r, m.cfg.Path+"totp", http.StatusSeeOther)
}

// totpConfirm is "verify and save": the first code from the new app turns
// it on, and counts as a second step passed.
func (m *Middleware) totpConfirm(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	login, _ := m.loginOf(r)
	err := m.tf.TOTP.Confirm(r.Context(), userID, login, r.FormValue("code"))
	if err != nil {
		msg, status := codeMessage(m.printer(r), err, m.cfg.Now())
		if errors.Is(err, totp.ErrNotSetUp) {
			m.noSetUp(w, r, err)
			return
		}
		if status == http.StatusInternalServerError {
			m.fail(w, r, err)
			return
		}
		p := m.page(r)
		p.Error, p.CodeInvalid = msg, status == http.StatusUnauthorized
		m.showEnrollment(w, r, userID, p, status)
		return
	}
	r, err = m.complete(w, r, userID, twofa.TOTP)
	switch {
	case errors.Is(err, ErrSessionRenewed):
		// As in passed: on to the settings, which check the renewed session.
		m.toSettings(w, r, "totp")
	case err != nil:
		m.fail(w, r, err)
	default:
		m.nextCodes(w, r, userID, "totp")
	}
}

// nextCodes is the step after a method is set up: a user with a primary
// method and no backup codes gets a first set at once, shown this once, as
// the next step of the set-up; any other goes to the settings, told done.
func (m *Middleware) nextCodes(w http.ResponseWriter, r *http.Request, userID, done string) {
	state, err := m.tf.Account(r.Context(), userID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	p := m.page(r)
	p.State = state
	if !p.Primary() || state.Status(twofa.Backup) != twofa.NotSetUp {
		m.toSettings(w, r, done)
		return
	}
	p.Notice = p.notice(done)
	p.FirstCodes = true
	m.makeCodes(w, r, userID, p)
}

func (m *Middleware) totpCancel(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	if err := m.tf.TOTP.Cancel(r.Context(), userID); err != nil && !errors.Is(err, totp.ErrNotSetUp) {
		m.fail(w, r, err)
		return
	}
	m.toSettings(w, r, "cancelled")
}

// totpPaper is the set-up under way as a printable PDF, to keep with
// important papers.
func (m *Middleware) totpPaper(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	login, _ := m.loginOf(r)
	e, err := m.tf.TOTP.Pending(r.Context(), userID, login)
	if errors.Is(err, totp.ErrSetupExpired) {
		http.Error(w, m.printer(r).T("error.setup-expired"), http.StatusNotFound)
		return
	}
	if errors.Is(err, totp.ErrNotSetUp) {
		http.Error(w, m.printer(r).T("error.no-setup"), http.StatusNotFound)
		return
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	printer, err := m.printFor(r, userID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := e.WritePaper(&b, totp.Paper{Date: m.cfg.Now(), Printer: printer, Font: m.tf.Font()}); err != nil {
		m.fail(w, r, err)
		return
	}
	download(w, "application/pdf", "authenticator-backup.pdf", b.Bytes())
}

func download(w http.ResponseWriter, contentType, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(body)
}

// firstMethod records a second step passed with method for a user who has
// just set up their first method. They passed with the password alone, as
// a user with no method may; without the mark they would be asked for the
// new method at once, on the very pages where they set it up.
func (m *Middleware) firstMethod(w http.ResponseWriter, r *http.Request, method twofa.Method) (*http.Request, error) {
	if mark, ok := FromContext(r.Context()); ok && mark.Method == "" {
		nr, err := m.complete(w, r, mark.UserID, method)
		if errors.Is(err, ErrSessionRenewed) {
			// The method is set up; a parallel request renewed the
			// session, and the user is asked for the new method next.
			return r, nil
		}
		return nr, err
	}
	return r, nil
}

// firstKey is next, a key registration, with the step recorded as by
// firstMethod when the key is added: the mark's cookie goes out with the
// answer's headers.
func (m *Middleware) firstKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&beforeOK{ResponseWriter: w, ok: func() {
			// A failure leaves the session unmarked: the user is asked
			// for the second step, as without this.
			m.firstMethod(w, r, twofa.WebAuthn)
		}}, r)
	})
}

// beforeOK calls ok just before a 200 answer's headers go out.
type beforeOK struct {
	http.ResponseWriter
	ok    func()
	wrote bool
}

func (b *beforeOK) WriteHeader(code int) {
	if !b.wrote {
		b.wrote = true
		if code == http.StatusOK {
			b.ok()
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *beforeOK) Write(p []byte) (int, error) {
	if !b.wrote {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

func (b *beforeOK) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// backupGenerate makes a new set of backup codes and shows it, this once.
func (m *Middleware) backupGenerate(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	var err error
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		if !m.clockRefusal(w, r, err) {
			m.fail(w, r, err)
		}
		return
	}
	if !p.Primary() {
		// Backup codes are a recovery method: alone they would protect
		// nothing, so none are made before a primary method.
		http.Redirect(w, r, m.cfg.Path+"settings?error=primary", http.StatusSeeOther)
		return
	}
	if p.State.Status(twofa.Backup) != twofa.NotSetUp && !confirmed(r) {
		// A new set ends the old one: ask first.
		m.askFirst(w, r, userID, Confirm{
			Title:  p.T("confirm.new-codes.title"),
			Text:   p.T("confirm.new-codes.text", "Count", p.State.BackupRemaining),
			Button: p.T("confirm.new-codes.button"),
			Action: "backup",
		})
		return
	}
	m.makeCodes(w, r, userID, p)
}

// makeCodes makes a new set of backup codes and shows it, this once.
func (m *Middleware) makeCodes(w http.ResponseWriter, r *http.Request, userID string, p Page) {
	_, account, _ := m.cfg.User(r)
	// The sheet's language first: nothing may fail once the codes exist.
	printer, err := m.printFor(r, userID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	codes, err := m.tf.Backup.Generate(r.Context(), userID)
	switch {
	case errors.Is(err, backup.ErrTooSoon): // ErrInProgress too
		m.refuseOnSettings(w, r, userID, http.StatusTooManyRequests, msgTooSoon)
		return
	case m.clockRefusal(w, r, err): // backup.ErrClock
		return
	case err != nil:
		m.fail(w, r, err)
		return
	}
	if p.State, err = m.tf.Account(r.Context(), userID); err != nil {
		m.fail(w, r, err)
		return
	}
	sheet := backup.Sheet{Issuer: m.tf.Issuer(), Account: account, Date: m.cfg.Now(), Codes: codes,
		Printer: printer, Font: m.tf.Font()}
	var text, pdf bytes.Buffer
	if err := sheet.WriteText(&text); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := sheet.WritePDF(&pdf); err != nil {
		m.fail(w, r, err)
		return
	}
	p.Codes = codes
	// Data URLs the page builds itself, from codes it made: safe to link.
	p.CodesText = template.URL("data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(text.Bytes()))
	p.CodesPDF = template.URL("data:application/pdf;base64," + base64.StdEncoding.EncodeToString(pdf.Bytes()))
	m.render(w, http.StatusOK, "codes", p)
}

func (m *Middleware) keyRename(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	switch err := m.tf.WebAuthn.Rename(r.Context(), userID, r.FormValue("id"), r.FormValue("name")); {
	case errors.Is(err, webauthn.ErrBadName):
		http.Redirect(w, r, m.cfg.Path+"settings?error=name", http.StatusSeeOther)
	case errors.Is(err, webauthn.ErrNoKeys), errors.Is(err, webauthn.ErrNotFound):
		http.Error(w, m.printer(r).T("error.no-key"), http.StatusNotFound)
	case err != nil:
		m.fail(w, r, err)
	default:
		m.toSettings(w, r, "renamed")
	}
}

func (m *Middleware) keyRemove(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	if !confirmed(r) {
		m.askKeyRemove(w, r, userID, r.FormValue("id"))
		return
	}
	switch err := m.tf.RemoveKey(r.Context(), userID, r.FormValue("id")); {
	case errors.Is(err, webauthn.ErrNoKeys), errors.Is(err, webauthn.ErrNotFound):
		http.Error(w, m.printer(r).T("error.no-key"), http.StatusNotFound)
	case err != nil:
		m.fail(w, r, err)
	default:
		m.toSettings(w, r, "keyremoved")
	}
}

// askKeyRemove asks before the key id is removed, by its name.
func (m *Middleware) askKeyRemove(w http.ResponseWriter, r *http.Request, userID, id string) {
	state, err := m.tf.Account(r.Context(), userID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(state.Keys, func(k twofa.KeyInfo) bool { return k.ID == id })
	if i < 0 {
		http.Error(w, m.printer(r).T("error.no-key"), http.StatusNotFound)
		return
	}
	pr := m.printer(r)
	c := Confirm{
		Title:  pr.T("confirm.remove-key.title", "Name", state.Keys[i].Name),
		Text:   pr.T("confirm.remove-key.text"),
		Button: pr.T("confirm.remove"),
		Action: "keys/remove",
		Fields: []Field{{"id", id}},
	}
	if len(state.Keys) == 1 && onlyPrimary(state, twofa.WebAuthn) {
		c.Text += " " + pr.T("confirm.only-method")
	}
	m.askFirst(w, r, userID, c)
}

func (m *Middleware) browsersRevoke(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	var err error
	done := "revoked"
	if r.FormValue("all") == "1" {
		err, done = m.tf.Browsers.RevokeAll(r.Context(), userID), "revokedall"
	} else {
		err = m.tf.Browsers.Revoke(r.Context(), userID, r.FormValue("id"))
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.toSettings(w, r, done)
}
