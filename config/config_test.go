package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/config"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

const (
	code1   = "0f8fad5b-d9cb-469f-a165-70867728950e"
	code2   = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	invite2 = "webaas-chat+http://chat.example.org:11232/" + code2 + "#SECRETSECRETSECRETSECRETSECRETSECRETSECRET1"
)

// options checks bindings and colours as the chat does: against a real
// KeyMap, and the styles' colour rule.
var options = config.Options{CheckBinding: func(name string, keys []string) error {
	km := common.DefaultKeyMap()
	return km.Rebind(name, keys)
}, CheckColor: common.CheckColor}

// load writes text to a config.toml of its own and loads it.
func load(t *testing.T, text string) (config.Config, []error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), config.FileName)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, errs := config.Load(path, options)
	for _, err := range errs {
		if !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("error %q does not start with the file", err)
		}
	}
	return cfg, errs
}

// messages is each error with the file's directory left out.
func messages(errs []error) []string {
	var out []string
	for _, err := range errs {
		var ce *config.Error
		if errors.As(err, &ce) {
			short := *ce
			short.File = filepath.Base(ce.File)
			out = append(out, short.Error())
			continue
		}
		out = append(out, err.Error())
	}
	return out
}

func TestMissingFileIsAllDefaults(t *testing.T) {
	cfg, errs := config.Load(filepath.Join(t.TempDir(), "config.toml"), options)
	if len(errs) != 0 || !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatalf("missing file: %+v %v", cfg, errs)
	}
	if d := config.Default(); d.Notify != "osc9" || !d.Bell || d.Timestamp != "15:04" || d.Theme != "default" {
		t.Fatalf("defaults: %+v", d)
	}
}

// TestEveryKey sets every setting there is, each away from its default.
func TestEveryKey(t *testing.T) {
	cfg, errs := load(t, `
nick = "alice"
server = "https://chat.example.org/"
rooms = ['`+code1+`', "`+invite2+`"]
notify = "osc777"
bell = false
timestamp = "3:04:05PM"
theme = "dark"

[keys]
send = ["ctrl+s"]
select = ["alt+up", "ctrl+s"]
next_room = ["ctrl+alt+n", "f2"]

[colors]
nicks = ["#ff8800", "12"]
mention = "#ff0000"
own = "4"
border = "240"
focus = "#00ff00"
selection = "0"
`)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := config.Config{
		Nick: "alice", Server: "https://chat.example.org/", Rooms: []string{code1, invite2},
		Notify: "osc777", Bell: false, Timestamp: "3:04:05PM", Theme: "dark",
		Keys: []config.Binding{
			{Name: "next_room", Keys: []string{"ctrl+alt+n", "f2"}},
			{Name: "select", Keys: []string{"alt+up", "ctrl+s"}},
			{Name: "send", Keys: []string{"ctrl+s"}},
		},
		Colors: config.Colors{Nicks: []string{"#ff8800", "12"}, Mention: "#ff0000", Own: "4", Border: "240", Focus: "#00ff00", Selection: "0"},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestMistakesNameTheirLine: each mistake is an error at its line, of
// its kind, and costs only itself.
func TestMistakesNameTheirLine(t *testing.T) {
	cfg, errs := load(t, `# line 1
nick = "alice"
colour = "red"
timestamp = "hh:mm"
bell = yes
theme = "light"

[keys]
send = ["ctrl+s"]
sendd = ["ctrl+x"]
quit = ["ctrl+shft+q"]
help = []
next_room = ["q"]

[colors]
mention = "#ff88"
own = "#112233"
nicks = ["1", "red", "#abcdef", 7]
shiny = "5"
`)
	want := []string{
		`config.toml:3: colour: unknown key (known here: nick, server, rooms, notify, bell, timestamp, theme, keys, colors)`,
		`config.toml:4: timestamp: not a time layout: "hh:mm" has no part of a time in it (Go layouts are written with the reference time: "15:04", "3:04PM", "Jan 2 15:04")`,
		`config.toml:5: bell: expected value but found "yes" instead; the line is left out`,
		`config.toml:10: keys: no such key binding "sendd" (webaas-chat config lists them)`,
		`config.toml:11: keys: quit: not a key: "ctrl+shft+q": "shft" is not a modifier (ctrl, alt, shift, meta, hyper, super)`,
		`config.toml:12: keys: help: an empty list: give at least one key (or leave it out for the default)`,
		`config.toml:13: keys: next_room: "q" is a character you type, and next_room acts while you type: bind it with ctrl or alt, or to a function key`,
		`config.toml:16: colors.mention: not a colour: "#ff88" (want an ANSI index "0" to "255" or "#rrggbb")`,
		`config.toml:18: colors.nicks: entry 2: not a colour: "red" (want an ANSI index "0" to "255" or "#rrggbb")`,
		`config.toml:18: colors.nicks: entry 4: want a string, not the number 7`,
		`config.toml:19: colors.shiny: unknown key (known here: nicks, mention, own, border, focus, selection)`,
	}
	if got := messages(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	kinds := []error{config.ErrUnknownKey, config.ErrBadValue, config.ErrSyntax, config.ErrBadValue, config.ErrBadValue,
		config.ErrBadValue, config.ErrBadValue, config.ErrBadValue, config.ErrBadValue, config.ErrBadValue, config.ErrUnknownKey}
	for i, err := range errs {
		if !errors.Is(err, kinds[i]) {
			t.Errorf("error %d (%v) is not %v", i, err, kinds[i])
		}
	}
	if !errors.Is(errs[3], common.ErrUnknownBinding) || !errors.Is(errs[4], common.ErrBadKey) || !errors.Is(errs[7], common.ErrBadColor) {
		t.Error("the causes are lost")
	}
	// The rest applies; what was wrong is at its default.
	want2 := config.Default()
	want2.Nick, want2.Theme = "alice", "light"
	want2.Keys = []config.Binding{{Name: "send", Keys: []string{"ctrl+s"}}}
	want2.Colors = config.Colors{Own: "#112233", Nicks: []string{"1", "#abcdef"}}
	if !reflect.DeepEqual(cfg, want2) {
		t.Fatalf("applied %+v\nwant    %+v", cfg, want2)
	}
}

// TestWrongTypes: a value of the wrong type is said as such.
func TestWrongTypes(t *testing.T) {
	cfg, errs := load(t, `nick = 5
bell = "yes"
rooms = "`+code1+`"
keys = ["enter"]
notify = "loud"
server = "ftp://example.org"

[colors]
nicks = []
`)
	want := []string{
		`config.toml:1: nick: want a string, not the number 5`,
		`config.toml:2: bell: want true or false, not the string "yes"`,
		`config.toml:3: rooms: want a list of invites (["…", "…"]), not the string "` + code1 + `"`,
		`config.toml:4: keys: want a table ([keys]), not a list`,
		`config.toml:5: notify: "loud": want "osc9", "osc777" or "off"`,
		`config.toml:6: server: "ftp://example.org": want http://host:port or https://host:port (or "" for the embedded server)`,
		`config.toml:9: colors.nicks: an empty list: give at least one colour (or leave it out for the theme's)`,
	}
	if got := messages(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatalf("applied %+v", cfg)
	}
}

// TestBadRoomsKeepTheGoodOnes: a bad invite is said by its place in
// the list (never quoted: an invite holds the room's key) and the others
// are still joined.
func TestBadRoomsKeepTheGoodOnes(t *testing.T) {
	bad := "webaas-chat+http://chat.example.org/" + code2 + "#TOO-SHORT-A-KEY"
	cfg, errs := load(t, "rooms = [\n  \""+code1+"\",\n  \""+bad+"\",\n  \""+invite2+"\",\n]\n")
	if len(errs) != 1 || !errors.Is(errs[0], chat.ErrBadInvite) || !strings.Contains(errs[0].Error(), "config.toml:1: rooms: entry 2: ") {
		t.Fatalf("errors %v", errs)
	}
	if strings.Contains(errs[0].Error(), "TOO-SHORT") {
		t.Fatalf("the error quotes the invite's key: %v", errs[0])
	}
	if !reflect.DeepEqual(cfg.Rooms, []string{code1, invite2}) {
		t.Fatalf("rooms %q", cfg.Rooms)
	}
}

// TestInlineAndDottedTablesHaveLines: the same settings written as
// TOML's other forms of tables still name their lines.
func TestInlineAndDottedTablesHaveLines(t *testing.T) {
	cfg, errs := load(t, `keys = { send = ["ctrl+s"] }
colors.mention = "nope"
colors.own = "5"
`)
	want := []string{`config.toml:2: colors.mention: not a colour: "nope" (want an ANSI index "0" to "255" or "#rrggbb")`}
	if got := messages(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %q, want %q", got, want)
	}
	if len(cfg.Keys) != 1 || cfg.Keys[0].Name != "send" || cfg.Colors.Own != "5" {
		t.Fatalf("applied %+v", cfg)
	}
}

// TestUnreadableFiles: past the size limit, or too broken to read, the
// file is left out as a whole, and said.
func TestUnreadableFiles(t *testing.T) {
	_, errs := load(t, "nick = \"alice\"\n"+strings.Repeat("# padding\n", config.MaxFileSize/10))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "the limit for a config file") {
		t.Fatalf("big file: %v", errs)
	}
	cfg, errs := load(t, "nick = \"alice\"\n"+strings.Repeat("not toml at all\n", config.MaxSkippedLines+1))
	if len(errs) != config.MaxSkippedLines+1 || !errors.Is(errs[len(errs)-1], config.ErrSyntax) || !strings.Contains(errs[len(errs)-1].Error(), "the whole file is left out") {
		t.Fatalf("broken file: %v", errs)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatalf("a file given up still applied: %+v", cfg)
	}
	dir := t.TempDir()
	if _, errs := config.Load(dir, options); len(errs) != 1 {
		t.Fatalf("a directory: %v", errs)
	}
}

func TestCheckTimestamp(t *testing.T) {
	for _, ok := range []string{"15:04", "3:04PM", "15:04:05", "Jan 2 15:04", "2006-01-02 15:04", "15h04"} {
		if err := config.CheckTimestamp(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "now", "15:04\n", "Monday, January 2 2006 15:04:05.000000000"} {
		if err := config.CheckTimestamp(bad); !errors.Is(err, config.ErrBadTimestamp) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A key that holds what a terminal acts on is quoted in the message, so
// printing a mistake never sends an escape sequence.
func TestHostileKeyIsQuoted(t *testing.T) {
	_, errs := config.Parse("config.toml", []byte("\"\\u001b]52;c;aGk=\\u0007\" = 1\n[keys]\n\"\\u001b[2J\" = [\"x\"]\n"), config.Options{})
	if len(errs) == 0 {
		t.Fatal("no mistake found")
	}
	for _, err := range errs {
		if strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("the message carries an escape: %q", err.Error())
		}
	}
}
