package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
)

func init() {
	register(command{Name: "version", Summary: "print the build's version", Run: func(ctx context.Context, args []string) error {
		v := "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					v = s.Value
				}
			}
		}
		fmt.Fprintln(os.Stdout, "voxdesk", v)
		return nil
	}})
}
