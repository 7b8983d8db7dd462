// Command wasmrpcd serves oslo.messaging RPC endpoints and notification
// handlers from sandboxed WebAssembly modules, and talks to any
// oslo.messaging server from the command line.
//
//	wasmrpcd run --config wasmrpcd.yaml
//	wasmrpcd inspect module.wasm
//
// `wasmrpcd help` lists the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its flags are parsed by run itself.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order `help` shows them.
var commands = []command{
	{"run", "serve the modules of a config file until SIGTERM", runRun},
	{"check", "validate a config file and load its modules, without a broker", runCheck},
	{"inspect", "print a module's manifest as JSON", runInspect},
	{"compile", "compile a module into a compilation cache (cache_dir)", runCompile},
	{"call", "call an RPC method of any oslo.messaging server and print its result", runCall},
	{"cast", "send an RPC request without waiting for a result", runCast},
	{"notify", "send an oslo.messaging notification", runNotify},
	{"bench", "load an RPC server with calls or casts; print rate and latency", runBench},
}

// errUsage marks an error whose message is a usage line: exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "wasmrpcd %s: %v\n", c.name, err)
			return 2
		default:
			var exit exitError
			if errors.As(err, &exit) {
				if exit.msg != "" {
					fmt.Fprintln(stderr, exit.msg)
				}
				return exit.code
			}
			fmt.Fprintf(stderr, "wasmrpcd %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wasmrpcd: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// exitError ends a command with a given exit code and message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wasmrpcd <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`wasmrpcd <command> -h` shows a command's flags.")
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wasmrpcd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
