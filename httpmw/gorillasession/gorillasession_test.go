package gorillasession_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/httpmw/gorillasession"
	"github.com/twofa-go/twofa/internal/sessiontest"
)

// app is an application's own use of the store: its login and logout.
func app(store sessions.Store, serverSide bool) sessiontest.App {
	const name = "session"
	s := gorillasession.New(store, name)
	return sessiontest.App{
		Session:    s,
		Renew:      s.Renew,
		CookieName: name,
		Wrap:       func(h http.Handler) http.Handler { return h },
		LogIn: func(w http.ResponseWriter, r *http.Request, userID string) error {
			sess, _ := store.Get(r, name)
			sess.Values["user"] = userID
			return sess.Save(r, w)
		},
		LogOut: func(w http.ResponseWriter, r *http.Request) error {
			sess, _ := store.Get(r, name)
			sess.Options.MaxAge = -1
			return sess.Save(r, w)
		},
		User: func(r *http.Request) (string, bool) {
			sess, err := store.Get(r, name)
			if err != nil {
				return "", false
			}
			u, _ := sess.Values["user"].(string)
			return u, u != ""
		},
		ServerSide: serverSide,
	}
}

func TestLoginWithRenewal(t *testing.T) {
	t.Run("CookieStore", func(t *testing.T) {
		sessiontest.Run(t, app(sessions.NewCookieStore(securecookie.GenerateRandomKey(32)), false))
	})
	t.Run("FilesystemStore", func(t *testing.T) {
		dir := t.TempDir()
		sessiontest.Run(t, app(sessions.NewFilesystemStore(dir, securecookie.GenerateRandomKey(32)), true))
		// The login's session was renewed once and ended at logout; the
		// second login's is the only one left.
		files, _ := filepath.Glob(filepath.Join(dir, "session_*"))
		if len(files) != 1 {
			t.Fatalf("%d session files left, want 1: %v", len(files), files)
		}
	})
}

func TestParallelCodes(t *testing.T) {
	t.Run("CookieStore", func(t *testing.T) {
		sessiontest.RunParallel(t, app(sessions.NewCookieStore(securecookie.GenerateRandomKey(32)), false))
	})
	t.Run("FilesystemStore", func(t *testing.T) {
		sessiontest.RunParallel(t, app(sessions.NewFilesystemStore(t.TempDir(), securecookie.GenerateRandomKey(32)), true))
	})
}

// The mark reads back as it was set, is saved at once, and ends with
// ClearMark; a value of another shape in its keys is no mark.
func TestMark(t *testing.T) {
	store := sessions.NewFilesystemStore(t.TempDir(), securecookie.GenerateRandomKey(32))
	s := gorillasession.New(store, "session")
	at := time.Date(2026, 11, 30, 9, 0, 0, 123, time.UTC)
	want := httpmw.Mark{UserID: "alice", Method: twofa.TOTP, At: at}

	r := httptest.NewRequest("GET", "/", nil)
	if _, ok, err := s.Mark(r); ok || err != nil {
		t.Fatalf("a new session has a mark: %v, %v", ok, err)
	}
	w := httptest.NewRecorder()
	if err := s.SetMark(w, r, want); err != nil {
		t.Fatal(err)
	}
	// A later request with the cookie finds it.
	next := func(w *httptest.ResponseRecorder) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		return r
	}
	r2 := next(w)
	got, ok, err := s.Mark(r2)
	if !ok || err != nil || got.UserID != want.UserID || got.Method != want.Method || !got.At.Equal(at) {
		t.Fatalf("mark read back as %+v, %v, %v", got, ok, err)
	}
	w2 := httptest.NewRecorder()
	if err := s.ClearMark(w2, r2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Mark(next(w2)); ok {
		t.Fatal("the mark outlived ClearMark")
	}
	if err := s.SetMark(httptest.NewRecorder(), r2, httpmw.Mark{Method: twofa.TOTP}); err == nil {
		t.Fatal("a mark without a user was set")
	}

	// Tampered, foreign or stale cookies are no session, not an error.
	for name, c := range map[string]*http.Cookie{
		"tampered": {Name: "session", Value: strings.Repeat("A", 40)},
		"foreign key": func() *http.Cookie {
			other := sessions.NewFilesystemStore(t.TempDir(), securecookie.GenerateRandomKey(32))
			w := httptest.NewRecorder()
			gorillasession.New(other, "session").SetMark(w, httptest.NewRequest("GET", "/", nil), want)
			return w.Result().Cookies()[0]
		}(),
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		if _, ok, err := s.Mark(r); ok || err != nil {
			t.Errorf("%s cookie: %v, %v", name, ok, err)
		}
	}
}

// A cookie naming a session the store has erased is no session, and is
// never saved again under that ID.
func TestErasedSessionNotRevived(t *testing.T) {
	dir := t.TempDir()
	store := sessions.NewFilesystemStore(dir, securecookie.GenerateRandomKey(32))
	s := gorillasession.New(store, "session")
	w := httptest.NewRecorder()
	if err := s.SetMark(w, httptest.NewRequest("GET", "/", nil), httpmw.Mark{UserID: "alice", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "session_*"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	os.Remove(files[0])
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	if _, ok, err := s.Mark(r); ok || err != nil {
		t.Fatalf("erased session: %v, %v", ok, err)
	}
	if err := s.SetMark(httptest.NewRecorder(), r, httpmw.Mark{UserID: "alice", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); err == nil {
		t.Fatal("the erased session was saved again under its old ID")
	}
}

// A store that fails is an error, which denies.
func TestStoreError(t *testing.T) {
	dir := t.TempDir()
	store := sessions.NewFilesystemStore(dir, securecookie.GenerateRandomKey(32))
	s := gorillasession.New(store, "session")
	w := httptest.NewRecorder()
	if err := s.SetMark(w, httptest.NewRequest("GET", "/", nil), httpmw.Mark{UserID: "alice", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "session_*"))
	// A directory where the file was: reading it fails, not with "not
	// found".
	os.Remove(files[0])
	os.Mkdir(files[0], 0o700)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	if _, _, err := s.Mark(r); err == nil {
		t.Fatal("no error from a store that cannot read")
	}
}
