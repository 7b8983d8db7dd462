//go:build wasip1

// Command hostcalls is a module that exercises the SDK's host imports
// (Call, Cast, Notify, Log) for modules/modules_test.go, which builds it
// and serves its imports with a recording wasm.HostCalls.
package main

import (
	"time"

	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
)

type callArgs struct {
	Topic    string
	Method   string
	Args     map[string]any `arg:",optional"`
	AsUser   string         `arg:",optional"` // sends a context with user_id set
	Timeout  int            `arg:"timeout_ms,optional"`
	Typed    bool           `arg:",optional"` // decodes the result into a struct
	Priority string         `arg:",optional"`
}

// volume is what a typed call decodes its result into.
type volume struct {
	ID     string `json:"id"`
	SizeGB int    `json:"size_gb"`
}

func (a callArgs) target() sdk.Target { return sdk.Target{Topic: a.Topic, Version: "1.0"} }

func (a callArgs) context(c *sdk.Context) *sdk.Context {
	if a.AsUser != "" {
		return c.WithValue("user_id", a.AsUser)
	}
	return c
}

var (
	call = sdk.Method("call", func(c *sdk.Context, a callArgs) (any, error) {
		var opts []sdk.CallOption
		if a.Timeout > 0 {
			opts = append(opts, sdk.Timeout(time.Duration(a.Timeout)*time.Millisecond))
		}
		if a.Typed {
			return sdk.Call[volume](a.context(c), a.target(), a.Method, a.Args, opts...)
		}
		return sdk.Call[any](a.context(c), a.target(), a.Method, a.Args, opts...)
	})

	cast = sdk.Method("cast", func(c *sdk.Context, a callArgs) (any, error) {
		return "sent", sdk.Cast(a.context(c), a.target(), a.Method, a.Args)
	})

	notify = sdk.Method("notify", func(c *sdk.Context, a callArgs) (any, error) {
		return "sent", sdk.Notify(a.context(c), sdk.Notification{
			Topic: a.Topic, Priority: a.Priority, PublisherID: "hostcalls", EventType: a.Method, Payload: a.Args,
		})
	})

	logLine = sdk.Method("log", func(_ *sdk.Context, a struct {
		Level   int
		Message string
	}) (any, error) {
		sdk.Logf(sdk.Level(a.Level), "%s", a.Message)
		return nil, nil
	})
)

func init() {
	sdk.Register(sdk.Module{
		Name:      "hostcalls",
		Endpoints: []sdk.Endpoint{{Version: "1.0", Methods: []*sdk.Handler{call, cast, notify, logLine}}},
	})
}

func main() {}

//go:wasmexport rpc.call
func callExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return call.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.cast
func castExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return cast.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.notify
func notifyExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return notify.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.log
func logExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return logLine.Serve(ctx, ctxLen, args, argsLen)
}
