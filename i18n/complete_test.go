package i18n_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// pluralForms are the CLDR forms each shipped language must give a message
// that counts (English gives "one" and "other"): the counts twofa shows
// are whole numbers, so only the integer forms.
var pluralForms = map[language.Tag][]string{
	language.English:   {"one", "other"},
	language.German:    {"one", "other"},
	language.French:    {"one", "other"},
	language.Spanish:   {"one", "other"},
	language.Ukrainian: {"one", "few", "many", "other"},
}

// TestCatalogueComplete checks every shipped language against English:
// every message, no message English lacks, the same placeholders, and the
// plural forms of the language where English counts.
func TestCatalogueComplete(t *testing.T) {
	c := i18n.Default()
	english := c.Messages(language.English)
	if len(english) == 0 {
		t.Fatal("English has no messages")
	}
	for _, tag := range c.Languages() {
		t.Run(tag.String(), func(t *testing.T) {
			for _, problem := range i18n.Compare(c, tag, pluralForms[tag]) {
				t.Error(problem)
			}
		})
	}
}

// TestCompareFinds feeds the check a catalogue with each kind of fault.
func TestCompareFinds(t *testing.T) {
	c, err := i18n.New(mapFS(map[string]string{
		// pt has only some of English, an extra id, a lost placeholder
		// and a plural without its "one".
		"pages.pt.json": `{"date.month.1": "janeiro", "extra.id": "x", "date.long": "{{.Day}} de {{.Month}}",
			"wait.days": {"other": "{{.Count}} dias"}}`,
	}), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	got := i18n.Compare(c, language.Portuguese, []string{"one", "other"})
	for _, want := range []string{
		`missing "date.month.2"`,
		`"extra.id" is not in English`,
		`"date.long": placeholders [Day Month], English has [Day Month Year]`,
		`"wait.days": no "one" form`,
	} {
		if !slices.Contains(got, want) {
			t.Errorf("Compare lacks %s; got %q", want, got)
		}
	}
	if got := i18n.Compare(i18n.Default(), language.German, []string{"one", "other"}); len(got) != 0 {
		t.Errorf("Compare(de) = %q", got)
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}
