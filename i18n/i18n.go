// Package i18n speaks twofa's pages, problems, mails and printouts in the
// user's language.
//
// A Catalogue holds the messages of every language; Match picks the
// language for a request (the application's choice first, then
// Accept-Language); a Printer says messages, dates and numbers in one
// language. Default returns the shipped catalogue: English, German, French,
// Spanish and Ukrainian.
//
// # File format
//
// Messages are JSON files in the format of github.com/nicksnyder/go-i18n:
// one object per file, message id to text, or to an object of CLDR plural
// forms ("one", "few", "many", "other") for a message that counts. The
// language is in the file's name, area.lang.json (pages.de.json,
// mail.pt-BR.json). We chose it because translators already work in it:
// Weblate, Crowdin and Lokalise read and write these files, a plain text
// editor is enough, and the plural forms are CLDR's, so a language such as
// Ukrainian gets its one, few and many.
//
// Placeholders are Go template fields, {{.Name}}; the text is plain (the
// pages' templates escape it). "Count" chooses the plural form.
//
// # Adding a language or changing a message
//
// New loads the shipped files, then the application's over them: a file for
// a language the catalogue lacks adds it, and any message in a file
// replaces the shipped one of that id, for that language alone. Messages a
// new language lacks are said in English.
package i18n

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed catalogue/*.json
var shipped embed.FS

// Errors New returns, wrapped with the file and the reason.
var (
	// ErrBadFile is a catalogue file that cannot be read or parsed, names
	// no language, or holds a message whose template does not parse.
	ErrBadFile = errors.New("i18n: bad catalogue file")
	// ErrNoFiles is a pattern that matches no file, or patterns without a
	// file system.
	ErrNoFiles = errors.New("i18n: no catalogue files")
)

// MaxFileSize bounds one catalogue file; the shipped ones are a few
// kilobytes.
const MaxFileSize = 1 << 20

// Bounds of Match's input: an Accept-Language header longer than this is cut
// at its last complete entry before the bound, and preferences past
// maxPrefs are ignored. Browsers send well under 200 bytes.
const (
	maxPrefLen = 512
	maxPrefs   = 8
)

// Catalogue is the messages of every language. It is safe for concurrent
// use; it does not change after New.
type Catalogue struct {
	bundle   *goi18n.Bundle
	tags     []language.Tag // English first
	matcher  language.Matcher
	ids      map[language.Tag]map[string]*goi18n.Message
	plain    map[*goi18n.Message]bool   // messages whose text is said as it is
	fileIDs  map[string]map[string]bool // while loading: the ids of each file
	printers map[language.Tag]*Printer
}

var defaultCatalogue = sync.OnceValue(func() *Catalogue {
	c, err := New(nil)
	if err != nil {
		// The shipped files are checked by the package's tests.
		panic(err)
	}
	return c
})

// Default returns the shipped catalogue: en, de, fr, es and uk.
func Default() *Catalogue { return defaultCatalogue() }

// New returns a catalogue of the shipped files and then the files of fsys
// that patterns (fs.Glob patterns) match, in order, each over those before
// it: a file adds its language, or replaces the messages it has. Each
// pattern must match at least one file.
func New(fsys fs.FS, patterns ...string) (*Catalogue, error) {
	return newCatalogue(shipped, fsys, patterns...)
}

// newCatalogue is New with the shipped files taken from base.
func newCatalogue(base, fsys fs.FS, patterns ...string) (*Catalogue, error) {
	c := &Catalogue{bundle: goi18n.NewBundle(language.English), ids: map[language.Tag]map[string]*goi18n.Message{},
		plain: map[*goi18n.Message]bool{}}
	names, err := fs.Glob(base, "catalogue/*.json")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	// The shipped areas (pages, mail, pdf) are written by different
	// hands: an id in two of them would be one area's text shown in the
	// other.
	from := map[language.Tag]map[string]string{}
	for _, name := range names {
		if err := c.load(base, name); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		tag, _ := language.Parse(strings.Split(path.Base(name), ".")[1])
		if from[tag] == nil {
			from[tag] = map[string]string{}
		}
		for id := range c.fileIDs[name] {
			if other, ok := from[tag][id]; ok {
				return nil, fmt.Errorf("%w: %s: message %q is also in %s", ErrBadFile, name, id, other)
			}
			from[tag][id] = name
		}
	}
	c.fileIDs = nil
	if len(patterns) > 0 && fsys == nil {
		return nil, fmt.Errorf("%w: patterns %q without a file system", ErrNoFiles, patterns)
	}
	for _, pat := range patterns {
		names, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, fmt.Errorf("%w: pattern %q: %v", ErrNoFiles, pat, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: pattern %q matches no file", ErrNoFiles, pat)
		}
		for _, name := range names {
			if err := c.load(fsys, name); err != nil {
				return nil, err
			}
		}
	}
	c.tags = []language.Tag{language.English}
	for tag := range c.ids {
		if tag != language.English {
			c.tags = append(c.tags, tag)
		}
	}
	slices.SortFunc(c.tags[1:], func(a, b language.Tag) int { return strings.Compare(a.String(), b.String()) })
	c.matcher = language.NewMatcher(c.tags)
	c.printers = make(map[language.Tag]*Printer, len(c.tags))
	for _, tag := range c.tags {
		c.printers[tag] = c.newPrinter(tag)
	}
	return c, nil
}

// load adds one file's messages.
func (c *Catalogue) load(fsys fs.FS, name string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadFile, name, fmt.Sprintf(format, a...))
	}
	base := path.Base(name)
	parts := strings.Split(base, ".")
	if len(parts) < 3 || parts[len(parts)-1] != "json" {
		return bad("the name is not area.language.json")
	}
	tag, err := language.Parse(parts[len(parts)-2])
	if err != nil || tag == language.Und {
		return bad("%q is not a language tag", parts[len(parts)-2])
	}
	f, err := fsys.Open(name)
	if err != nil {
		return bad("%v", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return bad("%v", err)
	}
	if len(buf) > MaxFileSize {
		return bad("larger than %d bytes", MaxFileSize)
	}
	// go-i18n names the language from the last two dots of the path; give
	// it the base name with the tag we parsed, in its canonical spelling.
	mf, err := goi18n.ParseMessageFileBytes(buf, parts[0]+"."+tag.String()+".json", nil)
	if err != nil {
		return bad("%v", err)
	}
	for _, m := range mf.Messages {
		for _, form := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
			if form == "" {
				continue
			}
			if _, err := template.New(m.ID).Delims(m.LeftDelim, m.RightDelim).Parse(form); err != nil {
				return bad("message %q: %v", m.ID, err)
			}
		}
		if m.Other == "" {
			return bad("message %q has no text (or no \"other\" form)", m.ID)
		}
	}
	if err := c.bundle.AddMessages(tag, mf.Messages...); err != nil {
		return bad("%v", err)
	}
	if c.ids[tag] == nil {
		c.ids[tag] = map[string]*goi18n.Message{}
	}
	if c.fileIDs == nil {
		c.fileIDs = map[string]map[string]bool{}
	}
	c.fileIDs[name] = map[string]bool{}
	for _, m := range mf.Messages {
		c.fileIDs[name][m.ID] = true
		c.ids[tag][m.ID] = m
		if m.Zero == "" && m.One == "" && m.Two == "" && m.Few == "" && m.Many == "" && !strings.Contains(m.Other, cmp.Or(m.LeftDelim, "{{")) {
			c.plain[m] = true
		}
	}
	return nil
}

// Languages returns the catalogue's languages, English first.
func (c *Catalogue) Languages() []language.Tag { return slices.Clone(c.tags) }

// Messages returns the ids of the messages the catalogue has in tag's own
// files (not those said in English for it), sorted.
func (c *Catalogue) Messages(tag language.Tag) []string {
	ids := make([]string, 0, len(c.ids[tag]))
	for id := range c.ids[tag] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Source returns the text of message id in tag exactly as its file has it,
// placeholders unfilled, one entry per plural form the file gives ("other"
// for a message that does not count); nil if tag's files lack it. It is for
// checks of a catalogue's completeness and of pages for untranslated text.
func (c *Catalogue) Source(tag language.Tag, id string) map[string]string {
	m := c.ids[tag][id]
	if m == nil {
		return nil
	}
	forms := map[string]string{}
	for form, text := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if text != "" {
			forms[form] = text
		}
	}
	return forms
}

// Match returns the catalogue's language for the first of prefs that names
// one it has. Each pref is a language tag ("de", "pt-BR") or an
// Accept-Language value ("de-CH,de;q=0.9,en;q=0.8"); empty ones are
// skipped. Without a match, English. Input is bounded: a pref is read to
// its first 512 bytes, and at most 8 prefs are read.
func (c *Catalogue) Match(prefs ...string) language.Tag {
	for i, pref := range prefs {
		if i == maxPrefs {
			break
		}
		pref = strings.TrimSpace(pref)
		if pref == "" {
			continue
		}
		if len(pref) > maxPrefLen {
			pref = pref[:maxPrefLen]
			if j := strings.LastIndexByte(pref, ','); j >= 0 {
				pref = pref[:j]
			}
		}
		tags := parsePref(pref)
		if len(tags) == 0 {
			continue
		}
		if _, index, conf := c.matcher.Match(tags...); conf > language.No {
			return c.tags[index]
		}
	}
	return language.English
}

// maxEntries bounds the entries of an Accept-Language header read one by
// one.
const maxEntries = 32

// parsePref returns the languages of an Accept-Language value or a tag,
// most wanted first. x/text refuses a whole header for one entry it
// refuses ("en-XX", "x-klingon"); the entries are then read one by one,
// and those it takes kept, in the order of their weights.
func parsePref(pref string) []language.Tag {
	if tags, _, err := language.ParseAcceptLanguage(pref); err == nil {
		return tags
	}
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var all []weighted
	for i, entry := range strings.Split(pref, ",") {
		if i == maxEntries {
			break
		}
		tags, q, err := language.ParseAcceptLanguage(entry)
		if err == nil && len(tags) == 1 {
			all = append(all, weighted{tags[0], q[0]})
		}
	}
	slices.SortStableFunc(all, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	tags := make([]language.Tag, len(all))
	for i, w := range all {
		tags[i] = w.tag
	}
	return tags
}

// Printer returns the printer of tag, or of the catalogue's language
// closest to it (English if none is).
func (c *Catalogue) Printer(tag language.Tag) *Printer {
	if p := c.printers[tag]; p != nil {
		return p
	}
	if _, index, conf := c.matcher.Match(tag); conf > language.No {
		return c.printers[c.tags[index]]
	}
	return c.printers[language.English]
}

// Printer says messages, dates and numbers in one language. It is safe for
// concurrent use.
type Printer struct {
	c      *Catalogue
	tag    language.Tag
	dir    string
	chain  []link           // tag, its parents the catalogue has, English
	number *message.Printer // its Sprintf copies it into a pooled state
}

type link struct {
	tag language.Tag
	loc *goi18n.Localizer
}

func (c *Catalogue) newPrinter(tag language.Tag) *Printer {
	p := &Printer{c: c, tag: tag, dir: direction(tag), number: message.NewPrinter(tag)}
	seen := map[language.Tag]bool{}
	for t := tag; ; t = t.Parent() {
		if c.ids[t] != nil && !seen[t] {
			seen[t] = true
			p.chain = append(p.chain, link{t, goi18n.NewLocalizer(c.bundle, t.String())})
		}
		if t.IsRoot() {
			break
		}
	}
	if !seen[language.English] {
		p.chain = append(p.chain, link{language.English, goi18n.NewLocalizer(c.bundle, "en")})
	}
	return p
}

// Tag returns the printer's language.
func (p *Printer) Tag() language.Tag { return p.tag }

// Dir returns the direction of the language's script: "rtl" for Arabic,
// Hebrew and the other right-to-left scripts, else "ltr".
func (p *Printer) Dir() string { return p.dir }

// rtlScripts are the right-to-left scripts in current use (Unicode's
// bidi class R and AL).
var rtlScripts = map[string]bool{"Arab": true, "Hebr": true, "Thaa": true, "Syrc": true, "Nkoo": true,
	"Adlm": true, "Rohg": true, "Mand": true, "Samr": true, "Yezi": true}

func direction(tag language.Tag) string {
	if s, _ := tag.Script(); rtlScripts[s.String()] {
		return "rtl"
	}
	return "ltr"
}

// T returns message id with its placeholders filled from kv, pairs of a
// name and a value: T("wait.minutes", "Count", 5). "Count" chooses the
// plural form. A message the language lacks is said in English; an id no
// language has is returned as it is, so a typo shows on the page instead
// of an empty space.
func (p *Printer) T(id string, kv ...any) string {
	var data map[string]any
	var count any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			name, _ := kv[i].(string)
			data[name] = kv[i+1]
			if name == "Count" {
				count = kv[i+1]
			}
		}
	}
	for _, l := range p.chain {
		m := p.c.ids[l.tag][id]
		if m == nil {
			continue
		}
		if len(kv) == 0 && p.c.plain[m] {
			// No placeholder, no plural form: the text as it is,
			// without a template's execution.
			return m.Other
		}
		s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
		if err == nil || s != "" {
			return s
		}
	}
	return id
}

// Date returns t's calendar date (in t's location) in the language's own
// form, with the month's name: "30 November 2026", "30. November 2026",
// "30 листопада 2026 р.".
func (p *Printer) Date(t time.Time) string {
	y, m, d := t.Date()
	// Count is the day, for French's "1er".
	return p.T("date.long", "Count", d, "Day", d, "Month", p.T(fmt.Sprintf("date.month.%d", int(m))), "Year", y)
}

// Number returns n with the language's digit grouping: 12,345 in English,
// 12.345 in German.
func (p *Printer) Number(n int) string {
	return p.number.Sprintf("%d", n)
}

type contextKey struct{}

// WithLanguage returns ctx carrying tag, the language of the request's
// user, for whatever speaks to them during it (pages, problems, mails).
func WithLanguage(ctx context.Context, tag language.Tag) context.Context {
	return context.WithValue(ctx, contextKey{}, tag)
}

// FromContext returns the language WithLanguage put in ctx.
func FromContext(ctx context.Context) (language.Tag, bool) {
	tag, ok := ctx.Value(contextKey{}).(language.Tag)
	return tag, ok
}

// placeholder finds {{.Name}} fields, for the checks of translations.
var placeholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// Placeholders returns the names of the {{.Name}} fields in text, sorted and
// without repeats.
func Placeholders(text string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}
