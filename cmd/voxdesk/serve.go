package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/voxdesk/voxdesk/service"
)

func init() {
	register(command{
		Name:    "serve",
		Summary: "run the switch (SIGTERM drains, SIGINT stops now)",
		Run:     runServe,
	})
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := fs.String("config", "", "YAML configuration file (empty: built-in defaults)")
	drain := fs.Duration("drain", 10*time.Minute, "how long SIGTERM waits for live calls before hanging up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	cfg := service.DefaultConfig()
	if *config != "" {
		var err error
		if cfg, err = service.LoadConfig(*config); err != nil {
			return err
		}
	}
	svc, err := service.New(cfg)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGINT {
				svc.Close()
				return <-done
			}
			// SIGTERM: drain in the background; a second signal stops now.
			go func() {
				dctx, cancel := context.WithTimeout(context.Background(), *drain)
				defer cancel()
				if err := svc.Shutdown(dctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					done <- err
				}
			}()
		}
	}
}
