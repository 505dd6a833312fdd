package migrate_test

import (
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/examples/migrate"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// The users of the old application. Ann's secret is as pquerna/otp makes
// it (160 bits); Dee's is an 80-bit one typed in lower case with spaces;
// Bob's row is broken; Cy never set up a second factor.
var (
	annKey    = []byte("ann's 20-byte secret")
	deeKey    = []byte("dee-80-bit")
	annSecret = base32.StdEncoding.EncodeToString(annKey)
	deeSecret = "mrsw kljy gaww e2lu"
	badSecret = "NOT-BASE32-AT-ALL!"
)

const schema = `CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	email TEXT NOT NULL,
	password TEXT NOT NULL,
	totp_secret_key TEXT,
	recovery_codes TEXT
)`

// oldApp makes the old application's database: an authboss-shaped users
// table, with bcrypt-hashed recovery codes for Ann.
func oldApp(t *testing.T, annCodes ...string) *sql.DB {
	t.Helper()
	db, _ := testdb.SQLite(t)
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, c := range annCodes {
		h, err := bcrypt.GenerateFromPassword([]byte(c), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, string(h))
	}
	for _, u := range []struct {
		id            int
		email, secret string
		codes         any
	}{
		{1, "ann@example.com", annSecret, strings.Join(hashes, ",")},
		{2, "bob@example.com", badSecret, nil},
		{3, "cy@example.com", "", nil},
		{4, "dee@example.com", deeSecret, nil},
	} {
		var secret any = u.secret
		if u.secret == "" {
			secret = nil
		}
		if _, err := db.Exec(`INSERT INTO users VALUES (?, ?, 'bcrypt of a password', ?, ?)`, u.id, u.email, secret, u.codes); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func phone(t *testing.T, key []byte, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(totp.SHA1, key, 6, uint64(at.Unix()/30))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newService(t *testing.T, store storage.Store, clock *fake.Clock, events *fake.Events) *totp.Service {
	t.Helper()
	svc, err := totp.New(totp.Config{Issuer: "Example", Store: store, Keys: keyring.Random(), Now: clock.Now, Events: events.Hook})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestFromAuthboss runs the guide's migration against every store twofa
// ships and checks what a user sees after it.
func TestFromAuthboss(t *testing.T) {
	ctx := context.Background()
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		db := oldApp(t)
		clock := fake.NewClock(time.Date(2026, 11, 30, 9, 0, 10, 0, time.UTC))
		events := &fake.Events{}
		tf := newService(t, store, clock, events)

		// Ann signed in to the old application just before the switch.
		used := phone(t, annKey, clock.Now())

		res, err := migrate.FromAuthboss(ctx, db, tf)
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 2 || res.Skipped != 0 || len(res.Failed) != 1 {
			t.Fatalf("result %+v", res)
		}
		bad := res.Failed[0]
		if bad.UserID != "2" || !errors.Is(bad, totp.ErrBadSecret) || !strings.Contains(bad.Error(), "user 2") {
			t.Fatalf("bad row reported as %v (user %q)", bad, bad.UserID)
		}
		if strings.Contains(bad.Error(), badSecret) || strings.Contains(bad.Error(), "NOT-BASE32") {
			t.Fatalf("the report quotes the secret: %v", bad)
		}
		// Nothing half-applied for Bob; nothing made for Cy.
		for _, id := range []string{"2", "3"} {
			if _, err := store.TOTP(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("user %s has a record: %v", id, err)
			}
		}
		if st, err := tf.State(ctx, "1"); err != nil || st.Status != totp.StatusEnabled || st.Account != "ann@example.com" {
			t.Fatalf("Ann: %+v, %v", st, err)
		}

		// The code Ann used is refused; her unchanged phone signs her in
		// a minute later.
		if err := tf.Verify(ctx, "1", used); !errors.Is(err, totp.ErrReplay) {
			t.Fatalf("the code used before the migration: %v, want ErrReplay", err)
		}
		clock.Add(time.Minute)
		if err := tf.Verify(ctx, "1", phone(t, annKey, clock.Now())); err != nil {
			t.Fatalf("Ann's phone: %v", err)
		}
		if err := tf.Verify(ctx, "4", phone(t, deeKey, clock.Now())); err != nil {
			t.Fatalf("Dee's phone: %v", err)
		}
		if n := events.Count(event.Imported); n != 2 {
			t.Fatalf("%d imported events", n)
		}

		// A second run changes nothing and says so.
		res, err = migrate.FromAuthboss(ctx, db, tf)
		if err != nil || res.Imported != 0 || res.Skipped != 2 || len(res.Failed) != 1 {
			t.Fatalf("second run: %+v, %v", res, err)
		}
	})
}

// TestFromAuthbossStoreFailure: a store that fails stops the run with an
// error naming the row, and the users before it stay imported.
func TestFromAuthbossStoreFailure(t *testing.T) {
	ctx := context.Background()
	db := oldApp(t)
	clock := fake.NewClock(time.Date(2026, 11, 30, 9, 0, 10, 0, time.UTC))
	mem, _ := testdb.Backends[0].Open(t)
	store := &failAfter{Store: mem, ok: 2}
	tf := newService(t, store, clock, &fake.Events{})
	_, err := migrate.FromAuthboss(ctx, db, tf)
	var re *migrate.RowError
	if !errors.As(err, &re) || !errors.Is(err, errDown) {
		t.Fatalf("err %v, want a RowError wrapping the store's", err)
	}
	if re.UserID != "4" {
		t.Fatalf("failure reported for user %s, want 4", re.UserID)
	}
}

var errDown = errors.New("store down")

// failAfter fails every PutTOTP after the first ok.
type failAfter struct {
	storage.Store
	mu sync.Mutex
	ok int
}

func (s *failAfter) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ok == 0 {
		return 0, errDown
	}
	s.ok--
	return s.Store.PutTOTP(ctx, rec)
}

// TestUseOldRecoveryCode: an old code works once, even when 50 requests
// present it at once, and wrong codes are counted.
func TestUseOldRecoveryCode(t *testing.T) {
	ctx := context.Background()
	db := oldApp(t, "abcde-12345", "fghij-67890")
	clock := fake.NewClock(time.Date(2026, 11, 30, 9, 0, 10, 0, time.UTC))
	store, _ := testdb.Backends[0].Open(t)
	lim, err := throttle.New(store, throttle.Policy{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := migrate.UseOldRecoveryCode(ctx, db, lim, "1", " ABCDE-12345 "); !ok || err != nil {
		t.Fatalf("first use: %v, %v", ok, err)
	}
	if ok, err := migrate.UseOldRecoveryCode(ctx, db, lim, "1", "abcde-12345"); ok || err != nil {
		t.Fatalf("second use: %v, %v", ok, err)
	}
	if n, err := lim.Left(ctx, "1"); err != nil || n == 0 {
		t.Fatalf("left %d, %v", n, err)
	}

	const racers = 50
	wins := make(chan bool, racers)
	bar := testdb.NewBarrier(racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			bar.Arrive()
			ok, err := migrate.UseOldRecoveryCode(ctx, db, lim, "1", "fghij-67890")
			if err != nil && !errors.Is(err, throttle.ErrThrottled) {
				t.Error(err)
			}
			wins <- ok
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the code worked %d times", n)
	}
	var left sql.NullString
	if err := db.QueryRow(`SELECT recovery_codes FROM users WHERE id = 1`).Scan(&left); err != nil || left.String != "" {
		t.Fatalf("codes left %q, %v", left.String, err)
	}
}

// TestGuideShowsThisCode: docs/migration.md shows migrate.go whole, so the
// guide's code is the code tested here.
func TestGuideShowsThisCode(t *testing.T) {
	src, err := os.ReadFile("migrate.go")
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile("../../docs/migration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(guide), "```go\n"+string(src)+"```\n") {
		t.Fatal("docs/migration.md does not show examples/migrate/migrate.go as it is")
	}
}
