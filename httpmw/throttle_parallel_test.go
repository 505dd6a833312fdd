package httpmw_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/internal/testdb"
)

// The throttle counts per account, not per session: 20 browsers logged in
// as one user post 5 wrong codes each, all at once, on a clock that does
// not move. Exactly the policy's free failures (5) are answered "wrong
// code"; every other answer is the throttle's. A fresh session with the
// right code is refused while the wait lasts, and passes after it. On
// every store.
func TestThrottleAcrossSessions(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		store, _ := b.Open(t)
		throttleAcrossSessions(t, newApp(t, func(tc *twofa.Config, _ *httpmw.Config) { tc.Store = store }))
	})
}

func throttleAcrossSessions(t *testing.T, a *app) {
	const browsers, each, free = 20, 5, 5
	code := a.enroll("alice")
	right := code()
	n, _ := strconv.Atoi(right)
	wrong := fmt.Sprintf("%06d", (n+1)%1e6)

	bs := make([]*browser, browsers)
	for i := range bs {
		bs[i] = a.browser()
		bs[i].login("alice")
	}
	var start, wg sync.WaitGroup
	start.Add(1)
	answers := make([]answer, browsers*each)
	for i := range answers {
		b := bs[i/each]
		wg.Go(func() {
			start.Wait()
			answers[i] = b.post("/2fa/verify", url.Values{"code": {wrong}})
		})
	}
	start.Done()
	wg.Wait()

	wrongCode, throttled := 0, 0
	for _, got := range answers {
		switch {
		case got.status == http.StatusUnauthorized && strings.Contains(got.body, "That code did not work"):
			wrongCode++
		case got.status == http.StatusTooManyRequests && strings.Contains(got.body, "Too many failed attempts"):
			throttled++
		default:
			t.Fatalf("answer %d: %.300s", got.status, got.body)
		}
	}
	if wrongCode != free || throttled != browsers*each-free {
		t.Fatalf("%d answered wrong code and %d throttled; want %d and %d", wrongCode, throttled, free, browsers*each-free)
	}

	// The right code, from a session that tried nothing, waits too.
	fresh := a.browser()
	fresh.login("alice")
	if got := fresh.post("/2fa/verify", url.Values{"code": {right}, "next": {"/account"}}); got.status != http.StatusTooManyRequests ||
		!strings.Contains(got.body, "Too many failed attempts") {
		t.Fatalf("right code during the wait: %d %q %.300s", got.status, got.location, got.body)
	}
	acc, err := a.tf.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var te *twofa.ThrottledError
	if !errors.As(acc.Throttle, &te) || te.Locked {
		t.Fatalf("throttle after the burst: %v", acc.Throttle)
	}
	a.clock.Add(te.RetryAt.Sub(a.clock.Now()))
	fresh.pass(code)
	fresh.passes("/account")
}
