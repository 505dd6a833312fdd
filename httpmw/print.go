package httpmw

import (
	"net/http"

	"github.com/twofa-go/twofa/i18n"
)

// printFor is the language of a PDF or download made for userID during r:
// the user's recorded language, otherwise the request's (the one the
// pages put in the context, or else Accept-Language's), otherwise English.
// Its only error is an invalid user ID's.
func (m *Middleware) printFor(r *http.Request, userID string) (*i18n.Printer, error) {
	ctx := r.Context()
	if _, ok := i18n.FromContext(ctx); !ok {
		ctx = i18n.WithLanguage(ctx, m.tf.Catalogue().Match(r.Header.Get("Accept-Language")))
	}
	return m.tf.Printer(ctx, userID)
}
