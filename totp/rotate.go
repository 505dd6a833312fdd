package totp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twofa-go/twofa/event"
	"github.com/twofa-go/twofa/keyring"
	"github.com/twofa-go/twofa/storage"
)

// DefaultRotateBatch is how many records RotateKeys reads at a time unless
// RotateOptions.BatchSize says otherwise.
const DefaultRotateBatch = 100

// rotateTries bounds how often RotateKeys reads a record again after
// losing a write to a concurrent change of it. A login changes the record
// only once (its own lazy re-seal), so a few tries settle every record
// but one a set-up loop keeps changing, which is left to the next run.
const rotateTries = 5

// ErrNoLister reports a Config.Store that cannot walk its records (it is
// not a storage.TOTPLister), which RotateKeys and KeyReport need.
var ErrNoLister = errors.New("totp: Config.Store cannot list its records (no storage.TOTPLister)")

// RotateOptions tunes [Service.RotateKeys]. The zero value walks every
// record from the first, DefaultRotateBatch at a time.
type RotateOptions struct {
	// BatchSize is how many records each read of the store returns: 1 to
	// storage.MaxTOTPBatch; 0 means DefaultRotateBatch.
	BatchSize int
	// After resumes a walk after this user ID: the Cursor of the report
	// of an interrupted run. "" starts at the first record.
	After string
	// Progress, if set, is called after every batch, on the goroutine of
	// RotateKeys.
	Progress func(RotateProgress)
}

// RotateProgress is how far a [Service.RotateKeys] run has come.
type RotateProgress struct {
	// Cursor is the user ID of the last record done: RotateOptions.After
	// resumes from here.
	Cursor string
	// Records is how many records this run has visited; Resealed how many
	// secrets it sealed again.
	Records, Resealed int
	// Total is how many records the store held when the run began (a hint:
	// records come and go), for a progress bar; with After set it still
	// counts the records before After.
	Total int
}

// RotateReport is what a [Service.RotateKeys] run did, over the records
// it visited.
type RotateReport struct {
	// Primary is the ID of the key every secret is now sealed under.
	Primary string
	// Cursor is the user ID of the last record done. After an error (a
	// cancelled context, a store failure) RotateOptions.After = Cursor
	// resumes without redoing or skipping a record.
	Cursor string
	// Records is how many records were visited; Resealed how many secrets
	// (active and pending) were sealed again under Primary.
	Records, Resealed int
	// Before counts the visited secrets by the ID of the key they were
	// sealed under when read; After, by the key they are left under.
	Before, After map[string]int
	// Unopened counts, by key ID, secrets that no key of the ring opens:
	// their key was dropped from the ring, or the value was altered or
	// copied from another user. They are left as they are, never deleted;
	// "" stands for a value too damaged to name a key. They are also in
	// After, under the same ID.
	Unopened map[string]int
	// Busy is how many records kept changing under the run (rotateTries
	// reads and writes lost to concurrent changes); they are left as they
	// were, and a later run or their next use re-seals them.
	Busy int
}

// Done reports whether every secret the run visited is now under the
// primary key.
func (r RotateReport) Done() bool {
	for id, n := range r.After {
		if id != r.Primary && n > 0 {
			return false
		}
	}
	return true
}

// KeyReport counts the sealed secrets of every TOTP record by key ID, as
// [Service.KeyReport] finds them: the figures an operator reads before
// dropping an old key from the ring.
type KeyReport struct {
	// Primary is the ID of the ring's primary key.
	Primary string
	// Records is how many TOTP records there are.
	Records int
	// Secrets counts secrets (active and pending) by the ID of the key
	// they name; "" stands for a value too damaged to name one.
	Secrets map[string]int
	// NotInRing lists the key IDs in Secrets that the ring does not hold:
	// those secrets open with no key the service has.
	NotInRing []string
}

// Unused reports whether no secret is sealed under keyID, so that the key
// can be dropped from the ring. It is true only for an old key: the
// primary key seals every new secret.
func (r KeyReport) Unused(keyID string) bool {
	return keyID != r.Primary && r.Secrets[keyID] == 0
}

// RotateKeys seals every secret, active and pending, that is not under
// the ring's primary key again under it, walking the store in batches
// ordered by user ID. Lazy re-sealing at login leaves an idle user's
// secret, and any pending set-up, under the old key; this call ends that,
// so that afterwards [Service.KeyReport] shows no secret under the old
// key and it can be dropped.
//
// Each record is written with the store's compare-and-set: a record
// changed meanwhile (a login's own re-seal, a set-up) is read again,
// never overwritten. A secret no key of the ring opens is counted in
// RotateReport.Unopened and left alone. An event.Resealed is emitted for
// every record re-sealed, as a login's lazy re-seal does.
//
// On a cancelled context or a store failure RotateKeys returns the report
// so far with the error; RotateOptions.After = report.Cursor resumes.
// Running it again when everything is under the primary key writes
// nothing.
func (s *Service) RotateKeys(ctx context.Context, opts RotateOptions) (RotateReport, error) {
	rep := RotateReport{
		Primary:  s.cfg.Keys.PrimaryID(),
		Cursor:   opts.After,
		Before:   map[string]int{},
		After:    map[string]int{},
		Unopened: map[string]int{},
	}
	return s.rotate(ctx, opts, rep)
}

// KeyReport walks every TOTP record and counts its sealed secrets by key
// ID, reading the IDs the sealed values carry in the clear: no secret is
// opened. It is how an operator knows when an old key can be dropped
// ([KeyReport.Unused]).
func (s *Service) KeyReport(ctx context.Context) (KeyReport, error) {
	lister, ok := s.cfg.Store.(storage.TOTPLister)
	if !ok {
		return KeyReport{}, ErrNoLister
	}
	rep := KeyReport{Primary: s.cfg.Keys.PrimaryID(), Secrets: map[string]int{}}
	after := ""
	for {
		recs, err := lister.TOTPRecords(ctx, after, storage.MaxTOTPBatch)
		if err != nil {
			return rep, fmt.Errorf("totp: list records: %w", err)
		}
		for _, rec := range recs {
			rep.Records++
			for _, sec := range []*storage.TOTPSecret{rec.Active, rec.Pending} {
				if sec != nil {
					id, _ := keyring.KeyID(sec.Sealed) // "" for a damaged value
					rep.Secrets[id]++
				}
			}
			after = rec.UserID
		}
		if len(recs) < storage.MaxTOTPBatch {
			break
		}
	}
	for id := range rep.Secrets {
		if !s.cfg.Keys.Has(id) {
			rep.NotInRing = append(rep.NotInRing, id)
		}
	}
	slices.Sort(rep.NotInRing)
	return rep, nil
}

// rotateReason marks the events of RotateKeys apart from a login's lazy
// re-seal.
const rotateReason = "key rotation"

func (s *Service) rotate(ctx context.Context, opts RotateOptions, rep RotateReport) (RotateReport, error) {
	lister, ok := s.cfg.Store.(storage.TOTPLister)
	if !ok {
		return rep, ErrNoLister
	}
	batch := opts.BatchSize
	if batch == 0 {
		batch = DefaultRotateBatch
	}
	if batch < 1 || batch > storage.MaxTOTPBatch {
		return rep, fmt.Errorf("totp: RotateOptions.BatchSize must be 1 to %d: %w", storage.MaxTOTPBatch, storage.ErrInvalidArgument)
	}
	if opts.After != "" {
		if err := checkUser(opts.After); err != nil {
			return rep, err
		}
	}
	total, err := lister.CountTOTP(ctx)
	if err != nil {
		return rep, fmt.Errorf("totp: count records: %w", err)
	}
	for {
		recs, err := lister.TOTPRecords(ctx, rep.Cursor, batch)
		if err != nil {
			return rep, fmt.Errorf("totp: list records: %w", err)
		}
		for _, rec := range recs {
			// A store that does not watch the context (the memory store)
			// still stops here, between two records, with the cursor on
			// the last one done.
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if err := s.rotateRecord(ctx, rec, &rep); err != nil {
				return rep, err
			}
			rep.Cursor = rec.UserID
			rep.Records++
		}
		if opts.Progress != nil {
			opts.Progress(RotateProgress{Cursor: rep.Cursor, Records: rep.Records, Resealed: rep.Resealed, Total: total})
		}
		if len(recs) < batch {
			return rep, nil
		}
	}
}

// rotateRecord seals rec's secrets that are not under the primary key
// again and writes the record if its version has not changed; if it has,
// it reads the record again and starts over. Its figures go into rep only
// once the record is settled, so a record cut short by an error is counted
// by the run that resumes, not twice.
func (s *Service) rotateRecord(ctx context.Context, rec storage.TOTPRecord, rep *RotateReport) error {
	primary := s.cfg.Keys.PrimaryID()
	before := map[string]int{}
	for _, sec := range []*storage.TOTPSecret{rec.Active, rec.Pending} {
		if sec != nil {
			id, _ := keyring.KeyID(sec.Sealed)
			before[id]++
		}
	}
	settle := func(rec storage.TOTPRecord, resealed int, unopened map[string]int) {
		for id, n := range before {
			rep.Before[id] += n
		}
		for _, sec := range []*storage.TOTPSecret{rec.Active, rec.Pending} {
			if sec != nil {
				id, _ := keyring.KeyID(sec.Sealed)
				rep.After[id]++
			}
		}
		for id, n := range unopened {
			rep.Unopened[id] += n
		}
		rep.Resealed += resealed
	}
	for try := 1; ; try++ {
		resealed := 0
		unopened := map[string]int{}
		for _, sec := range []*storage.TOTPSecret{rec.Active, rec.Pending} {
			if sec == nil {
				continue
			}
			id, err := keyring.KeyID(sec.Sealed)
			if err == nil && id == primary {
				continue // not opened: nothing to do, whatever it holds
			}
			raw, _, err := s.cfg.Keys.Open(sealPurpose, rec.UserID, sec.Sealed)
			if err != nil {
				unopened[id]++ // left as it is; "" when it names no key
				continue
			}
			sealed, err := s.cfg.Keys.Seal(sealPurpose, rec.UserID, raw)
			clear(raw)
			if err != nil {
				return fmt.Errorf("totp: re-seal: %w", err)
			}
			sec.Sealed = sealed
			resealed++
		}
		if resealed == 0 {
			settle(rec, 0, unopened)
			return nil
		}
		_, err := s.cfg.Store.PutTOTP(ctx, rec)
		if err == nil {
			settle(rec, resealed, unopened)
			now := s.cfg.Now()
			s.emit(ctx, event.Resealed, rec.UserID, now, rotateReason)
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("totp: store re-sealed secret: %w", err)
		}
		// The record changed since it was read: a login re-sealed it, a
		// set-up began or ended, it was removed. Read it again rather
		// than write over that change.
		fresh, err := s.cfg.Store.TOTP(ctx, rec.UserID)
		if errors.Is(err, storage.ErrNotFound) {
			settle(storage.TOTPRecord{}, 0, nil) // removed: nothing left under any key
			return nil
		}
		if err != nil {
			return fmt.Errorf("totp: load: %w", err)
		}
		if try == rotateTries {
			rep.Busy++
			settle(fresh, 0, nil)
			return nil
		}
		rec = fresh
	}
}
