// Package common is what every part of the chat's screen shares: one set
// of styles and keys, the logger, the time zone timestamps are shown in,
// the program's context, and a few drawing helpers.
package common

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Common is carried by every component. It is made once, by the root
// model, and shared by pointer.
type Common struct {
	// Ctx is the program's: I/O started from the screen (commands) ends
	// with it.
	Ctx    context.Context
	Styles *Styles
	Keys   *KeyMap
	Log    *slog.Logger
	Loc    *time.Location
	// TimeFormat is the layout (time.Format) of message times, and
	// StampWidth the most cells it takes, which the message pane's
	// gutter is as wide as. Zero values: DefaultTimeFormat.
	TimeFormat string
	StampWidth int
}

// DefaultTimeFormat is how message times are shown unless set.
const DefaultTimeFormat = "15:04"

// SetTimeFormat shows message times in layout ("" the default), in the
// time zone Loc.
func (c *Common) SetTimeFormat(layout string) {
	if layout == "" {
		layout = DefaultTimeFormat
	}
	c.TimeFormat, c.StampWidth = layout, StampWidth(layout, c.Loc)
}

// Stamp is t as the message pane's gutter shows it: in layout, right
// aligned in StampWidth cells.
func (c *Common) Stamp(t time.Time) string {
	layout, w := c.TimeFormat, c.StampWidth
	if layout == "" {
		layout, w = DefaultTimeFormat, len(DefaultTimeFormat)
	}
	s := t.Format(layout)
	if n := ansi.StringWidth(s); n < w {
		s = strings.Repeat(" ", w-n) + s
	}
	return ansi.Truncate(s, w, "")
}

// StampWidth is the most cells a time in layout takes in loc: a time's
// width changes with it ("9:05" and "10:05", "May" and "September",
// a zone's summer and winter names), so it is measured over a year of
// days at the hours and fractions that are widest.
func StampWidth(layout string, loc *time.Location) int {
	if loc == nil {
		loc = time.Local
	}
	w := 0
	t := time.Date(2001, 1, 1, 0, 59, 59, 123456789, loc)
	for d := 0; d < 366; d++ {
		for _, h := range []int{0, 9, 10, 12, 23} {
			day := t.AddDate(0, 0, d)
			at := time.Date(day.Year(), day.Month(), day.Day(), h, 59, 59, 123456789, loc)
			w = max(w, ansi.StringWidth(at.Format(layout)))
		}
	}
	return w
}

// PadRight pads (or cuts) a rendered line to exactly w cells.
func PadRight(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// Wrap wraps s into lines of at most w cells: at spaces and hyphens
// where it can, anywhere where it must. ansi.Wrap alone lets a line run
// one cell over when it breaks after a lone hyphen at the edge (" - "),
// and the pane then cuts that cell: the dash would vanish.
func Wrap(s string, w int) []string {
	lines := strings.Split(ansi.Wrap(s, w, ""), "\n")
	if w < 1 {
		return lines
	}
	out := lines[:0:0]
	for _, l := range lines {
		if ansi.StringWidth(l) <= w {
			out = append(out, l)
			continue
		}
		out = append(out, strings.Split(ansi.Hardwrap(l, w, true), "\n")...)
	}
	return out
}

// DropBidi leaves out of an editor's display the bidi controls that may
// be in what was typed or pasted (a message copied from elsewhere): on a
// terminal that does bidi they would reverse the rest of the row, border
// included. They take no cells, so the layout and the cursor are as the
// editor measured them; the text itself keeps them (the messages pane
// shows them as <U+202E>).
func DropBidi(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u061c', r == '\u200e', r == '\u200f',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return -1
		}
		return r
	}, s)
}

// Fill makes s exactly w × h cells: every view fills its area, so no
// stale cells survive a resize.
func Fill(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = PadRight(l, w)
	}
	return strings.Join(lines, "\n")
}

// Plural is "s" unless n is 1.
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
