package storagetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// lookalikeIDs are user IDs that a text collation may take for one: the
// default collations of MySQL and MariaDB ignore case and accents and pad
// with spaces, and a Unicode normalisation joins "é" and "e" followed by a
// combining acute accent. A store keeps each apart, byte for byte, or one
// user's factors would answer for another.
var lookalikeIDs = []string{
	"alice", "Alice", "ALICE", "alice ", " alice", "alic\u00e9", "alice\u0301", "ａｌｉｃｅ", "alice\u200b",
}

func runUserIDs(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("LookalikesApart", func(t *testing.T) {
		s := newStore(t)
		c := t.Context()
		// Each user gets a record of their own: none is a duplicate of
		// another, and each reads back as its own.
		for i, id := range lookalikeIDs {
			if _, err := s.PutTOTP(c, storage.TOTPRecord{UserID: id, Account: id, Active: secret(byte(i), when)}); err != nil {
				t.Fatalf("PutTOTP(%q): %v (taken for another user?)", id, err)
			}
			if ok, err := s.SwapThrottle(c, id, storage.ThrottleState{}, storage.ThrottleState{Failures: i + 1, Last: when}); !ok || err != nil {
				t.Fatalf("SwapThrottle(%q) from zero: %v, %v", id, ok, err)
			}
			if err := s.PutWebAuthnHandle(c, id, []byte{byte(i)}); err != nil {
				t.Fatalf("PutWebAuthnHandle(%q): %v", id, err)
			}
		}
		// A step used by one is not used by the others.
		if ok, err := s.AdvanceTOTPStep(c, "alice", 100); !ok || err != nil {
			t.Fatalf("AdvanceTOTPStep(alice): %v, %v", ok, err)
		}
		for i, id := range lookalikeIDs {
			rec, err := s.TOTP(c, id)
			if err != nil || rec.UserID != id || rec.Account != id || rec.Active == nil || rec.Active.Sealed[0] != byte(i) {
				t.Fatalf("TOTP(%q): account %q, %v; want its own record", id, rec.Account, err)
			}
			if want := int64(0); id == "alice" {
				want = 100
				if rec.LastStep != want {
					t.Fatalf("TOTP(%q).LastStep = %d, want %d", id, rec.LastStep, want)
				}
			} else if rec.LastStep != want {
				t.Fatalf("TOTP(%q).LastStep = %d: alice's step counted for it", id, rec.LastStep)
			}
			if st, err := s.Throttle(c, id); err != nil || st.Failures != i+1 {
				t.Fatalf("Throttle(%q) = %d failures, %v; want %d", id, st.Failures, err, i+1)
			}
			if got, err := s.WebAuthnUserByHandle(c, []byte{byte(i)}); err != nil || got != id {
				t.Fatalf("WebAuthnUserByHandle(%d) = %q, %v; want %q", i, got, err, id)
			}
		}
		ids := walkAll(t, s, "", 3)
		if len(ids) != len(lookalikeIDs) {
			t.Fatalf("the walk found %d users, want %d: %q", len(ids), len(lookalikeIDs), ids)
		}
		// Deleting one deletes none of the others.
		if err := s.DeleteTOTP(c, "Alice"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountTOTP(c); err != nil || n != len(lookalikeIDs)-1 {
			t.Fatalf("after deleting Alice: %d records, %v; want %d", n, err, len(lookalikeIDs)-1)
		}
	})

	t.Run("LookalikeKeysApart", func(t *testing.T) {
		// Keys other than the user ID compare byte for byte too: a
		// browser's ID, a backup set's ID and an e-mailed code's ID.
		s := newStore(t)
		c := t.Context()
		for i, id := range []string{"b", "B", "b "} {
			if err := s.AddBrowser(c, storage.Browser{ID: id, UserID: "u", Hash: []byte(id), Label: id, Created: when, LastUsed: when}, 10); err != nil {
				t.Fatalf("AddBrowser(%q), the %d-th: %v", id, i+1, err)
			}
		}
		if err := s.DeleteBrowser(c, "u", "B"); err != nil {
			t.Fatal(err)
		}
		if bs, err := s.Browsers(c, "u"); err != nil || len(bs) != 2 || bs[0].ID == "B" || bs[1].ID == "B" {
			t.Fatalf("after deleting B: %+v, %v; want b and \"b \"", bs, err)
		}
		set := storage.BackupSet{UserID: "u", SetID: "set", KDF: "k", Salt: []byte{1}, Hashes: [][]byte{{1}}, Created: when}
		if ok, err := s.ReplaceBackupSet(c, set, ""); !ok || err != nil {
			t.Fatalf("ReplaceBackupSet: %v, %v", ok, err)
		}
		for _, other := range []string{"SET", "set "} {
			if ok, err := s.UseBackupCode(c, "u", other, 0, when.Add(time.Minute)); ok || err != nil {
				t.Fatalf("UseBackupCode of set %q used set \"set\"'s code: %v, %v", other, ok, err)
			}
		}
		if err := s.PutEmail(c, "u", false, when); err != nil {
			t.Fatal(err)
		}
		code := &storage.EmailCode{ID: "code", Hash: []byte{2}, Sent: when, Expires: when.Add(time.Hour)}
		if ok, err := s.SwapEmailCode(c, "u", nil, code); !ok || err != nil {
			t.Fatalf("SwapEmailCode: %v, %v", ok, err)
		}
		for _, other := range []string{"CODE", "code "} {
			if ok, err := s.ConsumeEmailCode(c, "u", other, 5); ok || err != nil {
				t.Fatalf("ConsumeEmailCode(%q) took code \"code\": %v, %v", other, ok, err)
			}
		}
		if st, err := s.Email(c, "u"); err != nil || st.Code == nil || !bytes.Equal(st.Code.Hash, []byte{2}) {
			t.Fatalf("the code after lookalike consumes: %+v, %v; want it unused", st.Code, err)
		}
	})
}
