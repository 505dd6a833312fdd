package event_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/twofa-go/twofa/event"
)

// Events written with log/slog; here without the time of the log line, so
// that the output stays the same.
func ExampleSlog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	hook := event.Slog(logger)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	hook.Emit(context.Background(), event.Event{Kind: event.Verified, Method: "totp", UserID: "alice", Time: at})
	hook.Emit(context.Background(), event.Event{Kind: event.Failed, Method: "totp", UserID: "alice", Time: at, Reason: "wrong code"})
	// Output:
	// level=INFO msg=twofa event=verified method=totp user=alice at=2026-11-30T09:00:00.000Z
	// level=WARN msg=twofa event=failed method=totp user=alice at=2026-11-30T09:00:00.000Z reason="wrong code"
}

// A hook of the application's own: it counts failures, and hands every
// event on to the next hook.
func ExampleHook() {
	failures := map[string]int{}
	var next event.Hook // nil discards
	hook := event.Hook(func(ctx context.Context, e event.Event) {
		if e.Kind == event.Failed {
			failures[e.UserID]++
		}
		next.Emit(ctx, e)
	})
	for range 3 {
		hook.Emit(context.Background(), event.Event{Kind: event.Failed, Method: "backup", UserID: "bob"})
	}
	hook.Emit(context.Background(), event.Event{Kind: event.Verified, Method: "backup", UserID: "bob"})
	fmt.Println(failures["bob"])
	// Output:
	// 3
}
