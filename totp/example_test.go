package totp_test

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/totp"
)

// The whole flow: set up, confirm with the first code ("verify and save"),
// log in, and see the same code refused a second time.
func Example_enrollAndVerify() {
	ctx := context.Background()
	key, _ := keyring.NewKey("2026-11") // in production: loaded from your secret store
	ring, _ := keyring.New(key)

	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	otp, err := totp.New(totp.Config{
		Issuer: "Acme Photos",
		Store:  memory.New(),
		Keys:   ring,
		Now:    func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}

	// The set-up belongs to the browser session that began it: only that
	// session sees the secret again or confirms it. Any opaque, unguessable
	// ID of the session will do (httpmw passes its per-login ID).
	session := "login-7f3a9c"
	enr, _ := otp.Begin(ctx, "user-42", "jane@example.com", session)
	fmt.Println(len(enr.GroupedSecret()), "characters to type, or scan the QR code")

	// The phone computes the code; here we do it for the example.
	phone := func() string {
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
		c, _ := totp.GenerateCode(enr.Algorithm, raw, enr.Digits, uint64(now.Unix()/30))
		return c
	}

	fmt.Println("confirm:", otp.Confirm(ctx, "user-42", session, phone()))
	st, _ := otp.State(ctx, "user-42")
	fmt.Println("status:", st.Status)

	now = now.Add(30 * time.Second)
	code := phone()
	fmt.Println("login:", otp.Verify(ctx, "user-42", code))
	err = otp.Verify(ctx, "user-42", code)
	fmt.Println("again:", errors.Is(err, totp.ErrReplay))
	// Output:
	// 39 characters to type, or scan the QR code
	// confirm: <nil>
	// status: enabled
	// login: <nil>
	// again: true
}

func ExampleParseURL() {
	e, err := totp.ParseURL("otpauth://totp/Acme:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Issuer, e.Account, e.Algorithm, e.Digits, e.Period)
	fmt.Println(e.GroupedSecret())
	// Output:
	// Acme jane@example.com SHA1 6 30s
	// JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP
}

// A secret another system made moves over with its phone: enabled at once,
// and the code the user typed into the old system a moment ago is refused.
func ExampleService_Import() {
	ctx := context.Background()
	ring, _ := keyring.New(must(keyring.NewKey("2026-11")))
	now := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	otp, _ := totp.New(totp.Config{Issuer: "Acme Photos", Store: memory.New(), Keys: ring, Now: func() time.Time { return now }})

	// As the old system kept it: base32, lower case, in groups.
	im, err := totp.ParseSecret("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp", totp.SHA1, 6, 30*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println(im) // never the key
	phone := func() string {
		c, _ := totp.GenerateCode(im.Algorithm, im.Key, im.Digits, uint64(now.Unix()/30))
		return c
	}
	usedBefore := phone()

	fmt.Println("import:", otp.Import(ctx, "user-42", "jane@example.com", im, totp.ImportOptions{}))
	fmt.Println("code used before:", errors.Is(otp.Verify(ctx, "user-42", usedBefore), totp.ErrReplay))
	now = now.Add(time.Minute)
	fmt.Println("login:", otp.Verify(ctx, "user-42", phone()))
	err = otp.Import(ctx, "user-42", "jane@example.com", im, totp.ImportOptions{})
	fmt.Println("again:", errors.Is(err, totp.ErrAlreadySetUp))
	// Output:
	// totp.Imported{SHA1, 6 digits, 30s, 160-bit key}
	// import: <nil>
	// code used before: true
	// login: <nil>
	// again: true
}

func ExampleParseImportURL() {
	// An 80-bit secret, which a set-up would not make but an import takes.
	im, account, err := totp.ParseImportURL("otpauth://totp/Old:jane@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Old")
	if err != nil {
		panic(err)
	}
	fmt.Println(account, im)
	// Output:
	// jane@example.com totp.Imported{SHA1, 6 digits, 30s, 80-bit key}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Rotating keys to the end: the ring gets a new primary key, RotateKeys
// seals every secret again under it (idle users and pending set-ups
// included), and KeyReport then says the old key can go.
func ExampleService_RotateKeys() {
	ctx := context.Background()
	store := memory.New()
	oldKey, _ := keyring.NewKey("2025-01")
	oldRing, _ := keyring.New(oldKey)
	before, _ := totp.New(totp.Config{Issuer: "Acme Photos", Store: store, Keys: oldRing})
	for _, user := range []string{"alice", "bob", "carol"} {
		if _, err := before.Begin(ctx, user, "", "session-"+user); err != nil {
			panic(err)
		}
	}

	// The new key first; the old one still opens what it sealed.
	newKey, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(newKey, oldKey)
	otp, _ := totp.New(totp.Config{Issuer: "Acme Photos", Store: store, Keys: ring})

	rep, err := otp.RotateKeys(ctx, totp.RotateOptions{
		BatchSize: 2,
		Progress: func(p totp.RotateProgress) {
			fmt.Printf("%d of %d records, up to %s\n", p.Records, p.Total, p.Cursor)
		},
	})
	if err != nil {
		// Run again with RotateOptions{After: rep.Cursor} to go on.
		panic(err)
	}
	fmt.Println("re-sealed:", rep.Resealed, "done:", rep.Done())

	status, err := otp.KeyReport(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("secrets per key:", status.Secrets)
	fmt.Println("can drop 2025-01:", status.Unused("2025-01"))
	// Output:
	// 2 of 3 records, up to bob
	// 3 of 3 records, up to carol
	// re-sealed: 3 done: true
	// secrets per key: map[2026-11:3]
	// can drop 2025-01: true
}
