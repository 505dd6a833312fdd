package httpmw_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
)

// apiSeen gathers, from every test app, the statuses each operation of
// the API answered, as its document names the operations.
var apiSeen = struct {
	sync.Mutex
	ops map[string]map[int]int
	all []string // every operation ID of the document
}{ops: map[string]map[int]int{}}

// noteAPI adds what a's exchanges covered.
func (a *app) noteAPI() {
	apiSeen.Lock()
	defer apiSeen.Unlock()
	if apiSeen.all == nil {
		for _, item := range a.api.Doc().Paths.Map() {
			for _, op := range item.Operations() {
				apiSeen.all = append(apiSeen.all, op.OperationID)
			}
		}
	}
	for op, st := range a.api.Seen() {
		if apiSeen.ops[op] == nil {
			apiSeen.ops[op] = map[int]int{}
		}
		for s, n := range st {
			apiSeen.ops[op][s] += n
		}
	}
}

// TestMain checks, after a run of the whole suite, that every operation
// of the API's document was answered 200 at least once by a test, its
// answer checked against the document: the document describes no route
// the tests leave unchecked.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || testing.Short() {
		os.Exit(code)
	}
	var missing []string
	for _, op := range apiSeen.all {
		if apiSeen.ops[op][200] == 0 {
			missing = append(missing, op)
		}
	}
	if len(apiSeen.all) == 0 || len(missing) > 0 {
		slices.Sort(missing)
		fmt.Printf("FAIL: operations of the API no test saw answered 200: %v (of %d)\n", missing, len(apiSeen.all))
		os.Exit(1)
	}
	os.Exit(code)
}
