package apitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/internal/apitest"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "/m/api"}],
  "paths": {
    "/thing": {
      "post": {
        "operationId": "thing",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false, "required": ["n"], "properties": {"n": {"type": "integer"}}}}}},
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false, "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}}}},
          "default": {"description": "problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        }
      }
    }
  },
  "components": {"schemas": {"Problem": {
    "type": "object", "required": ["type", "status"],
    "properties": {"type": {"type": "string"}, "status": {"type": "integer"}}}}}
}`

func TestCheck(t *testing.T) {
	v, err := apitest.New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	jsonH := http.Header{"Content-Type": {"application/json"}}
	problemH := http.Header{"Content-Type": {"application/problem+json"}}
	problem := func(status int) string { return fmt.Sprintf(`{"type":"x","status":%d}`, status) }
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		header                   http.Header
		answer                   string
		ok                       bool
	}{
		{"as described", "POST", "/m/api/thing", `{"n":1}`, 200, jsonH, `{"ok":true}`, true},
		{"answer with a field too many", "POST", "/m/api/thing", `{"n":1}`, 200, jsonH, `{"ok":true,"x":1}`, false},
		{"answer of a wrong type", "POST", "/m/api/thing", `{"n":1}`, 200, jsonH, `{"ok":"yes"}`, false},
		{"answer status not described", "POST", "/m/api/thing", `{"n":1}`, 201, jsonH, `{"ok":true}`, false},
		{"bad request refused", "POST", "/m/api/thing", `{"n":"one"}`, 400, problemH, problem(400), true},
		{"bad request accepted", "POST", "/m/api/thing", `{"n":"one"}`, 200, jsonH, `{"ok":true}`, false},
		{"error not a problem", "POST", "/m/api/thing", `{"n":1}`, 500, jsonH, `{"ok":false}`, false},
		{"problem of another status", "POST", "/m/api/thing", `{"n":1}`, 409, problemH, problem(400), false},
		{"unknown path, problem", "GET", "/m/api/nope", ``, 404, problemH, problem(404), true},
		{"unknown path, not a problem", "GET", "/m/api/nope", ``, 404, http.Header{"Content-Type": {"text/plain"}}, "404", false},
		{"unknown method, answered 200", "GET", "/m/api/thing", ``, 200, jsonH, `{"ok":true}`, false},
		{"outside the mount", "GET", "/other", ``, 200, nil, `anything`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.path, nil)
			if c.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			err := v.Check(r, []byte(c.body), c.status, c.header, []byte(c.answer))
			if (err == nil) != c.ok {
				t.Fatalf("Check: %v, want ok %v", err, c.ok)
			}
		})
	}
	if n := v.Seen()["thing"][200]; n != 4 {
		t.Fatalf("seen %d answers 200 of thing, want 4", n)
	}
}

// recordTB is a testing.TB that records Errorf instead of failing.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// Handler and Transport report a broken exchange on their TB.
func TestWrappers(t *testing.T) {
	v, err := apitest.New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	broken := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":1}`))
	})
	rec := &recordTB{TB: t}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/m/api/thing", strings.NewReader(`{"n":1}`))
	r.Header.Set("Content-Type", "application/json")
	v.Handler(rec, broken).ServeHTTP(w, r)
	if len(rec.errs) != 1 || w.Body.String() != `{"ok":1}` {
		t.Fatalf("Handler: %q, answer %q", rec.errs, w.Body)
	}

	srv := httptest.NewServer(broken)
	defer srv.Close()
	rec = &recordTB{TB: t}
	c := &http.Client{Transport: v.Transport(rec, nil)}
	res, err := c.Post(srv.URL+"/m/api/thing", "application/json", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(rec.errs) != 1 {
		t.Fatalf("Transport: %q", rec.errs)
	}
}
