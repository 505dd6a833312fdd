// Command spa is a single-page application with two-factor authentication:
// plain HTML and JavaScript, no build step, served by a small Go back end
// with its own password login in JSON. The second step and every setting of
// it go through twofa's JSON API under /2fa/api/, security keys through the
// browser's navigator.credentials; the back end adds nothing to either.
//
//	go run ./examples/spa
//
// then open http://localhost:8080 and log in as demo@example.com with the
// password it prints (or sets with -demo-password). Codes by e-mail are
// printed to the console, not sent. Everything is kept in memory and lost
// at exit. Flags:
//
//	-addr           address to listen on (localhost:8080)
//	-origin         the site's public origin, as browsers see it: cookies
//	                and security keys are bound to it (http://localhost:PORT)
//	-demo-password  the demo user's password (random, printed, if unset)
//
// The code is in two files: app.go is the back end (the login, the
// sessions, twofa wired in), static/ the page and its script.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twofa-go/twofa/emailotp"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	origin := flag.String("origin", "", "the site's public origin, as browsers see it; default http://localhost:PORT")
	demoPassword := flag.String("demo-password", "", "the demo user's password; random and printed if unset")
	flag.Parse()
	if *origin == "" {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			log.Fatalf("-addr: %v", err)
		}
		*origin = "http://localhost:" + port
	}
	// Codes by e-mail are printed to the console instead of sent: a real
	// back end sends them (emailotp.NewSMTP).
	h, err := newServer(config{Origin: *origin, DemoPassword: *demoPassword, Log: os.Stdout, Mailer: &emailotp.DevMailer{W: os.Stdout}})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	fmt.Printf("Listening on %s: open %s\n", *addr, *origin)
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			log.Fatal(err)
		}
	}
}
