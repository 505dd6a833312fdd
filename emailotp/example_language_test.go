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
	last := &keepLast{}
	svc, err := emailotp.New(emailotp.Config{
		Store:    memory.New(),
		Mailer:   last,
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
		fmt.Println(last.m.Language, last.m.Subject)
	}
	// Output:
	// uk Acme Photos: Ваш код для входу
	// es Acme Photos: tu código de inicio de sesión
}

// keepLast is a mailer that keeps the last message.
type keepLast struct{ m emailotp.Message }

func (k *keepLast) Send(_ context.Context, m emailotp.Message) error {
	k.m = m
	return nil
}
