// Command webaas-chat is a full-screen terminal chat on WeBaaS, and the
// WeBaaS-compatible server it runs on.
//
//	webaas-chat [chat flags]         open the chat (embedded server by default)
//	webaas-chat serve [flags]        run a standalone server
//	webaas-chat room create          make a room, print its code
//	webaas-chat send TEXT...         send one message
//	webaas-chat history              print a room's messages
//	webaas-chat identity             this installation's key: fingerprint, export, import
//	webaas-chat config               print the configuration in effect (config.toml over the defaults)
//	webaas-chat cache [clear]        the chat's message cache: where it is, clear it
//	webaas-chat bench                measure what a room takes: the rate sweep and its knee, greedy senders, fan-out
//
// Run any command with --help for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct {
	msg string
	err error // what it came from, if anything: errors.Is still sees it
}

func (e usageError) Error() string { return e.msg }
func (e usageError) Unwrap() error { return e.err }

// usage makes err a usage error, keeping it for errors.Is and errors.As.
func usage(err error) usageError { return usageError{msg: err.Error(), err: err} }

// parseFlags parses a command's flags: a flag that does not exist or has
// a bad value is a usage error (exit 2), -h a request for help (exit 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usage(err)
}

// parseVerbFlags parses the flags of a command's verb ("identity
// export", "cache clear"): "help" prints the usage, and arguments beyond
// the flags are a usage error.
func parseVerbFlags(fs *flag.FlagSet, command, verb string, args []string) error {
	if verb == "help" {
		fs.Usage()
		return flag.ErrHelp
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("%s %s: unexpected arguments %q", command, verb, fs.Args())}
	}
	return nil
}

const topUsage = `Usage: webaas-chat [command] [flags]

Commands:
  (none)        open the chat; see webaas-chat chat --help
  chat          the same
  serve         run a WeBaaS-compatible server
  room create   create a room and print its code
  send          send one message to a room
  history       print a room's messages
  identity      this installation's key: show its fingerprint, export, import
  config        print the configuration in effect (the config file over the defaults)
  cache         the chat's message cache: where it is, clear it
  bench         measure what a room takes (rate sweep and knee, greedy senders, fan-out)
  version       print the version

Run webaas-chat COMMAND --help for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "webaas-chat:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "chat"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "chat":
		if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
			fmt.Fprintln(stdout, "webaas-chat", versionString())
			return nil
		}
		return cmdChat(ctx, args, stderr)
	case "serve":
		return cmdServe(ctx, args)
	case "room":
		return cmdRoom(ctx, args, stdout, stderr)
	case "send":
		return cmdSend(ctx, args, stdout, stderr)
	case "history":
		return cmdHistory(ctx, args, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args, stdout, stderr)
	case "identity":
		return cmdIdentity(args, stdin, stdout, stderr)
	case "config":
		return cmdConfig(args, stdout, stderr)
	case "cache":
		return cmdCache(args, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "webaas-chat", versionString())
		return nil
	case "help":
		fmt.Fprint(stdout, topUsage)
		return nil
	}
	return usageError{msg: fmt.Sprintf("unknown command %q\n%s", cmd, topUsage)}
}
