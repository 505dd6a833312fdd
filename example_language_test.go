package twofa_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage/memory"
)

// The language of mails and printouts: the one the application records
// for the user, else the request's, else English.
func ExampleService_Printer() {
	key, _ := keyring.NewKey("2026-11")
	ring, _ := keyring.New(key)
	languages := map[string]string{"user-42": "de"} // the application's own record
	tf, _ := twofa.New(twofa.Config{
		Issuer: "Acme Photos", Store: memory.New(), Keys: ring,
		Language: func(_ context.Context, userID string) (string, error) { return languages[userID], nil },
	})

	// During a request in French (httpmw puts the request's language in
	// the context).
	ctx := i18n.WithLanguage(context.Background(), language.French)
	for _, user := range []string{"user-42", "user-7"} {
		p, _ := tf.Printer(ctx, user)
		fmt.Println(user, p.Tag(), p.T("pdf.codes.title"))
	}

	// A printout in the user's language, with the application's font for
	// other scripts (nil here).
	p, _ := tf.Printer(ctx, "user-42")
	sheet := backup.Sheet{Issuer: "Acme Photos", Account: "Łukasz", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Codes: []string{"abcd-efgh"}, Printer: p, Font: tf.Font()}
	var text bytes.Buffer
	_ = sheet.WriteText(&text)
	for _, line := range strings.SplitN(text.String(), "\n", 6)[:5] { // the advice after them aside
		fmt.Println(line)
	}
	// Output:
	// user-42 de Backup-Codes
	// user-7 fr Codes de secours
	// Backup-Codes für Acme Photos
	// Konto: Łukasz
	// Erstellt: 23. November 2026
	//
	//  1. abcd-efgh
}
