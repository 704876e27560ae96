package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/webaas-chat/webaas-chat/identity"
)

const identityUsage = `Usage: webaas-chat identity [show | export | import] [flags]

This installation's key pair, made on first use and kept in the config
directory, readable only by you.

  show     print its fingerprint, to compare with what others see (default)
  public   print its public key, for a hand-over from another device
           (/handover KEY in the chat there moves your nickname to it)
  export   print the identity as one secret string, to import elsewhere
  import   read such a string from stdin and make it this installation's
           identity (--force replaces one that is there: the old key is
           then gone for good)
`

// identityFlag is the --identity flag of the commands that sign.
func identityFlag(fs *flag.FlagSet) *string {
	return fs.String("identity", "", "the identity file to sign with (default: identity in the config directory, made on first use)")
}

// loadIdentity reads this installation's identity (file: the default
// place), making one on first use. A file that is there but broken is an
// error: replacing it silently would change who you are to everyone.
func loadIdentity(file string, stderr io.Writer) (*identity.Identity, error) {
	path, err := identityPath(file)
	if err != nil {
		return nil, err
	}
	id, created, err := identity.LoadOrCreate(path)
	if errors.Is(err, identity.ErrBadIdentity) {
		return nil, fmt.Errorf("%w (move it away and a new identity is made: others then see a new key for your nickname)", err)
	}
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "made a new identity in %s (webaas-chat identity shows its fingerprint)\n", path)
	}
	return id, nil
}

func identityPath(file string) (string, error) {
	if file != "" {
		return file, nil
	}
	d, err := configDir()
	if err != nil {
		return "", fmt.Errorf("identity: no config directory: %w", err)
	}
	return filepath.Join(d, identity.FileName), nil
}

func cmdIdentity(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	verb := "show"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		verb, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("identity "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, identityUsage+"\nFlags:\n"); fs.PrintDefaults() }
	file := fs.String("file", "", "the identity file (default: identity in the config directory)")
	force := fs.Bool("force", false, "import: replace the identity that is there")
	if err := parseVerbFlags(fs, "identity", verb, args); err != nil {
		return err
	}
	path, err := identityPath(*file)
	if err != nil {
		return err
	}

	switch verb {
	case "show":
		id, created, err := identity.LoadOrCreate(path)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stderr, "made a new identity in %s\n", path)
		}
		fmt.Fprintln(stdout, id.Fingerprint())
		return nil
	case "public":
		id, _, err := identity.LoadOrCreate(path)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, identity.PublicString(id.Public()))
		return nil
	case "export":
		id, err := identity.Load(path)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "this string is your secret key: whoever holds it can post as you")
		fmt.Fprintln(stdout, id.Export())
		return nil
	case "import":
		// One line is all an identity is; more is refused by Parse.
		b, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return fmt.Errorf("identity import: %w", err)
		}
		id, err := identity.Parse(string(b))
		if err != nil {
			return fmt.Errorf("identity import: %w", err)
		}
		err = identity.Save(path, id)
		if errors.Is(err, identity.ErrExists) && *force {
			err = identity.Replace(path, id)
		}
		if errors.Is(err, identity.ErrExists) {
			return fmt.Errorf("%w (webaas-chat identity import --force replaces it; its key is then lost)", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "imported into %s\n", path)
		fmt.Fprintln(stdout, id.Fingerprint())
		return nil
	}
	return usageError{msg: fmt.Sprintf("identity: unknown action %q\n%s", verb, identityUsage)}
}
