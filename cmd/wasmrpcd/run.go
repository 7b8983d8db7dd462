package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/daemon"
)

// runRun is `wasmrpcd run --config FILE`: serve until SIGTERM or SIGINT.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	path := fs.String("config", "wasmrpcd.yaml", "the daemon's config `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	log := daemon.NewLogger(cfg.Log, os.Stderr)
	return daemon.New(cfg, log).Run(ctx)
}

// runCheck is `wasmrpcd check --config FILE`: validate the config and load
// every module without connecting to the broker.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "wasmrpcd.yaml", "the daemon's config `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := daemon.NewLogger(cfg.Log, stderr)
	if err := daemon.Check(ctx, cfg, stdout, log); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}
