package remember

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLabel is the longest label a remembered browser keeps, in characters
// (runes, not bytes): "Samsung Internet on ChromeOS" and some room.
const MaxLabel = 64

// unknownLabel labels a browser whose User-Agent names nothing we know, or
// a label that is empty once cleaned.
const unknownLabel = "Unknown browser"

// Label names the browser and system of a User-Agent header for the user's
// list of remembered browsers: "Firefox on Linux", "Safari on iOS". It is a
// hint for people, not an identity: the header is whatever the browser
// sends. The label is built from a fixed vocabulary, never from the
// header's own text, so whatever the header holds (bytes that are not
// UTF-8, NUL, controls, bidi overrides, a megabyte) the label is short,
// valid UTF-8 text that every store accepts.
func Label(userAgent string) string {
	browser, system := "", ""
	// Order matters: Edge and Opera also say Chrome, Chrome also says
	// Safari, and Android also says Linux.
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"},
	} {
		if strings.Contains(userAgent, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range []struct{ token, name string }{
		{"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(userAgent, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return unknownLabel
}

// cleanLabel makes label fit for the store and for a page: bytes that are
// not UTF-8, controls (NUL, line breaks), format characters (bidi
// overrides and isolates, zero-width characters) and line or paragraph
// separators are dropped, runs of spaces become one, and what is left is
// cut to MaxLabel runes. An application may pass Remember a label of its
// own, or the raw User-Agent; the store refuses text that is not UTF-8 or
// holds a NUL, and a bidi override would turn the list around.
func cleanLabel(label string) string {
	var b strings.Builder
	n, space := 0, false
	for i := 0; i < len(label) && n < MaxLabel; {
		r, size := utf8.DecodeRuneInString(label[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp) || r == utf8.RuneError:
			continue
		}
		if space {
			if n++; n == MaxLabel {
				break
			}
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if b.Len() == 0 {
		return unknownLabel
	}
	return b.String()
}
