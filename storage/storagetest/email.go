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
