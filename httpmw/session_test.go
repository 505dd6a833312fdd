package httpmw

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte{7}, 32)

func TestMarkEncoding(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 123, time.UTC)
	for _, m := range []Mark{
		{UserID: "alice", Method: "totp", At: at},
		{UserID: "", Method: "", At: time.Unix(0, 0)},
		{UserID: "ünïcode\x00and.dots", Method: "browser", At: at}, // remember.Method
		{UserID: strings.Repeat("u", 300), Method: "webauthn", At: at},
	} {
		v := encodeMark(testKey, "sid-1", m)
		got, err := decodeMark(testKey, "sid-1", v)
		if err != nil || got.UserID != m.UserID || got.Method != m.Method || !got.At.Equal(m.At) {
			t.Fatalf("round trip of %+v: %+v, %v", m, got, err)
		}
		if strings.Contains(v, "sid-1") {
			t.Fatal("the session ID is in the cookie")
		}
	}
}

// A mark passes only with its key and its session, untouched.
func TestMarkRefused(t *testing.T) {
	m := Mark{UserID: "alice", Method: "totp", At: time.Unix(1e9, 0)}
	v := encodeMark(testKey, "sid-1", m)
	other := encodeMark(testKey, "sid-1", Mark{UserID: "bob", Method: "totp", At: m.At})
	payload, sig, _ := strings.Cut(v, ".")
	_, otherSig, _ := strings.Cut(other, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, c := range map[string]struct{ key, sid, v string }{
		"other session":     {string(testKey), "sid-2", v},
		"no session":        {string(testKey), "", v},
		"other key":         {strings.Repeat("k", 32), "sid-1", v},
		"payload changed":   {string(testKey), "sid-1", flip(payload, 3) + "." + sig},
		"signature changed": {string(testKey), "sid-1", payload + "." + flip(sig, 5)},
		"signature swapped": {string(testKey), "sid-1", payload + "." + otherSig},
		"no signature":      {string(testKey), "sid-1", payload},
		"empty":             {string(testKey), "sid-1", ""},
		"dot":               {string(testKey), "sid-1", "."},
		"not base64":        {string(testKey), "sid-1", "!!!." + sig},
		"huge":              {string(testKey), "sid-1", strings.Repeat("A", 5000) + "." + sig},
		"truncated":         {string(testKey), "sid-1", v[:len(v)-2]},
		// Go's base64 decoder skips CR and LF: a second spelling of the
		// same signed bytes, which must not pass.
		"CR LF in payload":  {string(testKey), "sid-1", payload[:4] + "\r\n" + payload[4:] + "." + sig},
		"LF in signature":   {string(testKey), "sid-1", payload + "." + sig[:6] + "\n" + sig[6:]},
		"CR at the end":     {string(testKey), "sid-1", v + "\r"},
		"LF before the dot": {string(testKey), "sid-1", payload + "\n." + sig},
	} {
		if got, err := decodeMark([]byte(c.key), c.sid, c.v); err == nil {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
	// A session ID can't be shifted into the payload: the ID is
	// length-prefixed in the MAC.
	if _, err := decodeMark(testKey, "sid-", v); err == nil {
		t.Fatal("a prefix of the session ID passed")
	}
}

func FuzzDecodeMark(f *testing.F) {
	f.Add(encodeMark(testKey, "s", Mark{UserID: "alice", Method: "totp", At: time.Unix(1e9, 0)}))
	f.Add("")
	f.Add("AQ.AQ")
	// The signed mark with line breaks the decoder would skip.
	v := encodeMark(testKey, "s", Mark{UserID: "alice", Method: "totp", At: time.Unix(1e9, 0)})
	f.Add(v[:3] + "\r\n" + v[3:])
	f.Add(v + "\n")
	f.Add(strings.Replace(v, ".", ".\r", 1))
	f.Fuzz(func(t *testing.T, v string) {
		m, err := decodeMark(testKey, "s", v)
		if err != nil {
			return
		}
		// Whatever passed was signed by us: it encodes back the same.
		if encodeMark(testKey, "s", m) != v {
			t.Fatalf("accepted %q, which is not what we sign", v)
		}
	})
}

func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/account":             "/account",
		"/a?b=c#d":             "/a?b=c#d",
		"":                     "/home",
		"account":              "/home",
		"//evil.example":       "/home",
		"/\\evil.example":      "/home",
		"https://evil.example": "/home",
		"/a\r\nSet-Cookie: x":  "/home",
		"javascript:alert(1)":  "/home",
	} {
		if got := localPath(next, "/home"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}
