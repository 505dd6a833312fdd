package emailotp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/mailtest"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/storage/memory"
)

// A code works only for the login it was sent for (ASVS 5.0 6.6.2). In
// another login of the same user it gets the answer a login with no code
// gets, before the throttle and without counting a wrong try: any number of
// tries there never pass, lock no one and spend nothing.
func TestCodeBoundToLogin(t *testing.T) {
	const other = "login-2"
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		f := newFixture(t, store)
		if err := f.svc.Enable(ctx, "v"); err != nil {
			t.Fatal(err)
		}
		none := f.svc.Verify(ctx, "v", other, "123456") // a user with no code
		if !errors.Is(none, emailotp.ErrNoCode) {
			t.Fatalf("no code sent: %v, want ErrNoCode", none)
		}
		code := f.sendCode(t, "u")
		for _, tc := range []struct {
			login string
			want  bool
		}{{login, true}, {other, false}} {
			if ok, err := f.svc.Waiting(ctx, "u", tc.login); err != nil || ok != tc.want {
				t.Fatalf("Waiting for %s: %v, %v, want %v", tc.login, ok, err, tc.want)
			}
		}
		// Well past MaxFailures (5) and the throttle's lock (20).
		for range 30 {
			for _, try := range []string{code, wrong(code)} {
				err := f.svc.Verify(ctx, "u", other, try)
				if err == nil || err.Error() != none.Error() || !errors.Is(err, emailotp.ErrNoCode) {
					t.Fatalf("the code in another login: %v, want %v as with no code", err, none)
				}
			}
		}
		// One event per try, the same as for a login with no code.
		if n := f.count(event.Failed, "no code sent for this login"); n != 61 {
			t.Errorf("%d failed events for 60 tries from another login and 1 with no code, want 61", n)
		}
		if err := f.svc.Verify(ctx, "u", login, code); err != nil {
			t.Fatalf("the code in its own login after tries elsewhere: %v", err)
		}
		if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrInvalidCode) {
			t.Fatalf("the code a second time: %v", err)
		}
	})
}

// The store keeps a digest of the login, never the ID, and a different one
// for every code; a code stored with no binding is bound to no login.
func TestBindingStored(t *testing.T) {
	f := newFixture(t, memory.New())
	f.sendCode(t, "u")
	st, err := f.store.Email(ctx, "u")
	if err != nil || st.Code == nil {
		t.Fatalf("state: %+v, %v", st, err)
	}
	first := st.Code.Binding
	if len(first) != 32 || bytes.Contains(first, []byte(login)) {
		t.Fatalf("binding %x: not a 32-byte digest, or holds the login ID", first)
	}
	f.now = f.now.Add(time.Hour)
	code := f.sendCode(t, "u")
	st, _ = f.store.Email(ctx, "u")
	if bytes.Equal(st.Code.Binding, first) {
		t.Fatal("two codes of one login stored with the same binding")
	}

	unbound := *st.Code
	unbound.Binding = nil
	if ok, err := f.store.SwapEmailCode(ctx, "u", st.Code, &unbound); err != nil || !ok {
		t.Fatalf("storing a code without a binding: %v, %v", ok, err)
	}
	if err := f.svc.Verify(ctx, "u", login, code); !errors.Is(err, emailotp.ErrNoCode) {
		t.Fatalf("a code with no binding: %v, want ErrNoCode", err)
	}
}

// Send, Verify and Waiting refuse an empty or oversized login ID before
// any store call: an empty one would bind a code to every caller that
// passes none.
func TestInvalidLoginNeverReachesTheStore(t *testing.T) {
	mail := &mailtest.Inbox{}
	svc, err := emailotp.New(emailotp.Config{Store: untouchable{t}, Mailer: mail})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"empty": "", "257 bytes": strings.Repeat("a", 257)} {
		for call, f := range map[string]func() error{
			"Send":    func() error { return svc.Send(ctx, "u", addr, id) },
			"Verify":  func() error { return svc.Verify(ctx, "u", id, "123456") },
			"Waiting": func() error { _, err := svc.Waiting(ctx, "u", id); return err },
		} {
			t.Run(call+"/"+name, func(t *testing.T) {
				if err := f(); !errors.Is(err, emailotp.ErrInvalidLogin) {
					t.Fatalf("%s with login %.20q: %v, want ErrInvalidLogin", call, id, err)
				}
			})
		}
	}
	if len(mail.Messages()) != 0 {
		t.Fatal("a message was mailed")
	}
}
