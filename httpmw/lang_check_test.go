package httpmw_test

import (
	"html"
	"regexp"
	"slices"
	"strings"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// The check that a page in another language has no English left: the
// visible text of a page (and the attributes a person meets: title,
// aria-label, placeholder, alt, an input button's value, and the script's
// data-msg-* messages) is compared with the English messages of the
// catalogue.

var (
	dropped     = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->`)
	tagRe       = regexp.MustCompile(`(?s)<[^>]*>`)
	attrRe      = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9-]*)="([^"]*)"`)
	placeholdRe = regexp.MustCompile(`\{\{[^}]*\}\}`)
	spaces      = regexp.MustCompile(`\s+`)
	twoLetters  = regexp.MustCompile(`\pL\pL`)
)

// visibleText returns the text of page a person sees or hears, one string
// per run of text between tags and per attribute worth reading.
func visibleText(page string) []string {
	page = dropped.ReplaceAllString(page, " ")
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(s), " "))
		if s != "" {
			out = append(out, s)
		}
	}
	last := 0
	for _, loc := range tagRe.FindAllStringIndex(page, -1) {
		add(page[last:loc[0]])
		last = loc[1]
		tag := page[loc[0]:loc[1]]
		isInputButton := strings.HasPrefix(strings.ToLower(tag), "<input") &&
			(strings.Contains(tag, `type="submit"`) || strings.Contains(tag, `type="button"`))
		for _, a := range attrRe.FindAllStringSubmatch(tag, -1) {
			name := strings.ToLower(a[1])
			switch {
			case name == "title", name == "aria-label", name == "placeholder", name == "alt",
				strings.HasPrefix(name, "data-msg-"), name == "value" && isInputButton:
				add(a[2])
			}
		}
	}
	add(page[last:])
	return out
}

// allowed are names that are the same in every language: the product, the
// test application's issuer, methods and brands.
var allowed = []string{"twofa", "Acme", "TOTP", "WebAuthn", "passkey", "Passkey", "PDF", "QR", "UTC", "YubiKey",
	"Google Authenticator", "Microsoft Authenticator", "1Password", "Aegis", "JSON", "API", "HTTP"}

// englishPieces are the literal pieces of English's messages: each form's
// text split at its placeholders, trimmed, those with a word of two
// letters or more that tag's own messages do not hold too ("Browser" is
// English and German) and that are not allowed names.
func englishPieces(c *i18n.Catalogue, tag language.Tag) []string {
	var own strings.Builder
	for _, id := range c.Messages(tag) {
		for _, text := range c.Source(tag, id) {
			own.WriteString(text)
			own.WriteByte('\n')
		}
	}
	ownText := own.String()
	seen := map[string]bool{}
	var pieces []string
	for _, id := range c.Messages(language.English) {
		for _, text := range c.Source(language.English, id) {
			for _, p := range placeholdRe.Split(text, -1) {
				p = strings.TrimSpace(p)
				if seen[p] || !twoLetters.MatchString(p) || strings.Contains(ownText, p) || slices.Contains(allowed, p) {
					continue
				}
				seen[p] = true
				pieces = append(pieces, p)
			}
		}
	}
	return pieces
}

// englishLeft returns the texts of texts that hold an English piece: a
// text that is one, or that holds one of two words or more.
func englishLeft(pieces, texts []string) []string {
	var left []string
	for _, s := range texts {
		if slices.Contains(allowed, s) {
			continue
		}
		for _, p := range pieces {
			if s == p || strings.Contains(p, " ") && strings.Contains(s, p) {
				left = append(left, s+"  [English: "+p+"]")
				break
			}
		}
	}
	return left
}
