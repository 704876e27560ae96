package ui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// completion is a Tab completion in progress in a room's input: what the
// word before the cursor completes to, and which of them is shown. It
// lasts while Tab and shift+tab go through the matches; any other key
// ends it.
type completion struct {
	row    int      // the input's line it is on
	start  string   // that line's text before the word
	names  []string // what the word completes to
	suffix string   // what follows each: ": ", " " or nothing
	at     int      // the match in the input
}

// shown is the match in the input, with what follows it.
func (c *completion) shown() string { return c.names[c.at] + c.suffix }

// complete completes the word before the cursor in r's input, or, with
// a completion in progress, shows the next match (the previous, back).
// false: nothing to complete (an empty input, no word at the cursor, no
// match), and Tab is the next pane's.
func (m *Model) complete(r *roomView, back bool) bool {
	row, before := r.input.Cursor()
	if c := r.comp; c != nil && row == c.row && before == c.start+c.shown() {
		if len(c.names) == 1 {
			// The one match: what follows it may complete in turn
			// ("/join " to a room); else Tab stays in the input.
			r.comp = nil
			m.completeAnew(r, row, before, back)
			return true
		}
		next := (c.at + 1) % len(c.names)
		if back {
			next = (c.at + len(c.names) - 1) % len(c.names)
		}
		old := c.shown()
		c.at = next
		r.input.ReplaceBeforeCursor(utf8.RuneCountInString(old), c.shown())
		return true
	}
	r.comp = nil
	return m.completeAnew(r, row, before, back)
}

// completeAnew starts a completion of the word before the cursor.
func (m *Model) completeAnew(r *roomView, row int, before string, back bool) bool {
	after := r.input.AfterCursor()
	if after != "" && !unicode.IsSpace([]rune(after)[0]) {
		return false // inside a word: nothing is the word's end yet
	}
	start, word, names, suffix := m.completions(r, row, before)
	if len(names) == 0 {
		return false
	}
	if strings.HasPrefix(after, " ") {
		suffix = strings.TrimSuffix(suffix, " ") // one space between the word and what follows
	}
	c := &completion{row: row, start: start, names: names, suffix: suffix}
	if back {
		c.at = len(names) - 1
	}
	r.comp = c
	r.input.ReplaceBeforeCursor(utf8.RuneCountInString(word), c.shown())
	return true
}

// completions finds the word the text before the cursor ends in, what comes
// before it, and what it completes to: a /command at the start of the
// input, a known room after "/join ", else a nickname.
func (m *Model) completions(r *roomView, row int, before string) (start, word string, names []string, suffix string) {
	if row == 0 && strings.HasPrefix(before, "/join ") {
		// A room's name may have spaces: the word is all of the argument.
		word = strings.TrimLeft(before[len("/join "):], " ")
		return before[:len(before)-len(word)], word, withPrefix(m.knownRooms(r), word), ""
	}
	i := strings.LastIndexFunc(before, unicode.IsSpace)
	if i >= 0 {
		_, n := utf8.DecodeRuneInString(before[i:])
		i += n
	} else {
		i = 0
	}
	start, word = before[:i], before[i:]
	switch {
	case word == "":
		return start, "", nil, ""
	case row == 0 && start == "" && strings.HasPrefix(word, "/"):
		names := make([]string, len(commands))
		for i, c := range commands {
			names[i] = c.name
		}
		return start, word, withPrefix(names, word), " "
	case strings.HasPrefix(word, "@"): // "@al": the @ stays
		return start + "@", word[1:], withPrefix(m.nickCandidates(r), word[1:]), " "
	case row == 0 && start == "":
		return start, word, withPrefix(m.nickCandidates(r), word), ": " // addressing someone: "alice: "
	}
	return start, word, withPrefix(m.nickCandidates(r), word), " "
}

// withPrefix are the candidates that start with prefix, in any case.
func withPrefix(candidates []string, prefix string) []string {
	p := strings.ToLower(prefix)
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(strings.ToLower(c), p) {
			out = append(out, c)
		}
	}
	return out
}

// nickCandidates are the room's members but us, the most recently
// active first: by the newest message of each in the loaded history
// (under the nickname they have now, through renames), then in the
// member list's order (online first). Only nicknames one
// could type: a record written around the chat may hold any string.
func (m *Model) nickCandidates(r *roomView) []string {
	me := r.session.Nick()
	members := r.members.Members()
	member := make(map[string]bool, len(members))
	for _, mb := range members {
		if mb.Nick != me && chat.CheckNick(mb.Nick) == nil {
			member[mb.Nick] = true
		}
	}
	var out []string
	placed := make(map[string]bool, len(member))
	// now maps a nickname renamed away to the one its holder has now:
	// bob's lines before "bob is now known as robert" are robert's.
	now := map[string]string{}
	r.msgs.Newest(func(msg chat.Message) bool {
		nick := msg.Nick
		if msg.Kind == chat.Rename {
			nick = msg.Text
			if later, ok := now[nick]; ok {
				nick = later
			}
			now[msg.Nick] = nick
		} else if later, ok := now[nick]; ok {
			nick = later
		}
		if member[nick] && !placed[nick] {
			placed[nick] = true
			out = append(out, nick)
		}
		return len(placed) < len(member) // every member placed: no need to read further
	})
	for _, mb := range members {
		if member[mb.Nick] && !placed[mb.Nick] {
			placed[mb.Nick] = true
			out = append(out, mb.Nick)
		}
	}
	return out
}

// knownRooms are what "/join " completes to: the other joined rooms by
// name (their code when the name could not be typed back), then the rooms
// of the last launch that did not open, by code (their names are not
// known; /join finds their invites).
func (m *Model) knownRooms(r *roomView) []string {
	var out []string
	for _, other := range m.rooms {
		if other == r {
			continue
		}
		if name := other.room.Name(); typable(name) {
			out = append(out, name)
		} else {
			out = append(out, other.room.Code())
		}
	}
	for _, e := range m.unjoined {
		if inv, err := chat.ParseInvite(e.Invite); err == nil {
			out = append(out, inv.Code)
		}
	}
	return out
}

// typable reports whether a room's name can be completed into the input
// and read back by /join as it is: shown as it is, not too long.
func typable(name string) bool {
	return strings.TrimSpace(name) == name && name != "" && chat.DisplayLine(name) == name &&
		utf8.RuneCountInString(name) <= chat.MaxRoomName
}

// completionLine is the hint line while a completion has several
// matches: them all, the one in the input marked.
func (m *Model) completionLine(c *completion) string {
	var parts []string
	for i, s := range c.names {
		if i == c.at {
			s = m.c.Styles.MyReaction.Render("[" + s + "]")
		}
		parts = append(parts, s)
	}
	keys := m.c.Keys
	line := fmt.Sprintf("%s %d/%d: %s · %s back", keys.Complete.Help().Key, c.at+1, len(c.names), strings.Join(parts, " "), keys.CompleteBack.Help().Key)
	return common.PadRight(m.c.Styles.Hint.Render(ansi.Truncate(line, m.width, "…")), m.width)
}
