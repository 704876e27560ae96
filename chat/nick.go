package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNick is the longest nickname, in characters.
const MaxNick = 24

// CheckNick says why nick cannot be a nickname, or nil. Nicknames are one
// word (letters of any script, digits, '_', '-', '.') so that a mention is
// simply the word, and short enough for the member pane.
func CheckNick(nick string) error {
	bad := func(format string, args ...any) error {
		return &NickError{Nick: nick, Reason: fmt.Sprintf(format, args...)}
	}
	switch n := utf8.RuneCountInString(nick); {
	case nick == "":
		return bad("it is empty")
	case n > MaxNick:
		return bad("%d characters, the limit is %d", n, MaxNick)
	case !utf8.ValidString(nick):
		return bad("not valid UTF-8")
	}
	for _, r := range nick {
		// Fillers (U+3164 and kin) are letters that show as blanks.
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.", r) || hidden(r) {
			return bad("%q is not allowed (use letters, digits, _ - .)", r)
		}
	}
	return nil
}

// CheckText says why text cannot be sent, or nil.
func CheckText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return &TextError{Reason: "it is empty"}
	case len(text) > MaxText:
		return &TextError{Reason: fmt.Sprintf("%d bytes, the limit is %d", len(text), MaxText)}
	case !utf8.ValidString(text):
		return &TextError{Reason: "not valid UTF-8"}
	}
	return nil
}
