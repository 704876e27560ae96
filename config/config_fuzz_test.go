package config

import (
	"errors"
	"testing"
)

// FuzzParse: whatever the file holds, Parse never panics, and every
// mistake it reports is a *Error of one of the three kinds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"nick = \"alice\"\ntheme = \"dark\"\n[keys]\nsend = [\"ctrl+s\"]\n[colors]\nmention = \"#ff0000\"\n",
		"bell = yes\ntimestamp = \"15:04\"\nrooms = [\"x\"]\n",
		"[[colors]]\n= \n\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := Parse("config.toml", data, Options{})
		for _, err := range errs {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrBadValue) {
				t.Fatalf("a mistake of no kind: %v", err)
			}
		}
	})
}
