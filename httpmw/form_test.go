package httpmw_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofa-go/twofa/httpmw"
)

// ParseForm reads a form of either encoding within its bound, announced
// with a length or not, and answers 413 past it and 400 to a body it
// cannot read, never handing the handler an empty form in their place.
func TestParseForm(t *testing.T) {
	const max = 1 << 10
	multipartForm := func(pad int) (string, string) {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		w.WriteField("name", "ada")
		part, _ := w.CreateFormFile("upload", "pad.bin")
		part.Write([]byte(strings.Repeat("x", pad)))
		w.Close()
		return w.FormDataContentType(), b.String()
	}
	smallType, small := multipartForm(100)
	bigType, big := multipartForm(max)
	const urlencoded = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, contentType, body string
		want                    int // 0: the handler runs
	}{
		{"form", urlencoded, "name=ada", 0},
		{"form at the bound", urlencoded, "name=ada&pad=" + strings.Repeat("x", max-len("name=ada&pad=")), 0},
		{"form past the bound", urlencoded, "name=ada&pad=" + strings.Repeat("x", max), http.StatusRequestEntityTooLarge},
		{"multipart", smallType, small, 0},
		{"multipart past the bound", bigType, big, http.StatusRequestEntityTooLarge},
		{"bad escape", urlencoded, "name=%zz", http.StatusBadRequest},
		{"multipart without a boundary", "multipart/form-data", small, http.StatusBadRequest},
		{"no body", "", "", 0},
	} {
		for _, announced := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				var body io.Reader = strings.NewReader(tc.body)
				if !announced {
					body = io.MultiReader(body) // no length: as if chunked
				}
				r := httptest.NewRequest("POST", "/login", body)
				if tc.contentType != "" {
					r.Header.Set("Content-Type", tc.contentType)
				}
				w := httptest.NewRecorder()
				ok := httpmw.ParseForm(w, r, max)
				switch {
				case tc.want == 0 && !ok:
					t.Fatalf("refused with %d: %s", w.Code, w.Body)
				case tc.want == 0 && tc.body != "" && r.FormValue("name") != "ada":
					t.Fatalf("name = %q, want ada", r.FormValue("name"))
				case tc.want != 0 && (ok || w.Code != tc.want):
					t.Fatalf("ok %v, %d; want false, %d", ok, w.Code, tc.want)
				}
			})
		}
	}
}
