package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/totp"
)

// rotateKeys seals every authenticator secret again under the primary
// key of the ring, and prints how many secrets each key ID held before and
// holds after.
func (e *env) rotateKeys(args []string) error {
	fs := flag.NewFlagSet("rotate-keys", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	batch := fs.Int("batch", totp.DefaultRotateBatch, "records read at a time")
	after := fs.String("after", "", "resume after this user ID (the cursor an interrupted run printed)")
	if err := fs.Parse(args); err != nil {
		return usageError("rotate-keys: %v", err)
	}
	if fs.NArg() != 0 {
		return usageError("rotate-keys takes no arguments")
	}
	if *batch < 1 || *batch > storage.MaxTOTPBatch {
		return usageError("rotate-keys: -batch must be 1 to %d", storage.MaxTOTPBatch)
	}
	ring, err := e.keys()
	if err != nil {
		return err
	}
	tf, err := e.ready(ring)
	if err != nil {
		return err
	}
	bar := &progress{w: e.stderr, on: e.progress, label: "rotating keys"}
	rep, err := tf.TOTP.RotateKeys(e.ctx, totp.RotateOptions{
		BatchSize: *batch,
		After:     *after,
		Progress:  func(p totp.RotateProgress) { bar.update(p.Records, p.Total) },
	})
	bar.done()

	fmt.Fprintf(e.stdout, "rotate-keys: %d records visited, %d secrets sealed again under key %q\n", rep.Records, rep.Resealed, rep.Primary)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  key ID\tbefore\tafter")
	ids := slices.Sorted(maps.Keys(rep.Before))
	for id := range rep.After {
		if _, ok := rep.Before[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		name := id
		if name == "" {
			name = "(damaged)"
		}
		if id == rep.Primary {
			name += " (primary)"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", name, rep.Before[id], rep.After[id])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err != nil {
		if rep.Cursor != "" {
			fmt.Fprintf(e.stdout, "interrupted: resume with rotate-keys -after %q\n", rep.Cursor)
		}
		return fmt.Errorf("rotate-keys: %w", err)
	}
	var problems []error
	for _, id := range slices.Sorted(maps.Keys(rep.Unopened)) {
		problems = append(problems, fmt.Errorf("%d secrets under key %q open with no key of the ring: left as they are", rep.Unopened[id], id))
	}
	if rep.Busy > 0 {
		problems = append(problems, fmt.Errorf("%d records kept changing during the run: run rotate-keys again", rep.Busy))
	}
	if !rep.Done() || len(problems) > 0 {
		return fmt.Errorf("rotate-keys: not every secret is under the primary key: %w", errors.Join(problems...))
	}
	fmt.Fprintf(e.stdout, "every secret is under key %q: keys not listed above hold none\n", rep.Primary)
	return nil
}
