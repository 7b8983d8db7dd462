package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/daemon"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// runRun is `wasmrpcd run --config FILE`: serve until SIGTERM or SIGINT.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	path := fs.String("config", "wasmrpcd.yaml", "the daemon's config `file`")
	oslo := fs.String("oslo-config", "", "an oslo.config `file` (such as /etc/cinder/cinder.conf) to take the broker's settings from, instead of the config's oslo_config_file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := config.LoadOptions{OsloConfigFile: *oslo}
	cfg, err := config.LoadWith(*path, load)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	log := daemon.NewLogger(cfg.Log, os.Stderr)
	d := daemon.New(cfg, log)
	if cfg.CacheDir != "" {
		d.SetCompiler(wasm.CompilerProcess(compilerArgv(cfg.CacheDir, cfg.CacheKeyFile)...))
	}

	// SIGHUP re-reads the config and applies it; a config that does not
	// load is refused and the daemon goes on as it was.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			next, err := config.LoadWith(*path, load)
			if err != nil {
				log.Error("SIGHUP: config refused; nothing changed", "err", err)
				continue
			}
			if err := d.Reconfigure(ctx, next); err != nil {
				log.Error("SIGHUP: config applied with errors", "err", err)
				continue
			}
			log.Info("SIGHUP: config applied", "file", *path)
		}
	}()
	return d.Run(ctx)
}

// runCheck is `wasmrpcd check --config FILE`: validate the config and load
// every module without connecting to the broker.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "wasmrpcd.yaml", "the daemon's config `file`")
	oslo := fs.String("oslo-config", "", "an oslo.config `file` to take the broker's settings from, as `run --oslo-config`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(*path, config.LoadOptions{OsloConfigFile: *oslo})
	if err != nil {
		return err
	}
	printBroker(stdout, cfg)
	log := daemon.NewLogger(cfg.Log, stderr)
	if err := daemon.Check(ctx, cfg, stdout, log); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}

// printBroker writes the broker settings the daemon would run with: the
// transport URL without its passwords, the control exchange, every rabbit
// option with where it was set, and the warnings.
func printBroker(w io.Writer, cfg *config.Config) {
	url := "(unparsable)"
	if u, err := transport.ParseURL(cfg.TransportURL); err == nil {
		url = u.Redacted()
	}
	fmt.Fprintf(w, "transport_url: %s\n", url)
	fmt.Fprintf(w, "control_exchange: %s\n", cfg.ControlExchange)
	if cfg.OsloConfigFile != "" {
		fmt.Fprintf(w, "oslo_config_file: %s\n", cfg.OsloConfigFile)
	}
	fmt.Fprintln(w, "rabbit:")
	for _, s := range cfg.RabbitSettings() {
		v := s.Value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(w, "  %s = %s  (%s)\n", s.Name, v, s.From)
	}
	for _, warning := range cfg.Warnings() {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

// compilerNice is how much nicer than the daemon its compiler process
// runs: a compile takes the CPU that the calls leave (docs/RATIONALE.md,
// host/wasm).
const compilerNice = "10"

// compilerArgv is the command line of the daemon's compiler process:
// this binary's `compile` into cacheDir with the key in keyFile, on every CPU but one (the
// daemon's calls keep one to themselves), through nice(1) when it is
// installed.
func compilerArgv(cacheDir, keyFile string) []string {
	cpus := strconv.Itoa(max(1, runtime.NumCPU()-1))
	argv := []string{self(), "compile", "--cache-dir", cacheDir, "--key-file", keyFile, "--cpus", cpus, "-"}
	if nice, err := exec.LookPath("nice"); err == nil {
		argv = append([]string{nice, "-n", compilerNice}, argv...)
	}
	return argv
}

// self is the path that runs this program again: /proc/PID/exe on Linux,
// which still names this binary after a package upgrade replaced the
// file (a new version's compiled code would not fit this one's cache);
// elsewhere the path it was started from.
func self() string {
	proc := fmt.Sprintf("/proc/%d/exe", os.Getpid())
	if _, err := os.Stat(proc); err == nil {
		return proc
	}
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	return os.Args[0]
}
