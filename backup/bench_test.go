package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/storage/memory"
)

// BenchmarkVerifyWrong measures a wrong code against a set of 10 unused
// codes on the memory store, with the default argon2id parameters, beside
// one raw argon2id evaluation at the same parameters: the whole check
// should cost one KDF and little else.
func BenchmarkVerifyWrong(b *testing.B) {
	b.Run("verify", func(b *testing.B) {
		store := memory.New()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		svc, err := backup.New(backup.Config{Store: store, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Generate(context.Background(), "u"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := svc.Verify(context.Background(), "u", "zzzzz-zzzzz"); !errors.Is(err, backup.ErrInvalidCode) {
				b.Fatal(err)
			}
			// Each wrong code counts against the user; clear the count so
			// the next iteration is not refused before its KDF. This is a
			// store call, as a success would make.
			if err := store.ResetThrottle(context.Background(), "u"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("argon2id", func(b *testing.B) {
		salt := make([]byte, 16)
		for b.Loop() {
			argon2.IDKey([]byte("zzzzzzzzzz"), salt, 2, 19*1024, 1, 32)
		}
	})
}

// BenchmarkParallelGenerate makes 128 sets of codes at once, each for its
// own user, with the real argon2id at the default parameters (10 codes of
// 19 MiB each), through gates of several sizes. It samples the heap while
// they run and reports the peaks beside slots × 19 MiB:
//
//   - heap-MiB: the heap's objects, live or not yet swept (MemStats'
//     HeapAlloc), the most the KDF made the heap hold;
//   - live-MiB: what the last garbage collection found live.
//
// Without a gate, 128 parallel requests hold 128 × 19 MiB at once.
func BenchmarkParallelGenerate(b *testing.B) {
	for _, slots := range []int{runtime.GOMAXPROCS(0), 4} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) {
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			svc, err := backup.New(backup.Config{Store: memory.New(), Gate: backup.NewGate(slots), Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			const n = 128
			var peakHeap, peakLive uint64
			round := 0
			for b.Loop() {
				runtime.GC()
				stop := sampleHeap(&peakHeap, &peakLive)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						if _, err := svc.Generate(context.Background(), fmt.Sprintf("user-%d-%d", round, i)); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				stop()
				round++
			}
			const mib = 1 << 20
			b.ReportMetric(float64(peakHeap)/mib, "heap-MiB")
			b.ReportMetric(float64(peakLive)/mib, "live-MiB")
			b.ReportMetric(float64(slots*19), "bound-MiB")
		})
	}
}

// sampleHeap records the highest heap figures until the returned stop is
// called.
func sampleHeap(heap, live *uint64) (stop func()) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		metrics.Read(samples)
		*heap = max(*heap, samples[0].Value.Uint64())
		*live = max(*live, samples[1].Value.Uint64())
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished; read() }
}

// BenchmarkWritePDF measures the sheet of 10 codes in English, with the
// Go fonts embedded.
func BenchmarkWritePDF(b *testing.B) {
	s := backup.Sheet{Issuer: "Acme Photos", Account: "jane@example.com", Date: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC),
		Codes: []string{"abcd-efgh", "ijkm-npqr", "stuv-wxyz", "2345-6789", "abcd-2345", "efgh-6789", "ijkm-stuv", "npqr-wxyz", "abcd-wxyz", "2345-efgh"}}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := s.WritePDF(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}
