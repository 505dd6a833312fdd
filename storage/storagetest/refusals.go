package storagetest

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// badUserIDs fail storage.CheckUserID, each for another reason. PostgreSQL
// refuses some of them in the driver and SQLite keeps them all: a store
// must refuse every one itself, before it reaches the database.
var badUserIDs = map[string]string{
	"empty":          "",
	"NUL":            "a\x00b",
	"NUL only":       "\x00",
	"invalid UTF-8":  "u\xff\xfe",
	"cut rune":       "ü"[:1],
	"256 bytes":      strings.Repeat("x", storage.MaxUserIDLen+1),
	"256 bytes of é": strings.Repeat("é", (storage.MaxUserIDLen+1)/2),
	"1 MB":           strings.Repeat("x", 1<<20),
}

// badTimes fail storage.CheckTime: no store keeps them and no factor may
// act on them.
var badTimes = map[string]time.Time{
	"zero":          {},
	"Unix epoch":    time.Unix(0, 0),
	"before 1970":   time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
	"year 1":        time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	"after 2262":    time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
	"far in future": time.Date(9999, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),
}

// badTexts fail storage.CheckText: PostgreSQL refuses them as text and
// SQLite keeps them, so every store refuses them in a write, and finds no
// record by them.
var badTexts = map[string]string{
	"NUL":           "id\x00",
	"invalid UTF-8": "id\xff",
}

// The records CheckRefusals names, which the Refusals subtest of Run
// creates first, so that each refused call would otherwise succeed.
const (
	refusalUser     = "u"
	refusalSet      = "set1"
	refusalCode     = "c1"
	refusalBrowser  = "b1"
	refusalLive     = "live"
	refusalCredByte = 1
)

// refusal is one call that must fail with want.
type refusal struct {
	name string
	want error
	call func(s storage.Store) error
}

// refusals lists, for every method of storage.Store that names a user,
// one call per bad user ID, and for every write that carries a time, one
// call per bad time in each of its times.
func refusals() []refusal {
	var list []refusal
	for why, id := range badUserIDs {
		add := func(method string, call func(s storage.Store) error) {
			list = append(list, refusal{method + " with user ID " + why, storage.ErrInvalidUserID, call})
		}
		code := emailCode("c9", 0)
		add("TOTP", func(s storage.Store) error { _, err := s.TOTP(ctx, id); return err })
		add("PutTOTP", func(s storage.Store) error {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: id, Account: "a", Pending: secret(1, when)})
			return err
		})
		add("AdvanceTOTPStep", func(s storage.Store) error { _, err := s.AdvanceTOTPStep(ctx, id, 1<<40); return err })
		add("AdvanceTOTPStepAndResetThrottle", func(s storage.Store) error {
			_, err := s.AdvanceTOTPStepAndResetThrottle(ctx, id, 1<<40)
			return err
		})
		add("DeleteTOTP", func(s storage.Store) error { return s.DeleteTOTP(ctx, id) })
		if id != "" { // "" starts a walk at the first record
			add("TOTPRecords", func(s storage.Store) error { _, err := s.TOTPRecords(ctx, id, 10); return err })
		}
		add("Throttle", func(s storage.Store) error { _, err := s.Throttle(ctx, id); return err })
		add("SwapThrottle", func(s storage.Store) error {
			_, err := s.SwapThrottle(ctx, id, storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: when})
			return err
		})
		add("ResetThrottle", func(s storage.Store) error { return s.ResetThrottle(ctx, id) })
		add("BackupSet", func(s storage.Store) error { _, err := s.BackupSet(ctx, id); return err })
		add("ReplaceBackupSet", func(s storage.Store) error {
			_, err := s.ReplaceBackupSet(ctx, backupSet(id, "set9", 2), "")
			return err
		})
		add("UseBackupCode", func(s storage.Store) error { _, err := s.UseBackupCode(ctx, id, refusalSet, 0, when); return err })
		add("UseBackupCodeAndResetThrottle", func(s storage.Store) error {
			_, err := s.UseBackupCodeAndResetThrottle(ctx, id, refusalSet, 0, when)
			return err
		})
		add("SetBackupDisabled", func(s storage.Store) error { return s.SetBackupDisabled(ctx, id, true) })
		add("DeleteBackupSet", func(s storage.Store) error { return s.DeleteBackupSet(ctx, id) })
		add("Email", func(s storage.Store) error { _, err := s.Email(ctx, id); return err })
		add("PutEmail", func(s storage.Store) error { return s.PutEmail(ctx, id, false, when) })
		add("DeleteEmail", func(s storage.Store) error { return s.DeleteEmail(ctx, id) })
		add("SwapEmailCode", func(s storage.Store) error { _, err := s.SwapEmailCode(ctx, id, nil, code); return err })
		add("SwapEmailCode to none", func(s storage.Store) error { _, err := s.SwapEmailCode(ctx, id, code, nil); return err })
		add("FailEmailCode", func(s storage.Store) error { _, err := s.FailEmailCode(ctx, id, refusalCode); return err })
		add("ConsumeEmailCode", func(s storage.Store) error { _, err := s.ConsumeEmailCode(ctx, id, refusalCode, 5); return err })
		add("ConsumeEmailCodeAndResetThrottle", func(s storage.Store) error {
			_, err := s.ConsumeEmailCodeAndResetThrottle(ctx, id, refusalCode, 5)
			return err
		})
		add("WebAuthnHandle", func(s storage.Store) error { _, err := s.WebAuthnHandle(ctx, id); return err })
		add("PutWebAuthnHandle", func(s storage.Store) error { return s.PutWebAuthnHandle(ctx, id, []byte("handle 9")) })
		add("WebAuthnDisabled", func(s storage.Store) error { _, err := s.WebAuthnDisabled(ctx, id); return err })
		add("SetWebAuthnDisabled", func(s storage.Store) error { return s.SetWebAuthnDisabled(ctx, id, true) })
		add("WebAuthnCredentials", func(s storage.Store) error { _, err := s.WebAuthnCredentials(ctx, id); return err })
		add("AddWebAuthnCredential", func(s storage.Store) error { return s.AddWebAuthnCredential(ctx, credential(id, 9, when)) })
		add("UpdateWebAuthnCredential", func(s storage.Store) error {
			return s.UpdateWebAuthnCredential(ctx, credential(id, refusalCredByte, when))
		})
		add("DeleteWebAuthnCredential", func(s storage.Store) error {
			return s.DeleteWebAuthnCredential(ctx, id, credential(refusalUser, refusalCredByte, when).ID)
		})
		add("DeleteWebAuthnCredentials", func(s storage.Store) error { return s.DeleteWebAuthnCredentials(ctx, id) })
		if id != "" { // "" is the pool of passkey logins
			add("PutCeremony", func(s storage.Store) error { return s.PutCeremony(ctx, ceremony("c9", id), when, 5) })
		}
		add("DeleteCeremonies", func(s storage.Store) error { return s.DeleteCeremonies(ctx, id) })
		add("Browsers", func(s storage.Store) error { _, err := s.Browsers(ctx, id); return err })
		add("AddBrowser", func(s storage.Store) error { return s.AddBrowser(ctx, browser(id, "b9", when), 5) })
		add("TouchBrowser", func(s storage.Store) error { return s.TouchBrowser(ctx, id, refusalBrowser, when.Add(time.Hour)) })
		add("DeleteBrowser", func(s storage.Store) error { return s.DeleteBrowser(ctx, id, refusalBrowser) })
		add("DeleteBrowsers", func(s storage.Store) error { return s.DeleteBrowsers(ctx, id) })
	}

	for why, bad := range badTimes {
		add := func(method string, call func(s storage.Store) error) {
			list = append(list, refusal{method + " at time " + why, storage.ErrInvalidTime, call})
		}
		u := refusalUser
		add("PutTOTP of a new record, active secret created", func(s storage.Store) error {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "new", Account: "a", Active: secret(1, bad)})
			return err
		})
		add("PutTOTP of a new record, pending secret created", func(s storage.Store) error {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "new", Account: "a", Active: secret(1, when), Pending: secret(2, bad)})
			return err
		})
		add("PutTOTP of the stored record", func(s storage.Store) error {
			rec, err := s.TOTP(ctx, u)
			if err != nil {
				rec = storage.TOTPRecord{UserID: u, Version: 1} // a store that cannot read
			}
			rec.Pending = secret(3, bad)
			_, err = s.PutTOTP(ctx, rec)
			return err
		})
		add("SwapThrottle from zero", func(s storage.Store) error {
			_, err := s.SwapThrottle(ctx, "new", storage.ThrottleState{}, storage.ThrottleState{Failures: 1, Last: bad})
			return err
		})
		add("SwapThrottle of the stored state", func(s storage.Store) error {
			_, err := s.SwapThrottle(ctx, u, storage.ThrottleState{Failures: 1, Last: when}, storage.ThrottleState{Failures: 2, Last: bad})
			return err
		})
		// A code "used" at the zero time would read back as unused.
		add("UseBackupCode", func(s storage.Store) error { _, err := s.UseBackupCode(ctx, u, refusalSet, 0, bad); return err })
		add("UseBackupCodeAndResetThrottle", func(s storage.Store) error {
			_, err := s.UseBackupCodeAndResetThrottle(ctx, u, refusalSet, 0, bad)
			return err
		})
		add("ReplaceBackupSet created", func(s storage.Store) error {
			set := backupSet(u, "set9", 2)
			set.Created = bad
			_, err := s.ReplaceBackupSet(ctx, set, refusalSet)
			return err
		})
		add("PutEmail since, new state", func(s storage.Store) error { return s.PutEmail(ctx, "new", false, bad) })
		add("PutEmail since, stored state", func(s storage.Store) error { return s.PutEmail(ctx, u, true, bad) })
		for _, field := range []string{"sent", "expires"} {
			add("SwapEmailCode next "+field, func(s storage.Store) error {
				next := emailCode("c9", 0)
				if field == "sent" {
					next.Sent = bad
				} else {
					next.Expires = bad
				}
				_, err := s.SwapEmailCode(ctx, u, emailCode(refusalCode, 0), next)
				return err
			})
		}
		add("AddWebAuthnCredential created", func(s storage.Store) error { return s.AddWebAuthnCredential(ctx, credential(u, 9, bad)) })
		if !bad.IsZero() { // zero is "never used"
			add("AddWebAuthnCredential last used", func(s storage.Store) error {
				c := credential(u, 9, when)
				c.LastUsed = bad
				return s.AddWebAuthnCredential(ctx, c)
			})
			add("UpdateWebAuthnCredential last used", func(s storage.Store) error {
				c := credential(u, refusalCredByte, when)
				c.LastUsed = bad
				return s.UpdateWebAuthnCredential(ctx, c)
			})
		}
		add("PutCeremony expires", func(s storage.Store) error {
			c := ceremony("c9", u)
			c.Expires = bad
			return s.PutCeremony(ctx, c, when, 5)
		})
		// A put as of a time past every expiry would remove them all.
		add("PutCeremony now", func(s storage.Store) error { return s.PutCeremony(ctx, ceremony("c9", u), bad, 5) })
		add("PutCeremony now, passkey pool", func(s storage.Store) error { return s.PutCeremony(ctx, ceremony("c9", ""), bad, 5) })
		add("AddBrowser created", func(s storage.Store) error {
			b := browser(u, "b9", when)
			b.Created = bad
			return s.AddBrowser(ctx, b, 1)
		})
		add("AddBrowser last used", func(s storage.Store) error {
			b := browser(u, "b9", when)
			b.LastUsed = bad
			return s.AddBrowser(ctx, b, 1)
		})
		add("TouchBrowser", func(s storage.Store) error { return s.TouchBrowser(ctx, u, refusalBrowser, bad) })
	}
	for why, bad := range badTexts {
		add := func(method string, call func(s storage.Store) error) {
			list = append(list, refusal{method + " with text " + why, storage.ErrInvalidArgument, call})
		}
		u := refusalUser
		add("PutTOTP account", func(s storage.Store) error {
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "new", Account: bad, Pending: secret(1, when)})
			return err
		})
		add("PutTOTP algorithm", func(s storage.Store) error {
			sec := secret(1, when)
			sec.Algorithm = bad
			_, err := s.PutTOTP(ctx, storage.TOTPRecord{UserID: "new", Account: "a", Pending: sec})
			return err
		})
		add("ReplaceBackupSet set ID", func(s storage.Store) error {
			_, err := s.ReplaceBackupSet(ctx, backupSet(u, bad, 2), refusalSet)
			return err
		})
		add("ReplaceBackupSet KDF", func(s storage.Store) error {
			set := backupSet(u, "set9", 2)
			set.KDF = bad
			_, err := s.ReplaceBackupSet(ctx, set, refusalSet)
			return err
		})
		add("SwapEmailCode next ID", func(s storage.Store) error {
			_, err := s.SwapEmailCode(ctx, u, emailCode(refusalCode, 0), emailCode(bad, 0))
			return err
		})
		add("AddWebAuthnCredential name", func(s storage.Store) error {
			c := credential(u, 9, when)
			c.Name = bad
			return s.AddWebAuthnCredential(ctx, c)
		})
		add("UpdateWebAuthnCredential name", func(s storage.Store) error {
			c := credential(u, refusalCredByte, when)
			c.Name = bad
			return s.UpdateWebAuthnCredential(ctx, c)
		})
		add("PutCeremony ID", func(s storage.Store) error { return s.PutCeremony(ctx, ceremony(bad, u), when, 5) })
		add("PutCeremony kind", func(s storage.Store) error {
			c := ceremony("c9", "")
			c.Kind = bad
			return s.PutCeremony(ctx, c, when, 5)
		})
		add("AddBrowser ID", func(s storage.Store) error { return s.AddBrowser(ctx, browser(u, bad, when), 1) })
		add("AddBrowser label", func(s storage.Store) error {
			b := browser(u, "b9", when)
			b.Label = "Mozilla/5.0 " + bad
			return s.AddBrowser(ctx, b, 1)
		})
	}
	for _, limit := range []int{0, -1, storage.MaxTOTPBatch + 1} {
		list = append(list, refusal{"TOTPRecords with limit " + strconv.Itoa(limit), storage.ErrInvalidArgument,
			func(s storage.Store) error { _, err := s.TOTPRecords(ctx, "", limit); return err }})
	}
	return list
}

// CheckRefusals checks that s refuses every call that names a user ID
// failing storage.CheckUserID with an error matching
// storage.ErrInvalidUserID, every write that carries a time failing
// storage.CheckTime with one matching storage.ErrInvalidTime, and every
// write that carries text failing storage.CheckText with one matching
// storage.ErrInvalidArgument.
//
// [Run] calls it on a store that holds records the refused calls would
// otherwise change, and checks that none changed. A backend may also call
// it on a store whose database is out of reach (closed, or dropped): then
// only a check made before any statement runs passes.
func CheckRefusals(t *testing.T, s storage.Store) {
	t.Helper()
	for _, r := range refusals() {
		err := r.call(s)
		if !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, err, r.want)
			continue
		}
		// The error names the rule, never the 1 MB it was given.
		if len(err.Error()) > 200 {
			t.Errorf("%s: an error of %d bytes", r.name, len(err.Error()))
		}
	}
}

// runRefusals fills a store for refusalUser, runs CheckRefusals, and
// checks that every record is as it was and still works.
func runRefusals(t *testing.T, newStore func(t *testing.T) storage.Store) {
	s := newStore(t)
	u := refusalUser
	rec := storage.TOTPRecord{UserID: u, Account: "a", Active: secret(1, when)}
	rec.Version = mustPut(t, s, rec)
	throttled := storage.ThrottleState{Failures: 1, Last: when}
	mustSwap(t, s, u, storage.ThrottleState{}, throttled)
	if ok, err := s.ReplaceBackupSet(ctx, backupSet(u, refusalSet, 3), ""); !ok || err != nil {
		t.Fatalf("ReplaceBackupSet: %v, %v", ok, err)
	}
	if err := s.PutEmail(ctx, u, false, when); err != nil {
		t.Fatal(err)
	}
	code := emailCode(refusalCode, 0)
	if ok, err := s.SwapEmailCode(ctx, u, nil, code); !ok || err != nil {
		t.Fatalf("SwapEmailCode: %v, %v", ok, err)
	}
	handle := []byte("handle of u")
	if err := s.PutWebAuthnHandle(ctx, u, handle); err != nil {
		t.Fatal(err)
	}
	cred := credential(u, refusalCredByte, when)
	mustAdd(t, s, cred)
	live, pool := ceremony(refusalLive, u), ceremony("pool", "")
	mustPutCeremony(t, s, live, when, 5)
	mustPutCeremony(t, s, pool, when, 5)
	b := browser(u, refusalBrowser, when)
	mustAddBrowser(t, s, b)

	CheckRefusals(t, s)

	// A key no record can have finds none: not found, not an error.
	for why, bad := range badTexts {
		if ok, err := s.UseBackupCode(ctx, u, bad, 0, when); ok || err != nil {
			t.Errorf("UseBackupCode of set ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if ok, err := s.UseBackupCodeAndResetThrottle(ctx, u, bad, 0, when); ok || err != nil {
			t.Errorf("UseBackupCodeAndResetThrottle of set ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if ok, err := s.ReplaceBackupSet(ctx, backupSet(u, "set9", 2), bad); ok || err != nil {
			t.Errorf("ReplaceBackupSet from set ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if _, err := s.FailEmailCode(ctx, u, bad); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("FailEmailCode of code ID %s: %v, want ErrNotFound", why, err)
		}
		if ok, err := s.ConsumeEmailCode(ctx, u, bad, 5); ok || err != nil {
			t.Errorf("ConsumeEmailCode of code ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if ok, err := s.ConsumeEmailCodeAndResetThrottle(ctx, u, bad, 5); ok || err != nil {
			t.Errorf("ConsumeEmailCodeAndResetThrottle of code ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if ok, err := s.SwapEmailCode(ctx, u, emailCode(bad, 0), nil); ok || err != nil {
			t.Errorf("SwapEmailCode from code ID %s: %v, %v; want false, nil", why, ok, err)
		}
		if _, err := s.SwapEmailCode(ctx, "nobody", emailCode(bad, 0), nil); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("SwapEmailCode from code ID %s without state: %v, want ErrNotFound", why, err)
		}
		if c, err := s.TakeCeremony(ctx, bad); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("TakeCeremony of ID %s: %+v, %v; want ErrNotFound", why, c, err)
		}
		if err := s.TouchBrowser(ctx, u, bad, when.Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("TouchBrowser of ID %s: %v, want ErrNotFound", why, err)
		}
		if err := s.DeleteBrowser(ctx, u, bad); err != nil {
			t.Errorf("DeleteBrowser of ID %s: %v", why, err)
		}
	}

	checkRecord(t, mustGet(t, s, u), rec)
	if _, err := s.TOTP(ctx, "new"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused PutTOTP made a record: %v", err)
	}
	if st := mustThrottle(t, s, u); !sameState(st, throttled) {
		t.Errorf("throttle state %+v after refused swaps, want %+v", st, throttled)
	}
	if st := mustThrottle(t, s, "new"); st.Failures != 0 {
		t.Errorf("a refused swap counted a failure: %+v", st)
	}
	set, err := s.BackupSet(ctx, u)
	if err != nil || set.SetID != refusalSet {
		t.Fatalf("backup set after refused calls: %+v, %v", set, err)
	}
	for i, at := range set.UsedAt {
		if !at.IsZero() {
			t.Errorf("code %d was marked used at %v by a refused call", i, at)
		}
	}
	if ok, err := s.UseBackupCode(ctx, u, refusalSet, 0, when); !ok || err != nil {
		t.Errorf("the code a refused call tried: UseBackupCode = %v, %v; want true, nil", ok, err)
	}
	st, err := s.Email(ctx, u)
	if err != nil || st.Disabled || !st.Since.Equal(when) || st.Code == nil || st.Code.ID != refusalCode || st.Code.Failures != 0 {
		t.Errorf("e-mail state after refused calls: %+v, %v", st, err)
	}
	if _, err := s.Email(ctx, "new"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused PutEmail made a state: %v", err)
	}
	checkHandle(t, s, u, handle)
	checkCredentials(t, s, u, cred)
	if c, err := s.TakeCeremony(ctx, "c9"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused PutCeremony stored %+v, %v", c, err)
	}
	checkTake(t, s, live)
	checkTake(t, s, pool)
	checkBrowsers(t, s, u, b)
	checkNoHash(t, s, browser(u, "b9", when).Hash)
	for _, id := range badUserIDs {
		checkNoHash(t, s, browser(id, "b9", when).Hash)
	}
	if _, err := s.WebAuthnUserByHandle(ctx, []byte("handle 9")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused PutWebAuthnHandle stored the handle: %v", err)
	}
}
