// Package httpmw makes the second step of a login unskippable in a net/http
// application, and serves the pages that go with it.
//
// # The second step
//
// The application keeps its own login (password, single sign-on) and tells
// the middleware who passed it through [Config.User]. [Middleware.Handler]
// wraps every protected route: a user with an enabled method who has not
// passed the second step in this session is sent to the challenge page
// (HTML) or answered 401 with a problem+json body (API clients); a user with no
// method passes, unless [Config.RequireSetUp]. Passing is recorded as a
// [Mark] in the application's session through the small [Session]
// interface; [CookieSession] implements it over a signed cookie bound to the
// application's session ID, and the packages
// [github.com/twofa-go/twofa/httpmw/scssession] and
// [github.com/twofa-go/twofa/httpmw/gorillasession] over the sessions of
// those libraries, and [github.com/twofa-go/twofa/httpmw/tokensession]
// with the bearer token of a client without cookies (a mobile app). A
// request that passes finds the mark in its
// context through [FromContext]. [Middleware.Check] tells the same without
// wrapping.
//
// # Pages
//
// [Middleware.Pages] serves, under [Config.Path] ("/2fa/"), the challenge
// (a code from the app, a backup code, an e-mailed code, a security key,
// "remember this browser") and the settings: status per method, the
// authenticator set-up with its QR code, backup codes, e-mail codes,
// security keys and remembered browsers. They are html/templates the
// application can replace ([Templates]). Setting up a first method goes
// on to a first set of backup codes, shown once; removing a method or a key
// and making new backup codes ask first, on a page of their own that needs
// no script. Every POST is refused unless it
// comes from the application's own origin ([net/http.CrossOriginProtection]),
// its body is read into memory up to [MaxFormBody] (forms) or [MaxJSONBody]
// (security keys) and answered 413 past that, never spooled to disk, and
// the settings need a second step passed within [Config.StepUpAge].
// [Middleware.StepUp] guards the application's own sensitive routes the
// same way.
//
// # JSON API
//
// For a single-page or mobile application, [Middleware.Pages] serves every
// action of the pages as JSON under Config.Path+"api/", with the same
// session, mark and rules: the challenge, a code, an e-mailed code, a
// security key, "remember this browser", and behind the step-up window the
// account view, the authenticator set-up (its QR code as a data: URL),
// backup codes, e-mail codes, keys, remembered browsers and each method
// off, on or removed. A body is one JSON object of at most [MaxJSONBody]
// bytes sent as application/json, with no field the route does not take.
// Every error is a [Problem] sent as application/problem+json (RFC 9457),
// its Type one of the Problem… constants, its Detail the pages' message;
// the API answers its own problems rather than calling Config.Deny. The
// contract is an OpenAPI 3.1 document served at Config.Path+"api/openapi.json"
// ([Middleware.OpenAPI]); the tests check every exchange against it.
//
// # Remembered browsers
//
// With [Config.OfferRemember], the challenge offers to skip the second step
// on this browser for 28 days since its last use (package remember). A
// remembered browser never counts as a fresh second step for step-up.
//
// # Cookies
//
// Every cookie is HttpOnly, SameSite=Lax, for path "/", and Secure with the
// "__Host-" prefix, unless [Config.Origin] is plain HTTP on localhost
// (development). The decision comes from that configured origin alone,
// never from the request's Host or scheme, which a reverse proxy rewrites.
// [Middleware.Cookie] makes cookies by the same rules for the application.
package httpmw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/remember"
)

// DefaultStepUpAge is how recent a second step the settings pages and
// StepUp ask for by default.
const DefaultStepUpAge = 10 * time.Minute

var (
	// ErrNotLoggedIn reports a request without a user who passed the
	// application's first step.
	ErrNotLoggedIn = errors.New("httpmw: not logged in")
	// ErrSecondStep reports a user who must pass the second step.
	ErrSecondStep = errors.New("httpmw: second factor required")
	// ErrSetUpRequired reports a user with no method where
	// Config.RequireSetUp asks for one.
	ErrSetUpRequired = errors.New("httpmw: second factor set-up required")
	// ErrStepUp reports a route that needs a more recent second step.
	ErrStepUp = errors.New("httpmw: recent second factor required")
	// ErrSessionRenewed is what Config.RenewSession returns, wrapped or
	// not, when another request of the same browser has already renewed
	// r's session: see Config.RenewSession.
	ErrSessionRenewed = errors.New("httpmw: session already renewed")
)

// Config configures a Middleware. Service, Origin, User and Session are
// required; the zero value of every other field is the safe default.
type Config struct {
	// Service is the application's second factor.
	Service *twofa.Service
	// Origin is the application's public origin, as the browser's address
	// bar shows it: "https://photos.example.com", or "http://localhost:8080"
	// in development. The scheme is https, or http only for localhost and
	// loopback addresses; no path, query or fragment. It decides every
	// cookie's Secure attribute and "__Host-" prefix (Secure with the
	// prefix for https), whatever Host header or scheme a request arrives
	// with, so a reverse proxy that rewrites them changes nothing. The
	// default cross-origin protection trusts it too (see CrossOrigin).
	Origin string
	// User returns who passed the application's first step on r: the user
	// ID and the account name shown in authenticator apps and on security
	// keys (an e-mail address or user name); ok false when nobody did.
	User func(r *http.Request) (userID, account string, ok bool)
	// Session keeps the mark in the application's session.
	Session Session
	// RenewSession, if set, is called exactly once each time a user
	// completes the second step, before the mark is recorded: the
	// application gives its session a new ID there, against session
	// fixation. It returns the request to go on with: r itself, or one
	// carrying the renewed session in its context. Either way, the rest of
	// the step sees r with every cookie RenewSession set on w, as the
	// browser's next request will carry them, so setting the new session
	// cookie on w and returning r is enough. With a CookieSession, a
	// renewal whose new ID SessionID still cannot see (a session ID kept
	// in the context of a request RenewSession did not return) would bind
	// the mark to the old ID and send the user back to the challenge after
	// every correct code: the step is refused instead, with an error that
	// says so (logged by the default Deny). An error denies the step.
	// Nil means the Session's own Renew when it has one (a
	// [SessionRenewer], as the adapters in httpmw/scssession and
	// httpmw/gorillasession are), else no renewal.
	//
	// Requests of one browser can race here: a remembered browser's first
	// page after the login loads its parts at once, and each of them,
	// carrying the same session ID and no mark yet, completes the step.
	// The application renews the session once, for the first of them, and
	// keeps the old ID working for a short grace (User and SessionID still
	// answer for it, for a few seconds up to a minute); a call for an old
	// ID that was already renewed renews nothing and returns
	// ErrSessionRenewed. The request is then sent on without a 500 and
	// without writing a cookie, since the answer to the request that
	// renewed carries the new session and its mark: a remembered browser's
	// request goes on to its page as passed (it proved the remembered
	// browser itself); a code or key that completed the step sends the
	// browser on to the next page, where the renewed session is checked.
	RenewSession func(w http.ResponseWriter, r *http.Request) (*http.Request, error)

	// Path is where Pages is mounted, with a trailing slash; "" means
	// "/2fa/".
	Path string
	// Home is where a user goes after the second step when no page asked
	// for it, and where the default layout's "Home" leads; "" means "/".
	Home string
	// LoginURL is where the default deny sends a browser with no logged-in
	// user, with the page asked for in the query parameter "next" (a local
	// path, for the login to go on to); "" answers 401.
	LoginURL string
	// RequireSetUp sends users with no method to the settings to set one
	// up, instead of letting them pass.
	RequireSetUp bool
	// OfferRemember shows "remember this browser" on the challenge page.
	// Off by default: a remembered browser is outside NIST SP 800-63B AAL2.
	OfferRemember bool
	// StepUpAge is how recent a second step the settings pages need; zero
	// means DefaultStepUpAge.
	StepUpAge time.Duration
	// PageData, if set, returns what the application's own templates need
	// on every page, such as its navigation; pages find it as Page.App.
	PageData func(r *http.Request) any
	// Language, if set, returns the language the application knows its
	// user wants on r (a BCP 47 tag such as "de" or "pt-BR", from the
	// user's settings), or "" for none. The pages, the API's problems and
	// the mails sent during the request speak the first of it and the
	// Accept-Language header that the catalogue
	// (twofa.Config.Catalogue) has, else English. A request whose context
	// already holds a language (i18n.WithLanguage) keeps it.
	Language func(r *http.Request) string

	// Deny answers a request that may not pass, with the reason: one of the
	// errors above, or a system error (store, clock), which must deny too.
	// Nil means the default: a redirect to the challenge page (or LoginURL)
	// for browsers, for API clients 401 with an application/problem+json
	// body of the API's types (ProblemSecondStepNeeded and the like, with
	// the page in "location" and, for the second step, the API's challenge
	// in "challenge"), 500 for system errors, each of which it logs to
	// Logger.
	Deny func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives the system errors behind the 500s the default Deny
	// and the pages answer, so an operator sees why users are refused: the
	// route, the user ID and the error, with every cookie and form value of
	// the request blanked out of the error's text. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Templates are the pages; nil means Templates(). See Templates for the
	// names and data each must accept.
	Templates *template.Template
	// CrossOrigin checks that POSTs come from the application's origin;
	// nil means http.NewCrossOriginProtection() with Origin added as a
	// trusted origin. Modern browsers pass or fail on Sec-Fetch-Site alone;
	// an older browser is judged by its Origin header, which the default
	// protection compares with the Host header, and behind a proxy that
	// rewrites Host the application's own pages would be refused. Trusting
	// Origin lets them through and nothing else: a browser writes that
	// Origin only on requests made by the application's own pages. A
	// CrossOrigin the application sets is used as it is.
	CrossOrigin *http.CrossOriginProtection
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Middleware enforces the second step. It is safe for concurrent use.
type Middleware struct {
	cfg   Config
	tf    *twofa.Service
	ck    cookieRules
	pages http.Handler
	cat   *i18n.Catalogue
	// apiDoc is the API's OpenAPI document, with its server at the mount.
	apiDoc []byte
}

// New validates cfg, fills in defaults and returns a Middleware.
func New(cfg Config) (*Middleware, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("httpmw: Config.Service is required")
	case cfg.User == nil:
		return nil, errors.New("httpmw: Config.User is required")
	case cfg.Session == nil:
		return nil, errors.New("httpmw: Config.Session is required")
	}
	origin, plain, err := parseOrigin(cfg.Origin)
	if err != nil {
		return nil, err
	}
	cfg.Origin = origin
	ck := cookieRules{plain: plain}
	if c, ok := cfg.Session.(*CookieSession); ok {
		if err := c.check(); err != nil {
			return nil, err
		}
		// A copy of its own, with the cookie rules of Origin: the
		// application's value is not written to, and may serve another
		// Middleware.
		own := *c
		own.ck = ck
		cfg.Session = &own
	}
	if cfg.Path == "" {
		cfg.Path = "/2fa/"
	}
	if !strings.HasPrefix(cfg.Path, "/") || !strings.HasSuffix(cfg.Path, "/") {
		return nil, errors.New("httpmw: Config.Path must start and end with a slash")
	}
	if cfg.Home == "" {
		cfg.Home = "/"
	}
	if cfg.StepUpAge < 0 {
		return nil, errors.New("httpmw: Config.StepUpAge is negative")
	}
	if cfg.StepUpAge == 0 {
		cfg.StepUpAge = DefaultStepUpAge
	}
	if cfg.Templates == nil {
		cfg.Templates = Templates()
	}
	if cfg.CrossOrigin == nil {
		cfg.CrossOrigin = http.NewCrossOriginProtection()
		if err := cfg.CrossOrigin.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("httpmw: Config.Origin: %w", err)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if r, ok := cfg.Session.(SessionRenewer); ok && cfg.RenewSession == nil {
		cfg.RenewSession = r.Renew
	}
	m := &Middleware{cfg: cfg, tf: cfg.Service, ck: ck, cat: cfg.Service.Catalogue()}
	if m.cfg.Deny == nil {
		m.cfg.Deny = m.defaultDeny
	}
	if m.apiDoc, err = mountDoc(cfg.Path); err != nil {
		return nil, err
	}
	m.pages = m.routes()
	if c, ok := cfg.Session.(CookieRuler); ok {
		c.UseCookieRules(m)
	}
	return m, nil
}

// SessionRenewer is a [Session] that can give itself a new ID. New uses its
// Renew as Config.RenewSession when that is nil, so a session adapter
// brings its renewal with it.
type SessionRenewer interface {
	Session
	Renew(w http.ResponseWriter, r *http.Request) (*http.Request, error)
}

// CookieRuler is a [Session] that writes its own cookie, such as an
// adapter over a session library. New calls UseCookieRules once with the
// new Middleware, for the session cookie to follow the Middleware's rules
// (see [Middleware.Cookie]): Secure and "__Host-" on an https Origin.
type CookieRuler interface {
	Session
	UseCookieRules(m *Middleware)
}

type markKey struct{}

// FromContext returns the mark of a request that passed Handler or StepUp.
func FromContext(ctx context.Context) (Mark, bool) {
	m, ok := ctx.Value(markKey{}).(Mark)
	return m, ok
}

// Check reports whether r may pass: nil, or the reason it may not (see
// Config.Deny). It writes nothing, so a remembered browser that passes is
// not recorded in the session and is checked again on the next request;
// Handler records it.
func (m *Middleware) Check(r *http.Request) error {
	_, _, err := m.check(r)
	return err
}

// check returns the mark r passes with, and whether it comes from a
// remembered browser and is not yet in the session.
func (m *Middleware) check(r *http.Request) (Mark, bool, error) {
	userID, _, ok := m.cfg.User(r)
	if !ok || userID == "" {
		return Mark{}, false, ErrNotLoggedIn
	}
	mark, ok, err := m.cfg.Session.Mark(r)
	if err != nil {
		return Mark{}, false, err
	}
	// A mark passes only for the user who made it: a session that changed
	// hands starts over.
	if ok && mark.UserID == userID {
		return mark, false, nil
	}
	if ck, err := r.Cookie(m.ck.name(rememberCookie)); err == nil {
		switch err := m.tf.Browsers.Check(r.Context(), userID, ck.Value); {
		case err == nil:
			return Mark{UserID: userID, Method: remember.Method, At: m.cfg.Now()}, true, nil
		case !errors.Is(err, remember.ErrNotRemembered):
			return Mark{}, false, err
		}
	}
	requires, err := m.tf.Requires(r.Context(), userID)
	if err != nil {
		return Mark{}, false, err
	}
	if requires {
		return Mark{}, false, ErrSecondStep
	}
	if m.cfg.RequireSetUp {
		return Mark{}, false, ErrSetUpRequired
	}
	return Mark{UserID: userID}, false, nil
}

// Handler returns next guarded by the second step: a request passes only
// from a user who passed it in this session, or who has no method to pass;
// any other is answered by Config.Deny. The request reaching next is a
// copy whose context holds the Mark (FromContext).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = m.withLanguage(r)
		mark, r, err := m.pass(w, r)
		if err != nil {
			m.cfg.Deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), markKey{}, mark)))
	})
}

// pass is check, with a remembered browser that passed recorded in the
// session. It returns the request to go on with.
func (m *Middleware) pass(w http.ResponseWriter, r *http.Request) (Mark, *http.Request, error) {
	mark, remembered, err := m.check(r)
	if err == nil && remembered {
		var nr *http.Request
		nr, err = m.complete(w, r, mark.UserID, remember.Method)
		if errors.Is(err, ErrSessionRenewed) {
			// A parallel request of this browser renewed the session, and
			// its answer records the mark; this one passed on the
			// remembered browser all the same.
			return mark, r, nil
		}
		r = nr
	}
	return mark, r, err
}

// StepUp returns next guarded by a second step passed within maxAge (zero
// means Config.StepUpAge), with a factor: a remembered browser does not
// count. A user with no method passes. Use it for sensitive routes such as
// changing a password or the 2FA settings; it checks all that Handler
// does, so it needs no Handler around it.
func (m *Middleware) StepUp(maxAge time.Duration, next http.Handler) http.Handler {
	if maxAge <= 0 {
		maxAge = m.cfg.StepUpAge
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = m.withLanguage(r)
		mark, r, err := m.stepUp(w, r, maxAge)
		if err != nil {
			m.cfg.Deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), markKey{}, mark)))
	})
}

// stepUp checks r for a fresh second step, as pass does, and returns the
// request to go on with.
func (m *Middleware) stepUp(w http.ResponseWriter, r *http.Request, maxAge time.Duration) (Mark, *http.Request, error) {
	mark, r, err := m.pass(w, r)
	if errors.Is(err, ErrSetUpRequired) {
		// Required to set a method up: the set-up pages are where to.
		userID, _, _ := m.cfg.User(r)
		return Mark{UserID: userID}, r, nil
	}
	if err != nil || mark.Method == "" || m.fresh(mark, maxAge) {
		return mark, r, err
	}
	// The mark is old, or a remembered browser's: ask again, unless the
	// user has no method left to ask for (reset, removed).
	requires, err := m.tf.Requires(r.Context(), mark.UserID)
	if err != nil {
		return Mark{}, r, err
	}
	if !requires {
		return Mark{UserID: mark.UserID}, r, nil
	}
	return Mark{}, r, ErrStepUp
}

func (m *Middleware) fresh(mark Mark, maxAge time.Duration) bool {
	if mark.Method == remember.Method {
		return false
	}
	age := m.cfg.Now().Sub(mark.At)
	// A mark from the future is a clock gone wrong: not fresh.
	return age >= 0 && age <= maxAge
}

// complete records a passed second step: the application renews its
// session, then the mark goes in. It returns the request to go on with.
func (m *Middleware) complete(w http.ResponseWriter, r *http.Request, userID string, method twofa.Method) (*http.Request, error) {
	if m.cfg.RenewSession != nil {
		cs, _ := m.cfg.Session.(*CookieSession)
		var before string
		if cs != nil {
			before = cs.SessionID(r)
		}
		nr, err := m.cfg.RenewSession(w, r)
		if err != nil {
			return r, err
		}
		if nr != nil {
			r = nr
		}
		// The obvious renewal sets the new session cookie on w and returns
		// r as it came. The rest of this request, the mark first, must see
		// the session the browser will send next: r with the cookies just
		// set on w.
		r = withSetCookies(r, w.Header(), m.cfg.Now())
		if cs != nil && before != "" && cs.SessionID(r) == before {
			// The mark would be signed for an ID the next request no
			// longer carries, and every code would lead back to the
			// challenge: refuse the step, saying why.
			return r, errRenewUnseen
		}
	}
	now := m.cfg.Now()
	if now.Unix() < 0 {
		return r, errors.New("httpmw: clock reads before 1970")
	}
	if err := m.cfg.Session.SetMark(w, r, Mark{UserID: userID, Method: method, At: now}); err != nil {
		return r, err
	}
	if method == remember.Method {
		// The window slides: the cookie lives another full window too.
		if ck, err := r.Cookie(m.ck.name(rememberCookie)); err == nil {
			http.SetCookie(w, m.ck.cookie(ck.Name, ck.Value, int(m.tf.Browsers.Window()/time.Second)))
		}
	}
	return r, nil
}

// errRenewUnseen reports a RenewSession whose new session ID the
// CookieSession cannot see.
var errRenewUnseen = errors.New("httpmw: after Config.RenewSession, CookieSession.SessionID still returns the old session ID: " +
	"RenewSession must set the new session cookie on w or return a request whose SessionID is the new ID")

// withSetCookies returns r as the browser's next request will carry its
// cookies: each cookie set in h replaces r's cookie of that name, and one
// set to expire removes it. It returns r itself when h sets none.
func withSetCookies(r *http.Request, h http.Header, now time.Time) *http.Request {
	set := h.Values("Set-Cookie")
	if len(set) == 0 {
		return r
	}
	jar := r.Cookies()
	for _, line := range set {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		jar = slices.DeleteFunc(jar, func(o *http.Cookie) bool { return o.Name == c.Name })
		if c.MaxAge >= 0 && (c.Expires.IsZero() || c.Expires.After(now)) {
			jar = append(jar, &http.Cookie{Name: c.Name, Value: c.Value, Quoted: c.Quoted})
		}
	}
	nr := r.Clone(r.Context())
	nr.Header.Del("Cookie")
	for _, c := range jar {
		nr.AddCookie(c)
	}
	return nr
}

// rememberCookie holds a remembered browser's token.
const rememberCookie = "twofa-remember"

// Logout ends the second step of r's session: the mark is cleared, so the
// next login asks for the second step again, unless the browser is
// remembered. With forgetBrowser, this browser is forgotten as well, and
// the next login asks on it for sure. The application calls Logout from its
// own logout handler, before it ends its session.
func (m *Middleware) Logout(w http.ResponseWriter, r *http.Request, forgetBrowser bool) error {
	err := m.cfg.Session.ClearMark(w, r)
	m.forgetLogin(w)
	if forgetBrowser {
		ck, cerr := r.Cookie(m.ck.name(rememberCookie))
		if userID, _, ok := m.cfg.User(r); ok && cerr == nil {
			err = errors.Join(err, m.tf.Browsers.Forget(r.Context(), userID, ck.Value))
		}
		http.SetCookie(w, m.ck.cookie(m.ck.name(rememberCookie), "", -1))
	}
	return err
}

// remember makes this browser a remembered one for userID.
func (m *Middleware) remember(w http.ResponseWriter, r *http.Request, userID string) error {
	token, err := m.tf.Browsers.Remember(r.Context(), userID, remember.Label(r.UserAgent()))
	if err != nil {
		return err
	}
	http.SetCookie(w, m.ck.cookie(m.ck.name(rememberCookie), token, int(m.tf.Browsers.Window()/time.Second)))
	return nil
}

// wantsHTML tells a browser navigating from an API client: browsers ask for
// text/html, fetch and API clients for JSON or anything.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// defaultDeny is the Deny of a Config that sets none.
func (m *Middleware) defaultDeny(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Cache-Control", "no-store")
	var status int
	var msg, to, typ, detail string
	switch {
	case errors.Is(err, ErrNotLoggedIn):
		status, msg, to = http.StatusUnauthorized, "not logged in", m.loginURL(r)
		typ, detail = ProblemNotLoggedIn, "problem.log-in"
	case errors.Is(err, ErrSecondStep):
		status, msg, to = http.StatusUnauthorized, "second factor required", m.challengeURL(r, false)
		typ, detail = ProblemSecondStepNeeded, "problem.second-step"
	case errors.Is(err, ErrStepUp):
		status, msg, to = http.StatusUnauthorized, "recent second factor required", m.challengeURL(r, true)
		typ, detail = ProblemStepUpNeeded, "problem.step-up-guard"
	case errors.Is(err, ErrSetUpRequired):
		status, msg, to = http.StatusUnauthorized, "second factor set-up required", m.cfg.Path+"settings"
		typ, detail = ProblemSetUpRequired, "problem.set-up"
	default:
		// A store, clock or session failure: deny, say nothing of it to
		// the user, and tell the operator.
		status, msg = http.StatusInternalServerError, "temporarily unavailable"
		typ, detail = ProblemUnavailable, "problem.unavailable-moment"
		m.logError(r, err)
	}
	if wantsHTML(r) {
		if to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		http.Error(w, m.printer(r).T("deny."+strings.ReplaceAll(msg, " ", "-")), status)
		return
	}
	// A problem (RFC 9457) of the JSON API's types, which a client tells
	// apart by its type; "location" is the page to send a browser to,
	// "challenge" the API's, and "error" the short message this answer
	// carried before it was a problem, kept for the clients that read it.
	p := newProblem(typ, status, detail).in(m.printer(r))
	if typ == ProblemSecondStepNeeded || typ == ProblemStepUpNeeded {
		p.Challenge = m.cfg.Path + "api/challenge"
	}
	body := struct {
		*Problem
		Error    string `json:"error"`
		Location string `json:"location,omitempty"`
	}{p, msg, to}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// loginURL is Config.LoginURL, with r's page to come back to after the
// login in "next" when a browser can come back to it.
func (m *Middleware) loginURL(r *http.Request) string {
	if m.cfg.LoginURL == "" || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return m.cfg.LoginURL
	}
	sep := "?"
	if strings.Contains(m.cfg.LoginURL, "?") {
		sep = "&"
	}
	return m.cfg.LoginURL + sep + "next=" + url.QueryEscape(r.URL.RequestURI())
}

// challengeURL is the challenge page, with r's page to come back to if a
// browser can come back to it.
func (m *Middleware) challengeURL(r *http.Request, stepUp bool) string {
	q := url.Values{}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		q.Set("next", r.URL.RequestURI())
	}
	if stepUp {
		q.Set("stepup", "1")
	}
	if len(q) == 0 {
		return m.cfg.Path
	}
	return m.cfg.Path + "?" + q.Encode()
}

// localPath returns next if it is a path on this site, else home: a link
// never sends a user to another site.
func localPath(next, home string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return home
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return home
	}
	return next
}

// logError logs a system error that denied r. The error's text is the
// store's or the application's, and could quote what the request carried:
// every cookie and form value of r is blanked out of it first, so that no
// token, session ID or code reaches the log.
func (m *Middleware) logError(r *http.Request, err error) {
	userID, _, _ := m.cfg.User(r)
	m.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "twofa: request denied by a system error",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("user", userID),
		slog.String("error", scrub(r, err.Error())),
	)
}

// scrub returns msg with every cookie value and form value of r that is
// long enough to be a secret replaced by "[redacted]".
func scrub(r *http.Request, msg string) string {
	hide := func(v string) {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	for _, c := range r.Cookies() {
		hide(c.Value)
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			hide(v)
		}
	}
	for _, vs := range r.URL.Query() {
		for _, v := range vs {
			hide(v)
		}
	}
	if body, ok := r.Context().Value(apiBodyKey{}).([]byte); ok {
		// The JSON API's body: every string in it, at any depth.
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				hide(v)
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var v any
		if json.Unmarshal(body, &v) == nil {
			walk(v)
		}
	}
	return msg
}

// apiBodyKey keys the body of a JSON API request in its context, for
// scrub.
type apiBodyKey struct{}
