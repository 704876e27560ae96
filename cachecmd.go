package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/webaas-chat/webaas-chat/msgcache"
)

// cacheDir is where the chat keeps what it read of rooms: cache/ in the
// data dir (its messages are what the rooms said, in the clear even for
// an encrypted room's reader: private, 0700).
func cacheDir() (string, error) {
	d, err := dataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cache"), nil
}

const cacheUsage = `Usage: webaas-chat cache [show|clear] [flags]

The chat keeps the messages it reads in a cache (one file, readable by
you only), for /search and to show a room's last page at once when it
starts. In an encrypted room the cache holds what the chat read with
the room's secret, which is as private as the secret is.

  show    where it is and what it holds (the default)
  clear   delete it, file and all (quit the chats first)

webaas-chat --no-cache runs the chat without it.
`

func cmdCache(args []string, stdout, stderr io.Writer) error {
	verb := "show"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		verb, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cache "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cacheUsage+"\nFlags:\n"); fs.PrintDefaults() }
	defDir, _ := cacheDir()
	dir := fs.String("dir", defDir, "the cache's directory")
	if err := parseVerbFlags(fs, "cache", verb, args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("cache: no data directory (set --dir)")
	}
	switch verb {
	case "show":
		c, err := msgcache.Open(*dir, msgcache.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		s, err := c.Stats()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n%d room%s, %d messages, %.1f MiB of records (bounds: %d messages a room, %d MiB in all)\n",
			c.Path(), s.Rooms, plural(s.Rooms), s.Messages, float64(s.Bytes)/(1<<20), msgcache.DefaultMaxPerRoom, msgcache.DefaultMaxBytes>>20)
		return nil
	case "clear":
		if err := msgcache.Remove(*dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", filepath.Join(*dir, msgcache.FileName))
		return nil
	}
	return usageError{msg: fmt.Sprintf("cache: unknown verb %q\n%s", verb, cacheUsage)}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
