package scssession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/scssession"
)

// BenchmarkMark is what every guarded request adds: reading the mark from
// a loaded session.
func BenchmarkMark(b *testing.B) {
	sessions := scs.New()
	s := scssession.New(sessions)
	h := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetMark(w, r, httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.Mark(r); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
