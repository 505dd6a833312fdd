package twofa_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// noExample lists the packages that need no runnable Example, and why.
var noExample = map[string]string{
	"storage/storagetest": "a suite for store authors, run from a test with *testing.T",
}

// TestEveryPackageHasAnExample: every public package has at least one
// Example with an Output comment, so it runs as a test, and every file of
// examples compiles when copied alone: it uses nothing that another test
// file of its package declares.
func TestEveryPackageHasAnExample(t *testing.T) {
	pkgs := map[string][]string{} // folder: its test files
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "internal" || d.Name() == "examples") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			dir := filepath.ToSlash(filepath.Dir(p))
			if _, ok := pkgs[dir]; !ok {
				pkgs[dir] = nil
			}
			if strings.HasSuffix(p, "_test.go") {
				pkgs[dir] = append(pkgs[dir], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages: the walk is broken", len(pkgs))
	}
	for dir, tests := range pkgs {
		if _, ok := noExample[dir]; ok {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			fset := token.NewFileSet()
			runnable := 0
			for _, name := range tests {
				f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
				if err != nil {
					t.Fatal(err)
				}
				examples := doc.Examples(f)
				for _, e := range examples {
					if e.Output != "" || e.EmptyOutput {
						runnable++
					}
				}
				if len(examples) > 0 {
					if strings.HasSuffix(f.Name.Name, "_test") {
						checkStandsAlone(t, name, f)
					} else {
						t.Errorf("%s: examples in the package itself, not in %s_test", name, f.Name.Name)
					}
				}
			}
			if runnable == 0 {
				t.Errorf("package %s has no Example with an Output comment", dir)
			}
		})
	}
}

// checkStandsAlone fails when f uses a name it neither declares nor
// imports and Go does not predeclare: one from another file of its package.
func checkStandsAlone(t *testing.T, name string, f *ast.File) {
	imported := map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		n := path.Base(p)
		if v := strings.TrimPrefix(n, "v"); v != n {
			if _, err := strconv.Atoi(v); err == nil { // a major version: .../pgx/v5
				n = path.Base(path.Dir(p))
			}
		}
		n = strings.TrimPrefix(n, "go-") // github.com/emersion/go-smtp is smtp
		if imp.Name != nil {
			n = imp.Name.Name
		}
		imported[n] = true
	}
	var foreign []string
	for _, id := range f.Unresolved {
		if imported[id.Name] || types.Universe.Lookup(id.Name) != nil {
			continue
		}
		foreign = append(foreign, id.Name)
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		t.Errorf("%s does not compile when copied alone: it uses %v from another file", name, slices.Compact(foreign))
	}
}
