package remember_test

import (
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// FuzzCheckToken gives Check and Forget any string as a cookie's token.
// Nothing panics, and a token passes only when it is, byte for byte, one
// that Remember issued to that user: no other spelling of the same bytes
// (padding, standard alphabet, stray bits in the last character, spaces)
// and no other user's token.
func FuzzCheckToken(f *testing.F) {
	clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	// A seeded random source, so the issued tokens, and the seeds made
	// from them, are the same on every run.
	svc, err := remember.New(remember.Config{Store: memory.New(), Now: clock.Now, Rand: rand.NewChaCha8([32]byte{1})})
	if err != nil {
		f.Fatal(err)
	}
	owner := map[string]string{} // issued token -> its user
	for _, user := range []string{"alice", "alice", "bob"} {
		token, err := svc.Remember(ctx, user, "x")
		if err != nil {
			f.Fatal(err)
		}
		owner[token] = user
	}
	for token := range owner {
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", token[len(token)-1])
		for _, s := range []string{
			token,
			token + "=",
			base64.URLEncoding.EncodeToString(raw),
			base64.StdEncoding.EncodeToString(raw),
			// The same bytes with a stray bit in the last character.
			token[:len(token)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]),
			" " + token,
			token + "\n",
			token[:len(token)-1],
			token + "A",
			strings.ToUpper(token),
		} {
			f.Add("alice", s)
			f.Add("bob", s)
		}
	}
	f.Add("", "")
	f.Add("alice", "\xff\xfe")
	f.Fuzz(func(t *testing.T, user, token string) {
		err := svc.Check(ctx, user, token)
		got, issued := owner[token]
		own := issued && got == user
		switch {
		case err == nil:
			if !own {
				t.Fatalf("Check(%q, %q) passed a token not issued to that user", user, token)
			}
		case own:
			t.Fatalf("Check(%q, its own token) = %v", user, err)
		case storage.CheckUserID(user) != nil:
			if !errors.Is(err, storage.ErrInvalidUserID) {
				t.Fatalf("Check(%q, %q) = %v, want storage.ErrInvalidUserID", user, token, err)
			}
			return
		case !errors.Is(err, remember.ErrNotRemembered):
			t.Fatalf("Check(%q, %q) = %v, want ErrNotRemembered", user, token, err)
		}
		// Forget of a token that is not the user's own forgets nothing.
		if !own {
			if err := svc.Forget(ctx, user, token); err != nil {
				t.Fatalf("Forget(%q, %q) = %v", user, token, err)
			}
			for tok, u := range owner {
				if err := svc.Check(ctx, u, tok); err != nil {
					t.Fatalf("Forget(%q, %q) forgot %s's browser: %v", user, token, u, err)
				}
			}
		}
	})
}
