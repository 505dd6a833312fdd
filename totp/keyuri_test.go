package totp_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/totp"
)

// keyURI is an otpauth URL as the Key URI format describes it, read by
// parseKeyURI below: written from the format's text, not from ParseURL, so
// that the two cannot share a mistake.
type keyURI struct {
	typ, issuer, labelIssuer, account string
	params                            map[string]string
}

// parseKeyURI reads otpauth://TYPE/LABEL?PARAMETERS strictly:
//
//	label = accountname / issuer (":" / "%3A") *"%20" accountname
//
// with the label and each parameter value percent-encoded per RFC 3986, in
// which a '+' is a plus. A URL whose meaning rests on an app's guess is an
// error here: a bare '+' or space, which some apps read as a space and
// others as a plus, or a character RFC 3986 does not allow.
func parseKeyURI(s string) (*keyURI, error) {
	rest, ok := strings.CutPrefix(s, "otpauth://")
	if !ok {
		return nil, fmt.Errorf("no otpauth:// scheme")
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		alnum := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("-._~%!$&'()*,;=:@/?", rune(c)) {
			return nil, fmt.Errorf("byte %q at %d is not allowed in a URI, or is ambiguous", c, i)
		}
	}
	typ, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, fmt.Errorf("no label")
	}
	rawLabel, rawParams, _ := strings.Cut(rest, "?")
	k := &keyURI{typ: typ, params: map[string]string{}}
	rawAccount := rawLabel
	if i := strings.Index(rawLabel, ":"); i >= 0 {
		k.labelIssuer, rawAccount = rawLabel[:i], rawLabel[i+1:]
	} else if i := strings.Index(rawLabel, "%3A"); i >= 0 {
		k.labelIssuer, rawAccount = rawLabel[:i], rawLabel[i+3:]
	}
	for strings.HasPrefix(rawAccount, "%20") {
		rawAccount = rawAccount[3:]
	}
	var err error
	if k.labelIssuer, err = percentDecode(k.labelIssuer); err != nil {
		return nil, fmt.Errorf("label issuer: %v", err)
	}
	if k.account, err = percentDecode(rawAccount); err != nil {
		return nil, fmt.Errorf("account: %v", err)
	}
	for _, kv := range strings.Split(rawParams, "&") {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("parameter %q has no value", kv)
		}
		if _, dup := k.params[key]; dup {
			return nil, fmt.Errorf("parameter %q twice", key)
		}
		if k.params[key], err = percentDecode(value); err != nil {
			return nil, fmt.Errorf("parameter %s: %v", key, err)
		}
	}
	k.issuer = k.params["issuer"]
	return k, nil
}

// percentDecode undoes RFC 3986 percent-encoding (section 2.1): %XX is the
// byte XX, and nothing else changes.
func percentDecode(s string) (string, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated %%-escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad %%-escape %q", s[i:i+3])
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), nil
}

// The QR code an authenticator app scans carries the issuer and account as
// the Key URI format spells them: zbarimg reads the PNG, and the strict
// parser above finds each name exactly, in the label and in the issuer
// parameter.
func TestQRCodeKeyURI(t *testing.T) {
	needTool(t, "zbarimg")
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, account := range []string{
		"jane@example.com",
		"Jane Doe",
		"jane+2fa@example.com",
		"two  spaces inside",
		"Zoë Ångström",
		"名前 テスト",
		"a/b?c#d%e&f=g",
	} {
		t.Run(account, func(t *testing.T) {
			e := &totp.Enrollment{Issuer: "Acme Photos", Account: account, Secret: secret,
				Algorithm: totp.SHA256, Digits: 8, Period: 60 * time.Second}
			png, err := e.QRCode(512)
			if err != nil {
				t.Fatal(err)
			}
			scanned := zbar(t, writeFile(t, "qr.png", png))
			k, err := parseKeyURI(scanned)
			if err != nil {
				t.Fatalf("%q: %v", scanned, err)
			}
			if k.typ != "totp" || k.labelIssuer != "Acme Photos" || k.issuer != "Acme Photos" || k.account != account {
				t.Fatalf("%q read as type %q, label issuer %q, issuer %q, account %q", scanned, k.typ, k.labelIssuer, k.issuer, k.account)
			}
			for key, want := range map[string]string{"secret": secret, "algorithm": "SHA256", "digits": "8", "period": "60"} {
				if k.params[key] != want {
					t.Errorf("%s = %q, want %q", key, k.params[key], want)
				}
			}
		})
	}
}

// The strict parser is itself checked: it refuses the spellings an app
// reads two ways, and reads a Key URI example as the format's text does.
func TestParseKeyURIStrict(t *testing.T) {
	k, err := parseKeyURI("otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30")
	if err != nil || k.labelIssuer != "ACME Co" || k.issuer != "ACME Co" || k.account != "john.doe@email.com" {
		t.Fatalf("example read as %+v, %v", k, err)
	}
	k, err = parseKeyURI("otpauth://totp/Example%3A%20%20alice?secret=A&issuer=Example")
	if err != nil || k.labelIssuer != "Example" || k.account != "alice" {
		t.Fatalf("encoded colon and spaces read as %+v, %v", k, err)
	}
	for _, bad := range []string{
		"otpauth://totp/A:b?secret=A&issuer=Acme+Photos",
		"otpauth://totp/Acme Photos:b?secret=A",
		"otpauth://totp/A:b?secret=%zz",
		"otpauth://totp/A:b?secret=A&secret=B",
		"https://totp/A:b?secret=A",
	} {
		if _, err := parseKeyURI(bad); err == nil {
			t.Errorf("parseKeyURI(%q) accepted", bad)
		}
	}
}
