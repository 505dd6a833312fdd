package webauthn_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/webauthn"
)

// untouchable is a store that fails the test on any call: entry points must
// refuse bad input before they reach the store.
type untouchable struct{ t testing.TB }

func (u untouchable) called(name string) error {
	u.t.Helper()
	u.t.Errorf("the store was called: %s", name)
	return errors.New("store called")
}

func (u untouchable) WebAuthnHandle(context.Context, string) ([]byte, error) {
	return nil, u.called("WebAuthnHandle")
}
func (u untouchable) PutWebAuthnHandle(context.Context, string, []byte) error {
	return u.called("PutWebAuthnHandle")
}
func (u untouchable) WebAuthnDisabled(context.Context, string) (bool, error) {
	return false, u.called("WebAuthnDisabled")
}
func (u untouchable) SetWebAuthnDisabled(context.Context, string, bool) error {
	return u.called("SetWebAuthnDisabled")
}
func (u untouchable) WebAuthnUserByHandle(context.Context, []byte) (string, error) {
	return "", u.called("WebAuthnUserByHandle")
}
func (u untouchable) WebAuthnCredentials(context.Context, string) ([]storage.WebAuthnCredential, error) {
	return nil, u.called("WebAuthnCredentials")
}
func (u untouchable) AddWebAuthnCredential(context.Context, storage.WebAuthnCredential) error {
	return u.called("AddWebAuthnCredential")
}
func (u untouchable) UpdateWebAuthnCredential(context.Context, storage.WebAuthnCredential) error {
	return u.called("UpdateWebAuthnCredential")
}
func (u untouchable) DeleteWebAuthnCredential(context.Context, string, []byte) error {
	return u.called("DeleteWebAuthnCredential")
}
func (u untouchable) DeleteWebAuthnCredentials(context.Context, string) error {
	return u.called("DeleteWebAuthnCredentials")
}
func (u untouchable) PutCeremony(context.Context, storage.Ceremony, time.Time, int) error {
	return u.called("PutCeremony")
}
func (u untouchable) DeleteCeremonies(context.Context, string) error {
	return u.called("DeleteCeremonies")
}
func (u untouchable) TakeCeremony(context.Context, string) (storage.Ceremony, error) {
	return storage.Ceremony{}, u.called("TakeCeremony")
}

// badUserIDs break storage.CheckUserID's rule, each in its own way.
var badUserIDs = map[string]string{
	"empty":      "",
	"256 bytes":  strings.Repeat("u", 256),
	"not UTF-8":  "user\xff",
	"NUL inside": "us\x00er",
}

// userEntryPoints calls each method taking a user ID with that ID.
var userEntryPoints = map[string]func(s *webauthn.Service, userID string) error{
	"BeginRegistration": func(s *webauthn.Service, id string) error {
		_, _, err := s.BeginRegistration(ctx, id, "account", "Key")
		return err
	},
	"FinishRegistration": func(s *webauthn.Service, id string) error {
		_, err := s.FinishRegistration(ctx, "ceremony", id, []byte(`{}`))
		return err
	},
	"BeginLogin": func(s *webauthn.Service, id string) error {
		_, _, err := s.BeginLogin(ctx, id)
		return err
	},
	"FinishLogin": func(s *webauthn.Service, id string) error {
		_, err := s.FinishLogin(ctx, "ceremony", id, []byte(`{}`))
		return err
	},
	"Disable":   func(s *webauthn.Service, id string) error { return s.Disable(ctx, id) },
	"Enable":    func(s *webauthn.Service, id string) error { return s.Enable(ctx, id) },
	"State":     func(s *webauthn.Service, id string) error { _, err := s.State(ctx, id); return err },
	"Keys":      func(s *webauthn.Service, id string) error { _, err := s.Keys(ctx, id); return err },
	"Rename":    func(s *webauthn.Service, id string) error { return s.Rename(ctx, id, "AAAA", "New name") },
	"Remove":    func(s *webauthn.Service, id string) error { return s.Remove(ctx, id, "AAAA") },
	"RemoveAll": func(s *webauthn.Service, id string) error { return s.RemoveAll(ctx, id) },
}

func TestInvalidUserID(t *testing.T) {
	for method, call := range userEntryPoints {
		for name, id := range badUserIDs {
			t.Run(method+"/"+name, func(t *testing.T) {
				f := newFixture(t, untouchable{t})
				err := call(f.svc, id)
				if !errors.Is(err, storage.ErrInvalidUserID) {
					t.Fatalf("%s(%q): %v, want storage.ErrInvalidUserID", method, id, err)
				}
				if id != "" && strings.Contains(err.Error(), id) {
					t.Fatalf("the error %q quotes the ID", err)
				}
			})
		}
	}
}

// The handlers answer 400 for a user ID the application's session gave
// outside the rule, and reach no store.
func TestHandlersInvalidUserID(t *testing.T) {
	for name, id := range badUserIDs {
		if id == "" {
			continue // no user: 401, tested with the handlers' statuses
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, untouchable{t})
			h := &webauthn.Handlers{Service: f.svc,
				User: func(*http.Request) (string, string, bool) { return id, "account", true }}
			for hname, hh := range map[string]http.Handler{
				"BeginRegistration": h.BeginRegistration(), "FinishRegistration": h.FinishRegistration(),
				"BeginLogin": h.BeginLogin(), "FinishLogin": h.FinishLogin(),
			} {
				rec := serve(t, hh, http.MethodPost, "", []byte(`{"name":"Key","ceremony":"c","response":{}}`))
				if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid user ID") {
					t.Errorf("%s: %d %s, want 400 invalid user ID", hname, rec.Code, rec.Body)
				}
			}
		})
	}
}
