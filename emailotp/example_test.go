package emailotp_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/twofa-go/twofa/emailotp"
	"github.com/twofa-go/twofa/storage/memory"
)

// The development mailer prints messages instead of sending them; with
// NIST SP 800-63B's 10 minutes instead of the default 15. The code is sent
// for one login attempt (httpmw keeps a random ID per browser in a cookie)
// and passes only there.
func Example() {
	ctx := context.Background()
	svc, err := emailotp.New(emailotp.Config{
		Store:    memory.New(),
		Mailer:   &emailotp.DevMailer{W: os.Stdout},
		Issuer:   "Acme Photos",
		Validity: 10 * time.Minute,
		Rand:     zeros{}, // only so that the output below is fixed
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("offered:", svc.Available("jane@example.com"))
	_ = svc.Enable(ctx, "user-42")
	_ = svc.Send(ctx, "user-42", "jane@example.com", "login-1")
	waiting, _ := svc.Waiting(ctx, "user-42", "login-2")
	fmt.Println("waiting in another login:", waiting)
	fmt.Println("verify in another login:", svc.Verify(ctx, "user-42", "login-2", "000000"))
	fmt.Println("verify:", svc.Verify(ctx, "user-42", "login-1", "000000"))
	// Output:
	// offered: true
	// --- mail (development mailer, not sent) ---
	// To: jane@example.com
	// Subject: Acme Photos: your sign-in code
	//
	// Your sign-in code for Acme Photos is:
	//
	//     000000
	//
	// It works once, for 10 minutes.
	//
	// If you did not try to sign in, someone may know your password: change it, and do not give this code to anyone.
	//
	// --- end of mail ---
	// waiting in another login: false
	// verify in another login: emailotp: invalid code: no code was sent
	// verify: <nil>
}

// zeros is a reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Normalize reads a code as Verify does: spaces go, anything else but
// digits is refused.
func ExampleService_Normalize() {
	svc, err := emailotp.New(emailotp.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	for _, typed := range []string{"123 456", " 123456 ", "123-456", "12345"} {
		code, err := svc.Normalize(typed)
		fmt.Printf("%q: %q %v\n", typed, code, err)
	}
	// Output:
	// "123 456": "123456" <nil>
	// " 123456 ": "123456" <nil>
	// "123-456": "" emailotp: malformed code: only digits are allowed
	// "12345": "" emailotp: malformed code: want 6 digits
}
