package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/login"
)

// Update implements tea.Model: it routes each message to the screen, or
// to the room it names.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		m.layoutPreview()
		return m, nil
	case fillMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onFill(r, msg) })
	case retryLoginMsg:
		return m, m.onRetryLogin(msg)
	case login.Request:
		return m, m.loginCmd(msg.Nick, msg.Room)
	case loginDoneMsg:
		return m, m.loggedIn(msg)
	case loggedOutMsg:
		return m, m.onLoggedOut(msg)
	case joinedMsg:
		return m, m.onJoined(msg)
	case markTickMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return r.markCmd(m.c.Ctx) })
	case tea.FocusMsg:
		m.blurred, m.unseen = false, 0
		if r := m.room(); r != nil && r.msgs.Following() {
			return m, r.read()
		}
		return m, nil
	case tea.BlurMsg:
		m.blurred = true
		return m, nil
	case clearStatusMsg:
		if msg.gen == m.status.gen {
			m.status.text = ""
		}
		return m, nil
	case feedMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onFeed(r, msg) })
	case sentMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onSent(r, msg) })
	case olderMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onOlder(r, msg) })
	case renamedMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onRenamed(r, msg) })
	case handedOverMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd {
			if msg.err != nil {
				return m.setStatus("Not handed over: "+chat.Explain(msg.err), true)
			}
			return m.setStatus("Handed over: from now on your lines are signed by the new device's key; this one's read as another's.", false)
		})
	case actedMsg:
		return m, forRoom(m, msg.room, func(*roomView) tea.Cmd { return m.onActed(msg) })
	case typingTickMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.onTypingTick(r, msg.now) })
	case tea.MouseClickMsg:
		return m, m.onClick(msg)
	case hostCheckMsg:
		return m, forRoom(m, msg.room, func(r *roomView) tea.Cmd { return m.checkHost(r, msg.now) })
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.MouseWheelMsg:
		if r := m.room(); r != nil && m.screen == chatScreen && !m.showHelp {
			r.msgs.Update(msg)
			return m, tea.Batch(m.maybeLoadOlder(r), m.readIfBottom(r))
		}
		return m, nil
	case tea.PasteMsg, tea.PasteStartMsg, tea.PasteEndMsg:
		if m.screen == loginScreen {
			return m, m.login.Update(msg)
		}
		if r := m.room(); r != nil && r.find.prompt != nil {
			// A paste while searching is the query.
			var cmd tea.Cmd
			*r.find.prompt, cmd = r.find.prompt.Update(msg)
			return m, cmd
		}
		m.setFocus(focusInput)
		if r := m.room(); r != nil {
			return m, r.input.Update(msg)
		}
		return m, nil
	}
	// Anything else (cursor blinks, ...) goes to whoever may want it.
	if m.screen == loginScreen {
		return m, m.login.Update(msg)
	}
	if r := m.room(); r != nil {
		return m, r.input.Update(msg)
	}
	return m, nil
}

// forRoom runs fn on the room with that id, unless it was left since (an
// answer for it is then dropped).
// readIfBottom reads the room once its newest line is on screen (in a
// focused window).
func (m *Model) readIfBottom(r *roomView) tea.Cmd {
	if m.blurred || !r.msgs.Following() {
		return nil
	}
	return r.read()
}

func forRoom(m *Model, id int, fn func(*roomView) tea.Cmd) tea.Cmd {
	if r := m.byID(id); r != nil {
		return fn(r)
	}
	return nil
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	if key.Matches(msg, k.Quit) {
		return m.quit()
	}
	if key.Matches(msg, k.Redraw) {
		// Whatever a terminal made of what it was sent, the next frame is
		// drawn afresh onto a cleared screen.
		return tea.ClearScreen
	}
	if m.quitting {
		return nil
	}
	if m.info != nil {
		if key.Matches(msg, k.Close, k.Help) {
			m.info = nil
		}
		return nil
	}
	if m.showHelp {
		if key.Matches(msg, k.Close, k.Help) {
			m.showHelp = false
		} else if r := m.room(); r != nil && m.screen == chatScreen && key.Matches(msg, k.CopyInvite) {
			return m.copyInvite(r)
		}
		return nil
	}
	// "?" is a character in the input; F1 opens help from anywhere.
	// The search prompt is typed into too: "why?" is a search.
	searching := m.screen == chatScreen && m.room() != nil && m.room().find.prompt != nil
	typing := m.screen == loginScreen || m.focus == focusInput || searching
	if key.Matches(msg, k.Help) && !(typing && common.IsCharacter(msg.String())) {
		m.showHelp = true
		return nil
	}
	r := m.room()
	if m.preview != nil && m.screen == loginScreen {
		return m.onPreviewKey(msg)
	}
	if m.screen == loginScreen || r == nil {
		return m.login.Update(msg)
	}
	if m.switcher != nil {
		return m.onSwitcherKey(msg)
	}
	if r.picker != nil {
		return m.onPickerKey(r, msg)
	}
	if r.confirmDel != 0 {
		return m.onConfirmKey(r, msg)
	}
	if cmd, done := m.onSearchKey(r, msg); done {
		return cmd
	}
	if r.msgs.Selecting() {
		if cmd, done := m.onSelectKey(r, msg); done {
			return cmd
		}
		if !key.Matches(msg, k.NextFocus, k.PrevFocus, k.PageUp, k.PageDown, k.Top, k.Bottom, k.NextRoom, k.PrevRoom, k.JumpRoom, k.NextNews, k.Switcher, k.Logout) {
			// Any other key ends the selection and goes to the input:
			// typing is what the person meant.
			r.msgs.Unselect()
			m.setFocus(focusInput)
		}
	}
	if !key.Matches(msg, k.Complete, k.CompleteBack) {
		r.comp = nil // any other key ends a completion
	}
	switch {
	case key.Matches(msg, k.Select):
		return m.selectMessages(r)
	case m.focus == focusInput && key.Matches(msg, k.Unselect) && (r.replyTo != 0 || r.editing != 0):
		r.cancelEdit()
		return nil
	case key.Matches(msg, k.Switcher):
		m.switcher = newSwitcher()
		return nil
	case key.Matches(msg, k.Logout) && r.input.Value() == "":
		return m.logout()
	case key.Matches(msg, k.Logout) && m.focus != focusInput:
		// With a draft it is the input's delete (as in readline): never
		// a logout that drops what was being written.
		return m.setStatus(k.Logout.Help().Key+" logs out once the input is empty (or /logout).", false)
	case key.Matches(msg, k.NextRoom):
		return m.switchTo((m.cur + 1) % len(m.rooms))
	case key.Matches(msg, k.PrevRoom):
		return m.switchTo((m.cur + len(m.rooms) - 1) % len(m.rooms))
	case key.Matches(msg, k.NextNews):
		if i := m.nextNews(); i >= 0 {
			return m.switchTo(i)
		}
		return m.setStatus("Nothing unread in the other rooms.", false)
	case key.Matches(msg, k.JumpRoom):
		// The room at the key's place in the binding: alt+1 is the first
		// (the keys may be rebound).
		return m.switchTo(slices.Index(k.JumpRoom.Keys(), msg.String()))
	case m.focus == focusInput && key.Matches(msg, k.Complete, k.CompleteBack) && m.complete(r, key.Matches(msg, k.CompleteBack)):
		return nil
	case key.Matches(msg, k.NextFocus):
		m.setFocus((m.focus + 1) % focusCount)
		return nil
	case key.Matches(msg, k.PrevFocus):
		m.setFocus((m.focus + focusCount - 1) % focusCount)
		return nil
	case key.Matches(msg, k.PageUp):
		r.msgs.ScrollUp(max(r.msgs.InnerHeight()-1, 1))
		return m.maybeLoadOlder(r)
	case key.Matches(msg, k.PageDown):
		r.msgs.ScrollDown(max(r.msgs.InnerHeight()-1, 1))
		return m.readIfBottom(r)
	case m.focus != focusInput && key.Matches(msg, k.Top): // in the input: the line's start
		r.msgs.Top()
		return m.maybeLoadOlder(r)
	case m.focus != focusInput && key.Matches(msg, k.Bottom):
		r.msgs.Bottom()
		return m.readIfBottom(r)
	case m.focus == focusInput && m.historyKey(r, msg):
		return nil
	case m.focus == focusInput && key.Matches(msg, k.Send):
		return m.submit(r)
	}
	if m.focus == focusInput {
		before := r.input.Value()
		cmd := r.input.Update(msg)
		return tea.Batch(cmd, m.typingCmd(r, before))
	}
	cmd := r.panes[m.focus].Update(msg)
	if m.focus == focusMessages {
		return tea.Batch(cmd, m.maybeLoadOlder(r))
	}
	return cmd
}
