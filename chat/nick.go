package chat

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNick is the longest nickname, in characters.
const MaxNick = 24

// ErrBadNick wraps every reason a nickname is refused.
var ErrBadNick = errors.New("bad nickname")

// CheckNick says why nick cannot be a nickname, or nil. Nicknames are one
// word (letters of any script, digits, '_', '-', '.') so that a mention is
// simply the word, and short enough for the member pane.
func CheckNick(nick string) error {
	switch n := utf8.RuneCountInString(nick); {
	case nick == "":
		return fmt.Errorf("%w: it is empty", ErrBadNick)
	case n > MaxNick:
		return fmt.Errorf("%w: %d characters, the limit is %d", ErrBadNick, n, MaxNick)
	case !utf8.ValidString(nick):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadNick)
	}
	for _, r := range nick {
		// Fillers (U+3164 and kin) are letters that show as blanks.
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.", r) || hidden(r) {
			return fmt.Errorf("%w: %q is not allowed (use letters, digits, _ - .)", ErrBadNick, r)
		}
	}
	return nil
}

// ErrBadText wraps every reason a message text is refused.
var ErrBadText = errors.New("bad message")

// CheckText says why text cannot be sent, or nil.
func CheckText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return fmt.Errorf("%w: it is empty", ErrBadText)
	case len(text) > MaxText:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrBadText, len(text), MaxText)
	case !utf8.ValidString(text):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadText)
	}
	return nil
}
