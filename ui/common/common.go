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
