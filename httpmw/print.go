package httpmw

import (
	"net/http"

	"github.com/twofa-go/twofa/i18n"
)

// printFor is the language of a PDF or download made for userID during r:
// the user's recorded language (twofa.Config.Language), otherwise the
// request's (Config.Language, then Accept-Language), otherwise English.
// Its only error is an invalid user ID's.
func (m *Middleware) printFor(r *http.Request, userID string) (*i18n.Printer, error) {
	return m.tf.Printer(m.withLanguage(r).Context(), userID)
}
