package httpmw

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/totp"
	"github.com/twofa-go/twofa/webauthn"
)

// openAPIDoc is the API's OpenAPI 3.1 document, its contract: the tests
// validate every request and answer of the API against it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the API's OpenAPI 3.1 document, as served at
// Config.Path+"api/openapi.json": its server is the API's mount.
func (m *Middleware) OpenAPI() []byte { return bytes.Clone(m.apiDoc) }

// mountDoc returns the document with its server at path+"api".
func mountDoc(path string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return nil, err
	}
	doc["servers"] = []any{map[string]any{"url": path + "api"}}
	return json.MarshalIndent(doc, "", "  ")
}

// apiCall is what every API handler gets: the user, and the request body
// already read and checked to be JSON (nil when none was sent).
type apiCall struct {
	userID, account string
	body            []byte
}

// apiRoute is one route of the JSON API, under Config.Path+"api/".
type apiRoute struct {
	method, path string
	// input marks a route that reads a JSON body; the other POSTs take
	// none, or an empty object.
	input bool
	// settings marks a route behind the step-up window, as the settings
	// pages are.
	settings bool
	h        func(w http.ResponseWriter, r *http.Request, c apiCall)
}

// apiTable lists every route of the API; the tests walk it.
func (m *Middleware) apiTable() []apiRoute {
	rs := []apiRoute{
		{method: "GET", path: "challenge", h: m.apiChallenge},
		{method: "POST", path: "verify", input: true, h: m.apiVerify},
		{method: "POST", path: "email", h: m.apiSendEmail},
	}
	if m.tf.WebAuthn != nil {
		rs = append(rs,
			apiRoute{method: "POST", path: "key/begin", h: m.apiKeyBegin},
			apiRoute{method: "POST", path: "key/finish", input: true, h: m.apiKeyFinish},
		)
	}
	rs = append(rs,
		apiRoute{method: "GET", path: "account", settings: true, h: m.apiAccount},
		apiRoute{method: "GET", path: "totp", settings: true, h: m.apiTOTP},
		apiRoute{method: "POST", path: "totp/begin", settings: true, h: m.apiTOTPBegin},
		apiRoute{method: "POST", path: "totp/confirm", settings: true, input: true, h: m.apiTOTPConfirm},
		apiRoute{method: "POST", path: "totp/cancel", settings: true, h: m.apiTOTPCancel},
		apiRoute{method: "POST", path: "backup", settings: true, h: m.apiBackup},
		apiRoute{method: "GET", path: "browsers", settings: true, h: m.apiBrowsers},
		apiRoute{method: "DELETE", path: "browsers", settings: true, h: m.apiRevokeAll},
		apiRoute{method: "DELETE", path: "browsers/{id}", settings: true, h: m.apiRevoke},
		apiRoute{method: "POST", path: "methods/{method}/disable", settings: true, h: m.apiMethod("disable")},
		apiRoute{method: "POST", path: "methods/{method}/enable", settings: true, h: m.apiMethod("enable")},
		apiRoute{method: "DELETE", path: "methods/{method}", settings: true, h: m.apiMethod("remove")},
	)
	if m.tf.WebAuthn != nil {
		rs = append(rs,
			apiRoute{method: "POST", path: "keys/begin", settings: true, input: true, h: m.apiKeysBegin},
			apiRoute{method: "POST", path: "keys/finish", settings: true, input: true, h: m.apiKeysFinish},
			apiRoute{method: "PATCH", path: "keys/{id}", settings: true, input: true, h: m.apiKeyRename},
			apiRoute{method: "DELETE", path: "keys/{id}", settings: true, h: m.apiKeyRemove},
		)
	}
	return rs
}

// apiRoutes builds the API's handler. Every answer of it is JSON: a path
// or method it does not serve is a problem too, not the mux's text.
func (m *Middleware) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	byPath := map[string]map[string]apiRoute{}
	var paths []string
	for _, rt := range m.apiTable() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]apiRoute{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt
	}
	for _, p := range paths {
		methods := byPath[p]
		var allow []string
		for meth := range methods {
			allow = append(allow, meth)
		}
		slices.Sort(allow)
		mux.HandleFunc(m.cfg.Path+"api/"+p, func(w http.ResponseWriter, r *http.Request) {
			rt, ok := methods[r.Method]
			if !ok {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeProblem(w, newProblem(ProblemBadRequest, http.StatusMethodNotAllowed, "problem.method-not-allowed"), m.cfg.Now())
				return
			}
			m.serveAPI(w, r, rt)
		})
	}
	mux.HandleFunc("GET "+m.cfg.Path+"api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(m.apiDoc)
	})
	mux.HandleFunc(m.cfg.Path+"api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(ProblemNotFound, http.StatusNotFound, "problem.no-route"), m.cfg.Now())
	})
	// Every problem is written in the request's language, which the
	// writer carries to writeProblem.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&speakingWriter{ResponseWriter: w, pr: m.printer(r)}, r)
	})
}

// serveAPI applies the rules every route shares, in the order of the
// pages: where the request comes from, its body, its user, the step-up
// window of the settings.
func (m *Middleware) serveAPI(w http.ResponseWriter, r *http.Request, rt apiRoute) {
	if err := m.cfg.CrossOrigin.Check(r); err != nil {
		m.problem(w, newProblem(ProblemCrossOrigin, http.StatusForbidden, "problem.cross-origin"))
		return
	}
	var c apiCall
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		var p *Problem
		if c.body, p = readAPIBody(w, r, rt.input); p != nil {
			m.problem(w, p)
			return
		}
	}
	// No route reads a body but through c: a GET's or DELETE's is not read.
	// The log's scrub finds it in the context.
	r = r.WithContext(context.WithValue(r.Context(), apiBodyKey{}, c.body))
	r.Body, r.ContentLength = http.NoBody, 0
	var ok bool
	if c.userID, c.account, ok = m.cfg.User(r); !ok || c.userID == "" {
		m.problem(w, newProblem(ProblemNotLoggedIn, http.StatusUnauthorized, "problem.log-in"))
		return
	}
	if rt.settings {
		mark, nr, err := m.stepUp(w, r, m.cfg.StepUpAge)
		r = nr
		if err != nil {
			m.denyProblem(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), markKey{}, mark))
	}
	rt.h(w, r, c)
}

// readAPIBody reads a POST's body: at most MaxJSONBody bytes, sent as
// application/json when there is one, one JSON object. A route without
// input takes none, or an empty object.
func readAPIBody(w http.ResponseWriter, r *http.Request, input bool) ([]byte, *Problem) {
	if r.ContentLength > MaxJSONBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, tooLarge()
	}
	if err != nil {
		return nil, newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-broken")
	}
	if len(body) == 0 && !input {
		return nil, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, newProblem(ProblemBadRequest, http.StatusUnsupportedMediaType, "problem.body-json")
	}
	if !input {
		var none struct{}
		if err := decodeStrict(body, &none); err != nil {
			return nil, err
		}
	}
	return body, nil
}

func tooLarge() *Problem {
	return newProblem(ProblemTooLarge, http.StatusRequestEntityTooLarge, "problem.body-large")
}

// decodeStrict reads body, one JSON object and nothing after it, into v,
// refusing fields v does not have.
func decodeStrict(body []byte, v any) *Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] != '{' {
		return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-object")
	}
	// encoding/json matches field names without regard to case; the
	// document, and a client reading it, do not: "Code" is no "code".
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		known := jsonFields(v)
		for k := range fields {
			if !known[k] {
				return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-field")
			}
		}
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// The field's name is the API's, not the request's value.
			return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.field-type", "Field", te.Field)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-field")
		}
		return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-invalid")
	}
	if _, err := dec.Token(); err != io.EOF {
		return newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.body-object")
	}
	return nil
}

// jsonFields returns the JSON names of the fields of the struct v points
// to.
func jsonFields(v any) map[string]bool {
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	return known
}

// decode reads c's body into v, or answers a problem and returns false.
func (m *Middleware) decode(w http.ResponseWriter, c apiCall, v any) bool {
	if p := decodeStrict(c.body, v); p != nil {
		m.problem(w, p)
		return false
	}
	return true
}

func (m *Middleware) problem(w http.ResponseWriter, p *Problem) { writeProblem(w, p, m.cfg.Now()) }

// denyProblem answers a refusal of the middleware's checks (ErrNotLoggedIn,
// ErrSecondStep, ErrStepUp) as a problem, and a system error as
// unavailable, logged. The API answers its own problems: Config.Deny is
// for the application's routes and the pages.
func (m *Middleware) denyProblem(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	switch {
	case errors.Is(err, ErrNotLoggedIn):
		p = newProblem(ProblemNotLoggedIn, http.StatusUnauthorized, "problem.log-in")
	case errors.Is(err, ErrSecondStep):
		p = newProblem(ProblemSecondStepNeeded, http.StatusUnauthorized, "problem.second-step")
		p.Challenge = m.cfg.Path + "api/challenge"
	case errors.Is(err, ErrStepUp):
		p = newProblem(ProblemStepUpNeeded, http.StatusUnauthorized, "problem.step-up")
		p.Challenge = m.cfg.Path + "api/challenge"
	default:
		m.apiFail(w, r, err)
		return
	}
	m.problem(w, p)
}

// apiFail answers a system error: unavailable, saying nothing of the
// cause, which goes to the log without the request's secrets. A clock no
// store accepts is a 503 with the pages' words.
func (m *Middleware) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	m.logError(r, err)
	if errors.Is(err, storage.ErrInvalidTime) || errors.Is(err, backup.ErrClock) {
		m.problem(w, newProblem(ProblemUnavailable, http.StatusServiceUnavailable, msgClock))
		return
	}
	m.problem(w, newProblem(ProblemUnavailable, http.StatusInternalServerError, "problem.unavailable"))
}

type apiThrottle struct {
	RetryAt time.Time `json:"retryAt,omitzero"`
	Locked  bool      `json:"locked"`
}

func throttleOf(err error) *apiThrottle {
	var t *twofa.ThrottledError
	if !errors.As(err, &t) {
		return nil
	}
	return &apiThrottle{RetryAt: t.RetryAt, Locked: t.Locked}
}

type apiChallengeView struct {
	Account       string         `json:"account"`
	Passed        bool           `json:"passed"`
	Fresh         bool           `json:"fresh"`
	Required      bool           `json:"required"`
	SetUpRequired bool           `json:"setUpRequired"`
	Offered       []twofa.Method `json:"offered"`
	EmailWaiting  bool           `json:"emailWaiting"`
	OfferRemember bool           `json:"offerRemember"`
	LockIn        int            `json:"lockIn"`
	Throttle      *apiThrottle   `json:"throttle,omitempty"`
	Detail        string         `json:"detail,omitempty"`
}

// apiChallenge says where the user stands: passed or not, with which
// methods. A remembered browser passes here as through Handler.
func (m *Middleware) apiChallenge(w http.ResponseWriter, r *http.Request, c apiCall) {
	mark, r, err := m.pass(w, r)
	passed := err == nil
	if err != nil && !errors.Is(err, ErrSecondStep) && !errors.Is(err, ErrSetUpRequired) {
		m.apiFail(w, r, err)
		return
	}
	state, err := m.tf.Account(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	v := apiChallengeView{
		Account:       c.account,
		Passed:        passed,
		Required:      state.Requires(),
		SetUpRequired: m.cfg.RequireSetUp && !state.Requires(),
		Offered:       nonNil(state.Offered),
		LockIn:        max(state.LockIn, 0),
		Throttle:      throttleOf(state.Throttle),
	}
	v.Fresh = !v.Required || passed && m.fresh(mark, m.cfg.StepUpAge)
	v.OfferRemember = m.cfg.OfferRemember && !passed
	if state.Throttle != nil {
		v.Detail = throttleMessage(m.printer(r), state.Throttle, m.cfg.Now())
	}
	if login, ok := m.loginOf(r); ok && slices.Contains(state.Offered, twofa.Email) {
		if v.EmailWaiting, err = m.tf.Email.Waiting(r.Context(), c.userID, login); err != nil {
			m.apiFail(w, r, err)
			return
		}
	}
	writeAPI(w, v)
}

type apiVerifyRequest struct {
	Code     string `json:"code"`
	Remember bool   `json:"remember"`
}

type apiPassedView struct {
	Method     twofa.Method `json:"method"`
	Remembered bool         `json:"remembered"`
}

// apiVerify is the challenge form's verify: any code method.
func (m *Middleware) apiVerify(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiVerifyRequest
	if !m.decode(w, c, &req) {
		return
	}
	login, _ := m.loginOf(r)
	method, err := m.tf.Verify(r.Context(), c.userID, login, req.Code)
	switch {
	case errors.Is(err, twofa.ErrNoMethod):
		m.problem(w, newProblem(ProblemNotSetUp, http.StatusConflict, "problem.no-second-step"))
		return
	case err != nil:
		m.codeProblem(w, r, c.userID, err)
		return
	}
	m.apiPassed(w, r, c.userID, method, req.Remember)
}

// codeProblem answers a code that did not pass, in the challenge's words.
func (m *Middleware) codeProblem(w http.ResponseWriter, r *http.Request, userID string, err error) {
	now := m.cfg.Now()
	pr := m.printer(r)
	msg, status := codeMessage(pr, err, now)
	if status == http.StatusInternalServerError {
		m.apiFail(w, r, err)
		return
	}
	typ := ProblemInvalidCode
	switch {
	case errors.Is(err, twofa.ErrThrottled):
		typ = ProblemThrottled
	case errors.Is(err, backup.ErrUsed), errors.Is(err, totp.ErrReplay):
		typ = ProblemCodeUsed
	}
	// The detail is said here, in the request's language, not by msg.
	p := newProblem(typ, status, "")
	p.Detail = msg
	if t := throttleOf(err); t != nil {
		p.RetryAt, p.Locked = t.RetryAt, t.Locked
	}
	// The page shows the shapes of the codes offered and the tries left
	// from the account, read again after the failure; so does this. A
	// failure to read it leaves them out: the code is refused anyway.
	if state, serr := m.tf.Account(r.Context(), userID); serr == nil {
		if isMalformed(err) {
			p.Detail = shapeMessage(pr, state.Offered)
		}
		n := max(state.LockIn, 0)
		p.LockIn = &n
	}
	m.problem(w, p)
}

// apiPassed completes the second step as passed does, and answers it.
func (m *Middleware) apiPassed(w http.ResponseWriter, r *http.Request, userID string, method twofa.Method, rememberIt bool) {
	if rememberIt && m.cfg.OfferRemember {
		// As the pages: "remember this browser" is for the first step of
		// a login, never a step-up of a session that passed.
		if mark, ok, err := m.cfg.Session.Mark(r); err != nil {
			m.apiFail(w, r, err)
			return
		} else if ok && mark.UserID == userID {
			rememberIt = false
		}
	}
	r, err := m.complete(w, r, userID, method)
	if errors.Is(err, ErrSessionRenewed) {
		// A parallel request renewed the session and records the mark in
		// its answer: this code passed all the same.
		writeAPI(w, apiPassedView{Method: method})
		return
	}
	remembered := false
	if err == nil && rememberIt && m.cfg.OfferRemember {
		err = m.remember(w, r, userID)
		remembered = err == nil
	}
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, apiPassedView{Method: method, Remembered: remembered})
}

func (m *Middleware) apiSendEmail(w http.ResponseWriter, r *http.Request, c apiCall) {
	var cool *emailotp.CooldownError
	switch err := m.tf.SendCode(r.Context(), c.userID, m.login(w, r)); {
	case err == nil:
		writeAPI(w, struct {
			Sent bool `json:"sent"`
		}{true})
	case errors.As(err, &cool):
		pr := m.printer(r)
		p := newProblem(ProblemThrottled, http.StatusTooManyRequests,
			"email.cooldown", "Wait", wait(pr, cool.RetryAt, m.cfg.Now()))
		p.RetryAt = cool.RetryAt
		m.problem(w, p)
	case errors.Is(err, emailotp.ErrNotEnabled), errors.Is(err, emailotp.ErrUnavailable):
		m.problem(w, newProblem(ProblemMethodOff, http.StatusConflict, "email.unavailable"))
	case errors.Is(err, emailotp.ErrSend):
		m.logError(r, err)
		m.problem(w, newProblem(ProblemEmailNotSent, http.StatusBadGateway, "email.not-sent"))
	default:
		m.apiFail(w, r, err)
	}
}

type apiCeremony struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

// keyProblem answers a security key's refusal.
func (m *Middleware) keyProblem(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	switch {
	case errors.Is(err, webauthn.ErrNotEnabled):
		p = newProblem(ProblemMethodOff, http.StatusConflict, "problem.keys-off")
	case errors.Is(err, webauthn.ErrNoKeys):
		p = newProblem(ProblemNotSetUp, http.StatusConflict, "problem.no-keys")
	case errors.Is(err, webauthn.ErrNotFound):
		p = newProblem(ProblemNotFound, http.StatusNotFound, "problem.no-key")
	case errors.Is(err, webauthn.ErrCeremony), errors.Is(err, webauthn.ErrResponse), errors.Is(err, webauthn.ErrCloned):
		p = newProblem(ProblemKeyRefused, http.StatusForbidden, "problem.key-refused")
	case errors.Is(err, webauthn.ErrDuplicateKey):
		p = newProblem(ProblemKeyConflict, http.StatusConflict, "problem.key-registered")
	case errors.Is(err, webauthn.ErrTooManyKeys):
		p = newProblem(ProblemKeyConflict, http.StatusConflict, "problem.too-many-keys")
	case errors.Is(err, webauthn.ErrBadName):
		p = newProblem(ProblemInvalidName, http.StatusUnprocessableEntity, "settings.error.name")
	case errors.Is(err, twofa.ErrThrottled):
		m.codeProblem(w, r, "", err)
		return
	default:
		m.apiFail(w, r, err)
		return
	}
	m.problem(w, p)
}

func (m *Middleware) apiKeyBegin(w http.ResponseWriter, r *http.Request, c apiCall) {
	id, options, err := m.tf.WebAuthn.BeginLogin(r.Context(), c.userID)
	if err != nil {
		m.keyProblem(w, r, err)
		return
	}
	writeAPI(w, apiCeremony{id, options})
}

type apiKeyLoginRequest struct {
	Ceremony string          `json:"ceremony"`
	Response json.RawMessage `json:"response"`
	Remember bool            `json:"remember"`
}

// validFinish reports a finish request that names a ceremony and carries
// a response object, as webauthn's handlers ask.
func validFinish(ceremony string, response json.RawMessage) bool {
	return ceremony != "" && len(response) > 0 && response[0] == '{'
}

func (m *Middleware) apiKeyFinish(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiKeyLoginRequest
	if !m.decode(w, c, &req) {
		return
	}
	if !validFinish(req.Ceremony, req.Response) {
		m.problem(w, newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.ceremony"))
		return
	}
	if _, err := m.tf.WebAuthn.FinishLogin(r.Context(), req.Ceremony, c.userID, req.Response); err != nil {
		m.keyProblem(w, r, err)
		return
	}
	m.apiPassed(w, r, c.userID, twofa.WebAuthn, req.Remember)
}

// The settings.

type apiMethodView struct {
	Method twofa.Method `json:"method"`
	Status string       `json:"status"`
	Since  time.Time    `json:"since,omitzero"`
}

type apiKeyView struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	Passkey  bool      `json:"passkey"`
	Synced   bool      `json:"synced"`
}

type apiBrowserView struct {
	ID       string    `json:"id"`
	Label    string    `json:"label"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	Expires  time.Time `json:"expires"`
}

type apiActivityView struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Method string    `json:"method,omitempty"`
	Detail string    `json:"detail,omitempty"`
	What   string    `json:"what"`
}

type apiAccountView struct {
	Account         string            `json:"account"`
	Methods         []apiMethodView   `json:"methods"`
	BackupRemaining int               `json:"backupRemaining"`
	Keys            []apiKeyView      `json:"keys"`
	Browsers        []apiBrowserView  `json:"browsers"`
	ThisBrowser     string            `json:"thisBrowser,omitempty"`
	Offered         []twofa.Method    `json:"offered"`
	MovingPhone     bool              `json:"movingPhone"`
	LockIn          int               `json:"lockIn"`
	Throttle        *apiThrottle      `json:"throttle,omitempty"`
	SetUpRequired   bool              `json:"setUpRequired"`
	Activity        []apiActivityView `json:"activity"`
}

type apiDone struct {
	Notice  string         `json:"notice"`
	Codes   []string       `json:"codes,omitempty"`
	Key     *apiKeyView    `json:"key,omitempty"`
	Account apiAccountView `json:"account"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func keyView(k webauthn.Key) apiKeyView { return apiKeyView(k) }

func browserViews(bs []remember.Browser) []apiBrowserView {
	out := make([]apiBrowserView, 0, len(bs))
	for _, b := range bs {
		out = append(out, apiBrowserView(b))
	}
	return out
}

// accountView reads the settings view of the user, as the settings page
// shows it.
func (m *Middleware) accountView(r *http.Request, c apiCall) (apiAccountView, error) {
	state, err := m.tf.Account(r.Context(), c.userID)
	if err != nil {
		return apiAccountView{}, err
	}
	v := apiAccountView{
		Account:         c.account,
		Methods:         make([]apiMethodView, 0, len(state.Methods)),
		BackupRemaining: state.BackupRemaining,
		Keys:            make([]apiKeyView, 0, len(state.Keys)),
		Browsers:        browserViews(state.Browsers),
		Offered:         nonNil(state.Offered),
		MovingPhone:     state.MovingPhone,
		LockIn:          max(state.LockIn, 0),
		Throttle:        throttleOf(state.Throttle),
		SetUpRequired:   m.cfg.RequireSetUp && !state.Requires(),
	}
	for _, s := range state.Methods {
		v.Methods = append(v.Methods, apiMethodView{Method: s.Method, Status: strings.ReplaceAll(s.Status.String(), " ", "_"), Since: s.Since})
	}
	for _, k := range state.Keys {
		v.Keys = append(v.Keys, keyView(k))
	}
	if v.ThisBrowser, err = m.thisBrowser(r, c.userID); err != nil {
		return apiAccountView{}, err
	}
	acts, err := m.tf.Activity(r.Context(), c.userID, ActivityShown)
	if err != nil {
		return apiAccountView{}, err
	}
	v.Activity = make([]apiActivityView, 0, len(acts))
	for _, a := range acts {
		v.Activity = append(v.Activity, apiActivityView{Time: a.Time, Kind: string(a.Kind), Method: string(a.Method), Detail: a.Detail, What: describe(m.printer(r), a)})
	}
	return v, nil
}

func (m *Middleware) apiAccount(w http.ResponseWriter, r *http.Request, c apiCall) {
	v, err := m.accountView(r, c)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, v)
}

// done answers a settings action that succeeded: its notice, what it
// made, and the account as it is now.
func (m *Middleware) done(w http.ResponseWriter, r *http.Request, c apiCall, d apiDone) {
	var err error
	if d.Account, err = m.accountView(r, c); err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, d)
}

type apiTOTPView struct {
	Secret      string `json:"secret"`
	OtpauthURL  string `json:"otpauthURL"`
	QRCode      string `json:"qrCode"`
	MovingPhone bool   `json:"movingPhone"`
}

// totpView answers the set-up e.
func (m *Middleware) totpView(w http.ResponseWriter, r *http.Request, c apiCall, e *totp.Enrollment) {
	png, err := e.QRCode(256)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	state, err := m.tf.Account(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, apiTOTPView{
		Secret:      e.GroupedSecret(),
		OtpauthURL:  e.URL(),
		QRCode:      "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
		MovingPhone: state.MovingPhone,
	})
}

// noTOTPSetUp answers a set-up that is not under way, saying so when it
// expired.
func (m *Middleware) noTOTPSetUp(w http.ResponseWriter, err error) {
	msg := "error.no-setup"
	if errors.Is(err, totp.ErrSetupExpired) {
		msg = "settings.error.expired"
	}
	m.problem(w, newProblem(ProblemNotSetUp, http.StatusNotFound, msg))
}

func (m *Middleware) apiTOTP(w http.ResponseWriter, r *http.Request, c apiCall) {
	login, _ := m.loginOf(r)
	e, err := m.tf.TOTP.Pending(r.Context(), c.userID, login)
	switch {
	case errors.Is(err, totp.ErrNotSetUp):
		m.noTOTPSetUp(w, err)
	case err != nil:
		m.apiFail(w, r, err)
	default:
		m.totpView(w, r, c, e)
	}
}

func (m *Middleware) apiTOTPBegin(w http.ResponseWriter, r *http.Request, c apiCall) {
	e, err := m.tf.TOTP.Begin(r.Context(), c.userID, c.account, m.login(w, r))
	switch {
	case errors.Is(err, totp.ErrBadAccount):
		// The name comes from the application: as on the pages, logged.
		m.logError(r, err)
		m.problem(w, newProblem(ProblemBadAccount, http.StatusUnprocessableEntity, msgBadAccount))
	case err != nil:
		m.apiFail(w, r, err)
	default:
		m.totpView(w, r, c, e)
	}
}

type apiCodeRequest struct {
	Code string `json:"code"`
}

func (m *Middleware) apiTOTPConfirm(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiCodeRequest
	if !m.decode(w, c, &req) {
		return
	}
	login, _ := m.loginOf(r)
	if err := m.tf.TOTP.Confirm(r.Context(), c.userID, login, req.Code); err != nil {
		if errors.Is(err, totp.ErrNotSetUp) {
			m.noTOTPSetUp(w, err)
			return
		}
		m.codeProblem(w, r, c.userID, err)
		return
	}
	r, err := m.complete(w, r, c.userID, twofa.TOTP)
	if err != nil && !errors.Is(err, ErrSessionRenewed) {
		m.apiFail(w, r, err)
		return
	}
	m.firstCodes(w, r, c, apiDone{Notice: m.printer(r).T("notice.totp")})
}

// firstCodes is nextCodes of the pages: a user with a primary method and
// no backup codes gets a first set with d, shown this once.
func (m *Middleware) firstCodes(w http.ResponseWriter, r *http.Request, c apiCall, d apiDone) {
	state, err := m.tf.Account(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	if !(Page{State: state}).Primary() || state.Status(twofa.Backup) != twofa.NotSetUp {
		m.done(w, r, c, d)
		return
	}
	m.makeAPICodes(w, r, c, d)
}

func (m *Middleware) makeAPICodes(w http.ResponseWriter, r *http.Request, c apiCall, d apiDone) {
	codes, err := m.tf.Backup.Generate(r.Context(), c.userID)
	switch {
	case errors.Is(err, backup.ErrTooSoon): // ErrInProgress too
		m.problem(w, newProblem(ProblemThrottled, http.StatusTooManyRequests, msgTooSoon))
		return
	case err != nil:
		m.apiFail(w, r, err)
		return
	}
	d.Codes = codes
	m.done(w, r, c, d)
}

func (m *Middleware) apiTOTPCancel(w http.ResponseWriter, r *http.Request, c apiCall) {
	if err := m.tf.TOTP.Cancel(r.Context(), c.userID); err != nil && !errors.Is(err, totp.ErrNotSetUp) {
		m.apiFail(w, r, err)
		return
	}
	m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice.cancelled")})
}

// msgNewCodes is the notice of a new set of backup codes, in the words of
// the codes page.
const msgNewCodes = "notice.new-codes"

func (m *Middleware) apiBackup(w http.ResponseWriter, r *http.Request, c apiCall) {
	state, err := m.tf.Account(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	if !(Page{State: state}).Primary() {
		m.problem(w, newProblem(ProblemNeedsPrimary, http.StatusConflict, "settings.error.primary"))
		return
	}
	m.makeAPICodes(w, r, c, apiDone{Notice: m.printer(r).T(msgNewCodes)})
}

type apiNameRequest struct {
	Name string `json:"name"`
}

func (m *Middleware) apiKeysBegin(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiNameRequest
	if !m.decode(w, c, &req) {
		return
	}
	id, options, err := m.tf.WebAuthn.BeginRegistration(r.Context(), c.userID, c.account, req.Name)
	if err != nil {
		m.keyProblem(w, r, err)
		return
	}
	writeAPI(w, apiCeremony{id, options})
}

type apiKeyRequest struct {
	Ceremony string          `json:"ceremony"`
	Response json.RawMessage `json:"response"`
}

func (m *Middleware) apiKeysFinish(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiKeyRequest
	if !m.decode(w, c, &req) {
		return
	}
	if !validFinish(req.Ceremony, req.Response) {
		m.problem(w, newProblem(ProblemBadRequest, http.StatusBadRequest, "problem.ceremony"))
		return
	}
	k, err := m.tf.WebAuthn.FinishRegistration(r.Context(), req.Ceremony, c.userID, req.Response)
	if err != nil {
		m.keyProblem(w, r, err)
		return
	}
	// As firstKey on the pages: a first method counts as a step passed.
	if r, err = m.firstMethod(w, r, twofa.WebAuthn); err != nil {
		m.apiFail(w, r, err)
		return
	}
	kv := keyView(k)
	m.firstCodes(w, r, c, apiDone{Notice: m.printer(r).T("notice.key-added"), Key: &kv})
}

func (m *Middleware) apiKeyRename(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiNameRequest
	if !m.decode(w, c, &req) {
		return
	}
	if err := m.tf.WebAuthn.Rename(r.Context(), c.userID, r.PathValue("id"), req.Name); err != nil {
		m.keyProblem(w, r, noKeyIsNotFound(err))
		return
	}
	m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice.renamed")})
}

// noKeyIsNotFound makes webauthn.ErrNoKeys, said of a key by its ID, the
// key's not-found.
func noKeyIsNotFound(err error) error {
	if errors.Is(err, webauthn.ErrNoKeys) {
		return webauthn.ErrNotFound
	}
	return err
}

func (m *Middleware) apiKeyRemove(w http.ResponseWriter, r *http.Request, c apiCall) {
	if err := m.tf.RemoveKey(r.Context(), c.userID, r.PathValue("id")); err != nil {
		m.keyProblem(w, r, noKeyIsNotFound(err))
		return
	}
	m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice.keyremoved")})
}

type apiBrowsersView struct {
	Browsers    []apiBrowserView `json:"browsers"`
	ThisBrowser string           `json:"thisBrowser,omitempty"`
}

func (m *Middleware) apiBrowsers(w http.ResponseWriter, r *http.Request, c apiCall) {
	bs, err := m.tf.Browsers.List(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	v := apiBrowsersView{Browsers: browserViews(bs)}
	if v.ThisBrowser, err = m.thisBrowser(r, c.userID); err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, v)
}

func (m *Middleware) apiRevoke(w http.ResponseWriter, r *http.Request, c apiCall) {
	id := r.PathValue("id")
	bs, err := m.tf.Browsers.List(r.Context(), c.userID)
	if err != nil {
		m.apiFail(w, r, err)
		return
	}
	if !slices.ContainsFunc(bs, func(b remember.Browser) bool { return b.ID == id }) {
		m.problem(w, newProblem(ProblemNotFound, http.StatusNotFound, "problem.no-browser"))
		return
	}
	if err := m.tf.Browsers.Revoke(r.Context(), c.userID, id); err != nil {
		m.apiFail(w, r, err)
		return
	}
	m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice.revoked")})
}

func (m *Middleware) apiRevokeAll(w http.ResponseWriter, r *http.Request, c apiCall) {
	if err := m.tf.Browsers.RevokeAll(r.Context(), c.userID); err != nil {
		m.apiFail(w, r, err)
		return
	}
	m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice.revokedall")})
}

// apiMethod turns a method off, on, or removes it, as the settings' method
// form does.
func (m *Middleware) apiMethod(action string) func(w http.ResponseWriter, r *http.Request, c apiCall) {
	return func(w http.ResponseWriter, r *http.Request, c apiCall) {
		method := twofa.Method(r.PathValue("method"))
		var err error
		var done string
		switch action {
		case "disable":
			err, done = m.tf.Disable(r.Context(), c.userID, method), "disabled"
		case "enable":
			err, done = m.tf.Enable(r.Context(), c.userID, method), "enabled"
			if err == nil {
				r, err = m.firstMethod(w, r, method)
			}
			if method == twofa.Email {
				done = "emailon"
			}
		default:
			err, done = m.tf.Remove(r.Context(), c.userID, method), "removed"
		}
		switch {
		case errors.Is(err, twofa.ErrUnknownMethod):
			m.problem(w, newProblem(ProblemNotFound, http.StatusNotFound, "problem.no-method"))
		case errors.Is(err, emailotp.ErrUnavailable):
			m.problem(w, newProblem(ProblemMethodOff, http.StatusConflict, "email.unavailable"))
		case isNotSetUp(err):
			m.problem(w, newProblem(ProblemNotSetUp, http.StatusConflict, "problem.not-set-up"))
		case err != nil:
			m.apiFail(w, r, err)
		case done == "emailon":
			m.firstCodes(w, r, c, apiDone{Notice: m.printer(r).T("notice." + done)})
		default:
			m.done(w, r, c, apiDone{Notice: m.printer(r).T("notice." + done)})
		}
	}
}
