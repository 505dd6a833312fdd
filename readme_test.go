package twofa_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeEnvironment: the README says what every environment variable
// the code or CI reads turns on, and its two commands stay two, after the
// clone they need.
func TestReadmeEnvironment(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`(?:os\.(?:Getenv|LookupEnv)|\benv|\benvBool)\("([A-Z][A-Z0-9_]+)"|Env\s*=\s*"([A-Z][A-Z0-9_]+)"`)
	names := map[string]string{} // name: a file that reads it
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") && p != filepath.Join(".ci", "run") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			names[m[1]+m[2]] = p
		}
		if p == filepath.Join(".ci", "run") {
			for _, n := range regexp.MustCompile(`\bTWOFA_[A-Z0-9_]+`).FindAllString(string(src), -1) {
				names[n] = p
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TWOFA_POSTGRES_DSN", "CI", "TWOFA_SCREENSHOTS", "TWOFA_CHROMIUM"} {
		if _, ok := names[want]; !ok {
			t.Fatalf("found no read of %s: the search is broken (found %v)", want, names)
		}
	}
	text := string(readme)
	for name, file := range names {
		covered := strings.Contains(text, "`"+name+"`") || strings.Contains(text, "`"+name+"=")
		if prefix, _, ok := strings.Cut(name, "_"); ok && !covered {
			covered = strings.Contains(text, "`"+prefix+"_*`") // SMTP_HOST in `SMTP_*`
		}
		if !covered {
			t.Errorf("README.md does not say what %s (read in %s) turns on", name, file)
		}
	}

	_, section, _ := strings.Cut(text, "## Two commands\n")
	section, _, _ = strings.Cut(section, "\n## ")
	if n := strings.Count(section, "\n```\n") + strings.Count(section, "\n```go\n"); n != 4 {
		t.Errorf("the two commands are %d code fences, want 4 (two blocks)", n)
	}
	clone := strings.Index(section, "git clone")
	run := strings.Index(section, "go run ./examples/webapp")
	if clone < 0 || run < 0 || clone > run {
		t.Error("README.md does not say to clone the repository before go run ./examples/webapp")
	}
}
