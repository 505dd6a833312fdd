package httpmw

import (
	"errors"
	"net/http"
)

// ParseForm parses r's form, URL-encoded or multipart, from a body of at
// most max bytes, all of it in memory, so that the application's own forms
// (its login, first of all) have the bound twofa's pages have. When it
// cannot, it answers 413 (the body is larger than max) or 400 (the body is
// not a form it can read) and returns false: the handler then returns
// without writing. On true, r.Form and r.PostForm hold the form, and
// r.FormValue reads it.
//
// It saves a trap: r.ParseMultipartForm, given a URL-encoded body, returns
// http.ErrNotMultipart and drops the error of reading that body, so a
// body past the bound would pass as an empty form.
func ParseForm(w http.ResponseWriter, r *http.Request, max int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(max); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		// The rest of the body is not read: the connection closes.
		w.Header().Set("Connection", "close")
		http.Error(w, "The form is too large.", http.StatusRequestEntityTooLarge)
		return false
	}
	if err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return false
	}
	return true
}
