package tokensession_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/tokensession"
)

// BenchmarkMark is what every guarded request adds: reading the header,
// hashing the token and one look-up of the mark, per token table.
func BenchmarkMark(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tk := be.open(b)
			ctx := context.Background()
			tok, _ := tk.Issue(ctx, "alice")
			if err := tk.SetMark(ctx, tokensession.HashToken(tok), httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: time.Now()}); err != nil {
				b.Fatal(err)
			}
			s := tokensession.New(tk)
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := s.Mark(r); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkFromRequest is the header's share: parsing and SHA-256.
func BenchmarkFromRequest(b *testing.B) {
	tok, _ := tokensession.NewToken()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokensession.FromRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}
