package remember_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/storage/memory"
)

// hostile are User-Agent headers (and labels) no store may choke on and no
// page may show as they are.
var hostile = map[string]string{
	"invalid UTF-8":   "Mozilla/5.0 (X11; Linux x86_64) \xff\xfe\xc3 Firefox/133.0",
	"NUL":             "Mozilla/5.0 (Windows NT 10.0)\x00 Chrome/131.0",
	"controls":        "Firefox/1\r\nSet-Cookie: x\x1b[31m\x7f\u0085",
	"bidi override":   "\u202eFirefox/133.0 (Linux)\u202c \u2066evil\u2069 \u200f\u200e\u061c",
	"zero-width":      "Fire\u200bfox\ufeff/133 \u2028\u2029 Linux",
	"1 MB":            strings.Repeat("Safari/605 ", 100<<10),
	"1 MB of é":       strings.Repeat("é", 1<<19),
	"1 MB of NUL":     strings.Repeat("\x00", 1<<20),
	"only controls":   "\x00\x01\u202e\u200b\r\n",
	"surrogate bytes": "\xed\xa0\x80Chrome/1 \xed\xbf\xbf",
}

// checkLabel fails t unless label is what a store keeps and a page shows
// safely: valid UTF-8, no control, format or separator character, at most
// MaxLabel runes, not empty, no spaces at either end.
func checkLabel(t *testing.T, label string) {
	t.Helper()
	if !utf8.ValidString(label) {
		t.Fatalf("label %q is not UTF-8", label)
	}
	if n := utf8.RuneCountInString(label); n == 0 || n > remember.MaxLabel {
		t.Fatalf("label of %d runes: %.80q", n, label)
	}
	if strings.TrimSpace(label) != label || strings.Contains(label, "  ") {
		t.Fatalf("label %q has spaces at an end or in a run", label)
	}
	for _, r := range label {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp) || r == utf8.RuneError {
			t.Fatalf("label %q holds %U", label, r)
		}
	}
}

func TestLabelHostile(t *testing.T) {
	for name, ua := range hostile {
		t.Run(name, func(t *testing.T) { checkLabel(t, remember.Label(ua)) })
	}
}

// Whatever label an application passes, the browser is remembered on
// every store, listed with a clean label, and its token passes.
func TestRememberHostileLabel(t *testing.T) {
	want := map[string]string{
		"NUL":           "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0",
		"controls":      "Firefox/1 Set-Cookie: x[31m",
		"bidi override": "Firefox/133.0 (Linux) evil",
		"zero-width":    "Firefox/133 Linux",
		"1 MB of é":     strings.Repeat("é", remember.MaxLabel),
		"only controls": "Unknown browser",
		"1 MB":          strings.TrimSpace(strings.Repeat("Safari/605 ", 6)[:remember.MaxLabel]),
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
		svc, err := remember.New(remember.Config{Store: store, Now: clock.Now, MaxBrowsers: 100})
		if err != nil {
			t.Fatal(err)
		}
		for name, label := range hostile {
			t.Run(name, func(t *testing.T) {
				user := "u-" + name
				tok, err := svc.Remember(ctx, user, label)
				if err != nil {
					t.Fatalf("remember with label %.40q: %v", label, err)
				}
				if err := svc.Check(ctx, user, tok); err != nil {
					t.Fatalf("check: %v", err)
				}
				list, err := svc.List(ctx, user)
				if err != nil || len(list) != 1 {
					t.Fatalf("list: %v, %v", list, err)
				}
				checkLabel(t, list[0].Label)
				if w, ok := want[name]; ok && list[0].Label != w {
					t.Fatalf("label %q, want %q", list[0].Label, w)
				}
			})
		}
	})
}

// FuzzLabel: any User-Agent gives a clean label, and any label passed to
// Remember is kept clean, never refused by the store.
func FuzzLabel(f *testing.F) {
	for _, ua := range hostile {
		if len(ua) < 1<<10 {
			f.Add(ua)
		}
	}
	f.Add("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
	f.Fuzz(func(t *testing.T, ua string) {
		checkLabel(t, remember.Label(ua))
		clock := fake.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
		svc, err := remember.New(remember.Config{Store: memory.New(), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Remember(ctx, "alice", ua); err != nil {
			t.Fatalf("remember with label %q: %v", ua, err)
		}
		list, err := svc.List(ctx, "alice")
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v, %v", list, err)
		}
		checkLabel(t, list[0].Label)
	})
}
