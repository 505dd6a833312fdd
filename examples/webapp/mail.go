package main

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/twofa-go/twofa/emailotp"
)

// devMailer is the mailer for development: it prints every message to the
// console and keeps it for the page /dev/mail, instead of sending it. It
// shows login codes to whoever looks: never use it in production.
type devMailer struct {
	console *emailotp.DevMailer
	mu      sync.Mutex
	sent    []sentMail
}

// sentMail is one message the development mailer kept.
type sentMail struct {
	At time.Time
	emailotp.Message
}

// maxMails bounds what the development mailer keeps.
const maxMails = 100

// Send implements emailotp.Mailer.
func (d *devMailer) Send(ctx context.Context, m emailotp.Message) error {
	if err := d.console.Send(ctx, m); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, sentMail{At: time.Now(), Message: m})
	if len(d.sent) > maxMails {
		d.sent = slices.Delete(d.sent, 0, len(d.sent)-maxMails)
	}
	return nil
}

// newest returns the messages kept, newest first.
func (d *devMailer) newest() []sentMail {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := slices.Clone(d.sent)
	slices.Reverse(s)
	return s
}

// page lists the messages sent, newest first, in full: a person or a test
// reads the codes there. The page exists only in development (useDevMail),
// and even then answers only clients on this machine, by the address of
// the connection: a header such as X-Forwarded-For is the client's to
// write.
func (d *devMailer) page(a *app) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.NotFound(w, r)
			return
		}
		v := a.view(r)
		v.Mails = d.newest()
		a.render(w, http.StatusOK, "mail", v)
	}
}
