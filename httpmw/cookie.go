package httpmw

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// parseOrigin checks Config.Origin and returns it as browsers write it in
// the Origin header (lower case, no default port, no trailing slash), and
// whether the application is served over plain HTTP.
func parseOrigin(origin string) (canon string, plain bool, err error) {
	if origin == "" {
		return "", false, errors.New(`httpmw: Config.Origin is required: the application's public origin, such as "https://example.com"`)
	}
	bad := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("httpmw: Config.Origin %q: %s", origin, why)
	}
	u, err := url.Parse(origin)
	if err != nil {
		return bad("not a URL")
	}
	switch {
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return bad(`want scheme://host[:port], such as "https://example.com"`)
	case u.User != nil:
		return bad("no user information allowed")
	case u.Path != "" && u.Path != "/" || u.RawPath != "":
		return bad("no path allowed")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(origin, "#"):
		return bad("no query or fragment allowed")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	switch scheme {
	case "https":
		plain = false
		if port == "443" {
			port = ""
		}
	case "http":
		// Plain HTTP only where a developer runs the application: a
		// browser treats localhost as a secure context, and nobody on the
		// network sees the traffic.
		if !isLocalhost(host) {
			return bad("http only for localhost or a loopback address; anything else must be https")
		}
		plain = true
		if port == "80" {
			port = ""
		}
	default:
		return bad("the scheme must be https (or http for localhost)")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, plain, nil
}

func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// cookieRules decide the Secure attribute and the name prefix of every
// cookie, from the configured origin and never from the request: behind a
// proxy the request's Host and TLS say nothing of what the browser sees.
// The zero value is the safe one: Secure, with the prefix.
type cookieRules struct {
	// plain is set for an origin on plain HTTP (localhost), where a
	// browser would drop a Secure cookie.
	plain bool
}

// name returns base with the "__Host-" prefix where cookies are Secure: the
// browser then refuses the cookie unless it is Secure, for the exact host
// and path "/", so no subdomain can plant or widen it.
func (c cookieRules) name(base string) string {
	if c.plain {
		return base
	}
	// The default names without a concatenation per request.
	switch base {
	case "twofa":
		return "__Host-twofa"
	case rememberCookie:
		return "__Host-" + rememberCookie
	case loginCookie:
		return "__Host-" + loginCookie
	}
	return "__Host-" + base
}

// cookie returns a cookie named name (already prefixed): HttpOnly,
// SameSite=Lax, path "/", no domain, and Secure unless the origin is plain
// HTTP. maxAge 0 makes a session cookie; negative deletes it.
func (c cookieRules) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !c.plain,
		SameSite: http.SameSiteLaxMode,
	}
}

// Cookie returns a cookie named name by the rules of twofa's own cookies:
// HttpOnly, SameSite=Lax, path "/", no domain, and, when Config.Origin is
// https, Secure with the "__Host-" prefix on its name. Only an http origin
// on localhost (development) gives a plain cookie under name itself. The
// request plays no part: behind a proxy its Host and scheme are not what
// the browser sees. maxAge 0 makes a cookie that ends with the browser
// session; negative deletes it. An application may use it for its own
// session cookie, and reads it back by the returned Name.
func (m *Middleware) Cookie(name, value string, maxAge int) *http.Cookie {
	return m.ck.cookie(m.ck.name(name), value, maxAge)
}

// CookieName returns the name a cookie called name has under the rules of
// [Middleware.Cookie]: "__Host-"+name when Config.Origin is https, name
// itself on an http origin on localhost. An application that makes its
// session cookie with Cookie reads it back under this name, and gives it
// to a session library that sets cookies itself (scs's
// SessionManager.Cookie.Name, for one) so that its cookie has the prefix
// too.
func (m *Middleware) CookieName(name string) string {
	return m.ck.name(name)
}
