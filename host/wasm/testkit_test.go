package wasm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// TestTestkit calls the Go test module (modules/testkit, built with the
// guest SDK by the standard Go toolchain) through the runtime, including
// the ways it can be made to fail.
func TestTestkit(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "testkit", Limits{MemoryLimit: 64 << 20, MaxInstances: 2})
	// The call timeout, rather than the caller's deadline, stops spin here.
	short := load(t, r, "testkit", Limits{CallTimeout: time.Second, MaxInstances: 1})
	if got := m.Manifest(); got.Module != "testkit" || len(got.Endpoints) != 1 || got.Endpoints[0].Version != "1.5" {
		t.Fatalf("manifest %+v", got)
	}

	for _, tc := range []struct {
		name    string
		export  string
		reqCtx  map[string]any
		args    map[string]any
		short   bool          // call the module with the short call timeout
		ctx     time.Duration // a deadline for the call
		want    any
		raised  string // class of the exception the guest raises
		wantErr error
		message string
	}{
		{name: "echo", export: "rpc.echo", args: map[string]any{"value": []any{"a", int64(1), map[string]any{"b": nil}}},
			want: []any{"a", int64(1), map[string]any{"b": nil}}},
		{name: "add numbers", export: "rpc.add", args: map[string]any{"a": 2, "b": 3}, want: int64(5)},
		{name: "add strings", export: "rpc.add", args: map[string]any{"a": "x", "b": "y"}, want: "xy"},
		{name: "context", export: "rpc.context", reqCtx: map[string]any{"user": "u1"}, args: map[string]any{"key": "user"}, want: "u1"},
		{name: "missing argument", export: "rpc.echo", raised: "TypeError", message: "missing 1 required positional argument: 'value'"},
		{name: "fail", export: "rpc.fail", args: map[string]any{"kind": "ValueError", "message": "no"}, raised: "ValueError", message: "no"},
		{name: "read_file", export: "rpc.read_file", args: map[string]any{"path": "/etc/hostname"}, raised: "OSError", message: "/etc/hostname"},
		{name: "spin past the call timeout", export: "rpc.spin", args: map[string]any{"ms": 60000}, short: true,
			wantErr: context.DeadlineExceeded, message: "deadline"},
		{name: "spin past the caller's deadline", export: "rpc.spin", args: map[string]any{"ms": 60000}, ctx: 100 * time.Millisecond,
			wantErr: context.DeadlineExceeded, message: "deadline"},
		{name: "alloc past the memory limit", export: "rpc.alloc", args: map[string]any{"mb": 100},
			wantErr: ErrMemoryLimit, message: "64MiB"},
		{name: "alloc within the limit", export: "rpc.alloc", args: map[string]any{"mb": 8}, want: int64(8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			var reqCtx, args []byte
			if tc.reqCtx != nil {
				reqCtx = enc(t, tc.reqCtx)
			}
			if tc.args != nil {
				args = enc(t, tc.args)
			}
			m := m
			if tc.short {
				m = short
			}
			value, err := m.Call(ctx, tc.export, reqCtx, args)
			switch {
			case tc.raised != "":
				var raised *abi.Error
				if !errors.As(err, &raised) {
					t.Fatalf("got %v, want an *abi.Error", err)
				}
				if raised.Class != tc.raised || !strings.Contains(raised.Message, tc.message) {
					t.Errorf("raised %s: %s, want %s: …%s…", raised.Class, raised.Message, tc.raised, tc.message)
				}
			case tc.wantErr != nil:
				checkCallError(t, err, "testkit", tc.export, tc.wantErr)
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("error %q does not say %q", err, tc.message)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got := decode(t, value); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("value %#v, want %#v", got, tc.want)
				}
			}
			// The module serves on.
			value, err = m.Call(context.Background(), "rpc.echo", nil, enc(t, map[string]any{"value": "still here"}))
			if err != nil || decode(t, value) != "still here" {
				t.Fatalf("echo after %s: %v, %v", tc.name, value, err)
			}
		})
	}
}

// TestTestkitNotification calls testkit's info listener, which emits a
// notification through the host.
func TestTestkitNotification(t *testing.T) {
	host := &hostFuncs{notify: func(context.Context, Caller, *abi.Notification) error { return nil }}
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "testkit", Limits{})
	if len(m.Manifest().Notifications) != 1 {
		t.Fatalf("manifest %+v", m.Manifest())
	}
	export := m.Manifest().Notifications[0].Export
	args := enc(t, map[string]any{"publisher_id": "p", "event_type": "testkit.ping", "payload": map[string]any{"n": 1},
		"metadata": map[string]any{"message_id": "m1", "timestamp": "2026-01-01 00:00:00.000000"}})
	value, err := m.Call(context.Background(), export, enc(t, map[string]any{"user": "u"}), args)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, value); got != nil && got != abi.NotifyHandled {
		t.Errorf("listener answered %v", got)
	}
	from, req := host.last()
	n := req.(*abi.Notification)
	if from != (Caller{Module: "testkit", Export: export}) || n.EventType != "testkit.seen" || n.Topic != "testkit_seen" {
		t.Errorf("notification %+v from %+v", n, from)
	}
	if got := decode(t, n.Payload); !reflect.DeepEqual(got, map[string]any{"n": int64(1)}) {
		t.Errorf("payload %v", got)
	}
}
