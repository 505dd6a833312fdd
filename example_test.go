package twofa_test

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// The account view of a user who sets up an authenticator app and backup
// codes, then logs in with each, through the one Verify of a login page.
func Example() {
	ctx := context.Background()
	key, _ := keyring.NewKey("2026-11") // in production: loaded from your secret store
	ring, _ := keyring.New(key)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tf, err := twofa.New(twofa.Config{
		Issuer: "Acme Photos",
		Store:  memory.New(), // or sqlstore over your *sql.DB
		Keys:   ring,
		Now:    func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}

	session := "login-7f3a9c" // the browser session's ID: only it sees and confirms this set-up
	enr, _ := tf.TOTP.Begin(ctx, "user-42", "jane@example.com", session)
	phone := func() string { // what the user's app shows
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
		c, _ := totp.GenerateCode(enr.Algorithm, raw, enr.Digits, uint64(now.Unix()/30))
		return c
	}
	_ = tf.TOTP.Confirm(ctx, "user-42", session, phone())
	codes, _ := tf.Backup.Generate(ctx, "user-42")

	a, _ := tf.Account(ctx, "user-42")
	for _, m := range a.Methods {
		fmt.Println(m.Method, m.Status)
	}
	fmt.Println("offered at login:", a.Offered, "backup codes left:", a.BackupRemaining)

	now = now.Add(30 * time.Second)
	// "login-1" names this login attempt; httpmw keeps a random one per browser.
	m, err := tf.Verify(ctx, "user-42", "login-1", phone())
	fmt.Println("app code:", m, err)
	m, err = tf.Verify(ctx, "user-42", "login-1", codes[0])
	fmt.Println("backup code:", m, err)
	// Output:
	// totp enabled
	// backup enabled
	// offered at login: [totp backup] backup codes left: 10
	// app code: totp <nil>
	// backup code: backup <nil>
}

// Backup codes recover a lost app, key or e-mail method; alone they protect
// nothing, so they are neither offered nor accepted until a primary method
// is on.
func ExampleAccount_Requires() {
	ctx := context.Background()
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tf, _ := twofa.New(twofa.Config{Issuer: "Acme Photos", Store: memory.New(), Keys: ring, Now: func() time.Time { return now }})

	const login = "login-1" // names this login attempt; httpmw keeps a random one per browser
	codes, _ := tf.Backup.Generate(ctx, "user-42")
	a, _ := tf.Account(ctx, "user-42")
	fmt.Println("backup codes only:", a.Status(twofa.Backup), a.Offered, a.Requires())
	_, err := tf.Verify(ctx, "user-42", login, codes[0])
	fmt.Println("a backup code:", errors.Is(err, twofa.ErrNoMethod))

	enr, _ := tf.TOTP.Begin(ctx, "user-42", "jane@example.com", "test-session")
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	code, _ := totp.GenerateCode(enr.Algorithm, raw, enr.Digits, uint64(now.Unix()/30))
	_ = tf.TOTP.Confirm(ctx, "user-42", "test-session", code)
	a, _ = tf.Account(ctx, "user-42")
	fmt.Println("with an app:", a.Offered, a.Requires())
	m, err := tf.Verify(ctx, "user-42", login, codes[0])
	fmt.Println("a backup code:", m, err)
	// Output:
	// backup codes only: enabled [] false
	// a backup code: true
	// with an app: [totp backup] true
	// a backup code: backup <nil>
}

// A user's recent security activity, newest first, as the settings page
// lists it; the log keeps Config.LogKeep entries per user for
// Config.LogRetention.
func ExampleService_Activity() {
	ctx := context.Background()
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tf, err := twofa.New(twofa.Config{
		Issuer: "Acme Photos", Store: memory.New(), Keys: ring,
		Now:          func() time.Time { return now },
		LogRetention: 30 * 24 * time.Hour, // instead of 90 days
	})
	if err != nil {
		panic(err)
	}
	enr, _ := tf.TOTP.Begin(ctx, "user-42", "jane@example.com", "session-1")
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	code, _ := totp.GenerateCode(enr.Algorithm, raw, enr.Digits, uint64(now.Unix()/30))
	_ = tf.TOTP.Confirm(ctx, "user-42", "session-1", code)
	now = now.Add(time.Hour)
	_ = tf.Disable(ctx, "user-42", twofa.TOTP)

	activity, _ := tf.Activity(ctx, "user-42", 10)
	for _, a := range activity {
		fmt.Println(a.Time.Format("2 Jan 15:04"), a.What)
	}
	// Output:
	// 23 Nov 10:00 No second sign-in step left
	// 23 Nov 10:00 Turned off the authenticator app
	// 23 Nov 09:00 Added the authenticator app
}

// A per-user policy: administrators must use a security key or passkey,
// everyone else a second factor of any kind, with a grace period of two
// weeks. Standing says where each user stands.
func ExampleService_Standing() {
	ctx := context.Background()
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	deadline := now.Add(14 * 24 * time.Hour)
	admins := map[string]bool{"user-1": true}
	tf, err := twofa.New(twofa.Config{
		Issuer: "Acme Photos",
		Store:  memory.New(),
		Keys:   ring,
		Now:    func() time.Time { return now },
		Policy: func(_ context.Context, userID string) (twofa.Policy, error) {
			if admins[userID] {
				return twofa.Policy{PhishingResistant: true, Deadline: deadline}, nil
			}
			return twofa.Policy{Required: true, Deadline: deadline}, nil
		},
	})
	if err != nil {
		panic(err)
	}
	for _, at := range []time.Time{now, deadline} {
		now = at
		for _, user := range []string{"user-1", "user-2"} {
			st, err := tf.Standing(ctx, user)
			fmt.Printf("%s: met %v, grace %v with %d days left, overdue %v, %v\n", user, st.Met, st.Grace, st.DaysLeft, st.Overdue, err)
		}
	}
	// Output:
	// user-1: met false, grace true with 14 days left, overdue false, <nil>
	// user-2: met false, grace true with 14 days left, overdue false, <nil>
	// user-1: met false, grace false with 0 days left, overdue true, <nil>
	// user-2: met false, grace false with 0 days left, overdue true, <nil>
}
