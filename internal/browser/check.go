package browser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// layoutJS lists what is wrong with the layout of the page as drawn: every
// box of text or form control that sticks out of the viewport, and every
// two pieces of text that are drawn over each other. Text is measured per
// line box (Range.getClientRects), so two words of one paragraph never
// count, and form controls by their own box; text clipped to a pixel, for
// screen readers only, is not drawn and not counted. A box inside a scrolling
// container (a wide table's wrapper) is judged by the container instead.
const layoutJS = `(() => {
  const vw = document.documentElement.clientWidth;
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (el.classList.length) s += "." + [...el.classList].join(".");
    return s;
  };
  const scrolls = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if ((o === "auto" || o === "scroll") && e !== el) return e;
    }
    return null;
  };
  // Text in a box clipped to a pixel or less is for screen readers only
  // (the usual "visually hidden" pattern): nobody sees it.
  const unseen = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const cs = getComputedStyle(e), r = e.getBoundingClientRect();
      if ((cs.overflow === "hidden" || cs.clip !== "auto") && (r.width <= 1 || r.height <= 1)) return true;
    }
    return false;
  };
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (unseen(el)) continue;
    const r = document.createRange();
    r.selectNodeContents(n);
    for (const b of r.getClientRects()) {
      if (b.width < 1 || b.height < 1) continue;
      boxes.push({node: n, el, b, what: name(el) + " " + JSON.stringify(n.textContent.trim().slice(0, 30))});
    }
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, img")) {
    const b = el.getBoundingClientRect();
    if (b.width < 1 || b.height < 1) continue;
    boxes.push({node: el, el, b, what: name(el)});
  }
  const problems = [];
  const wide = new Set();
  for (const x of boxes) {
    const s = scrolls(x.el);
    const b = s ? s.getBoundingClientRect() : x.b;
    const what = s ? name(s) : x.what;
    if ((b.left < -0.5 || b.right > vw + 0.5) && !wide.has(what)) {
      wide.add(what);
      problems.push(what + " reaches from " + Math.round(b.left) + " to " + Math.round(b.right) + " px, past the viewport of " + vw);
    }
  }
  if (document.documentElement.scrollWidth > vw + 0.5) {
    problems.push("the page is " + document.documentElement.scrollWidth + " px wide, the viewport " + vw);
  }
  const inside = (a, b) => a.node !== b.node && (a.node.contains && a.node.contains(b.node));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.node === b.node || inside(a, b) || inside(b, a)) continue;
      const w = Math.min(a.b.right, b.b.right) - Math.max(a.b.left, b.b.left);
      const h = Math.min(a.b.bottom, b.b.bottom) - Math.max(a.b.top, b.b.top);
      if (w > 1 && h > 1) problems.push(a.what + " overlaps " + b.what);
    }
  }
  return problems;
})()`

// Layout returns what is wrong with the layout of the page in the tab of
// ctx, as sentences: text or form controls wider than the viewport, and
// text drawn over other text. None means the page reads as drawn.
func Layout(ctx context.Context) ([]string, error) {
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutJS))
	if err != nil {
		return nil, fmt.Errorf("browser: layout: %w", err)
	}
	return problems, nil
}

// AxeEnv names the environment variable holding the path of axe-core's
// axe.min.js (npm package axe-core), which .ci/run installs.
const AxeEnv = "TWOFA_AXE"

// AxeSource returns the text of axe.min.js, named by TWOFA_AXE. Without it
// the test fails when CI=true; on a developer's machine AxeSource logs that
// the accessibility check is skipped and returns "", so that the rest of a
// browser walk (and its screenshots) still runs.
func AxeSource(t testing.TB) string {
	t.Helper()
	path := os.Getenv(AxeEnv)
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must install axe-core (.ci/run)", AxeEnv)
		}
		t.Logf("%s is not set: no accessibility check (npm install --no-save --prefix DIR axe-core@4.14.1, then %s=DIR/node_modules/axe-core/axe.min.js)", AxeEnv, AxeEnv)
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", AxeEnv, err)
	}
	return string(b)
}

// axeRunJS runs axe on the whole page for WCAG 2.1 A and AA and returns
// one line per element of each violation.
const axeRunJS = `(async () => {
  const res = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  const out = [];
  for (const v of res.violations) {
    for (const n of v.nodes) {
      out.push(v.id + " (" + v.impact + "): " + v.help + ": " + n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "));
    }
  }
  return out;
})()`

// Axe runs axe-core (its source from AxeSource) on the page in the tab of
// ctx and returns the violations of WCAG 2.1 levels A and AA, one line per
// element: the rule, its help and the element's selector.
func Axe(ctx context.Context, source string) ([]string, error) {
	// The source is evaluated through the DevTools protocol, which the
	// page's Content-Security-Policy does not govern.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	if err != nil {
		return nil, fmt.Errorf("browser: axe: %w", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](source)); err != nil {
			return nil, fmt.Errorf("browser: load axe: %w", err)
		}
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browser: run axe: %w", err)
	}
	return v, nil
}

// Focused returns a description of the element that has the keyboard's
// focus: its id, or its tag and text.
func Focused(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  return el.id || el.tagName.toLowerCase() + " " + JSON.stringify((el.textContent || el.value || "").trim().slice(0, 30));
})()`))
}

// TabTo presses Tab until the element with the given id has the focus, at
// most max times, as a person moving through the page with the keyboard
// does. It fails when the element is not reached.
func TabTo(ctx context.Context, id string, max int) error {
	var seen []string
	for range max {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			return fmt.Errorf("browser: tab to #%s: %w", id, err)
		}
		f, err := Focused(ctx)
		if err != nil {
			return fmt.Errorf("browser: tab to #%s: %w", id, err)
		}
		if f == id {
			return nil
		}
		seen = append(seen, f)
	}
	return fmt.Errorf("browser: #%s not reached with %d presses of Tab; the focus went through %s", id, max, strings.Join(seen, ", "))
}
