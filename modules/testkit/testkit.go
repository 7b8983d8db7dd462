// Command testkit is the module the wasmrpcd tests call (shared/DESIGN.md):
// namespace none, version 1.5 (1.6 for testkit-v1.6.wasm, built with
// -ldflags "-X main.version=1.6"), methods echo, add, context, fail, spin,
// alloc, read_file and _private, and an info notification listener that
// answers testkit.* events with a testkit.seen notification.
//
// Its behaviour matches tests/python/testkit_endpoint.py, the same
// endpoint written for a Python oslo.messaging server.
package main

import (
	"time"

	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

// version is the endpoint version; the Makefile's testkit-v1.6 rule sets it
// with -ldflags "-X main.version=1.6".
var version = "1.5"

var (
	// echo passes its argument's bytes back untouched: no decoding, no
	// encoding, no allocation.
	echo = sdk.Method("echo", func(_ *sdk.Context, a struct{ Value sdk.Raw }) (sdk.Raw, error) {
		return a.Value, nil
	})

	add = sdk.Method("add", func(_ *sdk.Context, a struct{ A, B any }) (any, error) {
		return py.Add(a.A, a.B)
	})

	contextValue = sdk.Method("context", func(c *sdk.Context, a struct{ Key string }) (any, error) {
		return c.Value(a.Key), nil
	})

	fail = sdk.Method("fail", func(_ *sdk.Context, a struct{ Kind, Message string }) (any, error) {
		return nil, raise(a.Kind, a.Message)
	})

	spin = sdk.Method("spin", func(_ *sdk.Context, a struct{ MS any }) (any, error) {
		ms, err := number("spin", "ms", a.MS)
		if err != nil {
			return nil, err
		}
		deadline := time.Duration(ms * float64(time.Millisecond))
		for start := time.Now(); time.Since(start) < deadline; {
		}
		return a.MS, nil
	})

	alloc = sdk.Method("alloc", func(_ *sdk.Context, a struct{ MB int }) (int, error) {
		if a.MB < 0 {
			return 0, sdk.Errorf("ValueError", "alloc() argument 'mb' must not be negative")
		}
		touch(a.MB)
		return a.MB, nil
	})

	readFile = sdk.Method("read_file", func(_ *sdk.Context, a struct{ Path string }) (string, error) {
		return readHostFile(a.Path)
	})

	private = sdk.Method("_private", func(*sdk.Context, struct{}) (string, error) {
		return "private", nil
	})

	onInfo = sdk.Listener("info", seen)
)

func init() {
	sdk.Register(sdk.Module{
		Name: "testkit",
		Endpoints: []sdk.Endpoint{{
			Version: version,
			Methods: []*sdk.Handler{echo, add, contextValue, fail, spin, alloc, readFile, private},
		}},
		Listeners: []*sdk.Handler{onInfo},
	})
}

func main() {}

// number checks that v is a Python int or float (not a bool) and returns it
// as a float64, raising the TypeError the Python endpoint raises otherwise.
func number(fn, name string, v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, sdk.Errorf("TypeError", "%s() argument '%s' must be int or float, not %s", fn, name, py.TypeName(v))
}

// touch allocates mb MiB and writes every page of it, so the memory is
// really part of the instance, then lets it go.
func touch(mb int) {
	buf := make([]byte, mb<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i)
	}
	sink = buf
	sink = nil
}

// sink keeps the compiler from dropping the writes of touch.
var sink []byte

// seen answers an info notification whose event type starts with
// "testkit." with a "testkit.seen" notification carrying the same
// payload on topic testkit_seen.
func seen(c *sdk.Context, e sdk.Event) (sdk.Ack, error) {
	if len(e.EventType) < len("testkit.") || e.EventType[:len("testkit.")] != "testkit." {
		return sdk.Handled, nil
	}
	err := sdk.Notify(c, sdk.Notification{
		Topic:       "testkit_seen",
		Priority:    "info",
		PublisherID: "testkit",
		EventType:   "testkit.seen",
		Payload:     e.Payload,
	})
	if err != nil {
		return "", err
	}
	return sdk.Handled, nil
}
