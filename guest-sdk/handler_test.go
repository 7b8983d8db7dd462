package sdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

type volume struct {
	ID   string `json:"id"`
	Size int    `json:"size_gb"`
}

var (
	testEcho = Method("echo", func(_ *Context, a struct{ Value any }) (any, error) { return a.Value, nil })
	testCtx  = Method("context", func(c *Context, a struct{ Key string }) (any, error) {
		if c.Method() != "context" {
			return nil, fmt.Errorf("Method() = %q", c.Method())
		}
		return c.Value(a.Key), nil
	})
	testCreate = Method("create", func(_ *Context, a struct {
		Name string
		Size int `arg:"size_gb,default=1"`
	}) (volume, error) {
		if a.Size <= 0 {
			return volume{}, Errorf("InvalidInput", "size_gb must be > 0, got %d", a.Size).WithModule("volumes.exceptions")
		}
		return volume{ID: "vol-" + a.Name, Size: a.Size}, nil
	})
	testRaise = Method("raise", func(_ *Context, a struct{ How string }) (any, error) {
		switch a.How {
		case "sdk":
			return nil, Errorf("VolumeNotFound", "volume %s not found", "v1").AsExpected().WithArgs("v1").WithKwargs(map[string]any{"volume_id": "v1"})
		case "wrapped":
			return nil, fmt.Errorf("looking up: %w", NewError("KeyError", "'v1'"))
		case "plain":
			return nil, errors.New("disk on fire")
		case "py":
			return py.Add(int64(1), "x")
		case "noclass":
			return nil, &Error{Message: "who knows"}
		case "panic":
			var m map[string]int
			m["x"] = 1
		case "panic-error":
			panic(Errorf("ValueError", "raised by panic"))
		case "unencodable":
			return make(chan int), nil
		case "unencodable-args":
			return nil, NewError("ValueError", "bad").WithArgs(make(chan int))
		}
		return "ok", nil
	})
	testKwargs = Method("kw", func(_ *Context, a map[string]any) (map[string]any, error) { return a, nil })
	testListen = Listener("info", func(c *Context, e Event) (Ack, error) {
		switch e.EventType {
		case "again":
			return Requeue, nil
		case "fail":
			return "", Errorf("ValueError", "cannot handle %v", e.Payload)
		case "zero":
			return "", nil
		}
		if e.PublisherID != "compute.host1" || e.Metadata["message_id"] != "m1" {
			return "", fmt.Errorf("event %#v", e)
		}
		return Handled, nil
	})
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		h       *Handler
		ctx     any
		args    any
		want    any
		wantErr abi.Error
	}{
		{"echo", testEcho, map[string]any{}, map[string]any{"value": []any{int64(1), "x", nil}}, []any{int64(1), "x", nil}, abi.Error{}},
		{"echo null", testEcho, map[string]any{}, map[string]any{"value": nil}, nil, abi.Error{}},
		{"echo missing", testEcho, map[string]any{}, map[string]any{}, nil,
			abi.Error{Class: "TypeError", Module: "builtins", Message: "echo() missing 1 required positional argument: 'value'"}},
		{"context value", testCtx, map[string]any{"user_id": "u1"}, map[string]any{"key": "user_id"}, "u1", abi.Error{}},
		{"context absent", testCtx, map[string]any{}, map[string]any{"key": "user_id"}, nil, abi.Error{}},
		{"struct result", testCreate, map[string]any{}, map[string]any{"name": "a", "size_gb": 3},
			map[string]any{"id": "vol-a", "size_gb": int64(3)}, abi.Error{}},
		{"default", testCreate, map[string]any{}, map[string]any{"name": "a"},
			map[string]any{"id": "vol-a", "size_gb": int64(1)}, abi.Error{}},
		{"typed error", testCreate, map[string]any{}, map[string]any{"name": "a", "size_gb": 0}, nil,
			abi.Error{Class: "InvalidInput", Module: "volumes.exceptions", Message: "size_gb must be > 0, got 0"}},
		{"expected error", testRaise, nil, map[string]any{"how": "sdk"}, nil,
			abi.Error{Class: "VolumeNotFound", Message: "volume v1 not found", Args: []any{"v1"}, Kwargs: map[string]any{"volume_id": "v1"}, Expected: true}},
		{"wrapped error", testRaise, nil, map[string]any{"how": "wrapped"}, nil,
			abi.Error{Class: "KeyError", Module: "builtins", Message: "'v1'"}},
		{"plain error", testRaise, nil, map[string]any{"how": "plain"}, nil,
			abi.Error{Class: "RuntimeError", Module: "builtins", Message: "disk on fire"}},
		{"py error", testRaise, nil, map[string]any{"how": "py"}, nil,
			abi.Error{Class: "TypeError", Module: "builtins", Message: "unsupported operand type(s) for +: 'int' and 'str'"}},
		{"no class", testRaise, nil, map[string]any{"how": "noclass"}, nil,
			abi.Error{Class: "RuntimeError", Module: "builtins", Message: "who knows"}},
		{"panic", testRaise, nil, map[string]any{"how": "panic"}, nil,
			abi.Error{Class: "RuntimeError", Module: "builtins", Message: "panic: assignment to entry in nil map"}},
		{"panic with an error", testRaise, nil, map[string]any{"how": "panic-error"}, nil,
			abi.Error{Class: "ValueError", Module: "builtins", Message: "raised by panic"}},
		{"unencodable result", testRaise, nil, map[string]any{"how": "unencodable"}, nil,
			abi.Error{Class: "TypeError", Module: "builtins", Message: "Object of type chan int is not JSON serializable"}},
		{"unencodable error args", testRaise, nil, map[string]any{"how": "unencodable-args"}, nil,
			abi.Error{Class: "ValueError", Module: "builtins", Message: "bad"}},
		{"bad context", testEcho, []any{1}, map[string]any{"value": 1}, nil,
			abi.Error{Class: "RuntimeError", Module: "builtins", Message: "wasmrpc: the request context is not a CBOR map"}},
		// The context is read on first use: a method that does not read it
		// does not see that it is truncated; one that does reads it empty.
		{"truncated context", testEcho, []byte{0xa1, 0x61}, map[string]any{"value": 1}, int64(1), abi.Error{}},
		{"truncated context read", testCtx, []byte{0xa1, 0x61}, map[string]any{"key": "a"}, nil, abi.Error{}},
		{"kwargs map", testKwargs, nil, map[string]any{"a": int64(1), "b": "x"}, map[string]any{"a": int64(1), "b": "x"}, abi.Error{}},
		{"listener handled", testListen, map[string]any{}, map[string]any{"publisher_id": "compute.host1", "event_type": "x",
			"payload": map[string]any{"k": 1}, "metadata": map[string]any{"message_id": "m1"}}, "handled", abi.Error{}},
		{"listener zero ack", testListen, nil, map[string]any{"event_type": "zero"}, "handled", abi.Error{}},
		{"listener requeue", testListen, nil, map[string]any{"event_type": "again"}, "requeue", abi.Error{}},
		{"listener error", testListen, nil, map[string]any{"event_type": "fail", "payload": "p"}, nil,
			abi.Error{Class: "ValueError", Module: "builtins", Message: "cannot handle p"}},
		{"listener bad args", testListen, nil, []any{}, nil,
			abi.Error{Class: "TypeError", Module: "builtins", Message: "notification is not a CBOR map of publisher_id, event_type, payload, metadata"}},
		{"listener bad payload types", testListen, nil, map[string]any{"event_type": 1}, nil,
			abi.Error{Class: "TypeError", Module: "builtins", Message: "notification is not a CBOR map of publisher_id, event_type, payload, metadata: cannot unmarshal positive integer into Go struct field sdk.Event.event_type of type string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, raw := tt.ctx.([]byte)
			if !raw && tt.ctx != nil {
				ctx = enc(t, tt.ctx)
			}
			got, gotErr := result(t, tt.h.Handle(ctx, enc(t, tt.args)))
			if tt.wantErr.Class == "" {
				if gotErr != nil {
					t.Fatalf("error %#v, want value %#v", gotErr, tt.want)
				}
				if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tt.want) {
					t.Fatalf("value %#v, want %#v", got, tt.want)
				}
				return
			}
			if gotErr == nil {
				t.Fatalf("value %#v, want error %#v", got, tt.wantErr)
			}
			if fmt.Sprintf("%#v", *gotErr) != fmt.Sprintf("%#v", tt.wantErr) {
				t.Fatalf("error\n %#v\nwant\n %#v", *gotErr, tt.wantErr)
			}
		})
	}
}

// TestResultBufferReused checks that the export's result buffer holds the
// latest result only: the ABI lets bytes live until the next call.
func TestResultBufferReused(t *testing.T) {
	var w resultWriter
	write := func(v any) []byte {
		w.start()
		if err := w.value(v); err != nil {
			t.Fatal(err)
		}
		return w.bytes()
	}
	first := write(strings.Repeat("a", 100))
	firstCopy := string(first)
	second := write("b")
	if v, _ := result(t, second); v != "b" {
		t.Fatalf("second result %#v", v)
	}
	if &first[0] != &second[0] {
		t.Fatalf("the result buffer was not reused")
	}
	if v, _ := result(t, []byte(firstCopy)); v != strings.Repeat("a", 100) {
		t.Fatalf("first result %#v", v)
	}
}

func TestMethodPanicsOnBadArgsType(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), `sdk.Method("bad")`) {
			t.Fatalf("recovered %v", r)
		}
	}()
	Method("bad", func(*Context, int) (any, error) { return nil, nil })
}

func TestHandlerNames(t *testing.T) {
	h := Method("status", func(*Context, struct{}) (any, error) { return nil, nil })
	if h.Name() != "status" || h.Export() != "rpc.status" {
		t.Fatalf("name %q export %q", h.Name(), h.Export())
	}
	if h.WithExport("rpc.admin.status") != h || h.Export() != "rpc.admin.status" {
		t.Fatalf("WithExport: %q", h.Export())
	}
	if testListen.Export() != "notify.info" {
		t.Fatalf("listener export %q", testListen.Export())
	}
}

func FuzzHandle(f *testing.F) {
	f.Add([]byte{0xa0}, enc(f, map[string]any{"name": "a", "size_gb": 3}))
	f.Add(enc(f, map[string]any{"k": []any{1, 2}}), enc(f, map[string]any{"name": 1, "ctxt": 3}))
	f.Add([]byte{}, []byte{0xbf, 0x61, 'a', 0x01, 0xff})
	f.Add([]byte{0xff}, []byte{0x9f})
	var (
		w resultWriter
		c Context
	)
	f.Fuzz(func(t *testing.T, ctx, args []byte) {
		for _, h := range []*Handler{testEcho, testCreate, testKwargs, testListen, rawEcho, scalars, testCtx} {
			out := h.Handle(ctx, args)
			// The export's path, with storage reused from call to call,
			// answers the same.
			if reused := h.serve(&w, &c, ctx, args, true); string(reused) != string(out) {
				t.Fatalf("%s: reused storage answers % x, fresh % x", h.Name(), reused, out)
			}
			var r abi.Result
			if err := cborcodec.Unmarshal(out, &r); err != nil {
				t.Fatalf("%s: result is not a CBOR Result: %v", h.Name(), err)
			}
			if r.Error != nil && r.Error.Class == "" {
				t.Fatalf("%s: error without class: %#v", h.Name(), r.Error)
			}
		}
	})
}
