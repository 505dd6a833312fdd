package i18n

import (
	"fmt"
	"maps"
	"slices"

	"golang.org/x/text/language"
)

// Compare checks tag's messages in c against English's and returns what it
// finds, one sentence each, or nothing: a message English has and tag's
// files lack, one they have and English lacks, one whose placeholders
// differ from English's (over all its plural forms), and, for a message
// English gives plural forms, each of forms the translation lacks. forms
// are the CLDR plural forms the language uses for whole numbers: "one" and
// "other" for English, German, French and Spanish; "one", "few", "many"
// and "other" for Ukrainian, Polish and Russian.
//
// An application's test can run it on its own catalogue files.
func Compare(c *Catalogue, tag language.Tag, forms []string) []string {
	var problems []string
	for _, id := range c.Messages(language.English) {
		en, tr := c.Source(language.English, id), c.Source(tag, id)
		if tr == nil {
			problems = append(problems, fmt.Sprintf("missing %q", id))
			continue
		}
		if want, got := placeholdersOf(en), placeholdersOf(tr); !slices.Equal(want, got) {
			problems = append(problems, fmt.Sprintf("%q: placeholders %v, English has %v", id, got, want))
		}
		if slices.Contains(Placeholders(en["other"]), "Count") && !slices.Contains(Placeholders(tr["other"]), "Count") {
			problems = append(problems, fmt.Sprintf("%q: the \"other\" form lacks {{.Count}}", id))
		}
		if len(en) > 1 {
			for _, form := range forms {
				if tr[form] == "" {
					problems = append(problems, fmt.Sprintf("%q: no %q form", id, form))
				}
			}
		}
	}
	for _, id := range c.Messages(tag) {
		if c.Source(language.English, id) == nil {
			problems = append(problems, fmt.Sprintf("%q is not in English", id))
		}
	}
	return problems
}

// placeholdersOf is the union of the placeholders of a message's forms,
// but Count: a form may say "one" in words instead of {{.Count}}.
func placeholdersOf(forms map[string]string) []string {
	set := map[string]bool{}
	for _, text := range forms {
		for _, name := range Placeholders(text) {
			if name != "Count" {
				set[name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
