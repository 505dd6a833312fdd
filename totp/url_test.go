package totp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/totp"
)

func TestURLRoundTrip(t *testing.T) {
	e := &totp.Enrollment{
		Issuer: "Acme Photos", Account: "jane+2fa@example.com", Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
		Algorithm: totp.SHA256, Digits: 8, Period: 60 * time.Second,
	}
	u := e.URL()
	// Spaces are %20 and a plus %2B, in the label and the issuer alike: a
	// bare '+' is a space to some apps and a plus to others.
	const want = "otpauth://totp/Acme%20Photos:jane%2B2fa@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Photos&algorithm=SHA256&digits=8&period=60"
	if u != want {
		t.Fatalf("URL = %s", u)
	}
	got, err := totp.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *e {
		t.Fatalf("round trip: %+v, want %+v", got, e)
	}
}

// Names with the characters a URL gives meaning to come back unchanged,
// with an issuer and without one.
func TestURLRoundTripNames(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, issuer := range []string{"", "Acme", "Acme #1 / Photos?"} {
		for _, account := range []string{
			"000", "jane doe", "a#b", "a?b=c&d", "a/b", "a%2Fb", "100%", "a+b@example.com",
			"Zoë", "名前", "a;b", "x y  z",
		} {
			e := &totp.Enrollment{Issuer: issuer, Account: account, Secret: secret,
				Algorithm: totp.SHA1, Digits: 6, Period: 30 * time.Second}
			t.Run(issuer+"|"+account, func(t *testing.T) {
				got, err := totp.ParseURL(e.URL())
				if err != nil {
					t.Fatalf("ParseURL(%q): %v", e.URL(), err)
				}
				if *got != *e {
					t.Fatalf("%q read as %+v, want %+v", e.URL(), got, e)
				}
			})
		}
	}
	// Without an issuer, the label is the account alone: a leading colon
	// would be an empty issuer.
	e := &totp.Enrollment{Account: "bob", Secret: secret, Algorithm: totp.SHA1, Digits: 6, Period: 30 * time.Second}
	if u := e.URL(); !strings.HasPrefix(u, "otpauth://totp/bob?") || strings.Contains(u, "issuer=") {
		t.Errorf("URL without issuer = %s", u)
	}
}

// Spaces around the issuer and the account are not part of them, in
// whatever spelling they come; both parse to the same enrollment, which
// then survives a round trip.
func TestParseURLSpaces(t *testing.T) {
	const s = "?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, tc := range []struct{ in, issuer, account string }{
		{"otpauth://totp/ 000" + s, "", "000"},
		{"otpauth://totp/%20000%20" + s, "", "000"},
		{"otpauth://totp/Acme:%20%20bob" + s, "Acme", "bob"},
		{"otpauth://totp/Acme%3A%20bob" + s, "Acme", "bob"},
		{"otpauth://totp/%20Acme%20:bob%20" + s + "&issuer=Acme", "Acme", "bob"},
		{"otpauth://totp/:bob" + s, "", "bob"},
		{"otpauth://totp/bob" + s + "&issuer=%20Acme", "Acme", "bob"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e, err := totp.ParseURL(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if e.Issuer != tc.issuer || e.Account != tc.account {
				t.Fatalf("issuer %q, account %q; want %q, %q", e.Issuer, e.Account, tc.issuer, tc.account)
			}
			again, err := totp.ParseURL(e.URL())
			if err != nil || *again != *e {
				t.Fatalf("round trip of %q: %+v, %v", e.URL(), again, err)
			}
		})
	}
}

// Other services spell a space in the issuer as %20 or '+' (url.Values),
// and some form-encode the label too (Java's URLEncoder); a '+' the label
// and parameter both carry is a plus. Each spelling reads as its writer
// meant.
func TestParseURLSpellings(t *testing.T) {
	const s = "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, tc := range []struct{ in, issuer, account string }{
		{"otpauth://totp/Acme%20Photos:jane?" + s + "&issuer=Acme%20Photos", "Acme Photos", "jane"},
		{"otpauth://totp/Acme%20Photos:jane?" + s + "&issuer=Acme+Photos", "Acme Photos", "jane"},
		{"otpauth://totp/jane?" + s + "&issuer=Acme+Photos", "Acme Photos", "jane"},
		{"otpauth://totp/jane?" + s + "&issuer=Acme%20Photos", "Acme Photos", "jane"},
		{"otpauth://totp/Acme+Photos:jane+doe%40example.com?" + s + "&issuer=Acme+Photos", "Acme Photos", "jane doe@example.com"},
		{"otpauth://totp/Acme+Photos:jane%2Bx%40example.com?" + s + "&issuer=Acme+Photos", "Acme Photos", "jane+x@example.com"},
		{"otpauth://totp/Disney+:jane+x@example.com?" + s + "&issuer=Disney+", "Disney+", "jane+x@example.com"},
		{"otpauth://totp/Disney%2B:jane?" + s + "&issuer=Disney%2B", "Disney+", "jane"},
		{"otpauth://totp/Acme:jane+x@example.com?" + s + "&issuer=Acme", "Acme", "jane+x@example.com"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e, err := totp.ParseURL(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if e.Issuer != tc.issuer || e.Account != tc.account {
				t.Fatalf("issuer %q, account %q; want %q, %q", e.Issuer, e.Account, tc.issuer, tc.account)
			}
			again, err := totp.ParseURL(e.URL())
			if err != nil || *again != *e {
				t.Fatalf("round trip of %q: %+v, %v", e.URL(), again, err)
			}
		})
	}
}

func TestParseURLDefaultsAndForeign(t *testing.T) {
	// Another service's URL: lower-case padded secret, no parameters but
	// the secret, a space after the colon.
	got, err := totp.ParseURL("otpauth://totp/Example:%20alice@google.com?secret=jbswy3dpehpk3pxpjbswy3dpehpk3pxp%3D%3D%3D%3D")
	if err != nil {
		t.Fatal(err)
	}
	want := totp.Enrollment{Issuer: "Example", Account: "alice@google.com", Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
		Algorithm: totp.SHA1, Digits: 6, Period: 30 * time.Second}
	if *got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseURLRefuses(t *testing.T) {
	const s = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, in := range []string{
		"",
		"https://totp/a?secret=" + s,
		"otpauth://hotp/a?secret=" + s + "&counter=1",
		"otpauth://totp/?secret=" + s,
		"otpauth://totp/a",
		"otpauth://totp/a?secret=JBSWY3DP",           // 40 bits
		"otpauth://totp/a?secret=" + s + "1",         // not base32
		"otpauth://totp/a?secret=" + s + "&digits=7", // only 6 or 8
		"otpauth://totp/a?secret=" + s + "&digits=x",
		"otpauth://totp/a?secret=" + s + "&period=0",
		"otpauth://totp/a?secret=" + s + "&period=100000",
		"otpauth://totp/a?secret=" + s + "&algorithm=MD5",
		"otpauth://totp/A:b?secret=" + s + "&issuer=B",
		"otpauth://totp/A+B:c?secret=" + s + "&issuer=A+C",
		"otpauth://totp/A+B%2B:c?secret=" + s + "&issuer=A+B%2B%2B",
		"otpauth://totp/a?secret=" + s + "&x=%zz",
		"otpauth://totp/a/b?secret=" + s,
		"otpauth://totp/a\xff?secret=" + s,
		"otpauth://totp/a?secret=" + s + strings.Repeat("&x=1", 1000),
		// The Key URI format has no room for a colon inside a name.
		"otpauth://totp/A:b:c?secret=" + s,
		"otpauth://totp/A:b%3Ac?secret=" + s,
		"otpauth://totp/b?secret=" + s + "&issuer=A:B",
		"otpauth://totp/A:?secret=" + s,
		"otpauth://totp/%20?secret=" + s,
		"otpauth://totp/a%00b?secret=" + s,
		"otpauth://totp/a%0Ab?secret=" + s,
		"otpauth://totp/" + strings.Repeat("a", 256) + "?secret=" + s,
		"otpauth://totp/a%ffb?secret=" + s,
	} {
		if _, err := totp.ParseURL(in); !errors.Is(err, totp.ErrBadURL) {
			t.Errorf("ParseURL(%.60q) = %v, want ErrBadURL", in, err)
		} else if strings.Contains(err.Error(), s) {
			t.Errorf("error carries the secret: %v", err)
		}
	}
}

func TestGroupedSecret(t *testing.T) {
	for secret, want := range map[string]string{
		"":                                 "",
		"ABC":                              "ABC",
		"ABCDEFGH":                         "ABCD EFGH",
		"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP": "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
		"ABCDEFGHI":                        "ABCD EFGH I",
	} {
		e := totp.Enrollment{Secret: secret}
		if got := e.GroupedSecret(); got != want {
			t.Errorf("GroupedSecret(%q) = %q, want %q", secret, got, want)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, tc := range []struct {
		in     string
		digits int
		want   uint32
		ok     bool
	}{
		{"123456", 6, 123456, true},
		{" 123 456 ", 6, 123456, true},
		{"000001", 6, 1, true},
		{"12345678", 8, 12345678, true},
		{"1234 5678", 8, 12345678, true},
		{"12345", 6, 0, false},
		{"1234567", 6, 0, false},
		{"12345a", 6, 0, false},
		{"123456", 8, 0, false},
		{"１２３４５６", 6, 0, false},
		{"123\t456", 6, 0, false},
		{"", 6, 0, false},
	} {
		got, err := totp.NormalizeCode(tc.in, tc.digits)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && !errors.Is(err, totp.ErrMalformed) {
			t.Errorf("NormalizeCode(%q, %d) = %d, %v; want %d ok=%v", tc.in, tc.digits, got, err, tc.want, tc.ok)
		}
	}
	if _, err := totp.NormalizeCode("123456", 7); err == nil {
		t.Error("7 digits accepted")
	}
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", " 123456", "123 456", "12345678", "12345a", "", "\xff", "１２３４５６"} {
		f.Add(s, 6)
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, in string, digits int) {
		v, err := totp.NormalizeCode(in, digits)
		if err != nil {
			return
		}
		// Whatever is accepted is digits decimal digits once spaces are
		// gone, and its value is what those digits say.
		stripped := strings.ReplaceAll(in, " ", "")
		if len(stripped) != digits || strings.Trim(stripped, "0123456789") != "" {
			t.Fatalf("accepted %q for %d digits", in, digits)
		}
		if got := strings.TrimLeft(stripped, "0"); got != "" && got != itoa(int(v)) {
			t.Fatalf("%q read as %d", in, v)
		}
	})
}

func FuzzParseURL(f *testing.F) {
	f.Add("otpauth://totp/Acme:jane@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA256&digits=8&period=60")
	f.Add("otpauth://totp/a?secret=jbswy3dpehpk3pxpjbswy3dpehpk3pxp")
	f.Add("otpauth://hotp/a?secret=JBSWY3DP&counter=1")
	f.Add("otpauth://totp/%zz?secret=")
	f.Add("otpauth://totp/Acme%20%231:a%2Fb%3Fc%25?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20%231")
	f.Add("otpauth://totp/%20Acme%20%3A%20%20bob%20?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	f.Fuzz(func(t *testing.T, in string) {
		e, err := totp.ParseURL(in)
		if err != nil {
			if !errors.Is(err, totp.ErrBadURL) {
				t.Fatalf("error %v is not ErrBadURL", err)
			}
			return
		}
		if e.Digits != 6 && e.Digits != 8 || e.Period < time.Second || len(e.Secret) < 26 {
			t.Fatalf("accepted %+v", e)
		}
		// What parses once renders to a URL that parses to the same thing.
		again, err := totp.ParseURL(e.URL())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", e.URL(), err)
		}
		if *again != *e {
			t.Fatalf("re-parse: %+v != %+v", again, e)
		}
	})
}
