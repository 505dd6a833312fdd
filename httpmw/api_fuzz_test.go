package httpmw_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/apitest"
	"github.com/twofa-go/twofa/storage/memory"
)

// FuzzAPI sends arbitrary bodies to every API route that takes one, from
// a session past the second step (the settings open), with a content type
// of the fuzzer's choice. Nothing panics, nothing answers 5xx (the store
// and clock work), and every answer is one the API's document describes:
// a request the document refuses is answered a problem.
func FuzzAPI(f *testing.F) {
	rig := newVerifyRig(f, memory.New())
	var routes []httpmw.Route
	for _, rt := range httpmw.APIRoutes(rig.mw) {
		if rt.Method == "POST" || rt.Method == "PATCH" {
			rt.Path = strings.NewReplacer("{id}", "AAAA", "{method}", "totp").Replace(rt.Path)
			routes = append(routes, rt)
		}
	}
	v, err := apitest.New(rig.mw.OpenAPI())
	if err != nil {
		f.Fatal(err)
	}
	// Past the second step: the mark's cookie, from a verify.
	r := httptest.NewRequest("POST", "https://example.com/2fa/api/verify", strings.NewReader(`{"code":"`+rig.next(f)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		f.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	cookies := w.Result().Cookies()

	for i := range routes {
		for _, body := range []string{`{}`, `{"code":"123456"}`, `{"code":"abcde-fghij","remember":true}`, `{"name":"YubiKey"}`,
			`{"ceremony":"x","response":{"id":"AA"}}`, `{"code":1}`, `{}{}`, `[]`, `null`, ``} {
			f.Add(uint8(i), "application/json", []byte(body))
		}
	}
	f.Add(uint8(0), "text/plain", []byte(`{"code":"123456"}`))
	f.Add(uint8(0), "application/json; charset=utf-16", []byte("\xff\xfe{\x00}\x00"))

	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		rt := routes[int(route)%len(routes)]
		r := httptest.NewRequest(rt.Method, "https://example.com"+rt.Path, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		rig.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", rt.Method, rt.Path, w.Code, w.Body)
		}
		check := httptest.NewRequest(rt.Method, rt.Path, nil)
		check.Header = r.Header.Clone()
		res, _ := io.ReadAll(w.Body)
		if err := v.Check(check, body, w.Code, w.Header(), res); err != nil {
			t.Fatal(err)
		}
	})
}
