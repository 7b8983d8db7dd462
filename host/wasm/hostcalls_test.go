package wasm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// hostFuncs implements HostCalls with functions and records what it got.
type hostFuncs struct {
	call   func(ctx context.Context, from Caller, req *abi.CallRequest) ([]byte, error)
	cast   func(ctx context.Context, from Caller, req *abi.CallRequest) error
	notify func(ctx context.Context, from Caller, n *abi.Notification) error

	mu       sync.Mutex
	from     []Caller
	requests []any
}

var _ HostCalls = (*hostFuncs)(nil)

func (h *hostFuncs) record(from Caller, req any) {
	h.mu.Lock()
	h.from = append(h.from, from)
	h.requests = append(h.requests, req)
	h.mu.Unlock()
}

func (h *hostFuncs) Call(ctx context.Context, from Caller, req *abi.CallRequest) ([]byte, error) {
	h.record(from, req)
	return h.call(ctx, from, req)
}

func (h *hostFuncs) Cast(ctx context.Context, from Caller, req *abi.CallRequest) error {
	h.record(from, req)
	return h.cast(ctx, from, req)
}

func (h *hostFuncs) Notify(ctx context.Context, from Caller, n *abi.Notification) error {
	h.record(from, n)
	return h.notify(ctx, from, n)
}

func (h *hostFuncs) last() (Caller, any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.from[len(h.from)-1], h.requests[len(h.requests)-1]
}

func TestHostCalls(t *testing.T) {
	var deadline time.Duration
	host := &hostFuncs{
		call: func(ctx context.Context, _ Caller, req *abi.CallRequest) ([]byte, error) {
			if dl, ok := ctx.Deadline(); ok {
				deadline = time.Until(dl)
			}
			switch req.Method {
			case "remote_error":
				return nil, &abi.Error{Class: "KeyError", Module: "builtins", Message: "no such volume"}
			case "broken":
				return nil, errors.New("connection refused")
			case "slow":
				<-ctx.Done()
				return nil, ctx.Err()
			case "null":
				return nil, nil
			}
			return cborcodec.Marshal(map[string]any{"method": req.Method})
		},
		cast: func(context.Context, Caller, *abi.CallRequest) error { return nil },
		notify: func(_ context.Context, _ Caller, n *abi.Notification) error {
			if n.EventType == "refused.event" {
				return &abi.Error{Class: "PermissionError", Module: "builtins", Message: "topic not allowed"}
			}
			return nil
		},
	}
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{})
	reqCtx := enc(t, map[string]any{"request_id": "req-1"})
	target := map[string]any{"topic": "volumes", "version": "1.2"}

	for _, tc := range []struct {
		name    string
		export  string
		req     map[string]any
		want    any    // the value the guest returns, which is the held Result's
		raised  string // or the class of the exception it carries
		message string
	}{
		{name: "call", export: "rpc.call", req: map[string]any{"target": target, "method": "get", "args": map[string]any{"id": "v1"}},
			want: map[string]any{"method": "get"}},
		{name: "call null", export: "rpc.call", req: map[string]any{"target": target, "method": "null"}, want: nil},
		{name: "remote error", export: "rpc.call", req: map[string]any{"target": target, "method": "remote_error"},
			raised: "KeyError", message: "no such volume"},
		{name: "host error", export: "rpc.call", req: map[string]any{"target": target, "method": "broken"},
			raised: "MessagingException", message: "connection refused"},
		{name: "timeout_ms", export: "rpc.call", req: map[string]any{"target": target, "method": "slow", "timeout_ms": 20},
			raised: "MessagingTimeout", message: "deadline exceeded"},
		{name: "cast", export: "rpc.cast", req: map[string]any{"target": target, "method": "poke"}, want: nil},
		{name: "notify", export: "rpc.notify", req: map[string]any{"priority": "info", "publisher_id": "p", "event_type": "x.y", "payload": 1}, want: nil},
		{name: "notify refused", export: "rpc.notify", req: map[string]any{"priority": "info", "publisher_id": "p", "event_type": "refused.event"},
			raised: "PermissionError", message: "topic not allowed"},
		{name: "call without method", export: "rpc.call", req: map[string]any{"target": target}, want: int64(-abi.ErrnoBadRequest)},
		{name: "call without topic", export: "rpc.call", req: map[string]any{"target": map[string]any{}, "method": "m"}, want: int64(-abi.ErrnoBadRequest)},
		{name: "call with a bad version", export: "rpc.call", req: map[string]any{"target": map[string]any{"topic": "t", "version": "x"}, "method": "m"}, want: int64(-abi.ErrnoBadRequest)},
		{name: "call with list args", export: "rpc.call", req: map[string]any{"target": target, "method": "m", "args": []any{1}}, want: int64(-abi.ErrnoBadRequest)},
		{name: "notify with a bad priority", export: "rpc.notify", req: map[string]any{"priority": "loud", "publisher_id": "p", "event_type": "e"}, want: int64(-abi.ErrnoBadRequest)},
		{name: "errnos", export: "rpc.errnos", req: map[string]any{"target": target, "method": "get"},
			want: []any{int64(-abi.ErrnoBadRequest), int64(-abi.ErrnoNoResponse), int64(-abi.ErrnoTooSmall)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value, err := m.Call(context.Background(), tc.export, reqCtx, enc(t, tc.req))
			if tc.raised != "" {
				var raised *abi.Error
				if !errors.As(err, &raised) {
					t.Fatalf("got %v, want an *abi.Error", err)
				}
				if raised.Class != tc.raised || !strings.Contains(raised.Message, tc.message) {
					t.Errorf("raised %s: %s, want %s: …%s…", raised.Class, raised.Message, tc.raised, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := decode(t, value); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("value %#v, want %#v", got, tc.want)
			}
		})
	}

	// What HostCalls saw of the first call.
	host.mu.Lock()
	from, req := host.from[0], host.requests[0].(*abi.CallRequest)
	host.mu.Unlock()
	if from != (Caller{Module: "misbehave", Export: "rpc.call"}) {
		t.Errorf("caller %+v", from)
	}
	if req.Target.Topic != "volumes" || req.Target.Version != "1.2" || req.Method != "get" {
		t.Errorf("request %+v", req)
	}
	if got := decode(t, req.Context); !reflect.DeepEqual(got, map[string]any{"request_id": "req-1"}) {
		t.Errorf("request context %v, want the context of the request being served", got)
	}
	if got := decode(t, req.Args); !reflect.DeepEqual(got, map[string]any{"id": "v1"}) {
		t.Errorf("request args %v", got)
	}
	if deadline <= 0 || deadline > DefaultCallTimeout {
		t.Errorf("host call deadline in %v, want within the call timeout", deadline)
	}
	if from, _ := host.last(); from.Export != "rpc.errnos" {
		t.Errorf("last caller %+v, want rpc.errnos", from)
	}
}

func TestHostCallOwnContext(t *testing.T) {
	host := &hostFuncs{call: func(context.Context, Caller, *abi.CallRequest) ([]byte, error) { return nil, nil }}
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{})
	req := map[string]any{"target": map[string]any{"topic": "t"}, "method": "m", "context": map[string]any{"own": true}}
	if _, err := m.Call(context.Background(), "rpc.call", enc(t, map[string]any{"served": true}), enc(t, req)); err != nil {
		t.Fatal(err)
	}
	_, got := host.last()
	if c := decode(t, got.(*abi.CallRequest).Context); !reflect.DeepEqual(c, map[string]any{"own": true}) {
		t.Errorf("context %v, want the guest's own", c)
	}
}

func TestHostCallsDisabled(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{})
	for _, export := range []string{"rpc.call", "rpc.cast"} {
		req := enc(t, map[string]any{"target": map[string]any{"topic": "t"}, "method": "m"})
		_, err := m.Call(context.Background(), export, nil, req)
		var raised *abi.Error
		if !errors.As(err, &raised) || raised.Class != "NotImplementedError" || raised.Message != "host calls are not enabled" {
			t.Errorf("%s: got %v, want NotImplementedError: host calls are not enabled", export, err)
		}
	}
}

// TestHostCallPanics checks that a panic in HostCalls fails only the
// guest's call.
func TestHostCallPanics(t *testing.T) {
	host := &hostFuncs{call: func(context.Context, Caller, *abi.CallRequest) ([]byte, error) { panic("host bug") }}
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{})
	req := enc(t, map[string]any{"target": map[string]any{"topic": "t"}, "method": "m"})
	_, err := m.Call(context.Background(), "rpc.call", nil, req)
	checkCallError(t, err, "misbehave", "rpc.call", ErrTrap)
	if !strings.Contains(err.Error(), "host bug") {
		t.Errorf("error %q does not say what panicked", err)
	}
	if _, err := m.Call(context.Background(), "rpc.echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestGuestOutput(t *testing.T) {
	r, rec := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{})
	for _, export := range []string{"rpc.log", "rpc.log_oob", "rpc.stdout"} {
		if _, err := m.Call(context.Background(), export, nil, nil); err != nil {
			t.Fatalf("%s: %v", export, err)
		}
	}
	for _, want := range []struct {
		msg    string
		stream string
		level  string
	}{
		{"a line from the guest", "log", "INFO"},
		{"an error from the guest", "log", "ERROR"},
		{"hello stdout", "stdout", "INFO"},
		{"oops on stderr", "stderr", "WARN"},
		{"guest log line lies outside its memory; dropped", "", "WARN"},
	} {
		got, ok := rec.find(want.msg)
		if !ok {
			t.Errorf("no log record %q", want.msg)
			continue
		}
		if got.Attrs["module"] != "misbehave" || got.Attrs["stream"] != want.stream || got.Level.String() != want.level {
			t.Errorf("record %q: level %v, attributes %v; want %s, module=misbehave stream=%s", want.msg, got.Level, got.Attrs, want.level, want.stream)
		}
	}
}
