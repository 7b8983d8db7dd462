package modules_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// TestTestkitMatchesPython calls the Python reference endpoint
// (tests/python/testkit_endpoint.py) in-process with every case of
// testkitCases and the wasm module with the same, and compares what a
// caller would see: the value, or the exception's class, module, message
// and args (as oslo.messaging serializes them).
func TestTestkitMatchesPython(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python; skipped with -short")
	}
	type pyCase struct {
		Method string         `json:"method"`
		Ctx    map[string]any `json:"ctx"`
		Args   map[string]any `json:"args"`
	}
	cases := make([]pyCase, len(testkitCases))
	for i, tc := range testkitCases {
		cases[i] = pyCase{strings.TrimPrefix(tc.export, "rpc."), tc.ctx, tc.args}
		if cases[i].Ctx == nil {
			cases[i].Ctx = map[string]any{}
		}
	}
	const script = `
import json, sys
sys.path.insert(0, "../tests/python")
import testkit_endpoint
ep = testkit_endpoint.TestkitEndpoint()
out = []
for c in json.load(sys.stdin):
    try:
        out.append({"value": getattr(ep, c["method"])(c["ctx"], **c["args"])})
    except Exception as e:
        out.append({"error": {"class": type(e).__name__, "module": type(e).__module__,
                              "message": str(e), "args": list(e.args)}})
json.dump(out, sys.stdout)
`
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("/usr/bin/python3: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var answers []map[string]any
	if err := dec.Decode(&answers); err != nil {
		t.Fatalf("decoding Python's answers: %v\n%s", err, out)
	}
	if len(answers) != len(cases) {
		t.Fatalf("Python answered %d of %d cases", len(answers), len(cases))
	}

	m := load(t, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, nil)
	for i, tc := range testkitCases {
		t.Run(tc.name, func(t *testing.T) {
			var ctx any
			if tc.ctx != nil {
				ctx = tc.ctx
			}
			got := call(t, m, tc.export, ctx, tc.args)
			if got.err != nil {
				t.Fatalf("wasm call failed: %v", got.err)
			}
			py := fromJSON(answers[i])
			if got.raised == nil {
				if want := map[string]any{"value": got.value}; !reflect.DeepEqual(py, want) {
					t.Fatalf("wasm returned %#v; Python %#v", got.value, py)
				}
				return
			}
			if want := map[string]any{"error": seenByCaller(got.raised)}; !reflect.DeepEqual(py, want) {
				t.Fatalf("wasm raised %#v;\nPython %#v", want, py)
			}
		})
	}
}

// seenByCaller is a guest exception as an oslo.messaging caller gets it:
// args default to [message], as the host fills them.
func seenByCaller(e *abi.Error) map[string]any {
	args := e.Args
	if args == nil {
		args = []any{e.Message}
	}
	return map[string]any{"class": e.Class, "module": e.Module, "message": e.Message, "args": args}
}

// fromJSON turns numbers decoded with UseNumber into int64 or float64, as
// CBOR decodes them.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(x.String(), ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, err := x.Float64()
		if err != nil {
			panic(fmt.Sprintf("number %s: %v", x, err))
		}
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}
