// Package mailtest is a mailer for tests: it keeps what it is given, and
// reads codes out of messages as a person would.
package mailtest

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/twofa-go/twofa/emailotp"
)

// Inbox is an emailotp.Mailer that keeps every message. It is safe for
// concurrent use.
type Inbox struct {
	mu   sync.Mutex
	msgs []emailotp.Message
	fail error
}

// Send implements emailotp.Mailer: it keeps m, or returns the error set by
// Fail.
func (b *Inbox) Send(_ context.Context, m emailotp.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.msgs = append(b.msgs, m)
	return nil
}

// Fail makes every later Send return err; nil makes it deliver again.
func (b *Inbox) Fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = err
}

// Messages returns what was delivered, oldest first.
func (b *Inbox) Messages() []emailotp.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]emailotp.Message(nil), b.msgs...)
}

// Last returns the newest message, failing the test if there is none.
func (b *Inbox) Last(t testing.TB) emailotp.Message {
	t.Helper()
	msgs := b.Messages()
	if len(msgs) == 0 {
		t.Fatal("nothing was mailed")
	}
	return msgs[len(msgs)-1]
}

// codeLine is how a person finds the code: the line that is nothing but
// digits.
var codeLine = regexp.MustCompile(`(?m)^\s*(\d{6,9})\s*$`)

// ReadCode returns the code in a message's text.
func ReadCode(t testing.TB, text string) string {
	t.Helper()
	m := codeLine.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no code in the message:\n%s", text)
	}
	return m[1]
}
