package storagetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

func emailCode(id string, failures int) *storage.EmailCode {
	return &storage.EmailCode{ID: id, Hash: []byte("salt+hash-" + id + "\x00\xff"), Sent: when, Expires: when.Add(15 * time.Minute), Failures: failures}
}

func runEmail(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Email(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Email of a missing user: %v", err)
		}
		if _, err := s.SwapEmailCode(ctx, "nobody", nil, emailCode("c1", 0)); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("SwapEmailCode without state: %v", err)
		}
		if _, err := s.FailEmailCode(ctx, "nobody", "c1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("FailEmailCode without state: %v", err)
		}
		if ok, err := s.ConsumeEmailCode(ctx, "nobody", "c1", 5); ok || err != nil {
			t.Fatalf("ConsumeEmailCode without state: %v, %v", ok, err)
		}
		if err := s.DeleteEmail(ctx, "nobody"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("State", func(t *testing.T) {
		s := newStore(t)
		if err := s.PutEmail(ctx, "u", false, when); err != nil {
			t.Fatal(err)
		}
		st, err := s.Email(ctx, "u")
		if err != nil || st.UserID != "u" || st.Disabled || !st.Since.Equal(when) || st.Code != nil {
			t.Fatalf("new state: %+v, %v", st, err)
		}
		s.SwapEmailCode(ctx, "u", nil, emailCode("c1", 0))
		// Disabling keeps the code and the first time.
		if err := s.PutEmail(ctx, "u", true, when.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Email(ctx, "u")
		if !st.Disabled || !st.Since.Equal(when) || st.Code == nil || st.Code.ID != "c1" {
			t.Fatalf("after disable: %+v", st)
		}
		if err := s.DeleteEmail(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Email(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("SwapCode", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		c1 := emailCode("c1", 0)
		if ok, err := s.SwapEmailCode(ctx, "u", nil, c1); !ok || err != nil {
			t.Fatalf("first code: %v, %v", ok, err)
		}
		st, _ := s.Email(ctx, "u")
		got := st.Code
		if got == nil || got.ID != "c1" || !bytes.Equal(got.Hash, c1.Hash) || !got.Sent.Equal(when) || !got.Expires.Equal(c1.Expires) || got.Failures != 0 {
			t.Fatalf("read back %+v", got)
		}
		if ok, _ := s.SwapEmailCode(ctx, "u", nil, emailCode("c2", 0)); ok {
			t.Fatal("swap from no code while a code is live")
		}
		if n, err := s.FailEmailCode(ctx, "u", "c1"); n != 1 || err != nil {
			t.Fatalf("FailEmailCode = %d, %v", n, err)
		}
		// A resend that read the count before the failure loses.
		if ok, _ := s.SwapEmailCode(ctx, "u", c1, emailCode("c2", 0)); ok {
			t.Fatal("swap with a stale failure count")
		}
		c1.Failures = 1
		if ok, err := s.SwapEmailCode(ctx, "u", c1, emailCode("c2", 1)); !ok || err != nil {
			t.Fatalf("resend: %v, %v", ok, err)
		}
		if _, err := s.FailEmailCode(ctx, "u", "c1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("failure on a replaced code: %v", err)
		}
		if n, _ := s.FailEmailCode(ctx, "u", "c2"); n != 2 {
			t.Fatalf("the count did not carry over: %d", n)
		}
	})

	t.Run("Consume", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		s.SwapEmailCode(ctx, "u", nil, emailCode("c1", 0))
		if ok, _ := s.ConsumeEmailCode(ctx, "u", "other", 5); ok {
			t.Fatal("consumed a code that is not current")
		}
		if ok, err := s.ConsumeEmailCode(ctx, "u", "c1", 5); !ok || err != nil {
			t.Fatalf("consume: %v, %v", ok, err)
		}
		if ok, _ := s.ConsumeEmailCode(ctx, "u", "c1", 5); ok {
			t.Fatal("consumed twice")
		}
		st, _ := s.Email(ctx, "u")
		if st.Code != nil {
			t.Fatalf("code after consume: %+v", st.Code)
		}
		// A code with too many failures cannot be consumed.
		s.SwapEmailCode(ctx, "u", nil, emailCode("c2", 0))
		for range 5 {
			s.FailEmailCode(ctx, "u", "c2")
		}
		if ok, _ := s.ConsumeEmailCode(ctx, "u", "c2", 5); ok {
			t.Fatal("consumed a code with 5 failures")
		}
	})

	t.Run("SwapToNoCode", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		// No code to no code holds, and leaves none.
		if ok, err := s.SwapEmailCode(ctx, "u", nil, nil); !ok || err != nil {
			t.Fatalf("swap from no code to none: %v, %v", ok, err)
		}
		c1 := emailCode("c1", 0)
		s.SwapEmailCode(ctx, "u", nil, c1)
		s.FailEmailCode(ctx, "u", "c1")
		// A stale count, another ID, or no code at all: the code stays.
		for _, prev := range []*storage.EmailCode{c1, emailCode("c2", 1), nil} {
			if ok, err := s.SwapEmailCode(ctx, "u", prev, nil); ok || err != nil {
				t.Fatalf("removal with previous %+v: %v, %v; want false, nil", prev, ok, err)
			}
		}
		if st, _ := s.Email(ctx, "u"); st.Code == nil || st.Code.ID != "c1" || st.Code.Failures != 1 {
			t.Fatalf("after lost removals: %+v", st.Code)
		}
		if ok, err := s.SwapEmailCode(ctx, "u", emailCode("c1", 1), nil); !ok || err != nil {
			t.Fatalf("removal: %v, %v", ok, err)
		}
		st, err := s.Email(ctx, "u")
		if err != nil || st.Code != nil || st.Disabled || !st.Since.Equal(when) {
			t.Fatalf("after removal: %+v, %v; want the state without a code", st, err)
		}
		if _, err := s.FailEmailCode(ctx, "u", "c1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("failure on a removed code: %v, want ErrNotFound", err)
		}
		if ok, _ := s.ConsumeEmailCode(ctx, "u", "c1", 5); ok {
			t.Fatal("a removed code was consumed")
		}
		// A new code starts from no code, with no failures carried.
		if ok, err := s.SwapEmailCode(ctx, "u", nil, emailCode("c3", 0)); !ok || err != nil {
			t.Fatalf("a code after removal: %v, %v", ok, err)
		}
		if n, _ := s.FailEmailCode(ctx, "u", "c3"); n != 1 {
			t.Fatalf("failures of the new code: %d, want 1", n)
		}
		if ok, err := s.SwapEmailCode(ctx, "nobody", nil, nil); ok || !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("removal without state: %v, %v; want ErrNotFound", ok, err)
		}
	})

	t.Run("Binding", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		c1 := emailCode("c1", 0)
		c1.Binding = []byte("login-digest\x00\xff")
		if ok, err := s.SwapEmailCode(ctx, "u", nil, c1); !ok || err != nil {
			t.Fatalf("swap: %v, %v", ok, err)
		}
		c1.Binding[0] = '!' // the store kept its own copy
		st, _ := s.Email(ctx, "u")
		if st.Code == nil || !bytes.Equal(st.Code.Binding, []byte("login-digest\x00\xff")) {
			t.Fatalf("binding read back as %+v", st.Code)
		}
		st.Code.Binding[0] = '!'
		if again, _ := s.Email(ctx, "u"); again.Code.Binding[0] == '!' {
			t.Fatal("the store shares the binding it returned")
		}
		// A resend with another binding, and one with none.
		c2 := emailCode("c2", 0)
		c2.Binding = []byte("another login")
		s.SwapEmailCode(ctx, "u", emailCode("c1", 0), c2)
		if st, _ := s.Email(ctx, "u"); !bytes.Equal(st.Code.Binding, c2.Binding) {
			t.Fatalf("binding after resend: %q", st.Code.Binding)
		}
		s.SwapEmailCode(ctx, "u", c2, emailCode("c3", 0))
		if st, _ := s.Email(ctx, "u"); len(st.Code.Binding) != 0 {
			t.Fatalf("a code without a binding read back with %q", st.Code.Binding)
		}
	})

	t.Run("RaceConsume", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		s.SwapEmailCode(ctx, "u", nil, emailCode("c1", 0))
		won := race(t, func() (bool, error) { return s.ConsumeEmailCode(ctx, "u", "c1", 5) })
		if won != 1 {
			t.Fatalf("%d of %d consumed one code, want exactly 1", won, Racers)
		}
	})

	t.Run("RaceFail", func(t *testing.T) {
		s := newStore(t)
		s.PutEmail(ctx, "u", false, when)
		s.SwapEmailCode(ctx, "u", nil, emailCode("c1", 0))
		race(t, func() (bool, error) { _, err := s.FailEmailCode(ctx, "u", "c1"); return false, err })
		if st, _ := s.Email(ctx, "u"); st.Code.Failures != Racers {
			t.Fatalf("%d concurrent failures counted as %d", Racers, st.Code.Failures)
		}
	})
}
