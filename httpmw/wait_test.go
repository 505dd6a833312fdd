package httpmw

import (
	"testing"
	"time"
)

func TestWaitAndEndTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		-time.Hour:                 "a second",
		time.Second:                "a second",
		1500 * time.Millisecond:    "2 seconds",
		59 * time.Second:           "59 seconds",
		time.Minute:                "a minute",
		61 * time.Second:           "2 minutes",
		15 * time.Minute:           "15 minutes",
		time.Hour:                  "60 minutes",
		2 * time.Hour:              "120 minutes",
		2*time.Hour + time.Second:  "3 hours",
		48 * time.Hour:             "48 hours",
		7 * 24 * time.Hour:         "7 days",
		7*24*time.Hour + time.Hour: "8 days",
	} {
		if got := wait(now.Add(d), now); got != want {
			t.Errorf("wait(%v) = %q, want %q", d, got, want)
		}
	}
	for at, want := range map[time.Time]string{
		now.Add(time.Hour):                                 "10:00 UTC",
		now.Add(20 * time.Hour):                            "05:00 UTC on Tue 24 November",
		now.Add(60 * 24 * time.Hour):                       "09:00 UTC on Fri 22 January 2027",
		now.Add(time.Hour).In(time.FixedZone("X", 5*3600)): "10:00 UTC",
	} {
		if got := endTime(at, now); got != want {
			t.Errorf("endTime(%v) = %q, want %q", at, got, want)
		}
	}
}
