package main

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, driver "pgx"
	_ "modernc.org/sqlite"             // SQLite in pure Go, driver "sqlite"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage/sqlstore"
	"github.com/twofa-go/twofa/webauthn"
	"golang.org/x/crypto/bcrypt"
)

// issuer names the application in authenticator apps, e-mails and pages.
const issuer = "twofa example"

// twofaPath is where twofa's pages are: the second step and the settings.
const twofaPath = "/2fa/"

// config is what the application needs to start; main fills it from flags
// and the environment, tests from their own temporary files.
type config struct {
	// DB is the path of a SQLite file, or a postgres:// DSN.
	DB string
	// Origin is the site's public origin as browsers see it, such as
	// "https://example.com" or "http://localhost:8080". Security keys are
	// bound to its host name, and it alone decides the cookies: Secure
	// with the "__Host-" prefix unless it is plain HTTP on localhost.
	Origin string
	// SMTP sends mail when its Host is set; without it a development
	// mailer prints every message and shows it at /dev/mail, if DevMail
	// allows.
	SMTP emailotp.SMTPConfig
	// DevMail turns the development mailer on or off: "auto" (or "")
	// runs it when no SMTP server is set and Origin is plain HTTP on
	// localhost, and only then; "on" asks for it, and is an error with an
	// https origin or an SMTP server; "off" never runs it.
	DevMail string
	// DemoPassword and AdminPassword are the passwords of the users made
	// on first start; "" makes random ones, printed to Log.
	DemoPassword, AdminPassword string
	// Log receives the console output; nil means os.Stdout.
	Log io.Writer
	// Now is the clock of the second factor and the sessions; nil means
	// time.Now. Tests move it to reach the next code or the end of a
	// window.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of passwords; 0 means
	// bcrypt.DefaultCost. Tests lower it to run faster.
	PasswordCost int
	// Policy is who must use a second factor, by when, of what strength
	// (policy.go); the zero value asks nothing of anyone.
	Policy policyConfig
	// KeyModels names authenticator models over the library's table
	// (webauthn.Config.Providers): a company's own keys, say.
	KeyModels map[webauthn.AAGUID]string
	// InvitePasskey offers a user who logged in with a code, and has no
	// passkey, to make one (httpmw.Config.InvitePasskey). main turns it
	// on; the tests of the login flows without it leave it off.
	InvitePasskey bool
}

// app is the application: its database, its second factor and its pages.
type app struct {
	db    appDB
	tf    *twofa.Service
	mw    *httpmw.Middleware
	pages *template.Template
	mail  *devMailer // nil unless the development mailer runs
	// crossOrigin refuses POSTs from other sites. A browser that sends no
	// Sec-Fetch-Site is judged by its Origin header against the Host
	// header, which a proxy may rewrite: the public origin is trusted.
	crossOrigin *http.CrossOriginProtection
	log         io.Writer
	// now is the clock of the sessions and the second factor.
	now func() time.Time
	// passwordCost is the bcrypt cost of new passwords. dummyHash, of
	// the same cost, is checked for an unknown address, so that it takes
	// as long to refuse as a wrong password.
	passwordCost int
	dummyHash    []byte
	// pol is the demonstration policy (policy.go).
	pol policyConfig
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// newServer opens the database, brings its schema up to date, makes the
// demo users on first start and returns the application's handler, with a
// function that closes the database once the server has stopped.
func newServer(cfg config) (http.Handler, func(), error) {
	a, cleanup, err := newApp(cfg)
	if err != nil {
		return nil, nil, err
	}
	return a.routes(), cleanup, nil
}

// newApp is newServer, returning the application itself: the tests read
// its routes.
func newApp(cfg config) (*app, func(), error) {
	ctx := context.Background()
	a := &app{log: cfg.Log, now: cfg.Now, pol: cfg.Policy}
	if a.log == nil {
		a.log = os.Stdout
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.passwordCost = cmp.Or(cfg.PasswordCost, bcrypt.DefaultCost)
	var err error
	if a.dummyHash, err = bcrypt.GenerateFromPassword([]byte("no such user"), a.passwordCost); err != nil {
		return nil, nil, err
	}
	db, dialect, err := openDB(cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	a.db = appDB{DB: db, mysql: dialect == sqlstore.MySQL}
	fail := func(err error) (*app, func(), error) {
		db.Close()
		return nil, nil, err
	}

	// twofa's tables, then the application's own.
	store, err := sqlstore.New(db, dialect)
	if err != nil {
		return fail(err)
	}
	if err := store.Migrate(ctx); err != nil {
		return fail(err)
	}
	if err := a.migrate(ctx); err != nil {
		return fail(err)
	}

	// The key that seals TOTP secrets at rest, and the key that signs the
	// "second step passed" cookie. They are made on first start and kept
	// in the database so that a restart keeps working. In production, load
	// them from a secret store instead, away from the data they protect.
	sealing, err := a.secret(ctx, "keyring/webapp-1")
	if err != nil {
		return fail(err)
	}
	ring, err := keyring.New(keyring.Key{ID: "webapp-1", Secret: sealing})
	if err != nil {
		return fail(err)
	}
	markKey, err := a.secret(ctx, "httpmw/mark")
	if err != nil {
		return fail(err)
	}

	origin, err := url.Parse(cfg.Origin)
	if err != nil || origin.Scheme == "" || origin.Host == "" {
		return fail(fmt.Errorf("origin %q: want a URL such as https://example.com", cfg.Origin))
	}
	publicOrigin := origin.Scheme + "://" + origin.Host
	a.crossOrigin = http.NewCrossOriginProtection()
	if err := a.crossOrigin.AddTrustedOrigin(publicOrigin); err != nil {
		return fail(fmt.Errorf("origin %q: %w", cfg.Origin, err))
	}
	devMail, err := useDevMail(cfg.DevMail, origin, cfg.SMTP.Host != "")
	if err != nil {
		return fail(err)
	}
	var mailer emailotp.Mailer // nil: no e-mail codes, no notices
	switch {
	case cfg.SMTP.Host != "":
		if mailer, err = emailotp.NewSMTP(cfg.SMTP); err != nil {
			return fail(err)
		}
	case devMail:
		a.mail = &devMailer{console: &emailotp.DevMailer{W: a.log}}
		mailer = a.mail
	default:
		fmt.Fprintln(a.log, "No SMTP server set, and the development mailer is off: codes by e-mail are not offered and no notice is sent")
	}
	var policy func(context.Context, string) (twofa.Policy, error)
	if a.pol.on() {
		policy = a.policy
	}
	a.tf, err = twofa.New(twofa.Config{
		Issuer: issuer,
		Store:  store,
		Keys:   ring,
		WebAuthn: webauthn.Config{
			RPID:          origin.Hostname(),
			RPDisplayName: issuer,
			Origins:       []string{publicOrigin},
			Providers:     cfg.KeyModels,
		},
		Mailer:  mailer,
		Address: a.address,
		Notify:  true,
		Policy:  policy,
		Events:  byAdmin(slog.New(slog.NewTextHandler(a.log, nil))),
		Now:     cfg.Now,
	})
	if err != nil {
		return fail(err)
	}

	// The pages of the second step and the settings, in the application's
	// own layout: templates/layout.html redefines "header" and "footer".
	a.pages = httpmw.Templates().Funcs(template.FuncMap{
		"isAdmin": a.isAdmin,
		"devMail": func() bool { return a.mail != nil },
		"slug":    slug,
		"days":    daysWord,
		"method":  methodName,
		"methods": methodNames,
		"primaries": func(s twofa.Account) string {
			// Only the methods this application offers the user.
			p := httpmw.Page{State: s}
			return p.PrimaryNames()
		},
	})
	if a.pages, err = a.pages.ParseFS(templateFS, "templates/*.html"); err != nil {
		return fail(err)
	}
	a.mw, err = httpmw.New(httpmw.Config{
		Service: a.tf,
		Origin:  cfg.Origin,
		User: func(r *http.Request) (string, string, bool) {
			s, ok := sessionFrom(r)
			return s.user.ID, s.user.Email, ok
		},
		Session:      &httpmw.CookieSession{Key: markKey, SessionID: sessionID},
		RenewSession: a.renewSession,
		// A passkey chosen in the login form's autofill signs in alone
		// (templates/login.html), and a login with a code offers to make
		// one.
		LogIn:         a.logIn,
		InvitePasskey: cfg.InvitePasskey,
		Path:          twofaPath,
		LoginURL:      "/login",
		OfferRemember: true,
		Templates:     a.pages,
		Now:           cfg.Now,
	})
	if err != nil {
		return fail(err)
	}

	if err := a.demoUsers(ctx, cfg.DB, cfg.DemoPassword, cfg.AdminPassword); err != nil {
		return fail(err)
	}
	if a.mail != nil {
		fmt.Fprintf(a.log, "No SMTP server set: e-mails are printed here and shown at %s/dev/mail\n", strings.TrimSuffix(cfg.Origin, "/"))
	}
	return a, func() { db.Close() }, nil
}

// useDevMail decides whether the development mailer runs. Its page shows
// every user's codes, so it runs only in development: with no SMTP server
// and an origin of plain HTTP on localhost, never with an https origin,
// whatever the setting. (The page also answers only requests from this
// machine: see devMailer.page.)
func useDevMail(setting string, origin *url.URL, smtp bool) (bool, error) {
	dev := origin.Scheme == "http" && isLocalhost(origin.Hostname())
	switch setting {
	case "", "auto":
		return dev && !smtp, nil
	case "on":
		if !dev {
			return false, fmt.Errorf("the development mailer shows every user's codes: it runs only with an origin of http://localhost, not %s", origin.Scheme+"://"+origin.Host)
		}
		if smtp {
			return false, errors.New("the development mailer and an SMTP server exclude each other")
		}
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("dev mail %q: want auto, on or off", setting)
}

// isLocalhost reports whether host names this machine.
func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// route is one entry of the application's routes: a ServeMux pattern and
// its handler. The mux is built from this list, and the tests walk it, so a
// route added here is tested for its guard and its body bound.
type route struct {
	pattern string
	handler http.Handler
	// open is set on the routes reachable without the second step: the
	// login, twofa's own pages (the second step itself), the static files
	// and the development mailer. Every other route is guarded.
	open bool
}

// routeList lists every page. Those behind a.mw.Handler need the second
// step from users who have a method; the open ones need at most the
// password.
func (a *app) routeList() []route {
	// The administrator page needs an administrator who passed a second
	// step within the last 10 minutes.
	admin := func(h http.HandlerFunc) http.Handler {
		return a.mw.Handler(a.adminOnly(a.mw.StepUp(0, h)))
	}
	static, _ := fs.Sub(staticFS, "static")
	rs := []route{
		{pattern: "GET /login", handler: http.HandlerFunc(a.loginPage), open: true},
		{pattern: "POST /login", handler: form(a.login), open: true},
		{pattern: "POST /logout", handler: form(a.logout), open: true},
		{pattern: twofaPath, handler: a.mw.Pages(), open: true},
		{pattern: "GET /static/", handler: http.StripPrefix("/static/", http.FileServerFS(static)), open: true},

		{pattern: "GET /{$}", handler: a.mw.Handler(http.HandlerFunc(a.home))},
		{pattern: "GET /api/me", handler: a.mw.Handler(http.HandlerFunc(a.apiMe))},
		{pattern: "GET /admin", handler: admin(a.adminPage)},
		{pattern: "GET /admin/log", handler: admin(a.adminLogPage)},
		{pattern: "POST /admin/reset", handler: admin(form(a.adminReset))},
		{pattern: "POST /admin/unlock", handler: admin(form(a.adminUnlock))},
	}
	if a.mail != nil {
		rs = append(rs, route{pattern: "GET /dev/mail", handler: a.mail.page(a), open: true})
	}
	// A GET of a form's target (a bookmark, the history) lands on the page
	// the form is on, not on a bare "405 method not allowed"; it does
	// nothing and shows nothing, so it needs no guard.
	for _, to := range []struct{ path, page string }{{"/logout", "/"}, {"/admin/reset", "/admin"}, {"/admin/unlock", "/admin"}} {
		rs = append(rs, route{pattern: "GET " + to.path, handler: http.RedirectHandler(to.page, http.StatusSeeOther), open: true})
	}
	return rs
}

// routes is the application's handler: every route of routeList, each
// request's body bounded, the session found.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.routeList() {
		mux.Handle(rt.pattern, rt.handler)
	}
	// Every POST of the application's own forms must come from its own
	// pages (httpmw's pages check this too).
	return a.sessions(boundBodies(a.crossOrigin.Handler(mux)))
}

// maxBody bounds every request body, for every route: security key
// responses, the largest bodies, take a few kilobytes.
const maxBody = 1 << 20

// maxFormBody bounds the body of the application's own forms: an e-mail
// address and a password, or a user ID.
const maxFormBody = 16 << 10

// boundBodies refuses, with 413, a request that announces a body larger
// than maxBody, and cuts off one that sends more without announcing it.
func boundBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			tooLarge(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// form wraps a handler of one of the application's forms: the form is read
// first, from a body of at most maxFormBody, and anything larger is
// answered 413. A multipart form is read in memory only (the whole body is
// no larger than the memory ParseMultipartForm is given), so an upload is
// never spooled to disk.
func form(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxFormBody {
			tooLarge(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		var err error
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			err = r.ParseMultipartForm(maxFormBody)
		} else {
			err = r.ParseForm()
		}
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			tooLarge(w)
			return
		}
		if err != nil {
			http.Error(w, "The form could not be read.", http.StatusBadRequest)
			return
		}
		h(w, r)
	}
}

func tooLarge(w http.ResponseWriter) {
	// The rest of the body is not read: the connection closes after this.
	w.Header().Set("Connection", "close")
	http.Error(w, "The request is too large.", http.StatusRequestEntityTooLarge)
}

// openDB opens a PostgreSQL database for a postgres:// DSN, MariaDB (or
// MySQL) for mysql:// followed by a DSN of go-sql-driver/mysql
// (mysql://user:pass@tcp(127.0.0.1:3306)/twofa), else the SQLite file at
// dsn, creating it if need be.
func openDB(dsn string) (*sql.DB, sqlstore.Dialect, error) {
	if rest, ok := strings.CutPrefix(dsn, "mysql://"); ok {
		// The settings twofa's store needs (clientFoundRows), and one
		// round trip a statement (interpolateParams).
		full, err := sqlstore.MySQLDSN(rest)
		if err != nil {
			return nil, 0, err
		}
		db, err := sql.Open("mysql", full)
		if err != nil {
			return nil, 0, err
		}
		// The server closes a connection idle for wait_timeout (8 hours
		// by default, often less behind a proxy): the pool drops its own
		// well before, instead of handing a dead one to a login.
		db.SetConnMaxLifetime(5 * time.Minute)
		pool(db)
		if err := db.Ping(); err != nil {
			db.Close()
			return nil, 0, fmt.Errorf("database: %w", err)
		}
		return db, sqlstore.MySQL, nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, 0, err
		}
		pool(db)
		if err := db.Ping(); err != nil {
			db.Close()
			return nil, 0, fmt.Errorf("database: %w", err)
		}
		return db, sqlstore.PostgreSQL, nil
	}
	// OpenSQLite queues this process's writers and commits them together,
	// instead of letting them race for SQLite's write lock: many logins at
	// once then wait milliseconds, not seconds (BENCHMARKS.md).
	db, err := sqlstore.OpenSQLite(dsn)
	if err != nil {
		return nil, 0, fmt.Errorf("database %s: %w", dsn, err)
	}
	return db, sqlstore.SQLite, nil
}

// maxConns bounds the connections to a database server: below the
// servers' default limits (100 on PostgreSQL, 151 on MariaDB) with two
// instances of the application.
const maxConns = 40

// pool sizes the connection pool of a database server. database/sql keeps
// only 2 idle connections by default: under load every other query then
// opens a new one (on PostgreSQL, a new server process) and closes it
// after. With the pool kept the load test (load.go) logged 32 users in
// three times as fast on PostgreSQL; on MariaDB, whose connections are
// threads, 10 idle or 40 made no clear difference (BENCHMARKS.md). Beyond
// maxConns a request waits for a connection rather than being refused by
// the server.
func pool(db *sql.DB) {
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
}

// view is what the application's page templates get. Path, Issuer,
// Account, Notice and Error have the names httpmw.Page gives them, so the
// shared header and footer serve both.
type view struct {
	Path, Issuer, Account, Notice, Error string

	User  user
	Mark  httpmw.Mark
	State twofa.Account
	Users []adminRow
	Mails []sentMail
	// OutOfPolicy are the users past their deadline or below their
	// required strength, on the administrator page; PolicyOn says
	// whether a policy is set at all.
	OutOfPolicy []adminRow
	PolicyOn    bool

	// The message page: a title, a sentence, and a link to go on.
	Title, Message, LinkURL, LinkText string

	// Next is the local path the login page goes on to.
	Next string
	// Email is the address typed into the login form, kept after a
	// wrong password.
	Email string
	// Confirm is the user the administrator is asked about before a reset.
	Confirm *adminRow
	// Log is the user whose security log the administrator reads.
	Log *adminLog
}

func (a *app) view(r *http.Request) view {
	v := view{Path: twofaPath, Issuer: issuer}
	if s, ok := sessionFrom(r); ok {
		v.User, v.Account = s.user, s.user.Email
	}
	v.Mark, _ = httpmw.FromContext(r.Context())
	return v
}

// render writes the page template name with the headers httpmw gives its
// own pages: no caching, no framing, scripts and styles from files only.
func (a *app) render(w http.ResponseWriter, status int, name string, v view) {
	var b strings.Builder
	if err := a.pages.ExecuteTemplate(&b, name, v); err != nil {
		a.fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	io.WriteString(w, b.String())
}

// message shows a page with a title and one sentence, for refusals, with a
// link to go on if linkURL is set.
func (a *app) message(w http.ResponseWriter, r *http.Request, status int, title, msg, linkURL, linkText string) {
	v := a.view(r)
	v.Title, v.Message, v.LinkURL, v.LinkText = title, msg, linkURL, linkText
	a.render(w, status, "message", v)
}

// fail answers a system error without saying what it was; the log does.
func (a *app) fail(w http.ResponseWriter, err error) {
	fmt.Fprintf(a.log, "error: %v\n", err)
	http.Error(w, "Something went wrong. Try again in a while.", http.StatusInternalServerError)
}

// home is the first page after login.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	v := a.view(r)
	var err error
	if v.State, err = a.tf.Account(r.Context(), v.User.ID); err != nil {
		a.fail(w, err)
		return
	}
	a.render(w, http.StatusOK, "home", v)
}

// apiMe is a JSON API route: behind the middleware, a client that has not
// passed the second step gets 401 with a JSON body, not a redirect.
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	v := a.view(r)
	state, err := a.tf.Account(r.Context(), v.User.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	methods := map[string]string{}
	for _, m := range state.Methods {
		methods[string(m.Method)] = m.Status.String()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"id":          v.User.ID,
		"email":       v.User.Email,
		"admin":       v.User.Admin,
		"second_step": v.Mark.Method,
		"methods":     methods,
	})
}

// errNoUser reports a user ID that names no user.
var errNoUser = errors.New("no such user")

// methodName names a method, or a remembered browser, for people.
func methodName(m twofa.Method) string {
	switch m {
	case twofa.WebAuthn:
		return "security key"
	case twofa.TOTP:
		return "authenticator app"
	case twofa.Email:
		return "code by e-mail"
	case twofa.Backup:
		return "backup code"
	case remember.Method:
		return "remembered browser"
	case twofa.Passkey:
		return "passkey (no password needed)"
	}
	return string(m)
}

func methodNames(ms []twofa.Method) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = methodName(m)
	}
	return strings.Join(names, ", ")
}
