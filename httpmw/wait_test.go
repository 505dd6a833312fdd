package httpmw

import (
	"strings"
	"testing"
	"time"

	"github.com/twofa-go/twofa"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

func TestWaitAndEndTime(t *testing.T) {
	en := i18n.Default().Printer(language.English)
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
		if got := wait(en, now.Add(d), now); got != want {
			t.Errorf("wait(%v) = %q, want %q", d, got, want)
		}
	}
	lock := func(at time.Time) string {
		return throttleMessage(en, &twofa.ThrottledError{RetryAt: at}, now)
	}
	for at, want := range map[time.Time]string{
		now.Add(time.Hour): "Too many failed attempts: the second step is locked for this account for 60 minutes, until 10:00 UTC. " +
			"The lock ends by itself; no administrator is needed.",
		now.Add(20 * time.Hour): "Too many failed attempts: the second step is locked for this account for 20 hours, until 05:00 UTC on 24 November 2026. " +
			"The lock ends by itself; no administrator is needed.",
		now.Add(60 * 24 * time.Hour): "Too many failed attempts: the second step is locked for this account for 60 days, until 09:00 UTC on 22 January 2027. " +
			"The lock ends by itself; no administrator is needed.",
		now.Add(time.Hour).In(time.FixedZone("X", 5*3600)): "Too many failed attempts: the second step is locked for this account for 60 minutes, until 10:00 UTC. " +
			"The lock ends by itself; no administrator is needed.",
		now.Add(time.Minute): "Too many failed attempts. Try again in a minute.",
	} {
		if got := lock(at); got != want {
			t.Errorf("throttleMessage(%v) = %q, want %q", at, got, want)
		}
	}
}

// TestWaitInLanguages checks the waits and end times a throttled
// challenge shows, in each shipped language, with the plural forms.
func TestWaitInLanguages(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		tag             language.Tag
		one, few, many  string
		today, tomorrow string
	}{
		{language.German, "einer Minute", "3 Minuten", "25 Stunden",
			"in 60 Minuten, um 10:00 Uhr UTC,", "in 20 Stunden, am 24. November 2026 um 05:00 Uhr UTC,"},
		{language.French, "une minute", "3 minutes", "25 heures",
			"pendant 60 minutes, jusqu'à 10:00 UTC.", "pendant 20 heures, jusqu'au 24 novembre 2026 à 05:00 UTC."},
		{language.Spanish, "un minuto", "3 minutos", "25 horas",
			"durante 60 minutos, hasta las 10:00 UTC.", "durante 20 horas, hasta las 05:00 UTC del 24 de noviembre de 2026."},
		{language.Ukrainian, "1 хвилину", "3 хвилини", "25 годин",
			"на 60 хвилин, до 10:00 UTC.", "на 20 годин, до 05:00 UTC 24 листопада 2026 р."},
	}
	for _, tt := range tests {
		t.Run(tt.tag.String(), func(t *testing.T) {
			pr := i18n.Default().Printer(tt.tag)
			for _, c := range []struct {
				d    time.Duration
				want string
			}{{time.Minute, tt.one}, {3 * time.Minute, tt.few}, {25 * time.Hour, tt.many}} {
				if got := wait(pr, now.Add(c.d), now); got != c.want {
					t.Errorf("wait(%v) = %q, want %q", c.d, got, c.want)
				}
			}
			for at, want := range map[time.Time]string{now.Add(time.Hour): tt.today, now.Add(20 * time.Hour): tt.tomorrow} {
				if got := throttleMessage(pr, &twofa.ThrottledError{RetryAt: at}, now); !strings.Contains(got, want) {
					t.Errorf("throttleMessage(%v) = %q, want it to hold %q", at, got, want)
				}
			}
		})
	}
}
