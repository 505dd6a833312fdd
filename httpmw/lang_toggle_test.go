package httpmw_test

import (
	"bytes"
	"html/template"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
)

// TestToggleWithoutPage: a template of the application's own that calls
// "toggle" as it did before the pages spoke other languages, with no page,
// still renders its buttons.
func TestToggleWithoutPage(t *testing.T) {
	tpl := template.Must(httpmw.Templates().Parse(`{{define "mine"}}{{template "toggle" (dict "P" "/2fa/" "M" "totp" "S" "enabled")}}{{end}}`))
	var b bytes.Buffer
	if err := tpl.ExecuteTemplate(&b, "mine", nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="totp-disable">Turn off for now</button>`, `id="totp-remove">Remove</button>`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in %s", want, b.String())
		}
	}
}
