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

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// TestMain builds the hand-written modules in testdata/*.wat that are
// missing or older than their source (as `make modules` does) and checks
// that no test leaks a goroutine.
func TestMain(m *testing.M) {
	if err := buildWAT("testdata"); err != nil {
		fmt.Fprintln(os.Stderr, "host/wasm tests:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

func buildWAT(dir string) error {
	srcs, err := filepath.Glob(filepath.Join(dir, "*.wat"))
	if err != nil {
		return err
	}
	for _, src := range srcs {
		out := strings.TrimSuffix(src, ".wat") + ".wasm"
		if fresh(out, src) {
			continue
		}
		if _, err := exec.LookPath("wat2wasm"); err != nil {
			return fmt.Errorf("wat2wasm (from wabt) is needed to build %s: %w", out, err)
		}
		cmd := exec.Command("wat2wasm", "--enable-all", "-o", out, src)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("wat2wasm %s: %v\n%s", src, err, b)
		}
	}
	return nil
}

// fresh reports whether out exists and is newer than src.
func fresh(out, src string) bool {
	o, err := os.Stat(out)
	if err != nil {
		return false
	}
	s, err := os.Stat(src)
	return err == nil && !o.ModTime().Before(s.ModTime())
}

// readWasm returns testdata/name.wasm.
func readWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
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
	b, err := abi.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode decodes a CBOR value for a test.
func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := abi.Unmarshal(b, &v); err != nil {
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
