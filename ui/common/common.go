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
