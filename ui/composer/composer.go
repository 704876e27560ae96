// Package composer is the chat's message editor: enter sends (the root
// handles it), alt+enter or ctrl+j inserts a newline, a paste arrives
// whole.
package composer

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/ui/common"
)

// Height is the number of text lines the editor shows.
const Height = 3

// Model is the editor.
type Model struct {
	*common.Common
	width, height int
	ta            textarea.Model
	context       string // a line above the text: what a reply answers, or that this is an edit
}

// New returns an empty, focused editor.
func New(c *common.Common) *Model {
	ta := textarea.New()
	ta.Prompt = ""
	ta.Placeholder = "Write a message, or /help"
	ta.ShowLineNumbers = false
	ta.CharLimit = 0 // no silent truncation: an overlong message is refused on send, text kept
	ta.MaxHeight = 0 // likewise for long pastes
	ta.KeyMap.InsertNewline = c.Keys.Newline
	ta.KeyMap.LineStart = c.Keys.LineStart
	ta.KeyMap.LineEnd = c.Keys.LineEnd
	ta.SetHeight(Height)
	ta.Focus()
	return &Model{Common: c, ta: ta}
}

// SetSize sets the editor's outer size (borders included).
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.ta.SetWidth(max(w-2, 1))
	rows := h - 2
	if m.context != "" {
		rows--
	}
	m.ta.SetHeight(max(rows, 1))
}

// SetContext shows a line above the text ("" removes it): what the
// message being written replies to, or that it is an edit.
func (m *Model) SetContext(s string) {
	m.context = s
	m.SetSize(m.width, m.height)
}

// Context is the line shown above the text.
func (m *Model) Context() string { return m.context }

// SetFocus focuses the editor, or not.
func (m *Model) SetFocus(f bool) {
	if f {
		m.ta.Focus()
	} else {
		m.ta.Blur()
	}
}

// Update edits.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.ta, cmd = m.ta.Update(msg)
	return cmd
}

// Value is the text typed so far.
func (m *Model) Value() string { return m.ta.Value() }

// Reset clears the editor after a send.
func (m *Model) Reset() { m.ta.Reset() }

// SetValue puts text back (a refused send keeps what was typed).
func (m *Model) SetValue(s string) { m.ta.SetValue(s) }

// SetValueEnd puts text in the editor, the cursor at its end (a line
// recalled from the history).
func (m *Model) SetValueEnd(s string) {
	m.ta.SetValue(s)
	m.ta.MoveToEnd()
}

// Cursor is where the cursor is: its line (0: the first) and the text of
// that line before it.
func (m *Model) Cursor() (row int, before string) {
	lines := strings.Split(m.ta.Value(), "\n")
	row = min(m.ta.Line(), len(lines)-1)
	line := []rune(lines[row])
	return row, string(line[:min(m.ta.Column(), len(line))])
}

// AfterCursor is the rest of the cursor's line.
func (m *Model) AfterCursor() string {
	lines := strings.Split(m.ta.Value(), "\n")
	line := []rune(lines[min(m.ta.Line(), len(lines)-1)])
	return string(line[min(m.ta.Column(), len(line)):])
}

// OnFirstRow reports whether the cursor is on the first row of the text
// as shown (a long line wraps onto several): ↑ there leaves the text.
func (m *Model) OnFirstRow() bool {
	return m.ta.Line() == 0 && m.ta.LineInfo().RowOffset == 0
}

// OnLastRow reports whether the cursor is on the last row shown of the
// text: ↓ there leaves it.
func (m *Model) OnLastRow() bool {
	li := m.ta.LineInfo()
	return m.ta.Line() == m.ta.LineCount()-1 && li.RowOffset >= li.Height-1
}

// ReplaceBeforeCursor replaces the n characters before the cursor, on
// its line, with s, and leaves the cursor after s: a completion, which
// touches nothing else of the text.
func (m *Model) ReplaceBeforeCursor(n int, s string) {
	// Backspace is the textarea's own key for it (its default key map,
	// which the chat does not rebind): the one way in to delete a range.
	bs := tea.KeyPressMsg{Code: tea.KeyBackspace}
	m.ta.ClearSelection()
	for range n {
		m.ta, _ = m.ta.Update(bs)
	}
	m.ta.InsertString(s)
}

// View draws the editor inside its border.
func (m *Model) View() string {
	lines := strings.Split(common.DropBidi(m.ta.View()), "\n")
	w, h := max(m.width-2, 1), max(m.height-2, 1)
	if m.context != "" {
		lines = append([]string{m.Styles.Quote.Render(ansi.Truncate(m.context, w, "…"))}, lines...)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	lines = lines[:h]
	for i := range lines {
		lines[i] = common.PadRight(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

// ShortHelp lists the editor's keys.
func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.Keys.Send, m.Keys.Newline}
}

// FullHelp lists the editor's keys.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
