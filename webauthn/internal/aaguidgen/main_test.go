package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not JSON", `[`, "not a JSON object"},
		{"an array", `[{"name":"x"}]`, "not a JSON object"},
		{"empty, the list retired", `{}`, "empty"},
		{"no dashes", `{"2fc0579f811347eab116bb5a8db9202a": {"name": "x"}}`, "not an AAGUID"},
		{"braces", `{"{2fc0579f-8113-47ea-b116-bb5a8db9202a}": {"name": "x"}}`, "not an AAGUID"},
		{"not hex", `{"2fc0579f-8113-47ea-b116-bb5a8db9202g": {"name": "x"}}`, "not an AAGUID"},
		{"zero", `{"00000000-0000-0000-0000-000000000000": {"name": "x"}}`, "names no model"},
		{"no name", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"icon_light": "data:"}}`, "has no name"},
		{"empty name", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "  "}}`, "empty"},
		{"a line break", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "a\nb"}}`, "character"},
		{"a right-to-left override", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "Key \u202eyeK"}}`, "character"},
		{"a zero-width space", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "Yubi\u200bKey"}}`, "character"},
		{"not UTF-8", "{\"2fc0579f-8113-47ea-b116-bb5a8db9202a\": {\"name\": \"\xff\"}}", "character"},
		{"too long", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "` + strings.Repeat("é", MaxName+1) + `"}}`, "more than"},
		{"twice, two names", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "a"}, "2FC0579F-8113-47EA-B116-BB5A8DB9202A": {"name": "b"}}`, "twice"},
		{"name not a string", `{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": 5}}`, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || got != nil {
				t.Fatalf("Parse = %v, %v; want an error saying %q", got, err, tc.want)
			}
		})
	}
}

func TestParseKeepsNamesOnly(t *testing.T) {
	got, err := Parse([]byte(`{"2FC0579F-8113-47EA-B116-BB5A8DB9202A": {"name": " YubiKey 5 ", "icon_light": "data:image/svg+xml;base64,AAAA"},
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "Google Password Manager"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5", "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestRunDeterministic: two sources, the later over the earlier, make a
// sorted file without icons, the same each time.
func TestRunDeterministic(t *testing.T) {
	dir := t.TempDir()
	mds := filepath.Join(dir, "combined.json")
	own := filepath.Join(dir, "aaguid.json")
	os.WriteFile(mds, []byte(`{"ffffffff-0000-4000-8000-000000000000": {"name": "Last", "icon_dark": "data:SECRET-ICON"},
		"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "Old name"},
		"00000001-0000-4000-8000-000000000000": {"name": "First \"quoted\""}}`), 0o644)
	os.WriteFile(own, []byte(`{"2fc0579f-8113-47ea-b116-bb5a8db9202a": {"name": "New name"}}`), 0o644)
	var outs [2][]byte
	for i := range outs {
		out := filepath.Join(dir, "providers.go")
		if err := run([]string{mds, own}, out, "test sources"); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = b
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two runs differ")
	}
	s := string(outs[0])
	first, mid, last := strings.Index(s, `"First \"quoted\""`), strings.Index(s, `"New name"`), strings.Index(s, `"Last"`)
	if first < 0 || mid < first || last < mid || strings.Contains(s, "Old name") || strings.Contains(s, "SECRET-ICON") || !strings.Contains(s, "test sources") || !strings.HasPrefix(s, "// Code generated") {
		t.Fatalf("output:\n%s", s)
	}
	if !strings.Contains(s, "{0x2f, 0xc0, 0x57, 0x9f, 0x81, 0x13, 0x47, 0xea, 0xb1, 0x16, 0xbb, 0x5a, 0x8d, 0xb9, 0x20, 0x2a}") {
		t.Fatalf("AAGUID bytes not written:\n%s", s)
	}
	// A bad source writes nothing over the table.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{}`), 0o644)
	if err := run([]string{bad}, filepath.Join(dir, "providers.go"), ""); err == nil {
		t.Fatal("an empty list was taken")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "providers.go")); !bytes.Equal(b, outs[0]) {
		t.Fatal("a refused list changed the table")
	}
}
