package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// Exit codes of call, cast and bench besides 0 (success) and 2 (usage).
const (
	exitRemote      = 1 // the remote method raised
	exitTimeout     = 3 // no reply in time (oslo's MessagingTimeout)
	exitUnreachable = 4 // the broker could not be reached or refused the request
)

// defaultURL is the transport URL without --url or $WASMRPCD_URL.
const defaultURL = "rabbit://guest:guest@127.0.0.1:5672/"

// rpcFlags are the flags of call, cast and bench: where requests go and
// how they are sent.
type rpcFlags struct {
	broker                                      brokerFlags
	exchange, topic, server, namespace, version string
	timeout                                     time.Duration
	retry                                       int
	context                                     string
	publishChannels                             int
}

func (f *rpcFlags) register(fs *flag.FlagSet) {
	f.broker.register(fs)
	fs.StringVar(&f.exchange, "exchange", "", "the target's topic `exchange` (default: the URL's control exchange, openstack)")
	fs.StringVar(&f.topic, "topic", "", "the target's `topic` (required)")
	fs.StringVar(&f.server, "server", "", "send to this `server` only (topic.server)")
	fs.StringVar(&f.namespace, "namespace", "", "the target's `namespace`")
	fs.StringVar(&f.version, "version", "", "the requested API `version`, major.minor")
	fs.DurationVar(&f.timeout, "timeout", rpc.DefaultTimeout, "how long to wait for the broker and the reply")
	fs.IntVar(&f.retry, "retry", rpc.RetryForever, "publish retries while the broker is unreachable; -1: until the timeout")
	fs.StringVar(&f.context, "context", "", "the request context, a JSON `object`")
}

// check validates the flags.
func (f *rpcFlags) check() error {
	if f.topic == "" {
		return fmt.Errorf("%w: --topic is required", errUsage)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	if f.version != "" {
		if _, err := abi.ParseVersion(f.version); err != nil {
			return fmt.Errorf("%w: --version: %w", errUsage, err)
		}
	}
	return nil
}

// dial opens the transport within --timeout.
func (f *rpcFlags) dial(ctx context.Context, stderr io.Writer) (transport.Transport, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	url, opts, err := f.broker.transport(transport.Options{Logger: log, PublishChannels: f.publishChannels}, stderr)
	if err != nil {
		return nil, err
	}
	t, err := transport.Open(ctx, url, opts)
	switch {
	case errors.Is(err, transport.ErrInvalidURL) || errors.Is(err, transport.ErrInvalidOption):
		return nil, fmt.Errorf("%w: --url: %w", errUsage, err)
	case err != nil && ctx.Err() != nil:
		return nil, exitError{exitUnreachable, fmt.Sprintf("wasmrpcd: cannot reach the broker within %v: %v", f.timeout, err)}
	case err != nil:
		return nil, exitError{exitUnreachable, fmt.Sprintf("wasmrpcd: cannot reach the broker: %v", err)}
	}
	return t, nil
}

// client returns the client of the flags' target, and ctx with the
// request context.
func (f *rpcFlags) client(ctx context.Context, t transport.Transport, opts ...rpc.Option) (context.Context, *rpc.Client, error) {
	if f.context != "" {
		rc, err := jsonObject("--context", f.context)
		if err != nil {
			return ctx, nil, err
		}
		ctx = rpc.WithRequestContext(ctx, rc)
	}
	opts = append([]rpc.Option{
		rpc.WithTimeout(f.timeout),
		rpc.WithRetry(f.retry),
	}, opts...)
	if f.version != "" {
		opts = append(opts, rpc.WithVersion(f.version))
	}
	c := rpc.NewClient(t, rpc.Target{
		Exchange:  f.exchange,
		Topic:     f.topic,
		Server:    f.server,
		Namespace: f.namespace,
	}, opts...)
	return ctx, c, nil
}

// jsonObject reads a JSON object as Python's json.loads would.
func jsonObject(what, s string) (cbor.RawMessage, error) {
	b, err := oslo.JSONToCBOR(nil, []byte(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errUsage, what, err)
	}
	if b[0]&0xe0 != 0xa0 {
		return nil, fmt.Errorf("%w: %s must be a JSON object", errUsage, what)
	}
	return b, nil
}

// parseInterleaved parses flags and positional arguments in any order
// (flags after `--` are positional).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// requestError turns the error of a call or cast into the command's exit.
func requestError(cmd string, err error, traceback bool) error {
	prefix := "wasmrpcd " + cmd + ": "
	var (
		remote *rpc.RemoteError
		vc     *rpc.VersionCapError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &remote):
		msg := prefix + remote.Error()
		if traceback && len(remote.Traceback) > 0 {
			msg += "\n" + strings.TrimRight(remote.TracebackText(), "\n")
		}
		return exitError{exitRemote, msg}
	case errors.Is(err, rpc.ErrTimeout):
		return exitError{exitTimeout, prefix + strings.TrimPrefix(err.Error(), "rpc: ")}
	case errors.As(err, &vc), errors.Is(err, rpc.ErrInvalidTarget):
		return fmt.Errorf("%w: %w", errUsage, err)
	case errors.Is(err, context.Canceled):
		return exitError{130, prefix + "interrupted"}
	default:
		return exitError{exitUnreachable, prefix + err.Error()}
	}
}

// runCall is `wasmrpcd call [flags] METHOD [ARGS_JSON]`: call a method
// and print its result as JSON.
func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("call", stderr)
	var f rpcFlags
	f.register(fs)
	cm := fs.Duration("call-monitor-timeout", 0, "ask the server for heartbeats; fail when none comes within this time")
	traceback := fs.Bool("traceback", false, "print the remote traceback of a remote error")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd call --topic T [flags] METHOD [ARGS_JSON]")
		fmt.Fprintln(fs.Output(), "Calls METHOD with the keyword arguments of the JSON object ARGS_JSON and prints its result as JSON.")
		fmt.Fprintln(fs.Output(), "Exit codes: 1 the method raised (stderr names the class), 2 usage, 3 timed out, 4 broker unreachable.")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	method, argsJSON, err := methodAndArgs(pos)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	callArgs, err := jsonObject("ARGS_JSON", argsJSON)
	if err != nil {
		return err
	}
	t, err := f.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	ctx, c, err := f.client(ctx, t, rpc.WithCallMonitorTimeout(*cm))
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Call(ctx, method, callArgs)
	if err != nil {
		return requestError("call", err, *traceback)
	}
	out, err := res.JSON()
	if err != nil {
		return fmt.Errorf("the result: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// methodAndArgs reads METHOD [ARGS_JSON].
func methodAndArgs(pos []string) (method, args string, err error) {
	switch len(pos) {
	case 1:
		return pos[0], "{}", nil
	case 2:
		return pos[0], pos[1], nil
	default:
		return "", "", fmt.Errorf("%w: want METHOD [ARGS_JSON], got %d arguments", errUsage, len(pos))
	}
}
