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
	"github.com/voxdesk/voxdesk/sip"
)

func init() {
	register(command{
		Name:    "agent",
		Summary: "manage agent accounts: passwd prints a password hash, sip-secret a SIP phone's HA1, for voxdesk.yaml",
		Run: func(ctx context.Context, args []string) error {
			return subcommands(ctx, "agent", args, map[string]func(context.Context, []string) error{
				"passwd":     func(ctx context.Context, args []string) error { return agentPasswd(args, os.Stdin, os.Stdout) },
				"sip-secret": func(ctx context.Context, args []string) error { return agentSIPSecret(args, os.Stdin, os.Stdout) },
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
	pw, err := readSecret(in, "password")
	if err != nil {
		return err
	}
	hash, err := agentapi.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, hash)
	return nil
}

// readSecret reads a secret from the first line of in.
func readSecret(in io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		return "", usagef("empty %s (give it on standard input)", what)
	}
	return secret, nil
}

// agentSIPSecret reads an agent's SIP phone secret from the first line of
// in and writes its HA1, the value of sip.agents[].ha1: the registrar
// keeps that, never the secret.
func agentSIPSecret(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("agent sip-secret", flag.ContinueOnError)
	id := fs.String("id", "", "the agent's id, the phone's SIP user name")
	realm := fs.String("realm", sip.DefaultRealm, "sip.registrar.realm")
	sha := fs.Bool("sha256", false, "print the SHA-256 HA1 (sip.agents[].ha1_sha256, RFC 8760) instead of the MD5 one")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: echo 'the phone secret' | voxdesk agent sip-secret -id alice [-realm voxdesk] [-sha256]\n\nPrints the HA1 to put in sip.agents[].ha1 (with -sha256: sip.agents[].ha1_sha256).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("agent sip-secret reads the secret from standard input, not arguments")
	}
	if *id == "" || strings.ContainsAny(*id, ":@ ") {
		return usagef("agent sip-secret needs -id, a SIP user name without ':', '@' or spaces")
	}
	secret, err := readSecret(in, "secret")
	if err != nil {
		return err
	}
	if len(secret) < 12 {
		return usagef("a SIP secret of %d characters is too easy to guess offline from a captured REGISTER; use 12 or more", len(secret))
	}
	if *sha {
		fmt.Fprintln(out, sip.HA1SHA256(*id, *realm, secret))
		return nil
	}
	fmt.Fprintln(out, sip.HA1(*id, *realm, secret))
	return nil
}
