package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/picker"
)

// command is one slash command: typed in the input, run on the room on
// screen. The table below is the one list: /help and the help overlay
// are drawn from it.
type command struct {
	name string // "/nick"
	args string // "NAME", shown in help
	help string
	run  func(m *Model, r *roomView, arg string) tea.Cmd
}

// commands in the order help lists them.
var commands = []command{
	{"/help", "", "this help", func(m *Model, _ *roomView, _ string) tea.Cmd {
		m.showHelp = true
		return nil
	}},
	{"/users", "", "focus the member list", func(m *Model, r *roomView, _ string) tea.Cmd {
		m.setFocus(focusMembers)
		return m.setStatus(fmt.Sprintf("%d members, %d online (tab: back to the input)", len(r.members.Members()), r.members.Online()), false)
	}},
	{"/history", "", "load older messages", func(m *Model, r *roomView, _ string) tea.Cmd {
		if r.noOlder {
			return m.setStatus("No older messages.", false)
		}
		return m.loadOlder(r)
	}},
	{"/search", "TEXT", "find TEXT in the whole history", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.openPrompt(r)
		}
		return m.runSearch(r, arg)
	}},
	{"/nick", "NAME", "change your nickname", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.setStatus("Usage: /nick NAME", true)
		}
		id, session, ctx := r.id, r.session, m.c.Ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			return renamedMsg{room: id, nick: arg, err: session.Rename(ctx, arg)}
		}
	}},
	{"/me", "ACTION", "say what you do: * alice waves", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.setStatus("Usage: /me ACTION", true)
		}
		return m.send(r, chat.Action, arg)
	}},
	{"/reply", "[TEXT]", "reply to the selected line", func(m *Model, r *roomView, arg string) tea.Cmd {
		seq, ok := r.target(false)
		if !ok {
			return m.setStatus("Nothing to reply to: select a message first (alt+↑).", true)
		}
		m.startReply(r, seq)
		if arg != "" {
			return m.send(r, chat.Text, arg)
		}
		return nil
	}},
	{"/edit", "[TEXT]", "edit your last (or selected)", func(m *Model, r *roomView, arg string) tea.Cmd {
		seq, ok := r.target(true)
		if !ok {
			return m.setStatus("No message of yours to edit here.", true)
		}
		if arg != "" {
			r.editing = seq
			return m.saveEdit(r, arg)
		}
		st, _ := r.msgs.State(seq)
		return m.startEdit(r, seq, st.Text)
	}},
	{"/delete", "", "delete your last (or selected)", func(m *Model, r *roomView, _ string) tea.Cmd {
		seq, ok := r.target(true)
		if !ok {
			return m.setStatus("No message of yours to delete here.", true)
		}
		r.msgs.SelectSeq(seq)
		cmd, _ := m.onSelectKey(r, tea.KeyPressMsg{Code: 'd', Text: "d"})
		return cmd
	}},
	{"/react", "EMOJI", "react to the selected line", func(m *Model, r *roomView, arg string) tea.Cmd {
		emoji, ok := picker.Lookup(arg)
		if !ok {
			return m.setStatus("Usage: /react EMOJI, e.g. /react 👍 or /react :tada:", true)
		}
		seq, ok := r.target(false)
		if !ok {
			return m.setStatus("Nothing to react to: select a message first (alt+↑).", true)
		}
		return m.react(r, seq, emoji)
	}},
	{"/seen", "", "who has read how far", func(m *Model, r *roomView, _ string) tea.Cmd {
		m.info = r.seenList()
		return nil
	}},
	{"/whois", "NICK", "the key NICK signs with", func(m *Model, r *roomView, arg string) tea.Cmd {
		return m.setStatus(whois(r, arg), false)
	}},
	{"/handover", "KEY", "hand your nick to a new key", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.setStatus("Usage: /handover KEY, with the key webaas-chat identity public prints on the new device", true)
		}
		session, ctx := r.session, m.c.Ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			_, err := session.HandOver(ctx, arg)
			return handedOverMsg{room: r.id, err: err}
		}
	}},
	{"/forget", "NICK", "accept NICK's next key", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.setStatus("Usage: /forget NICK", true)
		}
		if err := r.room.Forget(arg); err != nil {
			return m.setStatus("Not forgotten: "+chat.Explain(err), true)
		}
		delete(r.warnedKeys, arg)
		return m.setStatus("Forgot "+chat.DisplayNick(arg)+"'s key: the next line signed as "+chat.DisplayNick(arg)+" binds the nickname again.", false)
	}},
	{"/invite", "", "copy this room's invite", func(m *Model, r *roomView, _ string) tea.Cmd {
		inv := r.invite()
		// OSC 52: the terminal puts it on the clipboard, even over ssh;
		// the help overlay (/help) shows it too, for terminals without.
		return tea.Batch(tea.SetClipboard(inv), m.setStatus("Invite copied to the clipboard (also in /help). Whoever holds it can read and write this room.", false))
	}},
	{"/copy", "", "copy the invite (or room code)", func(m *Model, r *roomView, _ string) tea.Cmd { return m.copyInvite(r) }},
	{"/join", "INVITE", "join another room", func(m *Model, r *roomView, arg string) tea.Cmd {
		if arg == "" {
			return m.setStatus("Usage: /join INVITE (or a room code)", true)
		}
		if i, ok := m.roomNamed(arg); ok {
			return m.switchTo(i) // a joined room, by the name Tab completes
		}
		arg = m.rememberedInvite(arg)
		inv, err := chat.ParseInvite(arg)
		if err != nil {
			return m.setStatus(chat.Explain(err), true)
		}
		for i, other := range m.rooms {
			if other.room.Code() == inv.Code {
				return m.switchTo(i) // joined already
			}
		}
		return tea.Batch(m.joinCmd(r.session.Nick(), arg), m.setStatus("Joining…", false))
	}},
	{"/msg", "NICK TEXT", "a room just for you two", func(m *Model, r *roomView, arg string) tea.Cmd {
		nick, text, _ := strings.Cut(arg, " ")
		return m.direct(r, nick, strings.TrimSpace(text))
	}},
	{"/accept", "", "join the direct room offered", func(m *Model, r *roomView, _ string) tea.Cmd {
		if len(m.offers) == 0 {
			return m.setStatus("No direct room offered to you.", true)
		}
		o := m.offers[len(m.offers)-1]
		m.offers = m.offers[:len(m.offers)-1]
		return tea.Batch(m.joinCmd(o.nick, o.invite), m.setStatus("Joining "+chat.DisplayNick(o.from)+"'s direct room…", false))
	}},
	{"/part", "", "leave this room", func(m *Model, _ *roomView, _ string) tea.Cmd { return m.part() }},
	{"/rooms", "", "the joined rooms, with counts", func(m *Model, _ *roomView, _ string) tea.Cmd {
		var parts []string
		for i, r := range m.rooms {
			parts = append(parts, fmt.Sprintf("%d %s%s", i+1, r.name(), counts(r)))
		}
		return m.setStatus(strings.Join(parts, " · ")+" (alt+N, ctrl+n/ctrl+p)", false)
	}},
	{"/move", "up|down", "move this room in the list", func(m *Model, _ *roomView, arg string) tea.Cmd {
		to := map[string]int{"up": m.cur - 1, "down": m.cur + 1}
		j, ok := to[arg]
		if !ok {
			return m.setStatus("Usage: /move up or /move down", true)
		}
		if j < 0 || j >= len(m.rooms) {
			return nil
		}
		m.rooms[m.cur], m.rooms[j] = m.rooms[j], m.rooms[m.cur]
		m.cur = j
		m.saveRooms()
		return nil
	}},
	{"/notify", "MODE", "ring for all lines, or mentions", func(m *Model, r *roomView, arg string) tea.Cmd {
		switch arg {
		case "all", "mentions":
			r.notifyAll = arg == "all"
			m.saveRooms()
			return m.setStatus("This room now rings for "+map[bool]string{true: "every line.", false: "mentions only."}[r.notifyAll], false)
		}
		return m.setStatus("Usage: /notify all or /notify mentions", true)
	}},
	{"/drop", "", "forget rooms marked gone", func(m *Model, _ *roomView, _ string) tea.Cmd {
		n := len(m.unjoined)
		m.unjoined = nil
		m.saveRooms()
		m.layout()
		return m.setStatus(fmt.Sprintf("Forgot %d room%s that did not open.", n, common.Plural(n)), false)
	}},
	{"/logout", "", "back to the login screen", func(m *Model, _ *roomView, _ string) tea.Cmd { return m.logout() }},
	{"/quit", "", "leave the chat", func(m *Model, _ *roomView, _ string) tea.Cmd { return m.quit() }},
}

// direct opens a direct room with nick: made, its invite sealed to
// nick's key and offered in r, joined, and shown; text, if any, is its
// first line.
func (m *Model) direct(r *roomView, nick, text string) tea.Cmd {
	if nick == "" {
		return m.setStatus("Usage: /msg NICK TEXT", true)
	}
	if nick == r.session.Nick() {
		return m.setStatus("A direct room with yourself is this chat's input.", true)
	}
	// The command runs on another goroutine: it takes copies, never the
	// room's fields.
	opts, ctx, server, session, gen := m.opts, m.c.Ctx, r.server, r.session, m.gen
	opts.Remember = nil
	me := r.session.Nick()
	return tea.Batch(m.setStatus("Opening a direct room with "+chat.DisplayNick(nick)+"…", false), func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		client := opts.Client
		if !chat.SameServer(server, opts.Server) {
			var err error
			if client, err = chat.Dial(server); err != nil {
				return joinedMsg{err: err, gen: gen}
			}
		}
		room, err := client.CreateRoom(cctx, me+" ↔ "+nick, append(slices.Clip(opts.RoomOptions), chat.Encrypted())...)
		if err != nil {
			return joinedMsg{err: err, gen: gen}
		}
		inv := room.Invite(server)
		if _, err := session.OfferDirect(cctx, nick, inv); err != nil {
			return joinedMsg{err: err, gen: gen}
		}
		j, err := join(ctx, opts, me, inv.String())
		if err == nil && text != "" {
			if _, serr := j.session.Send(cctx, text); serr != nil {
				opts.Logger.Warn("direct room: first line not sent", "err", serr)
			}
		}
		return joinedMsg{joined: j, err: err, gen: gen}
	})
}

// counts is a room's unread and mention counts, as the list shows them.
func counts(r *roomView) string {
	switch {
	case r.mentions > 0:
		return fmt.Sprintf(" (@%d, %d)", r.mentions, r.unread)
	case r.unread > 0:
		return fmt.Sprintf(" (%d)", r.unread)
	}
	return ""
}

// whois says which key nick signs with, as this chat has seen it.
func whois(r *roomView, nick string) string {
	mine := r.session.Fingerprint()
	if nick == "" {
		if mine != "" {
			return "You sign as " + mine + " (webaas-chat identity prints it too). Usage: /whois NICK"
		}
		return "Usage: /whois NICK"
	}
	shown := chat.DisplayNick(nick)
	fp := r.room.FingerprintOf(nick)
	switch {
	case fp == "":
		return shown + ": no signed message from this nickname seen yet."
	case nick == r.session.Nick() && fp == mine:
		return "You sign as " + mine + "."
	case nick == r.session.Nick():
		// The room bound our nickname to someone else's key first.
		return fmt.Sprintf("⚠ This chat knows %s by key %s, not yours (%s).", shown, fp, mine)
	}
	online := "offline"
	for _, mb := range r.members.Members() {
		if mb.Nick == nick && mb.Online {
			online = "online"
		}
	}
	read := ""
	if s := r.readUpTo(nick); s != "" {
		read = "; " + s
	}
	return fmt.Sprintf("%s (%s) signs as %s: compare it with theirs%s.", shown, online, fp, read)
}

// copyInvite copies what lets someone in: the invite of an encrypted
// room, the code of a room in the clear (which opens it on its own). OSC
// 52: the terminal puts it on the clipboard, even over ssh.
func (m *Model) copyInvite(r *roomView) tea.Cmd {
	if inv := r.room.Invite(r.server); inv.Secret == nil {
		return tea.Batch(tea.SetClipboard(r.room.Code()), m.setStatus("Room code copied to the clipboard (OSC 52): the room is in the clear, the code opens it.", false))
	}
	return tea.Batch(tea.SetClipboard(r.invite()), m.setStatus("Invite copied to the clipboard (OSC 52). Whoever holds it can read and write this room.", false))
}

// roomNamed finds a joined room by its name, as Tab completes it after
// "/join ".
func (m *Model) roomNamed(name string) (int, bool) {
	for i, r := range m.rooms {
		if typable(r.room.Name()) && r.room.Name() == name {
			return i, true
		}
	}
	return 0, false
}

// rememberedInvite is the invite of a room of the last launch that did
// not open, given its code (as Tab completes it after "/join "); else
// arg as it is.
func (m *Model) rememberedInvite(arg string) string {
	code, err := chat.ParseInvite(arg)
	if err != nil || code.Secret != nil || code.Server != "" {
		return arg
	}
	for _, e := range m.unjoined {
		if inv, err := chat.ParseInvite(e.Invite); err == nil && inv.Code == code.Code {
			return e.Invite
		}
	}
	return arg
}

// dropUnjoined forgets a room of the last launch that did not open, now
// joined.
func (m *Model) dropUnjoined(code string) {
	kept := m.unjoined[:0]
	for _, e := range m.unjoined {
		if inv, err := chat.ParseInvite(e.Invite); err != nil || inv.Code != code {
			kept = append(kept, e)
		}
	}
	m.unjoined = kept
}

// commandHelp lists the slash commands, for the help overlay.
func commandHelp() [][2]string {
	out := make([][2]string, 0, len(commands)+1)
	for _, c := range commands {
		out = append(out, [2]string{strings.TrimSpace(c.name + " " + c.args), c.help})
	}
	return append(out, [2]string{"//text", "send text that starts with /"})
}

// submit sends what is in the input, or runs it as a slash command.
func (m *Model) submit(r *roomView) tea.Cmd {
	text := strings.TrimRight(r.input.Value(), "\n")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if r.editing != 0 {
		// An edit is the message's text as it is: one that starts with
		// "/" is no command.
		return m.saveEdit(r, text)
	}
	r.submitted(text) // kept in the input's history once it went (recall.go)
	if strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//") {
		r.input.Reset()
		cmd := m.command(r, text)
		m.ranCommand(r, text)
		return cmd
	}
	text = strings.TrimPrefix(text, "/") // "//etc" sends "/etc"
	return m.send(r, chat.Text, text)
}

func (m *Model) command(r *roomView, line string) tea.Cmd {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	for _, c := range commands {
		if c.name == name {
			return c.run(m, r, strings.TrimSpace(arg))
		}
	}
	return m.setStatus(fmt.Sprintf("Unknown command %s; /help lists them.", name), true)
}

func (m *Model) onRenamed(r *roomView, msg renamedMsg) tea.Cmd {
	if msg.err != nil {
		return m.setStatus("Nickname not changed: "+chat.Explain(msg.err), true)
	}
	// The panes ask the session, which holds the new nickname now.
	return m.setStatus("You are now "+msg.nick, false)
}
