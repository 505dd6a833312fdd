package twofa_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// secretName matches the names of values that hold or derive from a secret:
// a code, a hash of one, a MAC, a token, a binding digest.
var secretName = regexp.MustCompile(`(?i)hash|mac|sig|code|token|digest|secret|binding`)

// TestConstantTimeComparisons reads the module's own code and fails on any
// comparison of a secret-derived value that is not constant time: a
// bytes.Equal, bytes.Compare or == / != between byte strings or strings
// whose operands are named like a code, hash, MAC or token. A timing
// difference there would tell an attacker how much of a guess was right.
// Comparisons of public values (credential IDs, user handles, set IDs) do
// not match the names and are left alone.
func TestConstantTimeComparisons(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "examples", "storagetest", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) != 2 {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "bytes" && (sel.Sel.Name == "Equal" || sel.Sel.Name == "Compare") {
					if secretOperand(n.Args[0]) || secretOperand(n.Args[1]) {
						t.Errorf("%s: bytes.%s on a secret-derived value; use hmac.Equal or subtle.ConstantTimeCompare", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					return true
				}
				// string(a) == string(b) with either named like a secret,
				// or two values both named like one (token == stored).
				conv := (isStringConv(n.X) || isStringConv(n.Y)) && (secretOperand(n.X) || secretOperand(n.Y))
				if conv || secretOperand(n.X) && secretOperand(n.Y) {
					t.Errorf("%s: == on a secret-derived value; use hmac.Equal or subtle.ConstantTimeCompare", fset.Position(n.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 30 {
		t.Fatalf("read only %d files: the walk did not find the module's code", checked)
	}
}

// secretOperand reports whether the expression names a secret-derived
// value: the last identifier of a selector or the identifier itself.
func secretOperand(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return secretName.MatchString(e.Name)
	case *ast.SelectorExpr:
		return secretName.MatchString(e.Sel.Name)
	case *ast.CallExpr:
		// A conversion (string(mac), []byte(token)) carries the value
		// through; any other call returns something new (a count, a
		// length), which is judged by its own name, if any.
		if len(e.Args) == 1 && isConversion(e.Fun) {
			return secretOperand(e.Args[0])
		}
		return false
	case *ast.IndexExpr:
		return secretOperand(e.X)
	case *ast.SliceExpr:
		return secretOperand(e.X)
	}
	return false
}

// isStringConv reports a string(...) conversion, the way byte slices are
// compared with ==.
func isStringConv(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == "string"
}

// isConversion reports a conversion to a string or byte slice.
func isConversion(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name == "string"
	case *ast.ArrayType:
		id, ok := f.Elt.(*ast.Ident)
		return ok && f.Len == nil && id.Name == "byte"
	}
	return false
}
