package twofa_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage/memory"
)

// Config.RememberMax reaches remember: a user keeps that many browsers,
// the least recently used forgotten first; unset, remember's default
// holds; a value remember refuses fails New.
func TestRememberMax(t *testing.T) {
	for _, c := range []struct {
		name     string
		max, now int // configured, kept
	}{
		{"3", 3, 3},
		{"1", 1, 1},
		{"default", 0, remember.DefaultMaxBrowsers},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, memory.New(), func(cfg *twofa.Config) { cfg.RememberMax = c.max })
			var tokens []string
			for i := range c.now + 1 {
				tok, err := f.tf.Browsers.Remember(ctx, "u", fmt.Sprintf("browser %d", i))
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, tok)
				f.now = f.now.Add(time.Second)
			}
			a, err := f.tf.Account(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Browsers) != c.now {
				t.Fatalf("%d browsers remembered, want %d", len(a.Browsers), c.now)
			}
			if err := f.tf.Browsers.Check(ctx, "u", tokens[0]); !errors.Is(err, remember.ErrNotRemembered) {
				t.Fatalf("the least recently used browser: %v, want ErrNotRemembered", err)
			}
			if err := f.tf.Browsers.Check(ctx, "u", tokens[len(tokens)-1]); err != nil {
				t.Fatalf("the newest browser: %v", err)
			}
		})
	}
	for _, bad := range []int{-1, 1001} {
		cfg := twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring(t), RememberMax: bad}
		if _, err := twofa.New(cfg); err == nil || !strings.Contains(err.Error(), "MaxBrowsers") {
			t.Errorf("RememberMax %d: %v", bad, err)
		}
	}
	// The same configuration with a valid value is accepted: the refusal
	// above is RememberMax's.
	if _, err := twofa.New(twofa.Config{Issuer: "Acme", Store: memory.New(), Keys: ring(t), RememberMax: 1000}); err != nil {
		t.Fatal(err)
	}
}

func ring(t *testing.T) *keyring.Ring {
	key, _ := keyring.NewKey("k1")
	r, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
