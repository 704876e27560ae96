// Package config reads the chat's config file, config.toml in the
// config directory (~/.config/webaas-chat/config.toml on Linux): the
// default nickname, server and rooms, notifications, the timestamp
// format, the theme and colours, and key bindings. It knows nothing of
// the screen: it returns plain values, which the command line puts into
// the chat's options.
//
// A mistake costs only itself: each bad line or value is an *Error
// naming the file and line ("config.toml:12: ..."), and everything else
// in the file still applies. A missing file is no mistake: all defaults.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
)

// FileName is the config file's name in the config directory.
const FileName = "config.toml"

// Limits.
const (
	MaxFileSize     = 1 << 20 // bytes of the file
	MaxRooms        = 64      // rooms to join at start
	MaxNicks        = 64      // colours of the nickname palette
	MaxStampWidth   = 20      // cells a message time may take (the rest is for the message)
	MaxSkippedLines = 10      // lines that are not TOML left out before the file is given up
)

// DefaultTimestamp is the default message time layout.
const DefaultTimestamp = "15:04"

// Notify values.
const (
	NotifyOSC9   = "osc9"
	NotifyOSC777 = "osc777"
	NotifyOff    = "off"
)

// Themes are the theme names, the default first.
var Themes = []string{"default", "light", "dark"}

// Config is the chat's configuration: the file's settings over the
// defaults (see Default).
type Config struct {
	Nick      string   // the nickname the login form starts with ("": the last login's)
	Server    string   // the server URL ("": the embedded server)
	Rooms     []string // invites (or codes) of rooms to join at start, in order
	Notify    string   // NotifyOSC9, NotifyOSC777 or NotifyOff
	Bell      bool     // ring the bell on a mention
	Timestamp string   // layout of message times (time.Format)
	Theme     string   // one of Themes
	Keys      []Binding
	Colors    Colors
}

// A Binding is a [keys] entry: a key binding's name and its new keys.
type Binding struct {
	Name string
	Keys []string
}

// Colors are the [colors] set over the theme's ("" or nil: the theme's),
// each an ANSI index "0"…"255" or "#rrggbb".
type Colors struct {
	Nicks     []string // the nickname palette
	Mention   string   // lines that mention you
	Own       string   // the mark of your own lines
	Border    string   // pane borders
	Focus     string   // the focused pane's border
	Selection string   // the selected message's mark
}

// Default is the configuration with no file.
func Default() Config {
	return Config{Notify: NotifyOSC9, Bell: true, Timestamp: DefaultTimestamp, Theme: Themes[0]}
}

// Options are what the caller knows better than this package.
type Options struct {
	// CheckBinding says why keys cannot be the key binding called name
	// (no such binding, a key that is no key), or nil. The chat passes a
	// KeyMap's Rebind; nil takes any name and keys.
	CheckBinding func(name string, keys []string) error
	// CheckColor says why c is not a colour the chat's styles take, or
	// nil. The chat passes ui/common's CheckColor (one rule, kept where
	// the colours are used); nil takes any.
	CheckColor func(c string) error
}

// The kinds of mistake; every *Error is one of them (errors.Is).
var (
	ErrSyntax     = errors.New("not TOML")
	ErrUnknownKey = errors.New("unknown key")
	ErrBadValue   = errors.New("bad value")
)

// Error is one mistake in the config file.
type Error struct {
	File string // the file, as given to Load or Parse
	Line int    // 1-based; 0: the file as a whole
	Key  string // the setting, "colors.mention" ("" for a line that is not TOML)
	Kind error  // ErrSyntax, ErrUnknownKey or ErrBadValue
	Err  error  // what is wrong
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(shownKey(e.Key) + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// shownKey is a key as a message names it: quoted when it holds what a
// terminal would act on (a quoted TOML key may hold anything), so that a
// mistake printed on stderr or the status line is text, never a command.
func shownKey(key string) string {
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(key)
	}
	return key
}

// Unwrap gives both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Load reads the config file at path. A missing file is all defaults
// and no error. Whatever is wrong is in the errors, each an *Error, and
// left at its default; the rest applies.
func Load(path string, opts Options) (Config, []error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Default(), []error{&Error{File: path, Kind: ErrBadValue, Err: err}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Default(), []error{&Error{File: path, Kind: ErrBadValue, Err: err}}
	}
	return Parse(path, data, opts)
}

// Parse reads a config file's text; file names it in errors.
func Parse(file string, data []byte, opts Options) (Config, []error) {
	p := &parser{file: file, opts: opts, cfg: Default()}
	if len(data) > MaxFileSize {
		p.fail(0, "", ErrBadValue, fmt.Errorf("more than %d bytes, the limit for a config file: left out", MaxFileSize))
		return p.cfg, p.errs
	}
	top, ok := p.decode(string(data))
	if !ok {
		return Default(), p.sorted()
	}
	for _, name := range sortedKeys(top) {
		p.setting(name, top[name])
	}
	return p.cfg, p.sorted()
}

type parser struct {
	file string
	opts Options
	md   toml.MetaData
	cfg  Config
	errs []error
}

func (p *parser) fail(line int, key string, kind, err error) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Kind: kind, Err: err})
}

// sorted is the errors in the file's order.
func (p *parser) sorted() []error {
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].(*Error).Line < p.errs[j].(*Error).Line })
	return p.errs
}

// decode parses the file into its top-level settings, each kept
// undecoded (a toml.Primitive) so that each is checked on its own and
// keeps its position. A line that is not TOML is said and left out, and
// the rest parsed again: `bell = yes` costs the bell, not the file.
func (p *parser) decode(text string) (map[string]toml.Primitive, bool) {
	lines := strings.Split(text, "\n")
	left := map[int]bool{}
	for {
		var top map[string]toml.Primitive
		md, err := toml.Decode(strings.Join(lines, "\n"), &top)
		if err == nil {
			p.md = md
			return top, true
		}
		var pe toml.ParseError
		if !errors.As(err, &pe) {
			p.fail(0, "", ErrSyntax, fmt.Errorf("%w; the whole file is left out", err))
			return nil, false
		}
		// LastKey is the key being read when the line went wrong, if any.
		line, key, msg := pe.Position.Line, pe.LastKey, strings.TrimSuffix(pe.Message, ".")
		switch {
		case len(left) == MaxSkippedLines:
			p.fail(line, key, ErrSyntax, fmt.Errorf("%s; more than %d lines are not TOML: the whole file is left out (all defaults)", msg, MaxSkippedLines))
			return nil, false
		case line < 1 || line > len(lines) || left[line]:
			// Leaving the line out did not mend it (an unterminated
			// string runs on): nothing after it can be trusted.
			p.fail(line, key, ErrSyntax, fmt.Errorf("%s; the whole file is left out (all defaults)", msg))
			return nil, false
		}
		p.fail(line, key, ErrSyntax, fmt.Errorf("%s; the line is left out", msg))
		left[line], lines[line-1] = true, ""
	}
}

// checker hands a setting's raw value (string, int64, float64, bool,
// []any, map[string]any, …) to a check. toml turns the error it returns
// into a ParseError at the setting's position, which is how each
// mistake learns its line.
type checker struct {
	f    func(v any) []error
	errs []error
}

var errChecked = errors.New("checked")

func (c *checker) UnmarshalTOML(v any) error {
	if c.errs = c.f(v); len(c.errs) > 0 {
		return errChecked
	}
	return nil
}

// check runs f on prim's value; each error it returns is a mistake at
// prim's line. It reports whether there were none.
func (p *parser) check(prim toml.Primitive, key string, f func(v any) []error) bool {
	c := &checker{f: f}
	err := p.md.PrimitiveDecode(prim, c)
	if err == nil {
		return true
	}
	line := 0
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line = pe.Position.Line
	}
	if len(c.errs) == 0 { // toml's own (should not happen: checkers take anything)
		c.errs = []error{err}
	}
	for _, e := range c.errs {
		kind := ErrBadValue
		if errors.Is(e, errUnknown) {
			kind = ErrUnknownKey
		}
		p.fail(line, key, kind, e)
	}
	return false
}

var errUnknown = errors.New("unknown key")

func unknown(known []string) func(any) []error {
	return func(any) []error {
		return []error{fmt.Errorf("%w (known here: %s)", errUnknown, strings.Join(known, ", "))}
	}
}

var topKeys = []string{"nick", "server", "rooms", "notify", "bell", "timestamp", "theme", "keys", "colors"}

func (p *parser) setting(name string, prim toml.Primitive) {
	c := &p.cfg
	switch name {
	case "nick":
		p.check(prim, name, str(func(s string) error {
			if s == "" {
				return nil
			}
			return chat.CheckNick(s)
		}, &c.Nick))
	case "server":
		p.check(prim, name, str(checkServer, &c.Server))
	case "rooms":
		p.check(prim, name, func(v any) []error {
			rooms, errs := strList(v, "invites", func(s string) error {
				_, err := chat.ParseInvite(s)
				return err
			})
			if len(rooms) > MaxRooms {
				errs = append(errs, fmt.Errorf("%d rooms, the limit is %d: the first %d are joined", len(rooms), MaxRooms, MaxRooms))
				rooms = rooms[:MaxRooms]
			}
			c.Rooms = rooms
			return errs
		})
	case "notify":
		p.check(prim, name, str(oneOf(NotifyOSC9, NotifyOSC777, NotifyOff), &c.Notify))
	case "bell":
		p.check(prim, name, func(v any) []error {
			b, ok := v.(bool)
			if !ok {
				return []error{fmt.Errorf("want true or false, not %s", describe(v))}
			}
			c.Bell = b
			return nil
		})
	case "timestamp":
		p.check(prim, name, str(CheckTimestamp, &c.Timestamp))
	case "theme":
		p.check(prim, name, str(oneOf(Themes...), &c.Theme))
	case "keys":
		p.table(prim, name, func(key string, sub toml.Primitive) {
			p.check(sub, "keys", func(v any) []error {
				keys, errs := strList(v, "keys", func(string) error { return nil })
				for i, e := range errs {
					errs[i] = fmt.Errorf("%s: %w", shownKey(key), e)
				}
				if len(errs) > 0 {
					return errs
				}
				if len(keys) == 0 {
					return []error{fmt.Errorf("%s: an empty list: give at least one key (or leave it out for the default)", key)}
				}
				if p.opts.CheckBinding != nil {
					if err := p.opts.CheckBinding(key, keys); err != nil {
						return []error{err}
					}
				}
				c.Keys = append(c.Keys, Binding{Name: key, Keys: keys})
				return nil
			})
		})
		sort.SliceStable(c.Keys, func(i, j int) bool { return c.Keys[i].Name < c.Keys[j].Name })
	case "colors":
		colorKeys := []string{"nicks", "mention", "own", "border", "focus", "selection"}
		p.table(prim, name, func(key string, sub toml.Primitive) {
			full := "colors." + key
			var dst *string
			switch key {
			case "nicks":
				p.check(sub, full, func(v any) []error {
					nicks, errs := strList(v, "colours", p.checkColor)
					switch {
					case len(nicks) > MaxNicks:
						errs = append(errs, fmt.Errorf("%d colours, the limit is %d: the first %d are used", len(nicks), MaxNicks, MaxNicks))
						nicks = nicks[:MaxNicks]
					case len(nicks) == 0 && len(errs) == 0:
						errs = append(errs, errors.New("an empty list: give at least one colour (or leave it out for the theme's)"))
					}
					c.Colors.Nicks = nicks
					return errs
				})
				return
			case "mention":
				dst = &c.Colors.Mention
			case "own":
				dst = &c.Colors.Own
			case "border":
				dst = &c.Colors.Border
			case "focus":
				dst = &c.Colors.Focus
			case "selection":
				dst = &c.Colors.Selection
			default:
				p.check(sub, full, unknown(colorKeys))
				return
			}
			p.check(sub, full, str(p.checkColor, dst))
		})
	default:
		p.check(prim, name, unknown(topKeys))
	}
}

// table checks that prim is a table and runs each of its entries through
// f, in name order.
func (p *parser) table(prim toml.Primitive, name string, f func(key string, sub toml.Primitive)) {
	if !p.check(prim, name, func(v any) []error {
		if _, ok := v.(map[string]any); !ok {
			return []error{fmt.Errorf("want a table ([%s]), not %s", name, describe(v))}
		}
		return nil
	}) {
		return
	}
	var subs map[string]toml.Primitive
	if err := p.md.PrimitiveDecode(prim, &subs); err != nil {
		p.fail(0, name, ErrBadValue, err)
		return
	}
	for _, k := range sortedKeys(subs) {
		f(k, subs[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// str is a check of a string setting: a string that passes ok is stored
// in dst.
func str(ok func(string) error, dst *string) func(any) []error {
	return func(v any) []error {
		s, isStr := v.(string)
		if !isStr {
			return []error{fmt.Errorf("want a string, not %s", describe(v))}
		}
		if err := ok(s); err != nil {
			return []error{err}
		}
		*dst = s
		return nil
	}
}

// strList reads a list of strings, keeping those that pass ok; each that
// does not is an error naming its place in the list.
func strList(v any, what string, ok func(string) error) ([]string, []error) {
	list, isList := v.([]any)
	if !isList {
		return nil, []error{fmt.Errorf("want a list of %s ([\"…\", \"…\"]), not %s", what, describe(v))}
	}
	var out []string
	var errs []error
	for i, e := range list {
		s, isStr := e.(string)
		if !isStr {
			errs = append(errs, fmt.Errorf("entry %d: want a string, not %s", i+1, describe(e)))
			continue
		}
		if err := ok(s); err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		out = append(out, s)
	}
	return out, errs
}

func oneOf(values ...string) func(string) error {
	return func(s string) error {
		if slices.Contains(values, s) {
			return nil
		}
		return fmt.Errorf("%q: want %s", s, orList(values))
	}
}

func orList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// describe names a TOML value's type for an error, with the value when
// it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", ansi.Truncate(v, 40, "…"))
	case bool:
		return fmt.Sprintf("%v", v)
	case int64:
		return fmt.Sprintf("the number %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "a list of tables"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("a %T", v)
}

func checkServer(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want http://host:port or https://host:port (or \"\" for the embedded server)", s)
	}
	return nil
}

// checkColor is Options.CheckColor, or nothing to say.
func (p *parser) checkColor(c string) error {
	if p.opts.CheckColor == nil {
		return nil
	}
	return p.opts.CheckColor(c)
}

// ErrBadTimestamp is a timestamp layout that would not show a time.
var ErrBadTimestamp = errors.New("not a time layout")

// widestTime is a time whose parts are each at their widest: September,
// Wednesday, two-digit day and 12-hour hour, nine fractional digits.
var widestTime = time.Date(2001, time.September, 26, 10, 59, 59, 123456789, time.UTC)

// CheckTimestamp says why layout is no good for message times, or nil:
// formatting a known time must give a time (not the layout back), on
// one line, in at most MaxStampWidth cells.
func CheckTimestamp(layout string) error {
	if layout == "" {
		return fmt.Errorf("%w: empty (the default is %q)", ErrBadTimestamp, DefaultTimestamp)
	}
	shown := widestTime.Format(layout)
	if shown == layout {
		return fmt.Errorf("%w: %q has no part of a time in it (Go layouts are written with the reference time: \"15:04\", \"3:04PM\", \"Jan 2 15:04\")", ErrBadTimestamp, layout)
	}
	if strings.ContainsFunc(shown, unicode.IsControl) {
		return fmt.Errorf("%w: %q has a control character in it", ErrBadTimestamp, layout)
	}
	if w := ansi.StringWidth(shown); w > MaxStampWidth {
		return fmt.Errorf("%w: %q takes %d cells (%q), the limit is %d", ErrBadTimestamp, layout, w, shown, MaxStampWidth)
	}
	return nil
}
