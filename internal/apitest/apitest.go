// Package apitest holds twofa's JSON API to its OpenAPI document in tests:
// a Validator checks every request a test sends under the API's mount and
// every answer it gets against the document (github.com/getkin/kin-openapi),
// so that a change breaking the contract fails the tests that see it.
//
// The rules it applies to each exchange:
//   - the answer must be one the document describes for the route, status
//     and content type, with a body its schema accepts;
//   - a request the document does not accept (bad input, on purpose) must
//     be answered a problem (application/problem+json, 4xx);
//   - a path the document does not have must be answered a problem too.
//
// Wrap a test client's transport with [Validator.Transport], or a handler
// with [Validator.Handler].
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks exchanges against one OpenAPI document. It is safe for
// concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	prefix string // the server's path: the API's mount

	mu   sync.Mutex
	seen map[string]map[int]int // operation ID → status → count
}

// New loads and validates doc, an OpenAPI 3.1 document whose first server
// is a path (as the API serves it: Config.Path+"api").
func New(doc []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: load: %w", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apitest: invalid document: %w", err)
	}
	if len(t.Servers) == 0 || !strings.HasPrefix(t.Servers[0].URL, "/") {
		return nil, fmt.Errorf("apitest: the document's first server is not a path")
	}
	router, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("apitest: router: %w", err)
	}
	return &Validator{doc: t, router: router, prefix: t.Servers[0].URL, seen: map[string]map[int]int{}}, nil
}

// Doc returns the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Seen returns, per operation ID, the statuses answered and how often.
func (v *Validator) Seen() map[string]map[int]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]map[int]int{}
	for op, st := range v.seen {
		out[op] = map[int]int{}
		for s, n := range st {
			out[op][s] = n
		}
	}
	return out
}

// Check validates one exchange: req with its body reqBody, answered
// status, header and body. It returns every way in which the exchange
// breaks the document, or nil. A request outside the API's mount, or for
// the document itself, is not checked.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	path := req.URL.Path
	if path != v.prefix && !strings.HasPrefix(path, v.prefix+"/") || path == v.prefix+"/openapi.json" {
		return nil
	}
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	// The router matches on the URL's path; a test request may carry a
	// host of its own (a test server's), which the relative server allows.
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		// No route in the document (no such path, or method): the answer
		// must be a problem.
		if err := v.problem(status, header, body); err != nil {
			return fmt.Errorf("%s %s, a route the document does not have: %w", req.Method, path, err)
		}
		return nil
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	var errs []error
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("answer %d: %w", status, err))
	}
	if reqErr != nil {
		// Bad input, sent on purpose: it must be refused with a problem.
		if err := v.problem(status, header, body); err != nil {
			errs = append(errs, fmt.Errorf("a request the document refuses (%v) was answered %d: %w", firstLine(reqErr), status, err))
		}
	}
	if status >= 400 {
		if err := v.problem(status, header, body); err != nil {
			errs = append(errs, err)
		}
	}
	v.mu.Lock()
	if v.seen[route.Operation.OperationID] == nil {
		v.seen[route.Operation.OperationID] = map[int]int{}
	}
	v.seen[route.Operation.OperationID][status]++
	v.mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("%s %s: %w", req.Method, path, joinErrs(errs))
	}
	return nil
}

// problem checks an answer that must be a problem: a 4xx or 5xx, of type
// application/problem+json, with a body the Problem schema accepts and the
// answer's own status in it.
func (v *Validator) problem(status int, header http.Header, body []byte) error {
	if status < 400 {
		return fmt.Errorf("status %d, want a problem (4xx or 5xx)", status)
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || mt != "application/problem+json" {
		return fmt.Errorf("content type %q, want application/problem+json", header.Get("Content-Type"))
	}
	ref := v.doc.Components.Schemas["Problem"]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the document has no Problem schema")
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("problem body is not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(val, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	if m, _ := val.(map[string]any); m["status"] != float64(status) {
		return fmt.Errorf("problem status %v, answered %d", m["status"], status)
	}
	return nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func joinErrs(errs []error) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return fmt.Errorf("%s", b.String())
}

// Transport returns next (http.DefaultTransport if nil) with every
// exchange checked: a broken one fails t.
func (v *Validator) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			var err error
			if reqBody, err = io.ReadAll(req.Body); err != nil {
				return nil, err
			}
			req.Body.Close()
			req = req.Clone(req.Context())
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		res, err := next.RoundTrip(req)
		if err != nil {
			return res, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(req, reqBody, res.StatusCode, res.Header, body); err != nil {
			t.Errorf("apitest: %v", err)
		}
		return res, nil
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Handler returns next with every exchange checked: a broken one fails t.
func (v *Validator) Handler(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if err := v.Check(r, reqBody, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Errorf("apitest: %v", err)
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = slices.Clone(vs)
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}
