package sheet

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fifty documents built at once hold no more than cap(slots) of the PDF
// library's working memory at the same moment: the fiftieth waits.
func TestBuildBounded(t *testing.T) {
	var now, most atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			err := Build(io.Discard, Options{Title: "Backup codes", Date: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}, func(d *Doc) {
				n := now.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				// Long enough for every other builder to be under way,
				// were there no bound.
				time.Sleep(5 * time.Millisecond)
				now.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := int(most.Load()); got < 1 || got > cap(slots) {
		t.Fatalf("%d documents built at once, want 1 to %d", got, cap(slots))
	}
}
