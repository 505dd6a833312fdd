package tokensession_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw/tokensession"
)

// FromRequest never panics; what it accepts is "Bearer", spaces and a
// token68 of at most MaxTokenLen bytes, hashed; what it refuses is one of
// its three errors.
func FuzzFromRequest(f *testing.F) {
	for _, s := range []string{"Bearer mF_9.B5f-4.1JqM", "bearer abc==", "BEARER  x", "Bearer", "Bearer ", "Basic YWxp", "Bearer a b", "Bearer =", "Bearer \xff", "Bearer \u212a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{v}
		h, err := tokensession.FromRequest(r)
		if err != nil {
			if !errors.Is(err, tokensession.ErrMalformedToken) && !errors.Is(err, tokensession.ErrTokenTooLong) {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
			t.Fatalf("%q accepted without the Bearer scheme", v)
		}
		token := strings.TrimLeft(v[7:], " ")
		if token == "" || len(token) > tokensession.MaxTokenLen || strings.ContainsAny(token, " \t,;\"\\") || strings.TrimRight(token, "=") == "" {
			t.Fatalf("%q accepted", v)
		}
		if h != tokensession.HashToken(token) {
			t.Fatalf("%q: the hash is not the token's", v)
		}
	})
}
