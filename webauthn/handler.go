package webauthn

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// maxBody bounds a request body: a browser response and the envelope
// around it.
const maxBody = MaxResponse + 4096

// Handlers serves a [Service] as JSON over HTTP, for a page that calls
// navigator.credentials.create and get. Each ceremony takes two POSTs:
//
//	Begin:  request  {"name": "YubiKey"}  (registration only; otherwise no body)
//	        answer   {"ceremony": "<id>", "options": {...}}
//	Finish: request  {"ceremony": "<id>", "response": <credential.toJSON()>}
//	        answer   {"key": {...}} (registration)
//	                 {"ok": true, "userVerified": true} (login)
//
// options is {"publicKey": {...}}, as navigator.credentials takes it: the
// page passes options.publicKey to
// PublicKeyCredential.parseCreationOptionsFromJSON (or
// parseRequestOptionsFromJSON) and posts the credential's toJSON().
//
// Errors are answered as {"error": "<message>"}: 400 for a malformed
// request, a bad key name ([ErrBadName]) or a user ID from [Handlers.User]
// outside the rule of [storage.CheckUserID] ([storage.ErrInvalidUserID]),
// 413 for a request too large, 401 when [Handlers.User] knows no user, 403
// for a refused ceremony ([ErrCeremony], [ErrResponse], [ErrCloned],
// [ErrNotEnabled]) or a key the user's rules refuse ([ErrKeyRefused], with
// the rule's message: [ErrModelDenied], [ErrModelNotAllowed],
// [ErrSyncedRefused]), 404 for [ErrNoKeys], 409 for [ErrDuplicateKey] and
// [ErrTooManyKeys], and 500 with a generic message for anything else. Messages never repeat what the
// request sent. Every answer is marked Cache-Control: no-store.
//
// Handlers do not check where a request came from: wrap them in
// [net/http.CrossOriginProtection] or the like.
//
// The fields are read when a handler is made; changing them afterwards does
// not change handlers already made.
type Handlers struct {
	// Service runs the ceremonies. Required.
	Service *Service

	// User reports who the request is for, from the application's own
	// session: for registration the signed-in user, for a second-factor
	// login the user who passed the first factor. account is the user name
	// the browser shows when registering (the user ID if empty). If ok is
	// false, or userID is empty, the request is answered 401. Required,
	// except by the passkey handlers, which find the user from the key.
	User func(r *http.Request) (userID, account string, ok bool)

	// OnLogin is called after a login passed, with the user it is for (for
	// a passkey, the user the key belongs to). It is where the application
	// marks its session as having passed the second factor. It may write
	// its own answer, an error for instance; if it writes nothing, the
	// handler answers 200 {"ok": true, "userVerified": ...}, with any
	// headers OnLogin set, such as cookies. If nil, the handler just
	// answers so: an application that does nothing here has logged no one
	// in.
	OnLogin func(w http.ResponseWriter, r *http.Request, userID string, res Result)
}

// beginAnswer is the answer to a begin request.
type beginAnswer struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

// finishRequest is the body of a finish request.
type finishRequest struct {
	Ceremony string          `json:"ceremony"`
	Response json.RawMessage `json:"response"`
}

// keyJSON is a Key as answered. It converts from Key, so a field added to
// Key does not compile until it is added here.
type keyJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	Passkey  bool      `json:"passkey"`
	Synced   bool      `json:"synced"`
	AAGUID   AAGUID    `json:"aaguid"`
	Provider string    `json:"provider"`
	Refused  string    `json:"refused,omitempty"`
}

type loginAnswer struct {
	OK           bool `json:"ok"`
	UserVerified bool `json:"userVerified"`
}

// errRequest is a request that could not be read; its message is answered.
type errRequest struct {
	status int
	msg    string
}

func (e *errRequest) Error() string { return e.msg }

var (
	errMalformed = &errRequest{http.StatusBadRequest, "webauthn: malformed request"}
	errTooLarge  = &errRequest{http.StatusRequestEntityTooLarge, "webauthn: request too large"}
	errNoUser    = &errRequest{http.StatusUnauthorized, "webauthn: not signed in"}
)

// BeginRegistration answers a request to add a key for the user, named by
// the body {"name": "..."}.
func (h *Handlers) BeginRegistration() http.Handler {
	c := h.copy(true)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		userID, account, err := c.user(r)
		if err != nil {
			return err
		}
		// An object, its name empty or missing for a key named after
		// its model; null is no request.
		var body *struct {
			Name string `json:"name"`
		}
		if err := decodeRequest(w, r, &body); err != nil {
			return err
		}
		if body == nil {
			return errMalformed
		}
		id, options, err := c.Service.BeginRegistration(r.Context(), userID, account, body.Name)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, beginAnswer{id, options})
	})
}

// FinishRegistration answers the browser's response to a registration,
// with the key added.
func (h *Handlers) FinishRegistration() http.Handler {
	c := h.copy(true)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		userID, _, err := c.user(r)
		if err != nil {
			return err
		}
		body, err := decodeFinish(w, r)
		if err != nil {
			return err
		}
		k, err := c.Service.FinishRegistration(r.Context(), body.Ceremony, userID, body.Response)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, struct {
			Key keyJSON `json:"key"`
		}{keyJSON(k)})
	})
}

// BeginLogin answers a request to start a second-factor login for the user.
func (h *Handlers) BeginLogin() http.Handler {
	c := h.copy(true)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		userID, _, err := c.user(r)
		if err != nil {
			return err
		}
		id, options, err := c.Service.BeginLogin(r.Context(), userID)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, beginAnswer{id, options})
	})
}

// FinishLogin checks the browser's response to a second-factor login and,
// if it passed, calls OnLogin.
func (h *Handlers) FinishLogin() http.Handler {
	c := h.copy(true)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		userID, _, err := c.user(r)
		if err != nil {
			return err
		}
		body, err := decodeFinish(w, r)
		if err != nil {
			return err
		}
		res, err := c.Service.FinishLogin(r.Context(), body.Ceremony, userID, body.Response)
		if err != nil {
			return err
		}
		return c.loggedIn(w, r, userID, res)
	})
}

// BeginPasskeyLogin answers a request to start a passwordless sign-in.
func (h *Handlers) BeginPasskeyLogin() http.Handler {
	c := h.copy(false)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		id, options, err := c.Service.BeginPasskeyLogin(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, beginAnswer{id, options})
	})
}

// FinishPasskeyLogin checks the browser's response to a passwordless
// sign-in and, if it passed, calls OnLogin with the user the passkey
// belongs to.
func (h *Handlers) FinishPasskeyLogin() http.Handler {
	c := h.copy(false)
	return postOnly(func(w http.ResponseWriter, r *http.Request) error {
		body, err := decodeFinish(w, r)
		if err != nil {
			return err
		}
		userID, res, err := c.Service.FinishPasskeyLogin(r.Context(), body.Ceremony, body.Response)
		if err != nil {
			return err
		}
		return c.loggedIn(w, r, userID, res)
	})
}

// copy checks h, which is a programmer's error if incomplete, and returns a
// copy for one handler.
func (h *Handlers) copy(needUser bool) *Handlers {
	if h.Service == nil {
		panic("webauthn: Handlers.Service is nil")
	}
	if needUser && h.User == nil {
		panic("webauthn: Handlers.User is nil")
	}
	c := *h
	return &c
}

func (h *Handlers) user(r *http.Request) (userID, account string, err error) {
	userID, account, ok := h.User(r)
	if !ok || userID == "" {
		return "", "", errNoUser
	}
	return userID, account, nil
}

func (h *Handlers) loggedIn(w http.ResponseWriter, r *http.Request, userID string, res Result) error {
	answer := loginAnswer{OK: true, UserVerified: res.UserVerified}
	if h.OnLogin == nil {
		return writeJSON(w, http.StatusOK, answer)
	}
	setHeaders(w.Header())
	tw := &trackingWriter{ResponseWriter: w}
	h.OnLogin(tw, r, userID, res)
	if tw.wrote {
		return nil
	}
	return writeJSON(w, http.StatusOK, answer)
}

// trackingWriter notes whether OnLogin answered.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets [net/http.ResponseController] reach the connection.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// postOnly makes a handler of f that only takes POST and answers f's error.
func postOnly(f func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "webauthn: method not allowed")
			return
		}
		if err := f(w, r); err != nil {
			status, msg := classify(err)
			writeError(w, status, msg)
		}
	})
}

// classify gives the status and message answered for err. Messages are
// the sentinels' own, never the wrapped detail, which can quote the
// request.
func classify(err error) (int, string) {
	var re *errRequest
	if errors.As(err, &re) {
		return re.status, re.msg
	}
	for _, e := range []struct {
		err    error
		status int
	}{
		{ErrCeremony, http.StatusForbidden},
		{ErrResponse, http.StatusForbidden},
		{ErrCloned, http.StatusForbidden},
		{ErrModelDenied, http.StatusForbidden},
		{ErrModelNotAllowed, http.StatusForbidden},
		{ErrSyncedRefused, http.StatusForbidden},
		{ErrKeyRefused, http.StatusForbidden},
		{ErrNotEnabled, http.StatusForbidden},
		{ErrDuplicateKey, http.StatusConflict},
		{ErrTooManyKeys, http.StatusConflict},
		{ErrNoKeys, http.StatusNotFound},
		{ErrBadName, http.StatusBadRequest},
		{storage.ErrInvalidUserID, http.StatusBadRequest},
	} {
		if errors.Is(err, e.err) {
			return e.status, e.err.Error()
		}
	}
	return http.StatusInternalServerError, "webauthn: internal error"
}

// decodeRequest reads the request body, one JSON value of at most
// maxBody bytes, into v.
func decodeRequest(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return nil
		}
		if err == nil { // a second value
			return errMalformed
		}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errTooLarge
	}
	return errMalformed
}

// decodeFinish reads a finish request, which must name a ceremony and
// carry a response object.
func decodeFinish(w http.ResponseWriter, r *http.Request) (finishRequest, error) {
	var body finishRequest
	if err := decodeRequest(w, r, &body); err != nil {
		return finishRequest{}, err
	}
	if body.Ceremony == "" || len(body.Response) == 0 || body.Response[0] != '{' {
		return finishRequest{}, errMalformed
	}
	return body, nil
}

func setHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	setHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	// The message is a constant of this package, so this cannot fail.
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	setHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
