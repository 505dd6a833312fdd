package emailotp_test

import (
	"context"
	"fmt"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/storage/memory"
)

// The code goes out in the language the application records for the user
// (Config.Language), else the request's (i18n.WithLanguage, which httpmw
// sets), else English; Message.Language names it, for Content-Language.
func ExampleConfig_language() {
	languages := map[string]string{"user-42": "uk"} // the application's own record
	var last emailotp.Message
	svc, err := emailotp.New(emailotp.Config{
		Store:    memory.New(),
		Mailer:   mailerFunc(func(_ context.Context, m emailotp.Message) error { last = m; return nil }),
		Issuer:   "Acme Photos",
		Language: func(_ context.Context, userID string) (string, error) { return languages[userID], nil },
	})
	if err != nil {
		panic(err)
	}
	ctx := i18n.WithLanguage(context.Background(), language.Spanish) // a request in Spanish
	for _, user := range []string{"user-42", "user-7"} {
		_ = svc.Enable(ctx, user)
		_ = svc.Send(ctx, user, "jane@example.com", "login-1")
		fmt.Println(last.Language, last.Subject)
	}
	// Output:
	// uk Acme Photos: Ваш код для входу
	// es Acme Photos: su código de inicio de sesión
}
