package httpmw_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
)

// snapshot is all a request could change for user: the account view with
// its security log, and the sessions renewed.
func (a *app) snapshot(user string) string {
	a.t.Helper()
	acc, err := a.tf.Account(ctx, user)
	if err != nil {
		a.t.Fatal(err)
	}
	log, err := a.tf.Activity(ctx, user, 100)
	if err != nil {
		a.t.Fatal(err)
	}
	acc.Throttle = nil // an error value; LockIn counts the failures
	raw, _ := json.Marshal(struct {
		Acc    any
		Log    any
		Renews int
	}{acc, log, a.renewCount()})
	return string(raw)
}

// Bad input of every shape, on every route that takes a body, from a user
// the settings are open to: each is a problem, and changes nothing.
func TestAPIBadInput(t *testing.T) {
	a := newApp(t)
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "verify", nil)

	// A body of the right shape but one field of the wrong type, per route.
	wrongType := map[string]string{
		"verify":       `{"code": 123456}`,
		"totp/confirm": `{"code": ["123456"]}`,
		"keys/begin":   `{"name": 7}`,
		"keys/{id}":    `{"name": false}`,
		"key/finish":   `{"ceremony": 1, "response": {}}`,
		"keys/finish":  `{"ceremony": "c", "response": "r"}`,
	}
	huge := `{"code": "` + strings.Repeat("1", httpmw.MaxJSONBody) + `"}`
	before := a.snapshot("alice")
	n := 0
	for _, rt := range httpmw.APIRoutes(a.mw) {
		if rt.Method != "POST" && rt.Method != "PATCH" {
			continue
		}
		rel := strings.TrimPrefix(rt.Path, "/2fa/api/")
		path := strings.NewReplacer("{id}", "nope", "{method}", "totp").Replace(rel)
		wrong, input := wrongType[rel]
		if !input {
			wrong = `[]`
		}
		cases := []struct {
			name, body, contentType, typ string
			status                       int
		}{
			{"wrong content type", `{}`, "text/plain", httpmw.ProblemBadRequest, http.StatusUnsupportedMediaType},
			{"form", `code=123456`, "application/x-www-form-urlencoded", httpmw.ProblemBadRequest, http.StatusUnsupportedMediaType},
			{"no content type", `{}`, "", httpmw.ProblemBadRequest, http.StatusUnsupportedMediaType},
			{"two values", `{}{}`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"value and garbage", `{} x`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"unknown field", `{"zzz": 1}`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			// encoding/json would take "Code" for "code": the API does not.
			{"field in another case", `{"Code": "1", "NAME": "k", "Ceremony": "c"}`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"wrong type", wrong, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"not an object", `"123456"`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"null", `null`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"broken JSON", `{"code": "12`, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"not UTF-8", "{\"code\": \"\xff\xfe\"}", "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest},
			{"huge", huge, "application/json", httpmw.ProblemTooLarge, http.StatusRequestEntityTooLarge},
		}
		if input {
			cases = append(cases, struct {
				name, body, contentType, typ string
				status                       int
			}{"empty", ``, "application/json", httpmw.ProblemBadRequest, http.StatusBadRequest})
		}
		for _, c := range cases {
			if c.name == "not UTF-8" && !input {
				continue // a string of a route without fields is an unknown field's
			}
			t.Run(rt.Method+" "+rel+"/"+c.name, func(t *testing.T) {
				got := b.call(rt.Method, path, c.body, "Content-Type", c.contentType)
				if c.name == "not UTF-8" {
					// encoding/json takes invalid UTF-8 in a string as
					// U+FFFD: the route answers as to any other value.
					if got.status < 400 || got.header.Get("Content-Type") != "application/problem+json" {
						t.Fatalf("%d %s, want a problem", got.status, got.body)
					}
					return
				}
				got.problem(t, c.name, c.typ, c.status)
				if sc := got.header.Values("Set-Cookie"); len(sc) != 0 {
					t.Fatalf("bad input set cookies: %v", sc)
				}
				n++
			})
		}
	}
	if n < 60 {
		t.Fatalf("only %d cases ran", n)
	}
	if after := a.snapshot("alice"); after != before {
		t.Fatalf("bad input changed alice:\nbefore %s\nafter  %s", before, after)
	}
	// The session is as it was: still past the second step.
	b.call("GET", "account", nil).ok(t, "account", nil)
}

// Paths and methods the API does not serve are problems too.
func TestAPIUnknownRoutes(t *testing.T) {
	a := newApp(t)
	b := a.browser()
	b.login("alice")
	b.call("GET", "nope", nil).problem(t, "no route", httpmw.ProblemNotFound, http.StatusNotFound)
	got := b.call("GET", "verify", nil)
	got.problem(t, "GET verify", httpmw.ProblemBadRequest, http.StatusMethodNotAllowed)
	if got.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", got.header.Get("Allow"))
	}
	b.call("PUT", "keys/x", `{}`).problem(t, "PUT key", httpmw.ProblemBadRequest, http.StatusMethodNotAllowed)
	// A GET's body is not read.
	b.call("GET", "challenge", strings.Repeat("x", 2*httpmw.MaxJSONBody)).ok(t, "GET with a body", nil)
}
