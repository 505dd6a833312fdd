package totp_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/internal/fake"
	"github.com/twofa-go/twofa/internal/testdb"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
	"github.com/twofa-go/twofa/throttle"
	"github.com/twofa-go/twofa/totp"
)

// rotation is a store of users enrolled under key "A", and the keys to
// serve them under "B" after it.
type rotation struct {
	store storage.Store
	clock *fake.Clock
	keyA  keyring.Key
	keyB  keyring.Key
	// users are the user IDs in byte order; active and pending hold each
	// user's set-ups: every user but the pending-only ones has an active
	// secret, and some have a set-up pending beside it or alone.
	users   []string
	active  map[string]*totp.Enrollment
	pending map[string]*totp.Enrollment
	secrets int // sealed secrets in all
}

// newRotation enrolls n users under a ring of key A alone: user i has a
// confirmed secret, and a pending move to another phone when i%7 == 0;
// when i%11 == 0 it has only a pending first set-up.
func newRotation(t *testing.T, store storage.Store, n int) *rotation {
	t.Helper()
	_, keys := newRing(t, "A", "B")
	r := &rotation{store: store, clock: newClock(), keyA: keys[0], keyB: keys[1],
		active: map[string]*totp.Enrollment{}, pending: map[string]*totp.Enrollment{}}
	svc := r.service(t, nil, r.keyA)
	ctx := t.Context()
	for i := range n {
		u := fmt.Sprintf("user-%04d", i)
		r.users = append(r.users, u)
		e, err := svc.Begin(ctx, u, "", sess)
		if err != nil {
			t.Fatal(err)
		}
		r.secrets++
		if i%11 == 0 {
			r.pending[u] = e
			continue
		}
		if err := svc.Confirm(ctx, u, sess, codeAt(t, e, r.clock.Now())); err != nil {
			t.Fatalf("confirm %s: %v", u, err)
		}
		r.active[u] = e
		if i%7 == 0 {
			if r.pending[u], err = svc.Begin(ctx, u, "", sess); err != nil {
				t.Fatal(err)
			}
			r.secrets++
		}
	}
	slices.Sort(r.users)
	// The confirming codes' step is used; the next one is not.
	r.clock.Add(30e9)
	return r
}

// service serves r's store with a ring of keys, the first the primary.
func (r *rotation) service(t *testing.T, events *fake.Events, keys ...keyring.Key) *totp.Service {
	t.Helper()
	ring, err := keyring.New(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := totp.Config{Issuer: "Example", Store: r.store, Keys: ring, Now: r.clock.Now}
	if events != nil {
		cfg.Events = events.Hook
	}
	svc, err := totp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// checkUsable asserts that svc, whatever keys it has, logs every active
// user in with the app's code and shows every pending set-up unchanged.
func (r *rotation) checkUsable(t *testing.T, svc *totp.Service) {
	t.Helper()
	ctx := t.Context()
	for _, u := range r.users {
		if e := r.active[u]; e != nil {
			if err := svc.Verify(ctx, u, codeAt(t, e, r.clock.Now())); err != nil {
				t.Fatalf("Verify(%s): %v", u, err)
			}
		}
		if e := r.pending[u]; e != nil {
			got, err := svc.Pending(ctx, u, sess)
			if err != nil {
				t.Fatalf("Pending(%s): %v", u, err)
			}
			if got.Secret != e.Secret {
				t.Fatalf("Pending(%s) shows another secret than the one set up", u)
			}
		}
	}
	r.clock.Add(30e9) // the step each user just used is gone
}

func TestRotateKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		r := newRotation(t, store, 1000)
		ctx := t.Context()
		events := &fake.Events{}
		svc := r.service(t, events, r.keyB, r.keyA)

		before, err := svc.KeyReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (totp.KeyReport{Primary: "B", Records: 1000, Secrets: map[string]int{"A": r.secrets}}); !sameKeyReport(before, want) {
			t.Fatalf("KeyReport before: %+v, want %+v", before, want)
		}
		if before.Unused("A") || before.Unused("B") || !before.Unused("C") {
			t.Fatalf("Unused before: A %v, B %v, C %v; want false, false (primary), true", before.Unused("A"), before.Unused("B"), before.Unused("C"))
		}

		// The first run is cancelled once 300 records are done.
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		var progress []totp.RotateProgress
		first, err := svc.RotateKeys(runCtx, totp.RotateOptions{BatchSize: 50, Progress: func(p totp.RotateProgress) {
			progress = append(progress, p)
			if p.Records >= 300 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run: %v, want context.Canceled", err)
		}
		if first.Records != 300 || first.Cursor != r.users[299] {
			t.Fatalf("cancelled run: %d records, cursor %q; want 300, %q", first.Records, first.Cursor, r.users[299])
		}
		if len(progress) != 6 {
			t.Fatalf("cancelled run: %d progress calls, want 6 (one per batch of 50)", len(progress))
		}
		for i, p := range progress {
			if p.Records != 50*(i+1) || p.Cursor != r.users[50*(i+1)-1] || p.Total != 1000 {
				t.Fatalf("progress %d: %+v, want %d records to %q of 1000", i, p, 50*(i+1), r.users[50*(i+1)-1])
			}
		}
		firstSecrets := r.secretsOf(r.users[:300])
		if first.Resealed != firstSecrets || !maps.Equal(first.Before, map[string]int{"A": firstSecrets}) ||
			!maps.Equal(first.After, map[string]int{"B": firstSecrets}) || len(first.Unopened) != 0 || first.Busy != 0 {
			t.Fatalf("cancelled run's report: %+v, want %d secrets re-sealed from A to B", first, firstSecrets)
		}
		mid, err := svc.KeyReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"A": r.secrets - firstSecrets, "B": firstSecrets}; !maps.Equal(mid.Secrets, want) {
			t.Fatalf("KeyReport after the cancelled run: %v, want %v", mid.Secrets, want)
		}

		// The second run resumes at the cursor: no record is done twice
		// (nothing it reads is under B already) and none is skipped.
		second, err := svc.RotateKeys(ctx, totp.RotateOptions{BatchSize: 50, After: first.Cursor})
		if err != nil {
			t.Fatalf("resumed run: %v", err)
		}
		rest := r.secrets - firstSecrets
		if second.Records != 700 || second.Cursor != r.users[999] || second.Resealed != rest ||
			!maps.Equal(second.Before, map[string]int{"A": rest}) || !maps.Equal(second.After, map[string]int{"B": rest}) || !second.Done() {
			t.Fatalf("resumed run's report: %+v, want 700 records and %d secrets from A to B", second, rest)
		}
		if n := events.Count(event.Resealed); n != 1000 {
			t.Fatalf("%d Resealed events, want one per record: 1000", n)
		}

		after, err := svc.KeyReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (totp.KeyReport{Primary: "B", Records: 1000, Secrets: map[string]int{"B": r.secrets}}); !sameKeyReport(after, want) {
			t.Fatalf("KeyReport after: %+v, want %+v", after, want)
		}
		if !after.Unused("A") {
			t.Fatal("KeyReport says key A is still in use")
		}

		// A run with nothing left to do writes nothing.
		v := mustRecord(t, store, r.users[0]).Version
		again, err := svc.RotateKeys(ctx, totp.RotateOptions{})
		if err != nil || again.Resealed != 0 || again.Records != 1000 || !again.Done() {
			t.Fatalf("run over rotated records: %+v, %v; want 1000 records, none re-sealed", again, err)
		}
		if got := mustRecord(t, store, r.users[0]).Version; got != v {
			t.Fatalf("run over rotated records changed a record's version from %d to %d", v, got)
		}

		// Key A is dropped: every user still logs in and sees their set-up.
		r.checkUsable(t, r.service(t, nil, r.keyB))
		// And a ring of A alone opens nothing any more: the secrets moved.
		if err := r.service(t, nil, r.keyA).Verify(ctx, r.users[1], codeAt(t, r.active[r.users[1]], r.clock.Now())); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Fatalf("Verify under key A alone after the rotation: %v, want keyring.ErrUnknownKey", err)
		}
	})
}

func (r *rotation) secretsOf(users []string) int {
	n := 0
	for _, u := range users {
		if r.active[u] != nil {
			n++
		}
		if r.pending[u] != nil {
			n++
		}
	}
	return n
}

func sealedOf(s *storage.TOTPSecret) string {
	if s == nil {
		return "none"
	}
	return string(s.Sealed)
}

func sameKeyReport(a, b totp.KeyReport) bool {
	return a.Primary == b.Primary && a.Records == b.Records && maps.Equal(a.Secrets, b.Secrets) && slices.Equal(a.NotInRing, b.NotInRing)
}

func mustRecord(t *testing.T, s storage.TOTPStore, u string) storage.TOTPRecord {
	t.Helper()
	rec, err := s.TOTP(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRotateUnopened: secrets no key of the ring opens are counted under
// their key ID and left as they are, and the walk goes on past them.
func TestRotateUnopened(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		r := newRotation(t, store, 20)
		ctx := t.Context()
		_, lost := newRing(t, "lost")
		// One user enrolled under a key the operator no longer has...
		if _, err := r.service(t, nil, lost[0]).Begin(ctx, "user-0005x", "", sess); err != nil {
			t.Fatal(err)
		}
		// ... one whose value names key A but was altered ...
		altered := mustRecord(t, store, r.users[3])
		altered.Active.Sealed[len(altered.Active.Sealed)-1] ^= 1
		if _, err := store.PutTOTP(ctx, altered); err != nil {
			t.Fatal(err)
		}
		// ... and one too damaged to name a key.
		damaged := mustRecord(t, store, r.users[4])
		damaged.Active.Sealed = []byte{9, 9, 9}
		if _, err := store.PutTOTP(ctx, damaged); err != nil {
			t.Fatal(err)
		}
		keep := map[string]storage.TOTPRecord{}
		for _, u := range []string{"user-0005x", r.users[3], r.users[4]} {
			keep[u] = mustRecord(t, store, u)
		}

		svc := r.service(t, nil, r.keyB, r.keyA)
		rep, err := svc.RotateKeys(ctx, totp.RotateOptions{BatchSize: 3})
		if err != nil {
			t.Fatalf("RotateKeys: %v", err)
		}
		if rep.Records != 21 || rep.Cursor != r.users[19] {
			t.Fatalf("%d records to %q, want 21 to %q", rep.Records, rep.Cursor, r.users[19])
		}
		if want := map[string]int{"lost": 1, "A": 1, "": 1}; !maps.Equal(rep.Unopened, want) {
			t.Fatalf("Unopened %v, want %v", rep.Unopened, want)
		}
		if want := map[string]int{"lost": 1, "A": 1, "": 1, "B": r.secrets - 2}; !maps.Equal(rep.After, want) || rep.Done() {
			t.Fatalf("After %v (done %v), want %v and not done", rep.After, rep.Done(), want)
		}
		for u, want := range keep {
			got := mustRecord(t, store, u)
			if got.Version != want.Version || sealedOf(got.Active) != sealedOf(want.Active) || sealedOf(got.Pending) != sealedOf(want.Pending) {
				t.Fatalf("the unopened record of %s was changed", u)
			}
		}
		kr, err := svc.KeyReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(kr.NotInRing, []string{"", "lost"}) || kr.Unused("A") {
			t.Fatalf("KeyReport: %+v; want keys \"\" and lost not in the ring, A in use", kr)
		}
	})
}

// changingStore makes every PutTOTP of one user lose, as if a login or a
// set-up changed the record each time just before.
type changingStore struct {
	storage.Store
	user string
}

func (s changingStore) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	if rec.UserID == s.user {
		cur, err := s.Store.TOTP(ctx, rec.UserID)
		if err != nil {
			return 0, err
		}
		cur.Account += "x"
		if _, err := s.Store.PutTOTP(ctx, cur); err != nil {
			return 0, err
		}
	}
	return s.Store.PutTOTP(ctx, rec)
}

func TestRotateBusyRecord(t *testing.T) {
	base := memory.New()
	r := newRotation(t, base, 30)
	busy := r.users[10]
	r.store = changingStore{base, busy}
	svc := r.service(t, nil, r.keyB, r.keyA)
	rep, err := svc.RotateKeys(t.Context(), totp.RotateOptions{BatchSize: 7})
	if err != nil {
		t.Fatalf("RotateKeys: %v", err)
	}
	if rep.Busy != 1 || rep.Records != 30 || rep.Done() || rep.After["A"] != r.secretsOf([]string{busy}) {
		t.Fatalf("report %+v; want the one busy record left under A and the walk finished", rep)
	}
	rec := mustRecord(t, base, busy)
	if rec.Account != busy+"xxxxx" {
		t.Fatalf("account %q: the busy record was written %d times by the store's changes, or overwritten by the walk", rec.Account, len(rec.Account)-len(busy))
	}
	if id, _ := keyring.KeyID(rec.Active.Sealed); id != "A" {
		t.Fatalf("the busy record is under %q", id)
	}
}

// failingList fails the walk's read after the first batches.
type failingList struct {
	storage.Store
	mu     sync.Mutex
	calls  int
	failAt int
}

var errListDown = errors.New("list down")

func (s *failingList) TOTPRecords(ctx context.Context, after string, limit int) ([]storage.TOTPRecord, error) {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.failAt
	s.mu.Unlock()
	if fail {
		return nil, errListDown
	}
	return s.Store.TOTPRecords(ctx, after, limit)
}

func TestRotateStoreFailure(t *testing.T) {
	base := memory.New()
	r := newRotation(t, base, 40)
	r.store = &failingList{Store: base, failAt: 3}
	svc := r.service(t, nil, r.keyB, r.keyA)
	rep, err := svc.RotateKeys(t.Context(), totp.RotateOptions{BatchSize: 10})
	if !errors.Is(err, errListDown) || rep.Records != 20 || rep.Cursor != r.users[19] {
		t.Fatalf("run with a failing store: %d records to %q, %v; want 20 to %q and the store's error", rep.Records, rep.Cursor, err, r.users[19])
	}
	rest, err := svc.RotateKeys(t.Context(), totp.RotateOptions{BatchSize: 10, After: rep.Cursor})
	if err != nil || rest.Records != 20 || !rest.Done() || rest.Resealed+rep.Resealed != r.secrets {
		t.Fatalf("resumed run: %+v, %v", rest, err)
	}
}

func TestRotateRefuses(t *testing.T) {
	store := memory.New()
	r := newRotation(t, store, 3)
	svc := r.service(t, nil, r.keyB, r.keyA)
	for name, tc := range map[string]struct {
		opts totp.RotateOptions
		want error
	}{
		"negative batch": {totp.RotateOptions{BatchSize: -1}, storage.ErrInvalidArgument},
		"batch too big":  {totp.RotateOptions{BatchSize: storage.MaxTOTPBatch + 1}, storage.ErrInvalidArgument},
		"NUL cursor":     {totp.RotateOptions{After: "a\x00"}, storage.ErrInvalidUserID},
		"bad UTF-8":      {totp.RotateOptions{After: "\xff"}, storage.ErrInvalidUserID},
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := svc.RotateKeys(t.Context(), tc.opts)
			if !errors.Is(err, tc.want) || rep.Records != 0 {
				t.Fatalf("RotateKeys: %d records, %v; want %v", rep.Records, err, tc.want)
			}
		})
	}
	if kr, _ := svc.KeyReport(t.Context()); kr.Secrets["A"] != r.secrets {
		t.Fatalf("a refused run changed records: %v", kr.Secrets)
	}
	lim, err := throttle.New(store, throttle.Policy{}, r.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := totp.New(totp.Config{Issuer: "Example", Store: onlyTOTP{store}, Keys: keyring.Random(), Throttle: lim})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.RotateKeys(t.Context(), totp.RotateOptions{}); !errors.Is(err, totp.ErrNoLister) {
		t.Fatalf("RotateKeys over a store that cannot list: %v, want ErrNoLister", err)
	}
	if _, err := plain.KeyReport(t.Context()); !errors.Is(err, totp.ErrNoLister) {
		t.Fatalf("KeyReport over a store that cannot list: %v, want ErrNoLister", err)
	}
}

// TestRotateConcurrentChanges runs a rotation while users log in (each
// login re-seals its own record lazily), turn the method off and begin
// set-ups on other phones. The walk must neither fail nor write over any
// of those changes, and must leave every secret under the new key.
func TestRotateConcurrentChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for round := range 3 {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) { rotateWhileChanging(t, b) })
		}
	})
}

func rotateWhileChanging(t *testing.T, b backend) {
	store, _ := b.Open(t)
	r := newRotation(t, store, 150)
	ctx := t.Context()
	svc := r.service(t, nil, r.keyB, r.keyA)
	var logins, disables, moves []string
	for i, u := range r.users {
		if r.active[u] == nil || r.pending[u] != nil {
			continue
		}
		switch i % 3 {
		case 0:
			logins = append(logins, u)
		case 1:
			disables = append(disables, u)
		case 2:
			moves = append(moves, u)
		}
	}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		moved   = map[string]*totp.Enrollment{}
		failure = make(chan error, len(r.users)+1)
		rep     totp.RotateReport
	)
	// retry runs a user's change again when the walk's write came between
	// its read and its write: the factor says so with ErrConcurrentChange.
	retry := func(f func() error) error {
		for {
			err := f()
			if !errors.Is(err, totp.ErrConcurrentChange) {
				return err
			}
		}
	}
	for _, u := range logins {
		wg.Go(func() {
			<-start
			if err := svc.Verify(ctx, u, codeAt(t, r.active[u], r.clock.Now())); err != nil {
				failure <- fmt.Errorf("login of %s: %w", u, err)
			}
		})
	}
	for _, u := range disables {
		wg.Go(func() {
			<-start
			if err := retry(func() error { return svc.Disable(ctx, u) }); err != nil {
				failure <- fmt.Errorf("disable %s: %w", u, err)
			}
		})
	}
	for _, u := range moves {
		wg.Go(func() {
			<-start
			err := retry(func() error {
				e, err := svc.Begin(ctx, u, "", sess)
				if err == nil {
					mu.Lock()
					moved[u] = e
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				failure <- fmt.Errorf("move %s: %w", u, err)
			}
		})
	}
	wg.Go(func() {
		<-start
		var err error
		if rep, err = svc.RotateKeys(ctx, totp.RotateOptions{BatchSize: 50}); err != nil {
			failure <- fmt.Errorf("RotateKeys: %w", err)
		}
	})
	close(start)
	wg.Wait()
	close(failure)
	for err := range failure {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if rep.Records != len(r.users) || rep.Busy != 0 {
		t.Fatalf("walk: %d records, %d busy; want %d, 0", rep.Records, rep.Busy, len(r.users))
	}
	kr, err := svc.KeyReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !kr.Unused("A") {
		t.Fatalf("after the walk: %v, want every secret under B", kr.Secrets)
	}
	// Every change made during the walk is still there.
	for _, u := range disables {
		if st, err := svc.State(ctx, u); err != nil || st.Status != totp.StatusDisabled {
			t.Fatalf("%s: %v, %v; the walk undid its Disable", u, st.Status, err)
		}
	}
	for _, u := range moves {
		r.pending[u] = moved[u]
	}
	for _, u := range disables {
		r.active[u] = nil // a disabled method does not log in
	}
	r.clock.Add(30e9) // the logins used the step
	r.checkUsable(t, r.service(t, nil, r.keyB))
}

// BenchmarkRotateKeys measures RotateKeys over 1000 records, each with a
// secret to seal again, in batches of the default size; each iteration
// moves every record to the other key, A to B then B to A.
//
//	go test -run '^$' -bench 'BenchmarkRotateKeys' -benchtime 10x ./totp
func BenchmarkRotateKeys(b *testing.B) {
	const n = 1000
	for _, be := range testdb.Backends {
		b.Run(be.Name, func(b *testing.B) {
			store, _ := be.Open(b)
			_, keys := newRing(b, "A", "B")
			rings := make([]*totp.Service, 2)
			for i := range rings {
				ring, err := keyring.New(keys[i], keys[1-i])
				if err != nil {
					b.Fatal(err)
				}
				clock := newClock()
				if rings[i], err = totp.New(totp.Config{Issuer: "Example", Store: store, Keys: ring, Now: clock.Now}); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			for i := range n {
				if _, err := rings[0].Begin(ctx, fmt.Sprintf("user-%04d", i), "", sess); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// Iteration i seals everything under the key the previous
				// one moved it away from.
				rep, err := rings[1-i%2].RotateKeys(ctx, totp.RotateOptions{})
				if err != nil || rep.Resealed != n {
					b.Fatalf("RotateKeys: %d re-sealed, %v", rep.Resealed, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestConfirmAfterRotation: a set-up begun under the old key is confirmed
// under the new ring. Confirm's check re-seals the pending secret lazily,
// and its own write must follow that write, not lose to it (which cost the
// user the code: the retry was refused as a replay).
func TestConfirmAfterRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, _ := b.Open(t)
		r := newRotation(t, store, 0)
		ctx := t.Context()
		e, err := r.service(t, nil, r.keyA).Begin(ctx, "u", "", sess)
		if err != nil {
			t.Fatal(err)
		}
		svc := r.service(t, nil, r.keyB, r.keyA)
		if err := svc.Confirm(ctx, "u", sess, codeAt(t, e, r.clock.Now())); err != nil {
			t.Fatalf("Confirm of a set-up under the old key: %v", err)
		}
		if id, _ := keyring.KeyID(mustRecord(t, store, "u").Active.Sealed); id != "B" {
			t.Fatalf("confirmed secret under %q, want B", id)
		}
		r.clock.Add(30e9)
		if err := r.service(t, nil, r.keyB).Verify(ctx, "u", codeAt(t, e, r.clock.Now())); err != nil {
			t.Fatalf("Verify under B alone: %v", err)
		}
	})
}

// beforeConfirmWrite runs change once, just before the write that makes a
// pending set-up active.
type beforeConfirmWrite struct {
	storage.Store
	once   *sync.Once
	change func(ctx context.Context)
}

func (s beforeConfirmWrite) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (int64, error) {
	if rec.Active != nil && rec.Pending == nil {
		s.once.Do(func() { s.change(ctx) })
	}
	return s.Store.PutTOTP(ctx, rec)
}

// TestConfirmRacingAChange: a change that keeps the set-up (another
// server's re-seal, the method turned off) between Confirm's check and
// its write does not fail the confirmation; a change of the set-up itself
// (a new one begun) does, and keeps the new one.
func TestConfirmRacingAChange(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(t *testing.T, svc *totp.Service, store storage.Store) func(context.Context)
		// want is Confirm's answer; kept, whether the first set-up is
		// the active secret afterwards.
		want error
		kept bool
	}{
		"record rewritten": {func(t *testing.T, _ *totp.Service, store storage.Store) func(context.Context) {
			return func(ctx context.Context) {
				rec := mustRecord(t, store, "u")
				if _, err := store.PutTOTP(ctx, rec); err != nil {
					t.Error(err)
				}
			}
		}, nil, true},
		"set-up replaced": {func(t *testing.T, svc *totp.Service, _ storage.Store) func(context.Context) {
			return func(ctx context.Context) {
				if _, err := svc.Begin(ctx, "u", "", sess); err != nil {
					t.Error(err)
				}
			}
		}, totp.ErrConcurrentChange, false},
		"other session's set-up": {func(t *testing.T, svc *totp.Service, _ storage.Store) func(context.Context) {
			return func(ctx context.Context) {
				if _, err := svc.Begin(ctx, "u", "", "session-b"); err != nil {
					t.Error(err)
				}
			}
		}, totp.ErrConcurrentChange, false},
	} {
		t.Run(name, func(t *testing.T) {
			base := memory.New()
			r := newRotation(t, base, 0)
			plain := r.service(t, nil, r.keyA)
			e, err := plain.Begin(t.Context(), "u", "", sess)
			if err != nil {
				t.Fatal(err)
			}
			r.store = beforeConfirmWrite{base, &sync.Once{}, tc.change(t, plain, base)}
			svc := r.service(t, nil, r.keyA)
			if err := svc.Confirm(t.Context(), "u", sess, codeAt(t, e, r.clock.Now())); !errors.Is(err, tc.want) {
				t.Fatalf("Confirm: %v, want %v", err, tc.want)
			}
			rec := mustRecord(t, base, "u")
			if kept := rec.Active != nil && rec.Pending == nil; kept != tc.kept {
				t.Fatalf("after Confirm: active %v, pending %v; want the set-up confirmed: %v", rec.Active != nil, rec.Pending != nil, tc.kept)
			}
			if tc.kept {
				r.clock.Add(30e9)
				if err := svc.Verify(t.Context(), "u", codeAt(t, e, r.clock.Now())); err != nil {
					t.Fatalf("Verify of the confirmed secret: %v", err)
				}
			}
		})
	}
}
