package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/voxdesk/voxdesk/voiceprint"
)

func init() {
	register(command{Name: "model", Summary: "install the speaker model (model fetch [--dir D])", Run: func(ctx context.Context, args []string) error {
		return subcommands(ctx, "model", args, map[string]func(context.Context, []string) error{
			"fetch": func(ctx context.Context, args []string) error { return modelFetch(ctx, args, os.Stderr) },
		})
	}})
}

// modelFetch runs "voxdesk model fetch [--dir D]".
func modelFetch(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("model fetch", flag.ContinueOnError)
	fs.SetOutput(out)
	dir := fs.String("dir", voiceprint.DefaultModelDir(), "folder to install "+voiceprint.ModelName+" into ($"+voiceprint.EnvModelDir+" sets the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("model fetch takes no arguments, got %q", fs.Args())
	}
	if err := voiceprint.Fetch(ctx, *dir, out); err != nil {
		return err
	}
	if _, err := voiceprint.Load(*dir); err != nil {
		return fmt.Errorf("installed model does not load: %w", err)
	}
	return nil
}
