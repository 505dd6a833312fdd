package i18n_test

import (
	"fmt"
	"testing/fstest"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// An application adds Portuguese (Brazil) and changes one English message
// with files of its own, in the shipped files' format; embed them with
// //go:embed and pass the embed.FS. Messages the new language lacks are
// said in English.
func ExampleNew() {
	files := fstest.MapFS{
		"lang/pages.pt-BR.json": {Data: []byte(`{
			"wait.minutes": {"one": "um minuto", "other": "{{.Count}} minutos"},
			"date.month.11": "novembro"
		}`)},
		"lang/pages.en.json": {Data: []byte(`{"date.month.11": "Nov."}`)},
	}
	cat, err := i18n.New(files, "lang/*.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	pt := cat.Printer(cat.Match("", "pt-BR,pt;q=0.9,en;q=0.5"))
	fmt.Println(pt.Tag(), pt.T("wait.minutes", "Count", 5))
	fmt.Println(pt.T("date.month.11"), pt.T("date.month.12"))
	fmt.Println(cat.Printer(language.English).T("date.month.11"))
	// Output:
	// pt-BR 5 minutos
	// novembro December
	// Nov.
}

func ExamplePrinter_T() {
	uk := i18n.Default().Printer(language.Ukrainian)
	for _, n := range []int{1, 3, 5, 21} {
		fmt.Println(uk.T("wait.minutes", "Count", n))
	}
	// Output:
	// 1 хвилину
	// 3 хвилини
	// 5 хвилин
	// 21 хвилину
}
