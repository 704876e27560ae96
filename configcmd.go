package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/config"
	"github.com/webaas-chat/webaas-chat/ui"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// configPath is the config file: config.toml in the config directory,
// beside identity and last-login.json.
func configPath() (string, error) {
	d, err := configDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, config.FileName), nil
}

// loadConfig reads the config file; its mistakes are each an error, and
// the rest of it applies.
func loadConfig() (cfg config.Config, path string, errs []error) {
	path, err := configPath()
	if err != nil {
		return config.Default(), "", []error{fmt.Errorf("config file: %w", err)}
	}
	cfg, errs = config.Load(path, config.Options{CheckBinding: func(name string, keys []string) error {
		km := common.DefaultKeyMap()
		return km.Rebind(name, keys)
	}, CheckColor: common.CheckColor})
	return cfg, path, errs
}

// chatLook is the theme, colours and keys of a config, as the chat takes
// them. The config checked them all, so errors here are bugs; they are
// still said, and what is wrong left at its default.
func chatLook(cfg config.Config) (*common.Styles, *common.KeyMap, []error) {
	var errs []error
	styles, err := common.Theme(cfg.Theme)
	if err != nil {
		errs = append(errs, err)
		styles = common.DefaultStyles()
	}
	if err := styles.SetColors(common.Colors(cfg.Colors)); err != nil {
		errs = append(errs, err)
	}
	keys := common.DefaultKeyMap()
	for _, b := range cfg.Keys {
		if err := keys.Rebind(b.Name, b.Keys); err != nil {
			errs = append(errs, err)
		}
	}
	return styles, &keys, errs
}

// configNotice is what the status line says after login of the config
// file's mistakes: the first, in short.
func configNotice(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	first := errs[0].Error()
	var ce *config.Error
	if errors.As(errs[0], &ce) {
		short := *ce
		short.File = filepath.Base(ce.File)
		first = short.Error()
	}
	if len(errs) > 1 {
		return fmt.Sprintf("%s (%d more: webaas-chat config)", first, len(errs)-1)
	}
	return first
}

// mergeRooms is the rooms to join at start: the config file's first,
// then those the last launch remembers, each room once. A room in both
// keeps what the last launch remembers of it (its nickname there, /notify
// all), at the config's place.
func mergeRooms(invites []string, remembered []ui.RoomEntry) []ui.RoomEntry {
	code := func(s string) string {
		if inv, err := chat.ParseInvite(s); err == nil {
			return inv.Code
		}
		return s
	}
	byCode := map[string]ui.RoomEntry{}
	for _, e := range remembered {
		if _, ok := byCode[code(e.Invite)]; !ok {
			byCode[code(e.Invite)] = e
		}
	}
	var out []ui.RoomEntry
	seen := map[string]bool{}
	add := func(e ui.RoomEntry) {
		if c := code(e.Invite); !seen[c] {
			seen[c] = true
			out = append(out, e)
		}
	}
	for _, inv := range invites {
		if e, ok := byCode[code(inv)]; ok {
			add(e)
		} else {
			add(ui.RoomEntry{Invite: inv})
		}
	}
	for _, e := range remembered {
		add(e)
	}
	return out
}

const configUsage = `Usage: webaas-chat config

Prints the configuration in effect: the config file's settings over the
defaults, as TOML to copy into the file. Mistakes in the file go to
stderr, each with its line, and the exit status is then 1.
`

func cmdConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("config: unexpected arguments %q", fs.Args())}
	}
	cfg, path, errs := loadConfig()
	styles, keys, lookErrs := chatLook(cfg)
	errs = append(errs, lookErrs...)
	if err := writeConfig(stdout, path, cfg, styles, keys); err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, "webaas-chat:", e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d mistake%s in %s", len(errs), common.Plural(len(errs)), path)
	}
	return nil
}

// writeConfig prints a configuration as a config file, every setting
// with its value and what it does.
func writeConfig(w io.Writer, path string, cfg config.Config, styles *common.Styles, keys *common.KeyMap) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# webaas-chat's configuration in effect: %s over the defaults.\n", path)
	p("# Copy what you want to change into that file; command-line flags override it.\n\n")

	p("# The nickname the login form starts with (--nick overrides; \"\": the last login's).\n")
	p("nick = %s\n\n", tomlString(cfg.Nick))
	p("# The server (--server and $WEBAAS_URL override; \"\": the embedded server on %s).\n", defaultListen)
	p("server = %s\n\n", tomlString(cfg.Server))
	p("# Rooms to join at start, by invite (or room code, on the server above), in order;\n")
	p("# then those the last launch remembers. The first is the login form's if it has none.\n")
	p("rooms = %s\n\n", tomlList(cfg.Rooms))
	p("# A desktop notification of a line that mentions you while the window is not\n")
	p("# focused: \"osc9\", \"osc777\" or \"off\" (--notify overrides).\n")
	p("notify = %s\n\n", tomlString(cfg.Notify))
	p("# Ring the terminal bell when a line mentions you (--bell=false overrides).\n")
	p("bell = %v\n\n", cfg.Bell)
	p("# Message times, as a Go time layout written with the reference time\n")
	p("# Mon Jan 2 15:04:05 2006: \"15:04\", \"3:04PM\", \"15:04:05\", \"Jan 2 15:04\" (at most %d cells).\n", config.MaxStampWidth)
	p("timestamp = %s\n\n", tomlString(cfg.Timestamp))
	p("# \"default\" follows the terminal's palette; \"light\" and \"dark\" are fixed colours\n")
	p("# that read well on a light or a dark background. NO_COLOR turns all colour off.\n")
	p("theme = %s\n\n", tomlString(cfg.Theme))

	p("# Each key binding's keys, as Bubble Tea names key presses: modifiers in the order\n")
	p("# ctrl, alt, shift, meta, hyper, super, then a named key (enter, esc, tab, space,\n")
	p("# backspace, up, down, left, right, home, end, pgup, pgdown, insert, delete, f1…f63)\n")
	p("# or one character. A binding that acts while you type takes no plain character.\n")
	p("[keys]\n")
	byName := keys.ByName()
	for _, name := range keys.Names() {
		bd := byName[name]
		p("%s = %s # %s\n", name, tomlList(bd.Keys()), bd.Help().Desc)
	}
	p("\n")

	c := styles.Colors()
	p("# Colours over the theme's: an ANSI index \"0\" to \"255\" or \"#rrggbb\".\n")
	p("[colors]\n")
	p("nicks = %s # nicknames, each always the same one of these\n", tomlList(c.Nicks))
	p("mention = %s # lines that mention you\n", tomlString(c.Mention))
	p("own = %s # the mark of your own lines\n", tomlString(c.Own))
	p("border = %s # pane borders\n", tomlString(c.Border))
	p("focus = %s # the focused pane's border\n", tomlString(c.Focus))
	p("selection = %s # the selected message's mark\n", tomlString(c.Selection))
	_, err := io.WriteString(w, b.String())
	return err
}

// tomlString is s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
