package i18n_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

func TestMatch(t *testing.T) {
	c := i18n.Default()
	long := strings.Repeat("xx-YY;q=0.5,", 2000) + "de"
	tests := []struct {
		name  string
		prefs []string
		want  language.Tag
	}{
		{"nothing", nil, language.English},
		{"empty", []string{"", "  "}, language.English},
		{"plain tag", []string{"de"}, language.German},
		{"region", []string{"de-CH"}, language.German},
		{"header in order", []string{"fr-CA,fr;q=0.9,en;q=0.8"}, language.French},
		{"q weights", []string{"en;q=0.1,uk;q=0.9"}, language.Ukrainian},
		{"zero weight is refused", []string{"es;q=0,zh"}, language.English},
		{"unknown", []string{"zh-CN,zh;q=0.9"}, language.English},
		{"application first", []string{"es", "de-DE,de;q=0.9"}, language.Spanish},
		{"application none", []string{"", "de-DE,de;q=0.9"}, language.German},
		{"application unknown then header", []string{"ja", "uk-UA"}, language.Ukrainian},
		{"garbage", []string{"*;;;q=x,,==", "\x00\xff"}, language.English},
		{"wildcard", []string{"*"}, language.English},
		{"english variant", []string{"en-GB"}, language.English},
		{"long header is cut, not parsed whole", []string{long}, language.English},
		{"ninth pref is not read", []string{"x", "x", "x", "x", "x", "x", "x", "x", "de"}, language.English},
		{"eighth pref is read", []string{"x", "x", "x", "x", "x", "x", "x", "de"}, language.German},
		{"an entry x/text refuses spoils no other", []string{"xa-YA;q=0.9,fr;q=0.5,en-XX;q=0.1"}, language.French},
		{"entries one by one keep their weights", []string{"xx-QQ,es;q=0.2,uk;q=0.8"}, language.Ukrainian},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Match(tt.prefs...); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.prefs, got, tt.want)
			}
		})
	}
}

func TestLanguages(t *testing.T) {
	got := i18n.Default().Languages()
	want := []language.Tag{language.English, language.German, language.Spanish, language.French, language.Ukrainian}
	if !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	got[0] = language.Und
	if i18n.Default().Languages()[0] != language.English {
		t.Error("Languages returned the catalogue's own slice")
	}
}

func TestPluralForms(t *testing.T) {
	c := i18n.Default()
	tests := []struct {
		tag   language.Tag
		count int
		want  string
	}{
		{language.English, 1, "a minute"},
		{language.English, 2, "2 minutes"},
		{language.German, 1, "einer Minute"},
		{language.German, 5, "5 Minuten"},
		{language.French, 1, "une minute"},
		{language.French, 3, "3 minutes"},
		{language.Spanish, 1, "un minuto"},
		{language.Spanish, 10, "10 minutos"},
		{language.Ukrainian, 1, "1 хвилину"},
		{language.Ukrainian, 2, "2 хвилини"},
		{language.Ukrainian, 4, "4 хвилини"},
		{language.Ukrainian, 5, "5 хвилин"},
		{language.Ukrainian, 11, "11 хвилин"},
		{language.Ukrainian, 21, "21 хвилину"},
		{language.Ukrainian, 22, "22 хвилини"},
		{language.Ukrainian, 25, "25 хвилин"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.tag, tt.count), func(t *testing.T) {
			if got := c.Printer(tt.tag).T("wait.minutes", "Count", tt.count); got != tt.want {
				t.Errorf("T(wait.minutes, %d) = %q, want %q", tt.count, got, tt.want)
			}
		})
	}
}

func TestDateAndNumber(t *testing.T) {
	c := i18n.Default()
	d1 := time.Date(2026, time.March, 1, 23, 0, 0, 0, time.UTC)
	d30 := time.Date(2026, time.November, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		tag           language.Tag
		first, thirty string
		number        string
	}{
		{language.English, "1 March 2026", "30 November 2026", "1,234,567"},
		{language.German, "1. März 2026", "30. November 2026", "1.234.567"},
		{language.French, "1er mars 2026", "30 novembre 2026", "1\u00a0234\u00a0567"},
		{language.Spanish, "1 de marzo de 2026", "30 de noviembre de 2026", "1.234.567"},
		{language.Ukrainian, "1 березня 2026 р.", "30 листопада 2026 р.", "1\u00a0234\u00a0567"},
	}
	for _, tt := range tests {
		t.Run(tt.tag.String(), func(t *testing.T) {
			p := c.Printer(tt.tag)
			if got := p.Date(d1); got != tt.first {
				t.Errorf("Date(1 March) = %q, want %q", got, tt.first)
			}
			if got := p.Date(d30); got != tt.thirty {
				t.Errorf("Date(30 November) = %q, want %q", got, tt.thirty)
			}
			if got := p.Number(1234567); got != tt.number {
				t.Errorf("Number(1234567) = %q, want %q", got, tt.number)
			}
		})
	}
	// The date is the one of t's location, not UTC's.
	east := time.FixedZone("UTC+3", 3*3600)
	if got := c.Printer(language.English).Date(d1.In(east)); got != "2 March 2026" {
		t.Errorf("Date in UTC+3 = %q, want 2 March 2026", got)
	}
}

func TestPrinterOfOtherTags(t *testing.T) {
	c := i18n.Default()
	tests := []struct {
		tag  language.Tag
		want language.Tag
	}{
		{language.MustParse("de-AT"), language.German},
		{language.MustParse("uk-UA"), language.Ukrainian},
		{language.Japanese, language.English},
		{language.Und, language.English},
	}
	for _, tt := range tests {
		if got := c.Printer(tt.tag).Tag(); got != tt.want {
			t.Errorf("Printer(%v).Tag() = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestMissingMessage(t *testing.T) {
	fsys := fstest.MapFS{"pages.pt-BR.json": {Data: []byte(`{"date.month.1": "janeiro"}`)}}
	c, err := i18n.New(fsys, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Printer(c.Match("pt-BR"))
	if p.Tag() != language.MustParse("pt-BR") {
		t.Fatalf("Match(pt-BR) = %v", p.Tag())
	}
	if got := p.T("date.month.1"); got != "janeiro" {
		t.Errorf("own message = %q", got)
	}
	if got := p.T("date.month.2"); got != "February" {
		t.Errorf("missing message = %q, want English's February", got)
	}
	if got := p.T("no.such.message"); got != "no.such.message" {
		t.Errorf("unknown id = %q, want the id", got)
	}
}

func TestNewOverrides(t *testing.T) {
	fsys := fstest.MapFS{
		"lang/pages.de.json":    {Data: []byte(`{"date.month.3": "Märzen", "wait.minutes": {"one": "einer Min.", "other": "{{.Count}} Min."}}`)},
		"lang/pages.de-CH.json": {Data: []byte(`{"date.month.1": "Jänner"}`)},
		"lang/pages.ar.json":    {Data: []byte(`{"date.month.1": "يناير"}`)},
	}
	c, err := i18n.New(fsys, "lang/pages.de.json", "lang/pages.[a]*.json", "lang/*CH.json")
	if err != nil {
		t.Fatal(err)
	}
	de := c.Printer(language.German)
	if got := de.T("date.month.3"); got != "Märzen" {
		t.Errorf("replaced message = %q", got)
	}
	if got := de.T("date.month.4"); got != "April" {
		t.Errorf("kept message = %q", got)
	}
	if got := de.T("wait.minutes", "Count", 7); got != "7 Min." {
		t.Errorf("replaced plural = %q", got)
	}
	if got := c.Printer(language.French).T("date.month.3"); got != "mars" {
		t.Errorf("another language changed: %q", got)
	}
	if got := i18n.Default().Printer(language.German).T("date.month.3"); got != "März" {
		t.Errorf("Default changed: %q", got)
	}
	ch := c.Printer(c.Match("de-CH"))
	if ch.Tag() != language.MustParse("de-CH") {
		t.Fatalf("Match(de-CH) = %v", ch.Tag())
	}
	// A regional file falls back to its language, then English.
	if got := ch.T("date.month.1") + "/" + ch.T("date.month.3"); got != "Jänner/Märzen" {
		t.Errorf("de-CH = %q", got)
	}
	ar := c.Printer(c.Match("ar-EG"))
	if ar.Tag() != language.Arabic || ar.Dir() != "rtl" {
		t.Errorf("ar: tag %v dir %q", ar.Tag(), ar.Dir())
	}
	for _, tag := range i18n.Default().Languages() {
		if d := i18n.Default().Printer(tag).Dir(); d != "ltr" {
			t.Errorf("%v: dir %q", tag, d)
		}
	}
}

func TestNewBadFiles(t *testing.T) {
	big := `{"a": "` + strings.Repeat("x", i18n.MaxFileSize) + `"}`
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		pattern string
		want    error
	}{
		{"not json", fstest.MapFS{"pages.de.json": {Data: []byte(`{"a": `)}}, "*", i18n.ErrBadFile},
		{"not a message", fstest.MapFS{"pages.de.json": {Data: []byte(`{"a": 3}`)}}, "*", i18n.ErrBadFile},
		{"bad template", fstest.MapFS{"pages.de.json": {Data: []byte(`{"a": "{{.Name"}`)}}, "*", i18n.ErrBadFile},
		{"plural without other", fstest.MapFS{"pages.de.json": {Data: []byte(`{"a": {"one": "x"}}`)}}, "*", i18n.ErrBadFile},
		{"no language in the name", fstest.MapFS{"pages.json": {Data: []byte(`{}`)}}, "*", i18n.ErrBadFile},
		{"not a language", fstest.MapFS{"pages.klingonisch.json": {Data: []byte(`{}`)}}, "*", i18n.ErrBadFile},
		{"not json by name", fstest.MapFS{"pages.de.yaml": {Data: []byte(`a: b`)}}, "*", i18n.ErrBadFile},
		{"too large", fstest.MapFS{"pages.de.json": {Data: []byte(big)}}, "*", i18n.ErrBadFile},
		{"a directory", fstest.MapFS{"pages.de.json/x": {Data: []byte(`{}`)}}, "pages.de.json", i18n.ErrBadFile},
		{"no match", fstest.MapFS{"pages.de.json": {Data: []byte(`{}`)}}, "mail.*.json", i18n.ErrNoFiles},
		{"bad pattern", fstest.MapFS{}, "[", i18n.ErrNoFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := i18n.New(tt.fsys, tt.pattern)
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("New = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
	if _, err := i18n.New(nil, "*.json"); !errors.Is(err, i18n.ErrNoFiles) {
		t.Errorf("New(nil, pattern) = %v", err)
	}
	if c, err := i18n.New(nil); err != nil || len(c.Languages()) != 5 {
		t.Errorf("New(nil) = %v", err)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := i18n.FromContext(ctx); ok {
		t.Error("FromContext of an empty context is ok")
	}
	got, ok := i18n.FromContext(i18n.WithLanguage(ctx, language.Ukrainian))
	if !ok || got != language.Ukrainian {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
}

// TestConcurrentUse is run with -race: printers are shared by every
// request.
func TestConcurrentUse(t *testing.T) {
	c := i18n.Default()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tag := c.Languages()[i%5]
			p := c.Printer(c.Match(tag.String()))
			if p.T("wait.days", "Count", i) == "" || p.Date(time.Unix(int64(i)*86400, 0)) == "" || p.Number(i*1000) == "" {
				t.Error("empty text")
			}
		})
	}
	wg.Wait()
}

// BenchmarkMatch matches a long Accept-Language header, its only
// supported language last, as a hostile or odd client sends it.
func BenchmarkMatch(b *testing.B) {
	c := i18n.Default()
	var h strings.Builder
	for i := range 40 {
		fmt.Fprintf(&h, "x%c-Y%c;q=0.%d,", 'a'+i%26, 'A'+i%26, i%9+1)
	}
	header := h.String() + "uk;q=0.1"
	for _, tt := range []struct{ name, header string }{
		{"browser", "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"},
		{"long", header},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Match("", tt.header)
			}
		})
	}
}

// BenchmarkT says a message with a plural form and a placeholder.
func BenchmarkT(b *testing.B) {
	p := i18n.Default().Printer(language.Ukrainian)
	b.ReportAllocs()
	for b.Loop() {
		p.T("wait.minutes", "Count", 5)
	}
}

// TestShippedIDsOnce: an id in two shipped areas of one language is
// refused, naming both files; the same id in two languages is the rule.
func TestShippedIDsOnce(t *testing.T) {
	base := fstest.MapFS{
		"catalogue/pages.en.json": {Data: []byte(`{"a": "A", "b": "B"}`)},
		"catalogue/mail.en.json":  {Data: []byte(`{"mail.a": "A"}`)},
		"catalogue/pages.de.json": {Data: []byte(`{"a": "A", "b": "B"}`)},
	}
	if _, err := i18n.NewFrom(base, nil); err != nil {
		t.Fatalf("distinct ids: %v", err)
	}
	base["catalogue/mail.de.json"] = &fstest.MapFile{Data: []byte(`{"b": "B"}`)}
	_, err := i18n.NewFrom(base, nil)
	if !errors.Is(err, i18n.ErrBadFile) || !strings.Contains(err.Error(), "mail.de.json") || !strings.Contains(err.Error(), "pages.de.json") {
		t.Fatalf("an id in two shipped files: %v", err)
	}
}
