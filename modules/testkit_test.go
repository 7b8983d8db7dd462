package modules_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// testkitCase is one call of a testkit method and what it must give.
type testkitCase struct {
	name   string
	export string
	ctx    map[string]any
	args   map[string]any
	want   any // a value, or an abi.Error
}

// testkitCases are shared by TestTestkit (the wasm module) and
// TestTestkitMatchesPython (the Python reference endpoint).
var testkitCases = []testkitCase{
	{"echo string", "rpc.echo", nil, map[string]any{"value": "héllo ☃"}, "héllo ☃"},
	{"echo null", "rpc.echo", nil, map[string]any{"value": nil}, nil},
	{"echo nested", "rpc.echo", nil, map[string]any{"value": map[string]any{"a": []any{1, 2.5, true, nil, "x", map[string]any{}}}},
		map[string]any{"a": []any{1, 2.5, true, nil, "x", map[string]any{}}}},
	{"echo big int", "rpc.echo", nil, map[string]any{"value": int64(math.MinInt64)}, int64(math.MinInt64)},
	{"echo missing", "rpc.echo", nil, map[string]any{}, typeError("echo() missing 1 required positional argument: 'value'")},
	{"echo unexpected", "rpc.echo", nil, map[string]any{"value": 1, "x": 2}, typeError("echo() got an unexpected keyword argument 'x'")},
	{"echo ctxt", "rpc.echo", nil, map[string]any{"value": 1, "ctxt": 2}, typeError("echo() got multiple values for argument 'ctxt'")},

	{"add ints", "rpc.add", nil, map[string]any{"a": 2, "b": 40}, 42},
	{"add negative", "rpc.add", nil, map[string]any{"a": -2, "b": -40}, -42},
	{"add int float", "rpc.add", nil, map[string]any{"a": 1, "b": 0.5}, 1.5},
	{"add floats", "rpc.add", nil, map[string]any{"a": 0.25, "b": 0.5}, 0.75},
	{"add bools", "rpc.add", nil, map[string]any{"a": true, "b": true}, 2},
	{"add strings", "rpc.add", nil, map[string]any{"a": "foo", "b": "bar"}, "foobar"},
	{"add lists", "rpc.add", nil, map[string]any{"a": []any{1}, "b": []any{"x", nil}}, []any{1, "x", nil}},
	{"add int str", "rpc.add", nil, map[string]any{"a": 1, "b": "x"}, typeError("unsupported operand type(s) for +: 'int' and 'str'")},
	{"add str int", "rpc.add", nil, map[string]any{"a": "x", "b": 1}, typeError(`can only concatenate str (not "int") to str`)},
	{"add list dict", "rpc.add", nil, map[string]any{"a": []any{}, "b": map[string]any{}}, typeError(`can only concatenate list (not "dict") to list`)},
	{"add dicts", "rpc.add", nil, map[string]any{"a": map[string]any{}, "b": map[string]any{}}, typeError("unsupported operand type(s) for +: 'dict' and 'dict'")},
	{"add None", "rpc.add", nil, map[string]any{"a": nil, "b": 1}, typeError("unsupported operand type(s) for +: 'NoneType' and 'int'")},
	{"add missing", "rpc.add", nil, map[string]any{}, typeError("add() missing 2 required positional arguments: 'a' and 'b'")},
	{"add missing b", "rpc.add", nil, map[string]any{"a": 1}, typeError("add() missing 1 required positional argument: 'b'")},

	{"context value", "rpc.context", map[string]any{"user_id": "u1", "roles": []any{"admin"}}, map[string]any{"key": "roles"}, []any{"admin"}},
	{"context absent", "rpc.context", map[string]any{"user_id": "u1"}, map[string]any{"key": "project_id"}, nil},
	{"context empty", "rpc.context", nil, map[string]any{"key": "user_id"}, nil},
	{"context key type", "rpc.context", nil, map[string]any{"key": 1}, typeError("context() argument 'key' must be str, not int")},

	{"fail builtin", "rpc.fail", nil, map[string]any{"kind": "ValueError", "message": "bad value"},
		abi.Error{Class: "ValueError", Module: "builtins", Message: "bad value"}},
	{"fail OSError subclass", "rpc.fail", nil, map[string]any{"kind": "FileNotFoundError", "message": "gone"},
		abi.Error{Class: "FileNotFoundError", Module: "builtins", Message: "gone"}},
	{"fail custom", "rpc.fail", nil, map[string]any{"kind": "VolumeBusy", "message": "busy"},
		abi.Error{Class: "VolumeBusy", Module: "testkit", Message: "busy"}},
	{"fail KeyError", "rpc.fail", nil, map[string]any{"kind": "KeyError", "message": "it's"},
		abi.Error{Class: "KeyError", Module: "builtins", Message: `"it's"`, Args: []any{"it's"}}},
	{"fail IOError", "rpc.fail", nil, map[string]any{"kind": "IOError", "message": "io"},
		abi.Error{Class: "OSError", Module: "builtins", Message: "io"}},
	{"fail SystemExit", "rpc.fail", nil, map[string]any{"kind": "SystemExit", "message": "bye"},
		abi.Error{Class: "SystemExit", Module: "builtins", Message: "bye"}},
	{"fail UnicodeDecodeError", "rpc.fail", nil, map[string]any{"kind": "UnicodeDecodeError", "message": "u"},
		typeError("function takes exactly 5 arguments (1 given)")},
	{"fail empty kind", "rpc.fail", nil, map[string]any{"kind": "", "message": "m"},
		abi.Error{Class: "ValueError", Module: "builtins", Message: "fail() argument 'kind' must not be empty"}},
	{"fail missing", "rpc.fail", nil, map[string]any{"message": "m"}, typeError("fail() missing 1 required positional argument: 'kind'")},

	{"spin", "rpc.spin", nil, map[string]any{"ms": 5}, 5},
	{"spin float", "rpc.spin", nil, map[string]any{"ms": 1.5}, 1.5},
	{"spin negative", "rpc.spin", nil, map[string]any{"ms": -1}, -1},
	{"spin bool", "rpc.spin", nil, map[string]any{"ms": true}, typeError("spin() argument 'ms' must be int or float, not bool")},
	{"spin str", "rpc.spin", nil, map[string]any{"ms": "5"}, typeError("spin() argument 'ms' must be int or float, not str")},

	{"alloc", "rpc.alloc", nil, map[string]any{"mb": 8}, 8},
	{"alloc zero", "rpc.alloc", nil, map[string]any{"mb": 0}, 0},
	{"alloc negative", "rpc.alloc", nil, map[string]any{"mb": -1},
		abi.Error{Class: "ValueError", Module: "builtins", Message: "alloc() argument 'mb' must not be negative"}},
	{"alloc float", "rpc.alloc", nil, map[string]any{"mb": 1.5}, typeError("alloc() argument 'mb' must be int, not float")},

	{"read_file absolute", "rpc.read_file", nil, map[string]any{"path": "/etc/passwd"},
		abi.Error{Class: "OSError", Module: "builtins", Message: "[Errno 9] Bad file descriptor: '/etc/passwd'", Args: []any{int64(9), "Bad file descriptor"}}},
	{"read_file relative", "rpc.read_file", nil, map[string]any{"path": "go.mod"},
		abi.Error{Class: "OSError", Module: "builtins", Message: "[Errno 9] Bad file descriptor: 'go.mod'", Args: []any{int64(9), "Bad file descriptor"}}},
	{"read_file missing", "rpc.read_file", nil, map[string]any{}, typeError("read_file() missing 1 required positional argument: 'path'")},

	{"_private", "rpc._private", nil, map[string]any{}, "private"},
	{"_private argument", "rpc._private", nil, map[string]any{"x": 1}, typeError("_private() got an unexpected keyword argument 'x'")},
}

func TestTestkit(t *testing.T) {
	m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 2}, nil)
	for _, tc := range testkitCases {
		t.Run(tc.name, func(t *testing.T) {
			var ctx any
			if tc.ctx != nil {
				ctx = tc.ctx
			}
			expect(t, call(t, m, tc.export, ctx, tc.args), tc.want)
		})
	}
}

func TestTestkitManifest(t *testing.T) {
	methods := []abi.Method{
		{Name: "echo", Export: "rpc.echo"}, {Name: "add", Export: "rpc.add"},
		{Name: "context", Export: "rpc.context"}, {Name: "fail", Export: "rpc.fail"},
		{Name: "spin", Export: "rpc.spin"}, {Name: "alloc", Export: "rpc.alloc"},
		{Name: "read_file", Export: "rpc.read_file"}, {Name: "_private", Export: "rpc._private"},
	}
	for _, tc := range []struct{ file, version string }{
		{"testkit/testkit.wasm", "1.5"},
		{"testkit/testkit-v1.6.wasm", "1.6"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			got := load(t, tc.file, wasm.Limits{MaxInstances: 1}, nil).Manifest()
			want := &abi.Manifest{
				ABIVersion:    abi.Version,
				Module:        "testkit",
				Endpoints:     []abi.Endpoint{{Version: tc.version, Methods: methods}},
				Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("manifest\n %#v\nwant\n %#v", got, want)
			}
		})
	}
}

func TestTestkitNotification(t *testing.T) {
	host := &hostCalls{}
	m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, host)
	ctx := map[string]any{"request_id": "req-1", "user_id": "u1"}
	event := func(eventType string) map[string]any {
		return map[string]any{"publisher_id": "compute.host1", "event_type": eventType,
			"payload": map[string]any{"id": 7, "tags": []any{"a"}}, "metadata": map[string]any{"message_id": "m1", "timestamp": "t"}}
	}

	expect(t, call(t, m, "notify.info", ctx, event("testkit.ping")), "handled")
	got := host.taken()
	if len(got) != 1 || got[0].kind != "notify" {
		t.Fatalf("host calls %#v, want one notification", got)
	}
	n := got[0].notify
	if n.Topic != "testkit_seen" || n.Priority != "info" || n.PublisherID != "testkit" || n.EventType != "testkit.seen" {
		t.Fatalf("notification %+v", n)
	}
	if p := decode(t, n.Payload); !reflect.DeepEqual(p, norm(map[string]any{"id": 7, "tags": []any{"a"}})) {
		t.Fatalf("payload %#v", p)
	}
	if c := decode(t, n.Context); !reflect.DeepEqual(c, norm(ctx)) {
		t.Fatalf("context %#v, want the request's %#v", c, ctx)
	}
	if got[0].from != (wasm.Caller{Module: "testkit.wasm", Export: "notify.info"}) {
		t.Fatalf("caller %+v", got[0].from)
	}

	expect(t, call(t, m, "notify.info", ctx, event("compute.instance.create")), "handled")
	if got := host.taken(); len(got) != 0 {
		t.Fatalf("a non-testkit event made host calls: %#v", got)
	}
}

// TestTestkitNotificationRefused: when the host refuses the notification
// (here: host calls disabled), the handler raises, and the host requeues.
func TestTestkitNotificationRefused(t *testing.T) {
	m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, nil)
	got := call(t, m, "notify.info", nil, map[string]any{"publisher_id": "p", "event_type": "testkit.x", "payload": 1, "metadata": map[string]any{}})
	expect(t, got, abi.Error{Class: "NotImplementedError", Module: "builtins", Message: "host calls are not enabled"})
}

func TestTestkitLimits(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1, MemoryLimit: 48 << 20}, nil)
		got := call(t, m, "rpc.alloc", nil, map[string]any{"mb": 64})
		if !errors.Is(got.err, wasm.ErrMemoryLimit) && !errors.Is(got.err, wasm.ErrTrap) {
			t.Fatalf("alloc(64) under a 48 MiB limit: %#v", got)
		}
		// The instance was replaced; the module serves on.
		expect(t, call(t, m, "rpc.alloc", nil, map[string]any{"mb": 4}), 4)
	})
	t.Run("deadline", func(t *testing.T) {
		m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1, CallTimeout: 300 * time.Millisecond}, nil)
		got := call(t, m, "rpc.spin", nil, map[string]any{"ms": 60000})
		if !errors.Is(got.err, context.DeadlineExceeded) {
			t.Fatalf("spin past the call timeout: %#v", got)
		}
		expect(t, call(t, m, "rpc.echo", nil, map[string]any{"value": "after"}), "after")
	})
	t.Run("result cap", func(t *testing.T) {
		m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1, MaxResultSize: 1 << 10}, nil)
		got := call(t, m, "rpc.echo", nil, map[string]any{"value": strings.Repeat("x", 4096)})
		if !errors.Is(got.err, wasm.ErrResultTooLarge) {
			t.Fatalf("a 4 KiB result under a 1 KiB cap: %#v", got)
		}
	})
}
