// Package modules_test loads the modules of this folder, as `make
// modules` builds them, into the real wasm runtime (host/wasm) and checks
// what each method does.
package modules_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// built are the module files the tests load, relative to this folder.
var built = []string{
	"testkit/testkit.wasm",
	"testkit/testkit-v1.6.wasm",
	"volumes/volumes.wasm",
	"cadder/cadder.wasm",
}

// hostcallsWasm is the SDK's host-call test module, built by TestMain.
var hostcallsWasm string

// cacheDir is the compilation cache every runtime of the tests shares
// (its key beside it, in cacheDir.key), so that each module compiles
// once.
var cacheDir string

// TestMain builds the modules that are missing or stale with the
// Makefile's own rules, builds guest-sdk/testdata/hostcalls, and checks
// that no test leaks a goroutine.
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "modules tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	targets := make([]string, len(built))
	for i, b := range built {
		targets[i] = "modules/" + b
	}
	cmd := exec.Command("make", append([]string{"-C", "..", "--no-print-directory"}, targets...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("make %v: %v\n%s", targets, err, out)
	}
	dir, err := os.MkdirTemp("", "wasmrpcd-modules-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	hostcallsWasm = filepath.Join(dir, "hostcalls.wasm")
	cacheDir = filepath.Join(dir, "cache")
	cmd = exec.Command("go", "build", "-buildmode=c-shared", "-o", hostcallsWasm, "../guest-sdk/testdata/hostcalls")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building guest-sdk/testdata/hostcalls: %v\n%s", err, out)
	}
	if err := goleak.Find(); err != nil {
		return 0, err
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			return 0, fmt.Errorf("leaked goroutines: %w", err)
		}
	}
	return code, nil
}

// load loads a module file into a runtime of its own, closed when the test
// ends. host serves its host calls (nil: disabled).
func load(t testing.TB, path string, lim wasm.Limits, host wasm.HostCalls) *wasm.Module {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := wasm.NewRuntime(ctx, wasm.Config{Host: host, CacheDir: cacheDir, CacheKeyFile: cacheDir + ".key"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Errorf("closing the runtime: %v", err)
		}
	})
	m, err := rt.Load(ctx, filepath.Base(path), b, lim)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// outcome is what one call gives: a value, an exception the guest raised,
// or another failure.
type outcome struct {
	value  any
	raised *abi.Error
	err    error
}

// call calls export with ctx and args (Go values, CBOR-encoded here; nil
// sends nothing) and decodes the outcome.
func call(t testing.TB, m *wasm.Module, export string, ctx, args any) outcome {
	t.Helper()
	var cb, ab []byte
	if ctx != nil {
		cb = enc(t, ctx)
	}
	if args != nil {
		ab = enc(t, args)
	}
	return callRaw(t, m, export, cb, ab)
}

func callRaw(t testing.TB, m *wasm.Module, export string, ctx, args []byte) outcome {
	t.Helper()
	raw, err := m.Call(context.Background(), export, ctx, args)
	if err != nil {
		var raised *abi.Error
		if errors.As(err, &raised) {
			return outcome{raised: raised}
		}
		return outcome{err: err}
	}
	var v any
	if err := cborcodec.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: the result value does not decode: %v", export, err)
	}
	return outcome{value: v}
}

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborcodec.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %#v: %v", v, err)
	}
	return b
}

// norm turns the Go ints of a test table into the int64s values decode
// to, recursively, so tables can be written with plain literals.
func norm(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = norm(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = norm(e)
		}
		return out
	}
	return v
}

// expect checks an outcome against a wanted value, or a wanted exception
// when want is an abi.Error.
func expect(t *testing.T, got outcome, want any) {
	t.Helper()
	if got.err != nil {
		t.Fatalf("call failed: %v", got.err)
	}
	if e, ok := want.(abi.Error); ok {
		if got.raised == nil {
			t.Fatalf("returned %#v, want exception %s: %s", got.value, e.Class, e.Message)
		}
		if !reflect.DeepEqual(*got.raised, e) {
			t.Fatalf("raised\n %#v\nwant\n %#v", *got.raised, e)
		}
		return
	}
	if got.raised != nil {
		t.Fatalf("raised %s: %s (module %q), want %#v", got.raised.Class, got.raised.Message, got.raised.Module, want)
	}
	if w := norm(want); !reflect.DeepEqual(got.value, w) {
		t.Fatalf("returned %#v, want %#v", got.value, w)
	}
}

// typeError is a TypeError as the SDK raises it.
func typeError(msg string) abi.Error {
	return abi.Error{Class: "TypeError", Module: "builtins", Message: msg}
}

// hostCalls is a wasm.HostCalls that records what the guest asks for and
// answers calls with reply.
type hostCalls struct {
	mu    sync.Mutex
	calls []recorded
	reply func(req *abi.CallRequest) ([]byte, error)
}

type recorded struct {
	kind   string // "call", "cast" or "notify"
	from   wasm.Caller
	call   *abi.CallRequest
	notify *abi.Notification
}

var _ wasm.HostCalls = (*hostCalls)(nil)

func (h *hostCalls) record(r recorded) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, r)
}

func (h *hostCalls) Call(_ context.Context, from wasm.Caller, req *abi.CallRequest) ([]byte, error) {
	h.record(recorded{kind: "call", from: from, call: req})
	if h.reply == nil {
		return nil, nil
	}
	return h.reply(req)
}

func (h *hostCalls) Cast(_ context.Context, from wasm.Caller, req *abi.CallRequest) error {
	h.record(recorded{kind: "cast", from: from, call: req})
	return nil
}

func (h *hostCalls) Notify(_ context.Context, from wasm.Caller, n *abi.Notification) error {
	h.record(recorded{kind: "notify", from: from, notify: n})
	return nil
}

func (h *hostCalls) taken() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.calls
	h.calls = nil
	return out
}

// decode decodes CBOR bytes a guest sent, for comparisons.
func decode(t testing.TB, b []byte) any {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := cborcodec.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding % x: %v", b, err)
	}
	return v
}
