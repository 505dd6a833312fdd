package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twofa-go/twofa/internal/browser"
)

// A page with every fault the checks look for, each marked by an id, and a
// page with none.
const (
	badPage = `<!doctype html><html lang="en"><title>faults</title>
<style>
  #wide { white-space: nowrap; }
  .stack { position: relative; height: 2em; }
  .stack span { position: absolute; left: 0; top: 0; }
  #faint { color: #ddd; background: #fff; }
</style>
<main>
<p id="wide">A line of words that does not wrap, and is wider than the screen of a phone.</p>
<div class="stack"><span id="under">1234567890</span><span id="over">abcdefghij</span></div>
<p id="faint">Text too faint to read.</p>
<input id="nolabel">
</main>`
	goodPage = `<!doctype html><html lang="en"><title>fine</title>
<main><h1>Fine</h1><p>Short words.</p><label for="x">Name</label> <input id="x"></main>`
)

func TestChecks(t *testing.T) {
	axe := browser.AxeSource(t)
	if axe == "" {
		t.Skip("no axe-core")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, badPage) })
	mux.HandleFunc("GET /good", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, goodPage) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		page string
		// each want is found in some line of what Layout or Axe returns
		layout, axe []string
	}{
		{page: "/bad", layout: []string{"p#wide", "page is", `span#under "1234567890" overlaps span#over`}, axe: []string{"color-contrast", "#faint", "label", "#nolabel"}},
		{page: "/good"},
	} {
		t.Run(tc.page, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.page)); err != nil {
				t.Fatal(err)
			}
			layout, err := browser.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			violations, err := browser.Axe(ctx, axe)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []string) {
				t.Helper()
				all := strings.Join(got, "\n")
				for _, w := range want {
					if !strings.Contains(all, w) {
						t.Errorf("%s: no %q in:\n%s", what, w, all)
					}
				}
				if len(want) == 0 && len(got) > 0 {
					t.Errorf("%s of a page without faults:\n%s", what, all)
				}
			}
			check("layout", layout, tc.layout)
			check("axe", violations, tc.axe)
		})
	}
}

// TestTabTo moves the focus with the keyboard alone, and says where it went
// when the element is not reached.
func TestTabTo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>keys</title><a href="#" id="one">one</a> <button id="two">two</button> <input id="three" aria-label="three"> <span id="four">not focusable</span>`)
	}))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if err := browser.TabTo(ctx, "three", 5); err != nil {
		t.Fatal(err)
	}
	err := browser.TabTo(ctx, "four", 4)
	if err == nil || !strings.Contains(err.Error(), "#four not reached") {
		t.Fatalf("tab to an element that takes no focus: %v", err)
	}
}
