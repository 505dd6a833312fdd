package event_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa/event"
)

func TestSlog(t *testing.T) {
	var buf bytes.Buffer
	h := event.Slog(slog.New(slog.NewTextHandler(&buf, nil)))
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	h(context.Background(), event.Event{Kind: event.Verified, Method: "totp", UserID: "u1", Time: at})
	h(context.Background(), event.Event{Kind: event.Failed, Method: "totp", UserID: "u2", Time: at, Reason: "wrong code"})
	h(context.Background(), event.Event{Kind: event.Locked, Method: "totp", UserID: "u2", Time: at, Until: at.Add(time.Hour)})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	for i, want := range []string{
		"level=INFO msg=twofa event=verified method=totp user=u1",
		"level=WARN msg=twofa event=failed method=totp user=u2",
		"level=WARN msg=twofa event=locked method=totp user=u2 at=2026-11-23T10:00:00.000Z until=2026-11-23T11:00:00.000Z",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], `reason="wrong code"`) || strings.Contains(lines[0], "reason") {
		t.Errorf("reason shown wrongly: %q", lines)
	}
	if strings.Contains(lines[0]+lines[1], "until") {
		t.Errorf("a zero Until shown: %q", lines)
	}
}

func TestNilHookDiscards(t *testing.T) {
	var h event.Hook
	h.Emit(context.Background(), event.Event{Kind: event.Verified}) // must not panic
}
