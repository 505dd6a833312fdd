package httpmw

import (
	"net"
	"net/http"
	"strings"
)

// secure reports whether cookies for r must be Secure: always, except for
// plain HTTP to localhost, where a developer runs the application.
func secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return !isLocalhost(r.Host)
}

func isLocalhost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// cookieName returns base with the "__Host-" prefix where cookies are
// Secure: the browser then refuses the cookie unless it is Secure, for the
// exact host and path "/", so no subdomain can plant or widen it.
func cookieName(r *http.Request, base string) string {
	if !secure(r) {
		return base
	}
	// The default names without a concatenation per request.
	switch base {
	case "twofa":
		return "__Host-twofa"
	case rememberCookie:
		return "__Host-" + rememberCookie
	}
	return "__Host-" + base
}

// newCookie returns a cookie for r: HttpOnly, SameSite=Lax, path "/", no
// domain, and Secure except on http://localhost. maxAge 0 makes a session
// cookie; negative deletes it.
func newCookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure(r),
		SameSite: http.SameSiteLaxMode,
	}
}

// Cookie returns a cookie named name for r by the rules of twofa's own
// cookies: HttpOnly, SameSite=Lax, path "/", no domain, and Secure with the
// "__Host-" prefix on its name, except over plain HTTP to localhost where a
// developer runs the application. maxAge 0 makes a cookie that ends with
// the browser session; negative deletes it. An application may use it for
// its own session cookie, and reads it back by the returned Name.
func Cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return newCookie(r, cookieName(r, name), value, maxAge)
}
