package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
)

// runCast is `wasmrpcd cast [flags] METHOD [ARGS_JSON]`: send a request
// without waiting for a result, to one server or, with --fanout, to all.
func runCast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cast", stderr)
	var f rpcFlags
	f.register(fs)
	fanout := fs.Bool("fanout", false, "cast to every server of the topic")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd cast --topic T [flags] METHOD [ARGS_JSON]")
		fmt.Fprintln(fs.Output(), "Sends METHOD with the keyword arguments of ARGS_JSON and returns once the broker has it.")
		fmt.Fprintln(fs.Output(), "Exit codes: 2 usage, 3 not sent within --timeout, 4 broker unreachable.")
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
	castArgs, err := jsonObject("ARGS_JSON", argsJSON)
	if err != nil {
		return err
	}
	t, err := f.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	ctx, c, err := f.client(ctx, t, rpc.WithFanout(*fanout))
	if err != nil {
		return err
	}
	defer c.Close()
	sendCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	err = c.Cast(sendCtx, method, castArgs)
	if err != nil && ctx.Err() == nil && sendCtx.Err() != nil {
		return exitError{exitTimeout, fmt.Sprintf("wasmrpcd cast: timed out: not sent within %v: %v", f.timeout, err)}
	}
	return requestError("cast", err, false)
}
