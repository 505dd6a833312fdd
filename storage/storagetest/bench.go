package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// Bench measures the writes that keep a store bounded, at their bound: each
// put or add also removes what falls out. A backend's benchmark calls it
// with a function that returns a fresh, empty store:
//
//	func BenchmarkStore(b *testing.B) {
//		storagetest.Bench(b, func(b *testing.B) storage.Store { return mystore.New() })
//	}
func Bench(b *testing.B, newStore func(b *testing.B) storage.Store) {
	// Ceremonies of 100 users, five each, living five minutes; a put every
	// second, so that each put also finds one expired.
	b.Run("PutCeremony", func(b *testing.B) {
		s := newStore(b)
		now := when
		i := 0
		for b.Loop() {
			c := storage.Ceremony{ID: fmt.Sprint("c", i), UserID: fmt.Sprint("user", i%100), Kind: "login", Data: make([]byte, 300), Expires: now.Add(5 * time.Minute)}
			if err := s.PutCeremony(ctx, c, now, 5); err != nil {
				b.Fatal(err)
			}
			now = now.Add(time.Second)
			i++
		}
	})
	// The pool of passkey logins at its bound of 1000: every put trims one.
	b.Run("PutCeremonyPool", func(b *testing.B) {
		s := newStore(b)
		now := when
		i := 0
		for b.Loop() {
			c := storage.Ceremony{ID: fmt.Sprint("p", i), Kind: "passkey", Data: make([]byte, 300), Expires: now.Add(5 * time.Minute)}
			if err := s.PutCeremony(ctx, c, now, 1000); err != nil {
				b.Fatal(err)
			}
			now = now.Add(time.Millisecond)
			i++
		}
	})
	// Ten users at their bound of 20 browsers: every add drops one.
	b.Run("AddBrowser", func(b *testing.B) {
		s := newStore(b)
		at := when
		i := 0
		for b.Loop() {
			x := browser(fmt.Sprint("user", i%10), fmt.Sprint("b", i), at)
			if err := s.AddBrowser(ctx, x, 20); err != nil {
				b.Fatal(err)
			}
			at = at.Add(time.Second)
			i++
		}
	})
	// Ten users at their bound of 200 log entries: every append drops
	// one. Log reads the newest 10 of one of them, as the settings do.
	b.Run("AppendLog", func(b *testing.B) {
		s := newStore(b)
		i := 0
		for b.Loop() {
			e := entry(fmt.Sprint("user", i%10), time.Duration(i)*time.Second, i)
			if err := s.AppendLog(ctx, e, 200, longAgo); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Log", func(b *testing.B) {
		s := newStore(b)
		for i := range 200 {
			if err := s.AppendLog(ctx, entry("u", time.Duration(i)*time.Second, i), 200, longAgo); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			if list, err := s.Log(ctx, "u", 10); err != nil || len(list) != 10 {
				b.Fatal(len(list), err)
			}
		}
	})
}
