package main

import (
	"fmt"
	"io"
	"strings"
)

// progress draws a bar on one terminal line, redrawn in place with a
// carriage return. It draws nothing unless on, which the command sets only
// when stderr is a terminal: a pipe or a log file gets the final report
// alone, never a stream of control characters.
type progress struct {
	w     io.Writer
	on    bool
	label string
	drawn bool
}

const barWidth = 30

// update redraws the bar at done of total (a counter alone when total is
// unknown, 0).
func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	p.drawn = true
	if total <= 0 {
		fmt.Fprintf(p.w, "\r%s %d", p.label, done)
		return
	}
	filled := barWidth
	if done < total {
		filled = done * barWidth / total
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", filled), strings.Repeat(" ", barWidth-filled), done, total)
}

// done ends the bar's line, so that what follows starts on a line of its
// own.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
