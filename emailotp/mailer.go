package emailotp

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Message is one e-mail: a plain-text body and an HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Language is the language of Subject, Text and HTML, a BCP 47 tag
	// ("de"); a mailer that can sets the Content-Language header from it.
	// Empty for none.
	Language string
}

// Mailer delivers messages. Send returns only once the message was handed
// to the next hop (an SMTP server, a queue); any error means it was not,
// and the caller changes nothing.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// DevMailer writes every message to W instead of sending it, for
// development: the codes appear in the console. Never use it in production:
// it prints the codes.
type DevMailer struct {
	W  io.Writer
	mu sync.Mutex
}

// Send implements Mailer.
func (d *DevMailer) Send(_ context.Context, m Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := fmt.Fprintf(d.W, "--- mail (development mailer, not sent) ---\nTo: %s\nSubject: %s\n\n%s\n--- end of mail ---\n", m.To, m.Subject, m.Text)
	return err
}
