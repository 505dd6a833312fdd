package gorillasession_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/gorillasession"
)

// BenchmarkMark is what every guarded request adds: reading the mark from
// a request's session cookie, decoded once per request as gorilla's
// registry does.
func BenchmarkMark(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store sessions.Store
	}{
		{"CookieStore", sessions.NewCookieStore(securecookie.GenerateRandomKey(32))},
		{"FilesystemStore", sessions.NewFilesystemStore(b.TempDir(), securecookie.GenerateRandomKey(32))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := gorillasession.New(tc.store, "session")
			w := httptest.NewRecorder()
			if err := s.SetMark(w, httptest.NewRequest("GET", "/", nil), httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: time.Now()}); err != nil {
				b.Fatal(err)
			}
			cookie := w.Result().Cookies()[0]
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(cookie)
				if _, ok, err := s.Mark(r); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
