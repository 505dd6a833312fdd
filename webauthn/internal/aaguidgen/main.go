// Command aaguidgen writes webauthn's table of authenticator names
// (providers.go) from the community list of passkey providers' AAGUIDs,
// github.com/passkeydeveloper/passkey-authenticator-aaguids.
//
// Run it through go generate in package webauthn:
//
//	go generate ./webauthn
//
// By default it downloads the list's combined_aaguid.json (its own entries
// over those it takes from the FIDO Metadata Service). -src names other
// sources, URLs or files, each over the ones before it; the list's
// aaguid.json alone, for instance, or a copy kept offline.
//
// It keeps the AAGUID and the name of each entry, never the icons (they
// are most of the file's megabytes and are artwork of their owners), and
// refuses the whole input, writing nothing, if any entry is not well
// formed: an AAGUID not in the canonical 8-4-4-4-12 lower-case form (or
// all zeroes, which names no model), a name that is empty, longer than
// MaxName characters, not UTF-8, or with control or formatting characters
// (which could reorder or hide text on a settings page), or two spellings
// of one AAGUID with different names. An empty list is refused too: its
// maintainers say the list will be emptied when it is retired, and a
// table that silently lost every name is worse than the one shipped.
//
// The output is sorted by AAGUID, so the same list always gives the same
// file.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultSource is the list's combined file.
const DefaultSource = "https://raw.githubusercontent.com/passkeydeveloper/passkey-authenticator-aaguids/main/combined_aaguid.json"

// MaxName bounds a name in characters: the longest in the list is about
// 120, and a settings page shows it on one line beside the user's own
// name for the key.
const MaxName = 128

// maxInput bounds one source's size; the combined file with its icons is
// a few megabytes.
const maxInput = 64 << 20

var canonical = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

type sources []string

func (s *sources) String() string     { return strings.Join(*s, ",") }
func (s *sources) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var srcs sources
	flag.Var(&srcs, "src", "a source, URL or file; repeat for several, later ones over earlier ones (default "+DefaultSource+")")
	out := flag.String("o", "providers.go", "the Go file to write")
	from := flag.String("from", "", "where the sources came from, for the file's header, in place of their names (a copy's origin)")
	flag.Parse()
	if len(srcs) == 0 {
		srcs = sources{DefaultSource}
	}
	if err := run(srcs, *out, *from); err != nil {
		fmt.Fprintln(os.Stderr, "aaguidgen:", err)
		os.Exit(1)
	}
}

func run(srcs []string, out, from string) error {
	table := map[string]string{}
	for _, src := range srcs {
		b, err := read(src)
		if err != nil {
			return err
		}
		entries, err := Parse(b)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		for id, name := range entries {
			table[id] = name
		}
	}
	names := srcs
	if from != "" {
		names = strings.Split(from, ";")
	}
	src, err := Generate(table, names)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

func read(src string) ([]byte, error) {
	var r io.Reader
	if strings.HasPrefix(src, "https://") {
		c := &http.Client{Timeout: time.Minute}
		resp, err := c.Get(src)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", src, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", src, maxInput)
	}
	return b, nil
}

// Parse reads one source, {"aaguid": {"name": "...", ...}, ...}, and
// returns its AAGUIDs (lower case) and names, or the first fault found.
func Parse(b []byte) (map[string]string, error) {
	var raw map[string]struct {
		Name *string `json:"name"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of entries: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("the list is empty (retired?): keeping the table as it is")
	}
	out := make(map[string]string, len(raw))
	for key, e := range raw {
		id := strings.ToLower(key)
		if !canonical.MatchString(id) {
			return nil, fmt.Errorf("%q is not an AAGUID in 8-4-4-4-12 hex form", key)
		}
		if id == "00000000-0000-0000-0000-000000000000" {
			return nil, fmt.Errorf("%q names no model", key)
		}
		if e.Name == nil {
			return nil, fmt.Errorf("%s has no name", id)
		}
		name, err := CheckName(*e.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if was, ok := out[id]; ok && was != name {
			return nil, fmt.Errorf("%s is listed twice, as %q and %q", id, was, name)
		}
		out[id] = name
	}
	return out, nil
}

// CheckName returns name without surrounding spaces, or why it cannot be
// shown.
func CheckName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", errors.New("name is not UTF-8")
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return "", errors.New("name is empty")
	}
	if c := utf8.RuneCountInString(n); c > MaxName {
		return "", fmt.Errorf("name has %d characters, more than %d", c, MaxName)
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return "", fmt.Errorf("name %q has the character %U", n, r)
		}
	}
	return n, nil
}

// Generate writes the Go file: the table sorted by AAGUID.
func Generate(table map[string]string, srcs []string) ([]byte, error) {
	ids := make([]string, 0, len(table))
	for id := range table {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	b.WriteString("// Code generated by aaguidgen; DO NOT EDIT.\n\n")
	b.WriteString(header)
	b.WriteString("//\n// Sources, later over earlier:\n")
	for _, s := range srcs {
		fmt.Fprintf(&b, "//   - %s\n", s)
	}
	b.WriteString("\npackage webauthn\n\n")
	fmt.Fprintf(&b, "// shippedProviders names %d authenticator models.\n", len(ids))
	b.WriteString("var shippedProviders = map[AAGUID]string{\n")
	for _, id := range ids {
		raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
		if err != nil || len(raw) != 16 {
			return nil, fmt.Errorf("%s: not 16 bytes", id)
		}
		fmt.Fprintf(&b, "\t// %s\n\t{", id)
		for i, x := range raw {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "0x%02x", x)
		}
		fmt.Fprintf(&b, "}: %s,\n", strconv.Quote(table[id]))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

const header = `// The names of authenticator models by AAGUID, from the community list
// github.com/passkeydeveloper/passkey-authenticator-aaguids, which its
// maintainers keep "to assist with naming passkeys in end user passkey
// management interfaces", the one use made of it here. Only each entry's
// AAGUID and name are kept, not its icons.
//
// Licence: the list's repository states none (no licence file, none in
// its README). Its combined file adds entries taken from the FIDO
// Alliance Metadata Service, whose Metadata Usage Terms apply to those.
// What is kept here is factual (a model's identifier and its product
// name); see NOTICE at the module's root.
`
