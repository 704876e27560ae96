package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
)

// inputHeight is the number of text lines the input shows.
const inputHeight = 3

// inputModel is the message editor: enter sends (the root handles it),
// alt+enter or ctrl+j inserts a newline, a paste arrives whole.
type inputModel struct {
	*common
	width, height int
	ta            textarea.Model
}

func newInput(c *common) *inputModel {
	ta := textarea.New()
	ta.Prompt = ""
	ta.Placeholder = "Write a message, or /help"
	ta.ShowLineNumbers = false
	ta.CharLimit = 0 // no silent truncation: an overlong message is refused on send, text kept
	ta.MaxHeight = 0 // likewise for long pastes
	ta.KeyMap.InsertNewline = c.keys.Newline
	ta.SetHeight(inputHeight)
	ta.Focus()
	return &inputModel{common: c, ta: ta}
}

func (m *inputModel) SetSize(w, h int) {
	m.width, m.height = w, h
	m.ta.SetWidth(max(w-2, 1))
	m.ta.SetHeight(max(h-2, 1))
}

func (m *inputModel) SetFocus(f bool) {
	if f {
		m.ta.Focus()
	} else {
		m.ta.Blur()
	}
}

func (m *inputModel) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.ta, cmd = m.ta.Update(msg)
	return cmd
}

// Value is the text typed so far.
func (m *inputModel) Value() string { return m.ta.Value() }

// Reset clears the editor after a send.
func (m *inputModel) Reset() { m.ta.Reset() }

// SetValue puts text back (a refused send keeps what was typed).
func (m *inputModel) SetValue(s string) { m.ta.SetValue(s) }

func (m *inputModel) View() string {
	lines := strings.Split(m.ta.View(), "\n")
	w, h := max(m.width-2, 1), max(m.height-2, 1)
	for len(lines) < h {
		lines = append(lines, "")
	}
	lines = lines[:h]
	for i := range lines {
		lines[i] = padRight(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

func (m *inputModel) ShortHelp() []key.Binding {
	return []key.Binding{m.keys.Send, m.keys.Newline}
}

func (m *inputModel) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
