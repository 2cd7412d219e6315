// Command voxdesk is the voxdesk contact-centre switch and its tools.
//
//	voxdesk serve --config voxdesk.yaml     run the switch
//	voxdesk flow check|simulate|graph|diff  work on IVR flows
//	voxdesk voiceprint enrol|identify|eval  work on voiceprints
//	voxdesk model fetch                     install the speaker model
//	voxdesk customer import|export|...      manage customer files
//
// Each subcommand lives in a file of its own and registers itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Run receives the arguments after the command
// name; it returns flag.ErrHelp after printing usage for -h.
type command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

// register adds a subcommand; called from init functions.
func register(c command) {
	if _, dup := commands[c.Name]; dup {
		panic("voxdesk: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

// usageError is an error in how a command was called: main prints it and
// exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "voxdesk: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	err := c.Run(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "voxdesk %s: %v\n", c.Name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "voxdesk %s: %v\n", c.Name, err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: voxdesk <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'voxdesk <command> -h' for a command's flags.")
}

// subcommands dispatches "voxdesk NAME SUB ..." to one of subs, for
// commands with verbs (flow check, voiceprint eval, customer import...).
func subcommands(ctx context.Context, name string, args []string, subs map[string]func(context.Context, []string) error) error {
	verbs := make([]string, 0, len(subs))
	for v := range subs {
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	if len(args) == 0 {
		return usagef("usage: voxdesk %s %s ...", name, strings.Join(verbs, "|"))
	}
	f, ok := subs[args[0]]
	if !ok {
		return usagef("unknown verb %q (want one of %s)", args[0], strings.Join(verbs, ", "))
	}
	return f(ctx, args[1:])
}
