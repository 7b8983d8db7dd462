package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// builtModules are the modules of modules/ the tests and benchmarks
// load, as `make modules` builds them: testkit in Go with the guest SDK,
// cadder in C.
var builtModules = map[string]string{
	"testkit": "modules/testkit/testkit.wasm",
	"cadder":  "modules/cadder/cadder.wasm",
}

// TestMain builds, with the Makefile's own rules, the modules the tests
// load (testdata/*.wat and modules/testkit) when they are missing or
// stale, and checks that no test leaks a goroutine.
func TestMain(m *testing.M) {
	if err := buildModules(); err != nil {
		fmt.Fprintln(os.Stderr, "host/wasm tests:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "wasmrpcd-wasm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "host/wasm tests:", err)
		os.Exit(1)
	}
	testCacheDir, testKeyFile = dir, dir+".key"
	if testKey, err = LoadCacheKey(testKeyFile); err != nil {
		fmt.Fprintln(os.Stderr, "host/wasm tests:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir); os.Remove(testKeyFile) }))
}

// testCacheDir is the compilation cache the tests' runtimes share, so
// that each module compiles once per test run.
var testCacheDir string

// testKeyFile holds testKey, the key of every cache of the tests.
var (
	testKeyFile string
	testKey     []byte
)

func buildModules() error {
	srcs, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if err != nil {
		return err
	}
	var targets []string
	for _, path := range builtModules {
		targets = append(targets, path)
	}
	for _, src := range srcs {
		targets = append(targets, "host/wasm/"+strings.TrimSuffix(src, ".wat")+".wasm")
	}
	cmd := exec.Command("make", append([]string{"-C", "../..", "--no-print-directory"}, targets...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make %s: %v\n%s", strings.Join(targets, " "), err, out)
	}
	return nil
}

// readWasm returns testdata/name.wasm, or one of builtModules.
func readWasm(t testing.TB, name string) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".wasm")
	if built, ok := builtModules[name]; ok {
		path = filepath.Join("..", "..", built)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logRecorder is an slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
	attrs   []slog.Attr
	parent  *logRecorder
}

type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (h *logRecorder) root() *logRecorder {
	if h.parent != nil {
		return h.parent.root()
	}
	return h
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	root := h.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...), parent: h}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// find returns the first record with message msg, or false.
func (h *logRecorder) find(msg string) (logRecord, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Msg == msg {
			return r, true
		}
	}
	return logRecord{}, false
}

// newRuntime returns a runtime that logs into a recorder, closed when the
// test ends.
func newRuntime(t testing.TB, cfg Config) (*Runtime, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCacheDir
	}
	if cfg.CacheKeyFile == "" {
		cfg.CacheKeyFile = testKeyFile
	}
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("closing the runtime: %v", err)
		}
	})
	return r, rec
}

// load loads testdata/name.wasm into r.
func load(t testing.TB, r *Runtime, name string, lim Limits) *Module {
	t.Helper()
	m, err := r.Load(context.Background(), name, readWasm(t, name), lim)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// enc encodes v for a test, failing it on error.
func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborcodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode decodes a CBOR value for a test.
func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := cborcodec.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %x: %v", b, err)
	}
	return v
}

// instancesMade reports how many instances m has created so far.
func instancesMade(m *Module) uint64 { return m.seq.Load() }

// liveInstances reports how many instances m holds, idle or busy.
func liveInstances(m *Module) int {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return m.pool.live
}
