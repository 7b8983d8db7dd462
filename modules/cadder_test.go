package modules_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

func TestCadder(t *testing.T) {
	m := load(t, "cadder/cadder.wasm", wasm.Limits{MaxInstances: 1}, nil)
	want := &abi.Manifest{ABIVersion: abi.Version, Module: "cadder", Endpoints: []abi.Endpoint{{
		Version: "1.0", Methods: []abi.Method{{Name: "echo", Export: "rpc.echo"}, {Name: "add", Export: "rpc.add"}},
	}}}
	if got := m.Manifest(); !reflect.DeepEqual(got, want) {
		t.Fatalf("manifest %#v", got)
	}
	tests := []struct {
		name   string
		export string
		args   any
		want   any
	}{
		{"echo", "rpc.echo", map[string]any{"value": map[string]any{"k": []any{1, -2, 2.5, "s", nil, true}}},
			map[string]any{"k": []any{1, -2, 2.5, "s", nil, true}}},
		{"echo bytes", "rpc.echo", map[string]any{"value": []byte{0, 1}}, []byte{0, 1}},
		{"echo missing", "rpc.echo", map[string]any{}, typeError("echo() missing 1 required positional argument: 'value'")},
		{"echo no args", "rpc.echo", nil, typeError("echo() missing 1 required positional argument: 'value'")},
		{"echo unexpected", "rpc.echo", map[string]any{"value": 1, "zz": 1, "b": 2}, typeError("echo() got an unexpected keyword argument 'b'")},
		{"echo self", "rpc.echo", map[string]any{"self": 1}, typeError("echo() got multiple values for argument 'self'")},
		{"add ints", "rpc.add", map[string]any{"a": 40, "b": 2}, 42},
		{"add overflow", "rpc.add", map[string]any{"a": int64(math.MaxInt64), "b": 1}, 9223372036854775808.0},
		{"add underflow", "rpc.add", map[string]any{"a": int64(math.MinInt64), "b": int64(math.MinInt64)}, -18446744073709551616.0},
		{"add floats", "rpc.add", map[string]any{"a": 0.5, "b": 0.25}, 0.75},
		{"add mixed", "rpc.add", map[string]any{"a": 1, "b": 0.5}, 1.5},
		{"add bool", "rpc.add", map[string]any{"a": true, "b": 1}, 2},
		{"add strings", "rpc.add", map[string]any{"a": "wasm", "b": "rpc"}, "wasmrpc"},
		{"add lists", "rpc.add", map[string]any{"a": []any{1}, "b": []any{[]any{2}, "x"}}, []any{1, []any{2}, "x"}},
		{"add bytes", "rpc.add", map[string]any{"a": []byte("a"), "b": []byte("b")}, []byte("ab")},
		{"add str int", "rpc.add", map[string]any{"a": "x", "b": 1}, typeError(`can only concatenate str (not "int") to str`)},
		{"add bytes str", "rpc.add", map[string]any{"a": []byte("x"), "b": "y"}, typeError("can't concat str to bytes")},
		{"add missing", "rpc.add", map[string]any{}, typeError("add() missing 2 required positional arguments: 'a' and 'b'")},
		{"add ctxt", "rpc.add", map[string]any{"a": 1, "b": 2, "ctxt": 3}, typeError("add() got multiple values for argument 'ctxt'")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, call(t, m, tc.export, nil, tc.args), tc.want)
		})
	}
	t.Run("args not a map", func(t *testing.T) {
		expect(t, callRaw(t, m, "rpc.add", nil, enc(t, []any{1, 2})), typeError("add() argument after ** must be a mapping, not list"))
	})
	t.Run("args not CBOR", func(t *testing.T) {
		expect(t, callRaw(t, m, "rpc.echo", nil, []byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e'}), typeError("echo() arguments are not valid CBOR"))
	})
	t.Run("indefinite map", func(t *testing.T) {
		args := []byte{0xbf, 0x65, 'v', 'a', 'l', 'u', 'e', 0x9f, 0x01, 0xff, 0xff} // {_ "value": [_ 1]}
		expect(t, callRaw(t, m, "rpc.echo", nil, args), []any{1})
	})
}

// TestCadderMatchesTestkit calls add and echo of the C module and of the
// Go module with the same arguments: the ABI gives the same answers
// whatever the language.
func TestCadderMatchesTestkit(t *testing.T) {
	c := load(t, "cadder/cadder.wasm", wasm.Limits{MaxInstances: 1}, nil)
	g := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, nil)
	values := []any{int64(-7), int64(1), int64(math.MaxInt64), 2.5, -0.0, math.Inf(1), true, false, "", "é", []any{}, []any{int64(1), "x"},
		map[string]any{}, map[string]any{"k": nil}, nil, []byte("b")}
	for i, a := range values {
		for j, b := range values {
			args := map[string]any{"a": a, "b": b}
			t.Run(fmt.Sprintf("add/%d+%d", i, j), func(t *testing.T) {
				cg, gg := call(t, c, "rpc.add", nil, args), call(t, g, "rpc.add", nil, args)
				if !reflect.DeepEqual(cg, gg) {
					t.Fatalf("add(%#v, %#v): cadder %#v, testkit %#v", a, b, cg, gg)
				}
			})
		}
		t.Run(fmt.Sprintf("echo/%d", i), func(t *testing.T) {
			args := map[string]any{"value": a}
			if cg, gg := call(t, c, "rpc.echo", nil, args), call(t, g, "rpc.echo", nil, args); !reflect.DeepEqual(cg, gg) {
				t.Fatalf("echo(%#v): cadder %#v, testkit %#v", a, cg, gg)
			}
		})
	}
	for _, kw := range []map[string]any{{}, {"a": 1}, {"b": 1, "x": 1}, {"a": 1, "b": 2, "self": 0}, {"ctxt": 1, "zz": 2}} {
		t.Run(fmt.Sprintf("bind/%v", kw), func(t *testing.T) {
			if cg, gg := call(t, c, "rpc.add", nil, kw), call(t, g, "rpc.add", nil, kw); !reflect.DeepEqual(cg, gg) {
				t.Fatalf("add(**%v): cadder %#v, testkit %#v", kw, cg, gg)
			}
		})
	}
}

// FuzzCadder sends arbitrary bytes as the arguments of the C module's
// methods: its CBOR reader must answer with a value or an exception, and
// never trap or return a malformed result.
func FuzzCadder(f *testing.F) {
	f.Add(enc(f, map[string]any{"value": []any{1, "x", map[string]any{"k": 2.5}}}))
	f.Add(enc(f, map[string]any{"a": "x", "b": "y"}))
	f.Add(enc(f, map[string]any{"a": []any{1}, "b": []any{nil}}))
	f.Add([]byte{0xbf, 0x61, 'a', 0x9f, 0xff, 0x61, 'b', 0x80, 0xff})
	f.Add([]byte{0xa1, 0x61, 'a', 0x7f, 0x61, 'x', 0xff})
	f.Add([]byte{0xa2, 0x61, 'a', 0xf9, 0x7c, 0x00, 0x61, 'b', 0xfa, 0x3f, 0x80, 0x00, 0x00})
	m := load(f, "cadder/cadder.wasm", wasm.Limits{MaxInstances: 1}, nil)
	f.Fuzz(func(t *testing.T, args []byte) {
		for _, export := range []string{"rpc.echo", "rpc.add"} {
			_, err := m.Call(t.Context(), export, nil, args)
			var raised *abi.Error
			if err != nil && !errors.As(err, &raised) {
				t.Fatalf("%s(% x): %v", export, args, err)
			}
		}
	})
}
