package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// credential returns a credential whose ID and Data hold zero and 0xff
// bytes, which a store keeping them as text would lose.
func credential(user string, id byte, created time.Time) storage.WebAuthnCredential {
	return storage.WebAuthnCredential{
		ID:      []byte{id, 0, 0xff, id},
		UserID:  user,
		Name:    fmt.Sprintf("key %d — ünïcødé", id),
		Data:    []byte{0xff, id, 0, 'd'},
		Created: created,
	}
}

func sameCredential(a, b storage.WebAuthnCredential) bool {
	return bytes.Equal(a.ID, b.ID) && a.UserID == b.UserID && a.Name == b.Name && bytes.Equal(a.Data, b.Data) &&
		a.Created.Equal(b.Created) && a.LastUsed.Equal(b.LastUsed)
}

func mustAdd(t *testing.T, s storage.WebAuthnStore, c storage.WebAuthnCredential) {
	t.Helper()
	if err := s.AddWebAuthnCredential(ctx, c); err != nil {
		t.Fatalf("AddWebAuthnCredential(%s, %x): %v", c.UserID, c.ID, err)
	}
}

// checkCredentials reads the user's credentials and compares them, in
// order, with want.
func checkCredentials(t *testing.T, s storage.WebAuthnStore, user string, want ...storage.WebAuthnCredential) {
	t.Helper()
	got, err := s.WebAuthnCredentials(ctx, user)
	if err != nil {
		t.Fatalf("WebAuthnCredentials(%s): %v", user, err)
	}
	if got == nil {
		t.Fatalf("WebAuthnCredentials(%s) returned a nil list", user)
	}
	if !slices.EqualFunc(got, want, sameCredential) {
		t.Fatalf("credentials of %s:\nread %+v\nwant %+v", user, got, want)
	}
}

func checkHandle(t *testing.T, s storage.WebAuthnStore, user string, want []byte) {
	t.Helper()
	got, err := s.WebAuthnHandle(ctx, user)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("WebAuthnHandle(%s) = %x, %v; want %x, nil", user, got, err, want)
	}
	if u, err := s.WebAuthnUserByHandle(ctx, want); err != nil || u != user {
		t.Fatalf("WebAuthnUserByHandle(%x) = %q, %v; want %q, nil", want, u, err, user)
	}
}

func ceremony(id, user string) storage.Ceremony {
	return storage.Ceremony{ID: id, UserID: user, Kind: "registration", Data: []byte("{\"challenge\":\"\x00\xff\"}"), Expires: when.Add(5 * time.Minute)}
}

func checkTake(t *testing.T, s storage.CeremonyStore, want storage.Ceremony) {
	t.Helper()
	got, err := s.TakeCeremony(ctx, want.ID)
	if err != nil || got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind ||
		!bytes.Equal(got.Data, want.Data) || !got.Expires.Equal(want.Expires) {
		t.Fatalf("TakeCeremony(%s) = %+v, %v\nwant %+v", want.ID, got, err, want)
	}
}

func runWebAuthn(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("HandleNotFound", func(t *testing.T) {
		s := newStore(t)
		if h, err := s.WebAuthnHandle(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("WebAuthnHandle of a user without one: %x, %v; want ErrNotFound", h, err)
		}
		if u, err := s.WebAuthnUserByHandle(ctx, []byte{1, 2, 3}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("WebAuthnUserByHandle of an unknown handle: %q, %v; want ErrNotFound", u, err)
		}
	})

	t.Run("Handle", func(t *testing.T) {
		s := newStore(t)
		h := []byte{0, 0xff, 7, 0}
		if err := s.PutWebAuthnHandle(ctx, "u", h); err != nil {
			t.Fatal(err)
		}
		checkHandle(t, s, "u", h)
		// A user has one handle for good: a second one loses, as does
		// the same one again.
		for _, again := range [][]byte{{9, 9, 9}, h} {
			if err := s.PutWebAuthnHandle(ctx, "u", again); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("second PutWebAuthnHandle(u, %x): %v, want ErrConflict", again, err)
			}
		}
		if _, err := s.WebAuthnUserByHandle(ctx, []byte{9, 9, 9}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the losing handle is stored: %v", err)
		}
		// Two users never share a handle: it names one user at login.
		if err := s.PutWebAuthnHandle(ctx, "v", h); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("PutWebAuthnHandle of u's handle for v: %v, want ErrConflict", err)
		}
		if _, err := s.WebAuthnHandle(ctx, "v"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("v got a handle from a conflicting put: %v", err)
		}
		checkHandle(t, s, "u", h)
		// A handle differing in one trailing byte is another handle.
		if _, err := s.WebAuthnUserByHandle(ctx, h[:3]); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("WebAuthnUserByHandle of a prefix: %v, want ErrNotFound", err)
		}
	})

	t.Run("CredentialsEmpty", func(t *testing.T) {
		s := newStore(t)
		checkCredentials(t, s, "nobody")
		if err := s.UpdateWebAuthnCredential(ctx, credential("nobody", 1, when)); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("UpdateWebAuthnCredential of a missing credential: %v, want ErrNotFound", err)
		}
		if err := s.DeleteWebAuthnCredential(ctx, "nobody", []byte{1}); err != nil {
			t.Fatalf("DeleteWebAuthnCredential of a missing credential: %v", err)
		}
		if err := s.DeleteWebAuthnCredentials(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteWebAuthnCredentials of a user without any: %v", err)
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		s := newStore(t)
		// Added oldest first, with IDs in the other order, so that a list
		// sorted by ID instead of age shows.
		older := credential("u", 2, when)
		older.LastUsed = when.Add(time.Hour + time.Nanosecond)
		newer := credential("u", 1, when.Add(time.Nanosecond))
		other := credential("v", 3, when)
		for _, c := range []storage.WebAuthnCredential{older, newer, other} {
			mustAdd(t, s, c)
		}
		checkCredentials(t, s, "u", older, newer)
		checkCredentials(t, s, "v", other)
	})

	t.Run("AddConflict", func(t *testing.T) {
		s := newStore(t)
		c := credential("u", 1, when)
		mustAdd(t, s, c)
		// Each key is added once, whoever adds it again.
		for _, user := range []string{"u", "v"} {
			again := credential(user, 1, when.Add(time.Minute))
			again.Name, again.Data = "again", []byte("again")
			if err := s.AddWebAuthnCredential(ctx, again); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("AddWebAuthnCredential of a stored ID for %s: %v, want ErrConflict", user, err)
			}
		}
		checkCredentials(t, s, "u", c)
		checkCredentials(t, s, "v")
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		c, keep := credential("u", 1, when), credential("u", 2, when.Add(time.Second))
		mustAdd(t, s, c)
		mustAdd(t, s, keep)
		next := c
		next.Name, next.Data, next.LastUsed = "renamed", []byte{0, 0, 0xff}, when.Add(time.Hour+time.Nanosecond)
		next.Created = when.Add(-time.Hour) // not written: Created stays
		if err := s.UpdateWebAuthnCredential(ctx, next); err != nil {
			t.Fatal(err)
		}
		next.Created = c.Created
		checkCredentials(t, s, "u", next, keep)
		// Only the owner's credential is updated.
		theirs := next
		theirs.UserID, theirs.Name = "v", "stolen"
		if err := s.UpdateWebAuthnCredential(ctx, theirs); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("UpdateWebAuthnCredential of another user's credential: %v, want ErrNotFound", err)
		}
		unknown := credential("u", 9, when)
		if err := s.UpdateWebAuthnCredential(ctx, unknown); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("UpdateWebAuthnCredential of an unknown ID: %v, want ErrNotFound", err)
		}
		checkCredentials(t, s, "u", next, keep)
		checkCredentials(t, s, "v")
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		a, b := credential("u", 1, when), credential("u", 2, when.Add(time.Second))
		theirs := credential("v", 3, when)
		for _, c := range []storage.WebAuthnCredential{a, b, theirs} {
			mustAdd(t, s, c)
		}
		// Another user cannot delete u's credential.
		if err := s.DeleteWebAuthnCredential(ctx, "v", a.ID); err != nil {
			t.Fatal(err)
		}
		checkCredentials(t, s, "u", a, b)
		for i := range 2 {
			if err := s.DeleteWebAuthnCredential(ctx, "u", a.ID); err != nil {
				t.Fatalf("DeleteWebAuthnCredential #%d: %v", i+1, err)
			}
		}
		checkCredentials(t, s, "u", b)
		checkCredentials(t, s, "v", theirs)
		// The ID is free again.
		a.Created = when.Add(time.Minute)
		mustAdd(t, s, a)
		checkCredentials(t, s, "u", b, a)
	})

	t.Run("DeleteAll", func(t *testing.T) {
		s := newStore(t)
		hu, hv := []byte("handle-u\x00"), []byte("handle-v\xff")
		for user, h := range map[string][]byte{"u": hu, "v": hv} {
			if err := s.PutWebAuthnHandle(ctx, user, h); err != nil {
				t.Fatal(err)
			}
		}
		theirs := credential("v", 3, when)
		for _, c := range []storage.WebAuthnCredential{credential("u", 1, when), credential("u", 2, when), theirs} {
			mustAdd(t, s, c)
		}
		for i := range 2 {
			if err := s.DeleteWebAuthnCredentials(ctx, "u"); err != nil {
				t.Fatalf("DeleteWebAuthnCredentials #%d: %v", i+1, err)
			}
		}
		checkCredentials(t, s, "u")
		if _, err := s.WebAuthnHandle(ctx, "u"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("WebAuthnHandle after DeleteWebAuthnCredentials: %v, want ErrNotFound", err)
		}
		if _, err := s.WebAuthnUserByHandle(ctx, hu); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("WebAuthnUserByHandle of a deleted handle: %v, want ErrNotFound", err)
		}
		checkCredentials(t, s, "v", theirs)
		checkHandle(t, s, "v", hv)
		// The user starts over: a new handle, and the old keys again.
		if err := s.PutWebAuthnHandle(ctx, "u", []byte("handle-u2")); err != nil {
			t.Fatalf("PutWebAuthnHandle after DeleteWebAuthnCredentials: %v", err)
		}
		mustAdd(t, s, credential("u", 1, when))
	})

	t.Run("Copies", func(t *testing.T) {
		s := newStore(t)
		h := []byte{1, 2, 3}
		if err := s.PutWebAuthnHandle(ctx, "u", h); err != nil {
			t.Fatal(err)
		}
		h[0] = 99
		checkHandle(t, s, "u", []byte{1, 2, 3})
		out, _ := s.WebAuthnHandle(ctx, "u")
		out[1] = 99
		if again, _ := s.WebAuthnHandle(ctx, "u"); again[1] == 99 {
			t.Fatal("the store shares memory with the handle it returned")
		}

		in := credential("u", 1, when)
		want := credential("u", 1, when)
		mustAdd(t, s, in)
		in.ID[1], in.Data[1] = 99, 99
		checkCredentials(t, s, "u", want)
		list, _ := s.WebAuthnCredentials(ctx, "u")
		list[0].ID[1], list[0].Data[1], list[0].Name = 98, 98, "changed"
		checkCredentials(t, s, "u", want)
		// Update copies too.
		next := credential("u", 1, when)
		next.Data = []byte{5, 6}
		if err := s.UpdateWebAuthnCredential(ctx, next); err != nil {
			t.Fatal(err)
		}
		next.Data[0] = 99
		want.Data = []byte{5, 6}
		checkCredentials(t, s, "u", want)

		c := ceremony("c1", "u")
		wantC := ceremony("c1", "u")
		if err := s.PutCeremony(ctx, c, when.Add(-2*time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		c.Data[0] = 99
		checkTake(t, s, wantC)
	})

	t.Run("RaceAdd", func(t *testing.T) {
		s := newStore(t)
		// One key, registered by every racer for a user of its own.
		won, winner := raceWrite(t, func(i int64) error {
			return s.AddWebAuthnCredential(ctx, credential(fmt.Sprint("racer ", i), 1, when))
		})
		if won != 1 {
			t.Fatalf("%d of %d goroutines added one credential ID, want exactly 1", won, Racers)
		}
		for i := range int64(Racers) {
			user := fmt.Sprint("racer ", i+1)
			if i+1 == winner {
				checkCredentials(t, s, user, credential(user, 1, when))
			} else {
				checkCredentials(t, s, user)
			}
		}
	})

	t.Run("Ceremony", func(t *testing.T) {
		s := newStore(t)
		reg := ceremony("c1", "u")
		// A passkey login's user is not known yet; it has no data here, and
		// it expired an hour ago, which is the caller's to check.
		pass := storage.Ceremony{ID: "c2", Kind: "passkey", Data: []byte{}, Expires: when.Add(-time.Hour)}
		for _, c := range []storage.Ceremony{reg, pass} {
			if err := s.PutCeremony(ctx, c, when.Add(-2*time.Hour), 1000); err != nil {
				t.Fatalf("PutCeremony(%s): %v", c.ID, err)
			}
		}
		checkTake(t, s, pass)
		checkTake(t, s, reg)
		for _, id := range []string{"c1", "c2", "never"} {
			if c, err := s.TakeCeremony(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("TakeCeremony(%s) after it was taken, or never put: %+v, %v; want ErrNotFound", id, c, err)
			}
		}
	})

	t.Run("CeremonyConflict", func(t *testing.T) {
		s := newStore(t)
		first := ceremony("c1", "u")
		if err := s.PutCeremony(ctx, first, when.Add(-2*time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		second := ceremony("c1", "v")
		second.Kind, second.Data = "login", []byte("second")
		if err := s.PutCeremony(ctx, second, when.Add(-2*time.Hour), 1000); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("PutCeremony of a stored ID: %v, want ErrConflict", err)
		}
		checkTake(t, s, first)
		// Once taken, the ID may be used again.
		if err := s.PutCeremony(ctx, second, when.Add(-2*time.Hour), 1000); err != nil {
			t.Fatalf("PutCeremony of a taken ID: %v", err)
		}
		checkTake(t, s, second)
	})

	t.Run("CeremoniesKept", func(t *testing.T) {
		// A store may drop long-expired ceremonies as it stores new ones,
		// but never a live one. They expire in minutes, as the library's
		// do, by the wall clock, which is the only one a store might read.
		s := newStore(t)
		expires := time.Now().Add(5 * time.Minute)
		var all []storage.Ceremony
		for i := range 256 {
			c := storage.Ceremony{ID: fmt.Sprint("c", i), UserID: "u", Kind: "login", Data: []byte{byte(i)}, Expires: expires}
			if err := s.PutCeremony(ctx, c, when.Add(-2*time.Hour), 1000); err != nil {
				t.Fatal(err)
			}
			all = append(all, c)
		}
		for _, c := range all {
			checkTake(t, s, c)
		}
	})

	t.Run("RaceTake", func(t *testing.T) {
		s := newStore(t)
		c := ceremony("c1", "u")
		if err := s.PutCeremony(ctx, c, when.Add(-2*time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		won := race(t, func() (bool, error) {
			got, err := s.TakeCeremony(ctx, "c1")
			if errors.Is(err, storage.ErrNotFound) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if got.UserID != c.UserID || !bytes.Equal(got.Data, c.Data) {
				return false, fmt.Errorf("took %+v, want %+v", got, c)
			}
			return true, nil
		})
		if won != 1 {
			t.Fatalf("%d of %d goroutines took one ceremony, want exactly 1", won, Racers)
		}
	})
}

func runWebAuthnDisabled(t *testing.T, newStore func(t *testing.T) storage.Store) {
	s := newStore(t)
	if off, err := s.WebAuthnDisabled(ctx, "u"); off || err != nil {
		t.Fatalf("without a handle: %v, %v; want false, nil", off, err)
	}
	if err := s.SetWebAuthnDisabled(ctx, "u", true); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SetWebAuthnDisabled without a handle: %v, want ErrNotFound", err)
	}
	s.PutWebAuthnHandle(ctx, "u", []byte("handle-u"))
	s.PutWebAuthnHandle(ctx, "v", []byte("handle-v"))
	if err := s.SetWebAuthnDisabled(ctx, "u", true); err != nil {
		t.Fatal(err)
	}
	if off, _ := s.WebAuthnDisabled(ctx, "u"); !off {
		t.Fatal("not disabled")
	}
	if off, _ := s.WebAuthnDisabled(ctx, "v"); off {
		t.Fatal("another user disabled")
	}
	if err := s.SetWebAuthnDisabled(ctx, "u", false); err != nil {
		t.Fatal(err)
	}
	if off, _ := s.WebAuthnDisabled(ctx, "u"); off {
		t.Fatal("still disabled")
	}
	// Removing everything forgets the flag too.
	s.SetWebAuthnDisabled(ctx, "u", true)
	s.DeleteWebAuthnCredentials(ctx, "u")
	if off, _ := s.WebAuthnDisabled(ctx, "u"); off {
		t.Fatal("the flag outlived the user's keys")
	}
}

// Credentials come back by Created, whatever order they were added in.
func runWebAuthnOrder(t *testing.T, newStore func(t *testing.T) storage.Store) {
	s := newStore(t)
	for i, created := range []time.Time{when.Add(2 * time.Second), when, when.Add(time.Second)} {
		c := storage.WebAuthnCredential{ID: []byte{byte(i)}, UserID: "u", Name: fmt.Sprint(i), Data: []byte("d"), Created: created}
		if err := s.AddWebAuthnCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.WebAuthnCredentials(ctx, "u")
	if err != nil || len(got) != 3 || got[0].Name != "1" || got[1].Name != "2" || got[2].Name != "0" {
		t.Fatalf("order: %+v, %v", got, err)
	}
}
