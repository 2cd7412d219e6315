package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/voxdesk/voxdesk/agentapi"
)

func init() {
	register(command{
		Name:    "agent",
		Summary: "manage agent accounts: passwd prints a password hash for voxdesk.yaml",
		Run: func(ctx context.Context, args []string) error {
			return subcommands(ctx, "agent", args, map[string]func(context.Context, []string) error{
				"passwd": func(ctx context.Context, args []string) error { return agentPasswd(args, os.Stdin, os.Stdout) },
			})
		},
	})
}

// agentPasswd reads a password from the first line of in and writes its
// bcrypt hash, the value of agents.accounts[].password_hash.
func agentPasswd(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("agent passwd", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: echo 'the password' | voxdesk agent passwd\n\nPrints the bcrypt hash to put in agents.accounts[].password_hash.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("agent passwd reads the password from standard input, not arguments")
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return usagef("empty password (give it on standard input)")
	}
	hash, err := agentapi.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, hash)
	return nil
}
