package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/embedded"
	"github.com/webaas-chat/webaas-chat/msgcache"
	"github.com/webaas-chat/webaas-chat/recall"
	"github.com/webaas-chat/webaas-chat/ui"
)

// lastLogin is what the chat remembers between launches.
type lastLogin struct {
	Nick string `json:"nick"`
	Room string `json:"room"`
	// Owner is this installation's token for holding a nickname, so that
	// after a crash the same person gets their nickname back at once.
	Owner string `json:"owner"`
	// Rooms are all the rooms joined, in the room list's order, each
	// with its nickname: the chat joins them again at the next login.
	Rooms []ui.RoomEntry `json:"rooms,omitempty"`
}

func configFile() (string, error) {
	d, err := configDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "last-login.json"), nil
}

func loadLastLogin() lastLogin {
	var l lastLogin
	path, err := configFile()
	if err != nil {
		return l
	}
	data, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(data, &l)
	}
	return l
}

func saveLastLogin(l lastLogin) error {
	path, err := configFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(l, "", "  ")
	// The room code is the key to the room: keep it private.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newOwnerToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openLog opens the chat's log file: the screen belongs to the chat.
func openLog(level slog.Level) (*slog.Logger, io.Closer, string, error) {
	dir, err := stateDir()
	if err != nil {
		return nil, nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(dir, "webaas-chat.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, "", err
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})), f, path, nil
}

// serverURLFlag adds --server, defaulting to $WEBAAS_URL.
func serverURLFlag(fs *flag.FlagSet) *string {
	return fs.String("server", os.Getenv("WEBAAS_URL"), "WeBaaS server URL, e.g. http://host:11232 (default $WEBAAS_URL; empty: the embedded server on "+defaultListen+")")
}

func cmdChat(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: webaas-chat [chat] [flags]

Opens the full-screen chat. With no --server it uses the embedded server:
it joins the one already answering on `+defaultListen+`, or starts one in
this process with its data under the user's data dir. When the process
hosting it quits, another running chat takes it over on the same data, so
the others keep chatting and no history is lost.

Flags:
`)
		fs.PrintDefaults()
		// This is what plain "webaas-chat --help" shows: name the rest.
		fmt.Fprint(fs.Output(), "\n"+topUsage)
	}
	serverURL := serverURLFlag(fs)
	nick := fs.String("nick", "", "nickname (pre-filled from the last login; given with --room, logs in at once)")
	room := fs.String("room", os.Getenv("WEBAAS_ROOM"), "the room to join (default $WEBAAS_ROOM, which keeps the invite's key out of the process list): its invite or room code (pre-filled from the last login; empty creates an end-to-end encrypted room)")
	bell := fs.Bool("bell", true, "ring the terminal bell when a line mentions you")
	notify := fs.String("notify", ui.NotifyOSC9, "while the window is not focused, a desktop notification of a line that mentions you: osc9, osc777 or off")
	defData, _ := dataDir()
	data := fs.String("data", defData, "data directory of the embedded server")
	idFile := identityFlag(fs)
	noCache := fs.Bool("no-cache", false, "keep no message cache (for /search and the last page at start): search then reads the room from the server, once per launch (webaas-chat cache clear deletes the cache)")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level of the log file: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("unexpected arguments %q (see webaas-chat --help)", fs.Args())}
	}
	switch *notify {
	case ui.NotifyOSC9, ui.NotifyOSC777, "off":
	default:
		return usageError{msg: fmt.Sprintf("--notify %q: want osc9, osc777 or off", *notify)}
	}
	// Only now, with the command line good: --help writes nothing.
	// The config file's mistakes are said before the screen is taken
	// (and the first again after login); the rest of it applies, and the
	// command line overrides it.
	cfg, _, cfgErrs := loadConfig()
	styles, keys, lookErrs := chatLook(cfg)
	cfgErrs = append(cfgErrs, lookErrs...)
	for _, e := range cfgErrs {
		fmt.Fprintln(stderr, "webaas-chat:", e)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["notify"] {
		*notify = cfg.Notify
	}
	if *notify == "off" {
		*notify = ""
	}
	if !set["bell"] {
		*bell = cfg.Bell
	}
	if !set["server"] && *serverURL == "" {
		*serverURL = cfg.Server
	}
	last := loadLastLogin()
	if last.Owner == "" {
		last.Owner = newOwnerToken()
		if err := saveLastLogin(last); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	log, logFile, logPath, err := openLog(level)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer logFile.Close()
	// Before the screen is taken: a broken identity file is said plainly.
	// A new one is made quietly (webaas-chat identity shows it).
	id, err := loadIdentity(*idFile, io.Discard)
	if err != nil {
		return err
	}
	known, err := openKnownKeys(knownKeysPath(), log)
	if err != nil {
		return err
	}

	url := *serverURL
	if *room != "" {
		// An invite names its server: given one, talk to that server
		// (an invite to the embedded server's address keeps the
		// embedded server's ways: start it or join it).
		inv, err := chat.ParseInvite(*room)
		if err != nil {
			return usage(err)
		}
		if inv.Server != "" && url == "" && !chat.SameServer(inv.Server, "http://"+defaultListen) {
			url = inv.Server
		}
	}
	var host *embedded.Host
	if url == "" {
		host, err = embedded.Start(ctx, embedded.Options{DataDir: *data, Supervise: true, Logger: log})
		if err != nil {
			return err
		}
		defer host.Stop()
		url = host.URL()
	}
	client, err := chat.Dial(url)
	if err != nil {
		return usage(err)
	}
	var lastMu sync.Mutex
	opts := ui.Options{
		Client: client, Server: url,
		Nick: last.Nick, Room: last.Room,
		Bell: *bell, Notify: *notify, Logger: log,
		Session:     chat.SessionOptions{Owner: last.Owner, Logger: log, Identity: id},
		RoomOptions: []chat.RoomOption{chat.WithKeyStore(known)},
		// Both run on goroutines of the program's: one file, one lock.
		Remember: func(nick, room string) error {
			lastMu.Lock()
			defer lastMu.Unlock()
			last.Nick, last.Room = nick, room
			return saveLastLogin(last)
		},
		Rooms: mergeRooms(cfg.Rooms, last.Rooms),
		RememberRooms: func(rooms []ui.RoomEntry) error {
			lastMu.Lock()
			defer lastMu.Unlock()
			last.Rooms = rooms
			return saveLastLogin(last)
		},
		HostNote: hostNote(host),
		Styles:   styles, Keys: keys, TimeFormat: cfg.Timestamp,
		Notice: configNotice(cfgErrs),
	}
	if cfg.Nick != "" {
		opts.Nick = cfg.Nick
	}
	// What was sent in each room, for ↑: without it (an unreadable
	// file) the chat still runs, remembering this launch only.
	if dir, err := stateDir(); err == nil {
		if rec, err := recall.Open(filepath.Join(dir, recall.FileName), log); err != nil {
			log.Warn("input history: not kept across launches", "err", err)
		} else {
			defer func() {
				if err := rec.Close(); err != nil {
					log.Warn("input history: not saved", "err", err)
				}
			}()
			opts.Recall = rec
		}
	}
	if *nick != "" {
		opts.Nick = *nick
	}
	if opts.Room == "" && len(cfg.Rooms) > 0 {
		opts.Room = cfg.Rooms[0]
	}
	if *room != "" {
		opts.Room = *room
	}
	opts.AutoLogin = *nick != "" && *room != ""
	if !*noCache {
		cache, err := openCache(log)
		if err != nil {
			// The chat works without it: search reads from the server.
			fmt.Fprintln(stderr, "webaas-chat: no message cache this time:", err)
		} else {
			defer cache.Close()
			opts.Cache = cache
		}
	}
	log.Info("chat starting", "server", url, "embedded", host != nil, "version", versionString())
	// A closed terminal window hangs the terminal up (SIGHUP): a quit like
	// SIGINT and SIGTERM, not a death. Unless it is ignored (nohup): a
	// handler would undo that.
	if !signal.Ignored(syscall.SIGHUP) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGHUP)
		defer stop()
	}
	model := ui.New(ctx, opts)
	p := tea.NewProgram(model, tea.WithContext(ctx))
	_, err = p.Run()
	model.FlushCache() // what it read last, for the next launch's first screen
	// Ended by a signal or a lost terminal, the chat has not left its
	// room; it does so now, briefly, as ctrl+c would have.
	if lerr := model.Leave(2 * time.Second); lerr != nil {
		log.Warn("leave on exit", "err", lerr)
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return nil
}

// hostNote tells the chat, while it cannot reach its server, whether the
// reason is that the embedded server's host left (nil: not embedded).
func hostNote(h *embedded.Host) func() string {
	if h == nil {
		return nil
	}
	return func() string {
		if h.State() == embedded.HostLeft {
			return hostLeftNote
		}
		return ""
	}
}

// hostLeftNote is what a chat says while the room's host is away.
const hostLeftNote = "the host of this room left; waiting for it"

// openCache opens the message cache in its directory.
func openCache(log *slog.Logger) (*msgcache.Cache, error) {
	dir, err := cacheDir()
	if err != nil {
		return nil, err
	}
	c, err := msgcache.Open(dir, msgcache.Options{})
	if err != nil {
		log.Warn("message cache", "err", err)
		return nil, err
	}
	return c, nil
}
