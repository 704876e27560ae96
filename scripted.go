package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/embedded"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// scriptFlags are the flags the scriptable commands share.
type scriptFlags struct {
	server  *string
	data    *string
	timeout *time.Duration
}

func newScriptFlags(fs *flag.FlagSet) scriptFlags {
	defData, _ := dataDir()
	return scriptFlags{
		server:  serverURLFlag(fs),
		data:    fs.String("data", defData, "data directory of the embedded server, if this command has to start it"),
		timeout: fs.Duration("timeout", 30*time.Second, "give up after this long"),
	}
}

// useInvite reads --room: a room code, or an invite, whose server this
// command then talks to unless --server says otherwise (an invite to
// the embedded server's address keeps the embedded server's ways).
func (f scriptFlags) useInvite(room string) (chat.Invite, error) {
	inv, err := chat.ParseInvite(room)
	if err != nil {
		return inv, usage(err)
	}
	if inv.Server != "" && *f.server == "" && !chat.SameServer(inv.Server, "http://"+defaultListen) {
		*f.server = inv.Server
	}
	return inv, nil
}

// conn is a scriptable command's way to the server.
type conn struct {
	c    *webaas.Client
	host *embedded.Host // nil with --server
	stop func()
}

// connect returns a client for --server, or for the embedded server,
// hosting it in this process if nobody answers. stop releases it.
func (f scriptFlags) connect(ctx context.Context, log *slog.Logger, supervise bool) (*conn, error) {
	url := *f.server
	cn := &conn{stop: func() {}}
	if url == "" {
		host, err := embedded.Start(ctx, embedded.Options{DataDir: *f.data, Supervise: supervise, Logger: log})
		if err != nil {
			return nil, err
		}
		cn.host, cn.stop = host, host.Stop
		url = host.URL()
	}
	c, err := webaas.New(url)
	if err != nil {
		cn.stop()
		return nil, usage(err)
	}
	cn.c = c
	return cn, nil
}

// roomErr explains an unknown room when this command found no chat
// running and started the embedded server on its own data: the room is
// most likely in the data of a chat that is not running now.
func (cn *conn) roomErr(err error) error {
	if errors.Is(err, chat.ErrUnknownRoom) && cn.host != nil && cn.host.State() == embedded.Hosting {
		return fmt.Errorf("%w on the embedded server: no chat was running here, so this command started one on its own data, which does not hold the room; start the chat that hosts it, or pass --server", err)
	}
	return err
}

// hostLeft reports whether the embedded server's host left and nobody
// can serve the room now.
func (cn *conn) hostLeft() bool {
	return cn.host != nil && cn.host.State() == embedded.HostLeft
}

// connectWithin is connect for a one-shot command: everything it does,
// the embedded server's start included, is bounded by --timeout; done
// releases it all.
func (f scriptFlags) connectWithin(ctx context.Context, stderr io.Writer) (context.Context, *conn, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	cn, err := f.connect(ctx, quietLog(stderr), false)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, cn, func() { cn.stop(); cancel() }, nil
}

func parseScript(fs *flag.FlagSet, args []string, usage string) error {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	return parseFlags(fs, args)
}

func cmdRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: webaas-chat room create [--server URL] [--name NAME]"
	switch {
	case len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprintln(stderr, usage+"\n\nRun webaas-chat room create --help for its flags.")
		return flag.ErrHelp
	case len(args) == 0 || args[0] != "create":
		return usageError{msg: usage}
	}
	fs := flag.NewFlagSet("room create", flag.ContinueOnError)
	sf := newScriptFlags(fs)
	name := fs.String("name", "webaas-chat", "the room's display name")
	clear := fs.Bool("unencrypted", false, "make a room in the clear (the server can read it), joined by its code alone")
	if err := parseScript(fs, args[1:], "Usage: webaas-chat room create [flags]\n\nCreates an end-to-end encrypted room and prints its invite: the one string\nothers join it with (server, room and key). With --unencrypted, a room in\nthe clear, and its code.\n"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// "room create my room" would make a room called "webaas-chat".
		return usageError{msg: fmt.Sprintf("room create: unexpected arguments %q (a name goes in --name)", fs.Args())}
	}
	ctx, cn, done, err := sf.connectWithin(ctx, stderr)
	if err != nil {
		return err
	}
	defer done()
	// A retry after a lost answer may leave behind an app nobody knows
	// the code of: harmless, and better than no room.
	var room *chat.Room
	err = newRetrier(cn.c, stderr, *sf.timeout).do(ctx, func(ctx context.Context) (err error) {
		var opts []chat.RoomOption
		if !*clear {
			opts = append(opts, chat.Encrypted())
		}
		room, err = chat.NewClient(cn.c).CreateRoom(ctx, *name, opts...)
		return err
	})
	if err != nil {
		return err
	}
	if room.Encrypted() {
		fmt.Fprintln(stdout, room.Invite(cn.c.BaseURL()))
	} else {
		fmt.Fprintln(stdout, room.Code())
	}
	return nil
}

func cmdSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	sf := newScriptFlags(fs)
	code := fs.String("room", os.Getenv("WEBAAS_ROOM"), "the room: its invite, or the code of a room in the clear (required; default $WEBAAS_ROOM, which keeps the invite's key out of the process list)")
	nick := fs.String("nick", "", "nickname to send as (required)")
	idFile := identityFlag(fs)
	// A string, not an Int64 flag: the flag package's "parse error" for
	// "--reply-to abc" does not say what a SEQ is.
	replyFlag := fs.String("reply-to", "", "send the message as a reply to message `SEQ` (its number, as history prints it)")
	if err := parseScript(fs, args, "Usage: webaas-chat send --room INVITE|CODE --nick NAME [flags] TEXT...\n\nSends one message and exits 0 once it is committed (durable), printing its\nsequence number; any failure exits non-zero with a one-line error.\n"); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	switch {
	case *code == "":
		return usageError{msg: "send: --room is required"}
	case *nick == "":
		return usageError{msg: "send: --nick is required"}
	case text == "":
		return usageError{msg: "send: no text to send"}
	}
	replyTo, err := parseReplyTo(*replyFlag)
	if err != nil {
		return err
	}
	if err := chat.CheckNick(*nick); err != nil {
		return usage(err)
	}
	if err := chat.CheckText(text); err != nil {
		return usage(err)
	}
	inv, err := sf.useInvite(*code)
	if err != nil {
		return err
	}
	ctx, cn, done, err := sf.connectWithin(ctx, stderr)
	if err != nil {
		return err
	}
	defer done()
	var room *chat.Room
	err = newRetrier(cn.c, stderr, *sf.timeout).do(ctx, func(ctx context.Context) (err error) {
		room, err = chat.NewClient(cn.c).OpenRoom(ctx, inv.Code, chat.WithSecret(inv.Secret))
		return err
	})
	if err != nil {
		return cn.roomErr(err)
	}
	// The sender retries failed commits itself (never posting twice);
	// its logger says so on stderr.
	id, err := loadIdentity(*idFile, stderr)
	if err != nil {
		return err
	}
	sender, err := room.Sender(*nick, chat.SessionOptions{Logger: quietLog(stderr), Identity: id})
	if err != nil {
		return err
	}
	defer sender.Close()
	var msg chat.Message
	if replyTo > 0 {
		// Read once with retries, so that a server fault here is ridden
		// out like every other read of this command; Reply reads it again
		// to check that it can be answered, and is not retried, since it
		// posts.
		var to chat.Message
		err = newRetrier(cn.c, stderr, *sf.timeout).do(ctx, func(ctx context.Context) error {
			var err error
			to, err = room.Message(ctx, replyTo)
			return err
		})
		if err == nil {
			msg, err = sender.Reply(ctx, to, text)
		}
		if errors.Is(err, chat.ErrNoSuchMessage) {
			// The number given is wrong: a mistake on the command line.
			return usage(fmt.Errorf("not sent: --reply-to %d: %w", replyTo, err))
		}
	} else {
		msg, err = sender.Send(ctx, text)
	}
	if err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	fmt.Fprintln(stdout, msg.Seq)
	return nil
}

// parseReplyTo reads --reply-to: empty (not a reply), or a message's
// number, which is 1 or more.
func parseReplyTo(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq <= 0 {
		return 0, usageError{msg: fmt.Sprintf("send: --reply-to %q is not a message's number (1 or more, as history prints it)", s), err: err}
	}
	return seq, nil
}

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	sf := newScriptFlags(fs)
	code := fs.String("room", os.Getenv("WEBAAS_ROOM"), "the room: its invite, or the code of a room in the clear (required; default $WEBAAS_ROOM, which keeps the invite's key out of the process list)")
	asJSON := fs.Bool("json", false, "one JSON object per line: seq, nick, text, time, kind, and reply_to, edited, deleted, reactions where they apply")
	follow := fs.Bool("follow", false, "keep printing new messages, and edits, deletes and reactions, as they arrive (until interrupted)")
	last := fs.Int("last", 0, "print only the newest N messages (0: all)")
	if err := parseScript(fs, args, "Usage: webaas-chat history --room INVITE|CODE [flags]\n\nPrints a room's messages, oldest first, one per line, each as its edits,\ndeletes and reactions left it.\n"); err != nil {
		return err
	}
	if *code == "" {
		return usageError{msg: "history: --room is required"}
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("history: unexpected arguments %q", fs.Args())}
	}
	if *last < 0 {
		return usageError{msg: "history: --last must be 0 or more"}
	}
	log := quietLog(stderr)
	inv, err := sf.useInvite(*code)
	if err != nil {
		return err
	}
	cn, err := sf.connect(ctx, log, *follow)
	if err != nil {
		return err
	}
	defer cn.stop()
	c := cn.c
	// One-shot, everything is bounded by --timeout; under --follow, each
	// attempt is, and failures are retried forever.
	rctx := ctx
	if !*follow {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, *sf.timeout)
		defer cancel()
	}
	rt := newRetrier(c, stderr, *sf.timeout)
	// history checks signatures against what the chat remembers of
	// who signs as whom, and learns as the chat does.
	known, err := openKnownKeys(knownKeysPath(), log)
	if err != nil {
		return err
	}
	var room *chat.Room
	err = rt.do(rctx, func(ctx context.Context) (err error) {
		room, err = chat.NewClient(c).OpenRoom(ctx, inv.Code, chat.WithSecret(inv.Secret), chat.WithKeyStore(known))
		return err
	})
	if err != nil {
		return stopped(*follow, ctx, cn.roomErr(err))
	}
	p := printer{w: stdout, json: *asJSON}
	seen, ledger, err := printHistory(rctx, rt, room, p, *last, stderr)
	if err != nil || !*follow {
		return stopped(*follow, ctx, err)
	}
	var events <-chan chat.Event
	err = rt.do(ctx, func(context.Context) (err error) {
		events, err = room.Follow(ctx, seen, chat.FollowOptions{Logger: log}) // ctx: the feed lives on
		return err
	})
	if err != nil {
		return stopped(*follow, ctx, err)
	}
	saidHostLeft, lost := false, false
	for ev := range events {
		switch ev.Kind {
		case chat.Connected:
			if lost {
				fmt.Fprintln(stderr, "reconnected to the server at "+rt.server)
			}
			saidHostLeft, lost = false, false
		case chat.Reconnecting:
			lost = true
			switch {
			case !cn.hostLeft():
				// Like the retry lines: the cause without the request's
				// URL, which holds the room code.
				fmt.Fprintf(stderr, "%s; reconnecting in %.1fs (%v)\n", rt.trouble(ev.Err), ev.Retry.Seconds(), plainCause(ev.Err))
			case !saidHostLeft:
				fmt.Fprintln(stderr, hostLeftNote)
				saidHostLeft = true
			}
		case chat.Gap:
			sayMissing(stderr, ev.From, ev.To)
		case chat.Messages:
			for _, m := range ev.Messages {
				if err := p.fold(ledger, m, true); err != nil {
					return err
				}
			}
		}
	}
	return nil // interrupted
}

// stopped is err, unless following and ctx ended (SIGINT): following a
// room ends that way on purpose, whatever it was doing.
func stopped(follow bool, ctx context.Context, err error) error {
	if follow && ctx.Err() != nil {
		return nil
	}
	return err
}

// printHistory prints the room's messages up to its head counter (the
// newest last ones, if last > 0), each as its amendments left it, page by
// page as they arrive, so the client holds one page at a time whatever
// the room's size; a failed page is retried from the first message not
// printed. Missing messages are said on stderr. It returns the sequence
// number printed up to and the ledger of what it printed, for --follow.
func printHistory(ctx context.Context, rt retrier, room *chat.Room, p printer, last int, stderr io.Writer) (seen int64, l *chat.Ledger, err error) {
	var head int64
	err = rt.do(ctx, func(ctx context.Context) (err error) {
		head, err = room.Head(ctx)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	// history has no identity of its own: no reaction is Mine.
	l = chat.NewLedger(nil)
	start, err := scanAmendments(ctx, rt, room, l, head, last)
	if err != nil {
		return 0, nil, err
	}
	seen = start - 1
	err = rt.do(ctx, func(ctx context.Context) error {
		return room.EachPage(ctx, seen+1, head+1, func(page []chat.Message) error {
			for _, m := range page {
				if m.Seq > seen+1 {
					sayMissing(stderr, seen+1, m.Seq-1)
				}
				if err := p.fold(l, m, false); err != nil {
					return err
				}
				seen = m.Seq
			}
			return nil
		})
	})
	if err == nil && seen < head {
		sayMissing(stderr, seen+1, head)
		seen = head
	}
	return seen, l, err
}

// minScan is the fewest messages scanAmendments reads at a time: with
// --last N, amendments among the newest N messages leave it short of N
// lines, and a request per few missing lines would be slow.
const minScan = 64

// scanAmendments is history's first reading of the room: every
// amendment up to head is given to l (it waits there for its target),
// so that the second reading prints each line as it finally reads, page
// by page, holding only the amendments, never the room. With last > 0
// it reads back from head, a batch at a time, until it has passed last
// lines (amendments are no lines of their own), and returns the first
// of them; else it reads everything and returns 1.
func scanAmendments(ctx context.Context, rt retrier, room *chat.Room, l *chat.Ledger, head int64, last int) (start int64, err error) {
	need := int64(last)
	for top := head; top > 0; {
		from := int64(1)
		if last > 0 {
			from = max(top-max(need, minScan)+1, 1)
		}
		// The batch is read oldest first, as the pages come; its lines'
		// numbers (with last > 0 only: a batch, not the room) are enough
		// to count back from its top.
		var lines []int64
		next := from
		err := rt.do(ctx, func(ctx context.Context) error {
			return room.EachPage(ctx, next, top+1, func(page []chat.Message) error {
				for _, m := range page {
					if m.Kind.Amends() {
						l.Add(m)
					} else if last > 0 {
						lines = append(lines, m.Seq)
					}
					next = m.Seq + 1
				}
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
		if last > 0 && int64(len(lines)) >= need {
			return lines[int64(len(lines))-need], nil
		}
		need -= int64(len(lines))
		top = from - 1
	}
	return 1, nil
}

// sayMissing tells that messages from to to are not in the room.
func sayMissing(w io.Writer, from, to int64) {
	if from == to {
		fmt.Fprintf(w, "message %d is missing from the room; skipped\n", from)
		return
	}
	fmt.Fprintf(w, "messages %d to %d are missing from the room; skipped\n", from, to)
}

// quietLog logs warnings and errors to stderr: scripts see what went wrong.
func quietLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// printer writes messages as lines of text or JSON.
type printer struct {
	w    io.Writer
	json bool
}

type jsonMessage struct {
	Seq  int64     `json:"seq"`
	Nick string    `json:"nick"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	// NickInvalid: the nickname is not one the chat accepts (it was
	// written through the raw API); a consumer should not trust it.
	NickInvalid bool `json:"nick_invalid,omitempty"`
	// Verified: signed by the key the nickname is bound to (trust says
	// what else it is: unsigned, forged, other-key, replayed), and the
	// fingerprint of the key that signed it.
	Verified    bool   `json:"verified"`
	Trust       string `json:"trust"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// After the fields above, and omitted when empty, so that a line
	// nobody answered or amended reads as it did before amendments.
	ReplyTo   int64          `json:"reply_to,omitempty"`
	Target    int64          `json:"target,omitempty"` // an edit's, delete's or reaction's (--follow)
	Edited    bool           `json:"edited,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
	Reactions []jsonReaction `json:"reactions,omitempty"`
}

type jsonReaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
}

// fold prints m as l folds it. A line is held in l and printed as its
// amendments (all read before it, see scanAmendments) left it; an
// amendment is no line of its own: live, it is printed as the event it
// is when l applies it (so a forged one, or one whose target history
// did not read, is not), else it is in l already.
func (p printer) fold(l *chat.Ledger, m chat.Message, live bool) error {
	if m.Kind.Amends() {
		if !live || l.Add(m) == 0 {
			return nil
		}
		return p.print(m, chat.State{Text: m.Text})
	}
	// l keeps every line it is given, for the amendments to come: only
	// what it judges them by (the text printed is the page's, or an
	// edit's), so that history holds lines' numbers and keys, not the
	// room.
	l.Add(chat.Message{Seq: m.Seq, Kind: m.Kind, Trust: m.Trust, Key: m.Key, Target: m.Target})
	st, _ := l.State(m.Seq)
	if !st.Edited && !st.Deleted {
		st.Text = m.Text
	}
	return p.print(m, st)
}

// print writes one message as st says it now reads, as one line,
// whatever it holds: both forms go through the display filter (package
// chat), JSON as escapes that decode to the exact text.
func (p printer) print(m chat.Message, st chat.State) error {
	if st.Deleted {
		// What it answered went with it, as the record the delete
		// leaves in its place says.
		m.ReplyTo = 0
	}
	if p.json {
		jm := jsonMessage{
			Seq: m.Seq, Nick: m.Nick, Text: st.Text, Time: m.Sent.UTC(), Kind: m.Kind.String(),
			NickInvalid: chat.CheckNick(m.Nick) != nil,
			Verified:    m.Trust == chat.Verified, Trust: m.Trust.String(), Fingerprint: identity.Fingerprint(m.Key),
			ReplyTo: m.ReplyTo, Edited: st.Edited, Deleted: st.Deleted,
		}
		if m.Kind.Amends() {
			jm.Target = m.Target
		}
		for _, r := range st.Reactions {
			jm.Reactions = append(jm.Reactions, jsonReaction{Emoji: r.Emoji, Count: r.Count})
		}
		data, err := json.Marshal(jm)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", chat.EscapeJSON(data))
		return err
	}
	shown, marks := m, ""
	switch {
	case st.Deleted:
		shown.Kind = chat.Removed // reads "(message deleted)"
	case st.Edited:
		shown.Text, marks = st.Text, " (edited)"
	}
	lead, text := shown.Parts(true)
	if m.ReplyTo != 0 {
		// Before the nickname, where no text can put it.
		lead = fmt.Sprintf("↳ #%d %s", m.ReplyTo, lead)
	}
	if len(st.Reactions) > 0 {
		rs := make([]string, len(st.Reactions))
		for i, r := range st.Reactions {
			rs[i] = fmt.Sprintf("%s %d", chat.DisplayLine(r.Emoji), r.Count)
		}
		marks += " [" + strings.Join(rs, " ") + "]"
	}
	_, err := fmt.Fprintf(p.w, "%d %s %s %s%s\n", m.Seq, m.Sent.Local().Format("2006-01-02 15:04:05"), lead, text, marks)
	return err
}
