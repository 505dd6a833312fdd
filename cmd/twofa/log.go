package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/twofa-go/twofa"
)

// maxLogLines bounds -n: the store reads that many rows into memory.
const maxLogLines = 10000

// log prints USER's security log, newest first.
func (e *env) log(args []string) error {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 50, "the number of entries to show, newest first")
	if err := fs.Parse(args); err != nil {
		return usageError("log: %v", err)
	}
	if fs.NArg() != 1 {
		return usageError("log takes one user ID")
	}
	if *n < 1 || *n > maxLogLines {
		return usageError("log: -n must be 1 to %d", maxLogLines)
	}
	user := fs.Arg(0)
	if err := e.openMigrated(); err != nil {
		return err
	}
	entries, err := e.store.Log(e.ctx, user, *n)
	if err != nil {
		return fmt.Errorf("log %q: %w", user, err)
	}
	if len(entries) == 0 {
		fmt.Fprintf(e.stdout, "no security log entries for %q\n", user)
		return nil
	}
	// In words, as the settings page says it, then the identifiers a
	// script or a search of the logs would use.
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "time\twhat\tevent")
	for _, l := range entries {
		id := l.Kind
		if l.Method != "" {
			id += "/" + l.Method
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Time.UTC().Format(time.RFC3339), twofa.Describe(l), id)
	}
	return tw.Flush()
}
