// Command webapp is a complete web application with two-factor
// authentication, to run and to copy: password login, authenticator apps,
// backup codes, codes by e-mail, security keys and passkeys, remembered
// browsers, and an administrator page that resets a user's second factor.
//
//	go run ./examples/webapp
//
// With no settings it keeps everything in the SQLite file twofa-webapp.db in
// the working directory, prints the e-mails it would send (and shows them,
// to this machine only, at /dev/mail), and creates a demo user and an
// administrator on first start, whose passwords it prints. Every flag can
// also be set in the environment:
//
//	-addr           ADDR           address to listen on (localhost:8080)
//	-db             DATABASE_URL   SQLite file, a postgres:// DSN, or mysql://
//	                               and a MariaDB DSN: mysql://user:pass@tcp(127.0.0.1:3306)/twofa
//	-origin         ORIGIN         the site's public origin: cookies, security keys (http://localhost:PORT)
//	-dev-mail       DEV_MAIL       auto, on or off: the development mailer (auto: on for http://localhost)
//	-smtp-host      SMTP_HOST      SMTP server; without one, the development mailer
//	-smtp-port      SMTP_PORT      587 (STARTTLS), 465 (TLS) or 25 (plain)
//	-smtp-tls       SMTP_TLS       starttls, tls or plain
//	-smtp-user      SMTP_USER
//	-smtp-password  SMTP_PASSWORD  (better in the environment than on the command line)
//	-smtp-from      SMTP_FROM      sender, as "Example <otp@example.com>"
//	-require-by     REQUIRE_BY     a second factor for everyone: now, or by a date
//	                               such as 2027-01-31 (until then, a grace period)
//	-admin-keys     ADMIN_KEYS     administrators must use a security key or passkey
//	                               (by -require-by's date, else at once)
//
// The load test runs as a subcommand, with flags of its own (load.go):
//
//	go run ./examples/webapp load -users 32 -duration 30s -db DATABASE
//
// The code is in small files: app.go wires twofa and its pages into the
// application, users.go and session.go are the application's own login and
// sessions, admin.go the administrator page, mail.go the development mailer,
// load.go the load test.
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
	"strconv"
	"syscall"
	"time"

	"github.com/twofa-go/twofa/emailotp"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		switch err := loadMain(os.Args[2:], os.Stdout, os.Stderr); {
		case errors.Is(err, flag.ErrHelp):
			return
		case err != nil:
			log.Fatal(err)
		}
		return
	}
	addr := flag.String("addr", env("ADDR", "localhost:8080"), "address to listen on")
	db := flag.String("db", env("DATABASE_URL", "twofa-webapp.db"), "SQLite file, a postgres:// DSN, or mysql://user:pass@tcp(host:3306)/dbname for MariaDB")
	origin := flag.String("origin", env("ORIGIN", ""), "the site's public origin, as browsers see it: https makes every cookie Secure; default http://localhost:PORT")
	devMail := flag.String("dev-mail", env("DEV_MAIL", "auto"), "the development mailer, which shows every code at /dev/mail: auto (on only with no SMTP server and an http://localhost origin), on or off")
	smtpHost := flag.String("smtp-host", env("SMTP_HOST", ""), "SMTP server; without one, the development mailer if on, else no mail")
	smtpPort := flag.Int("smtp-port", envInt("SMTP_PORT", 0), "SMTP port; default 587, or 465 with -smtp-tls=tls")
	smtpTLS := flag.String("smtp-tls", env("SMTP_TLS", "starttls"), "starttls, tls or plain")
	smtpUser := flag.String("smtp-user", env("SMTP_USER", ""), "SMTP user name")
	smtpPassword := flag.String("smtp-password", env("SMTP_PASSWORD", ""), "SMTP password (better set in SMTP_PASSWORD)")
	smtpFrom := flag.String("smtp-from", env("SMTP_FROM", ""), `sender, as "Example <otp@example.com>"`)
	requireBy := flag.String("require-by", env("REQUIRE_BY", ""), "require a second factor of every user: now, or from a date such as 2027-01-31 (a grace period until then); default optional")
	adminKeys := flag.Bool("admin-keys", envBool("ADMIN_KEYS", false), "administrators must use a security key or passkey (by -require-by's date, else at once)")
	flag.Parse()
	pol, err := parsePolicy(*requireBy, *adminKeys)
	if err != nil {
		log.Fatal(err)
	}

	cfg := config{
		DB:      *db,
		Origin:  *origin,
		DevMail: *devMail,
		SMTP: emailotp.SMTPConfig{
			Host: *smtpHost, Port: *smtpPort, Username: *smtpUser, Password: *smtpPassword, From: *smtpFrom,
		},
		Log:           os.Stdout,
		Policy:        pol,
		InvitePasskey: true,
	}
	switch *smtpTLS {
	case "starttls":
		cfg.SMTP.TLS = emailotp.StartTLS
	case "tls":
		cfg.SMTP.TLS = emailotp.ImplicitTLS
	case "plain":
		cfg.SMTP.TLS = emailotp.Plain
	default:
		log.Fatalf("-smtp-tls must be starttls, tls or plain, not %q", *smtpTLS)
	}
	if cfg.Origin == "" {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			log.Fatalf("-addr: %v", err)
		}
		cfg.Origin = "http://localhost:" + port
	}

	if err := run(*addr, cfg); err != nil {
		log.Fatal(err)
	}
}

// run serves the application on addr until an interrupt.
func run(addr string, cfg config) error {
	h, cleanup, err := newServer(cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	fmt.Fprintf(cfg.Log, "Listening on %s: open %s\n", addr, cfg.Origin)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Interrupted: finish the requests under way, then close the database.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	return b
}

func envInt(name string, def int) int {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	return n
}
