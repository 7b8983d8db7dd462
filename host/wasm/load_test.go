package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

func TestLoad(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	wasm := readWasm(t, "echo")
	m, err := r.Load(context.Background(), "echo-module", wasm, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	if m.Name() != "echo-module" || m.Digest() != hex.EncodeToString(sum[:]) || m.Size() != len(wasm) {
		t.Errorf("Name, Digest, Size = %q, %q, %d", m.Name(), m.Digest(), m.Size())
	}
	want := &abi.Manifest{
		ABIVersion: 1,
		Module:     "echo",
		Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{
			{Name: "echo", Export: "rpc.echo"},
			{Name: "context", Export: "rpc.context"},
			{Name: "fail", Export: "rpc.fail"},
			{Name: "_private", Export: "rpc._private"},
		}}},
		Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}},
	}
	if !reflect.DeepEqual(m.Manifest(), want) {
		t.Errorf("manifest %+v, want %+v", m.Manifest(), want)
	}
	lim := m.Limits()
	if lim.MemoryLimit != DefaultMemoryLimit || lim.CallTimeout != DefaultCallTimeout ||
		lim.MaxInstances != DefaultMaxInstances || lim.MaxResultSize != abi.DefaultMaxResultSize {
		t.Errorf("default limits %+v", lim)
	}
	if n := liveInstances(m); n != 1 {
		t.Errorf("%d instances after Load, want 1 ready", n)
	}
}

// TestLoadErrors checks that each kind of bad module is refused with its
// named error and a message that says what is wrong.
func TestLoadErrors(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	echo := readWasm(t, "echo")
	for _, tc := range []struct {
		name    string
		wasm    []byte // or testdata/name.wasm
		lim     Limits
		want    []error
		message string
	}{
		{name: "empty", wasm: []byte{}, want: []error{ErrInvalidModule}, message: "not a WebAssembly binary"},
		{name: "text", wasm: []byte("hello, world"), want: []error{ErrInvalidModule}, message: "not a WebAssembly binary"},
		{name: "truncated", wasm: echo[:len(echo)/2], want: []error{ErrInvalidModule}},
		{name: "corrupt", wasm: corrupt(echo), want: []error{ErrInvalidModule}},
		{name: "wrong binary version", wasm: append([]byte("\x00asm\x02\x00\x00\x00"), echo[8:]...), want: []error{ErrInvalidModule}},
		{name: "empty", want: []error{ErrABIVersion}, message: "exports no wasmrpc.abi_version"},
		{name: "abi_v2", want: []error{ErrABIVersion}, message: "speaks wasmrpcd ABI version 2, this host speaks version 1"},
		{name: "command", want: []error{ErrCommandModule}, message: "exports _start and no _initialize"},
		{name: "no_memory", want: []error{ErrInvalidModule}, message: `no memory named "memory"`},
		{name: "big_memory", want: []error{ErrMemoryLimit}, message: "starts at 128MiB, the limit is 64MiB"},
		{name: "bad_import", want: []error{ErrInvalidModule}, message: "wasmrpc.frobnicate, which ABI version 1 does not provide"},
		{name: "init_trap", want: []error{ErrInitialize, ErrTrap}, message: "unreachable"},
		{name: "init_loop", lim: Limits{CallTimeout: 100 * time.Millisecond},
			want: []error{ErrInitialize, context.DeadlineExceeded}, message: "_initialize"},
		{name: "garbage_manifest", want: []error{ErrManifest}, message: "not valid CBOR"},
		{name: "manifest_oob", want: []error{ErrManifest, ErrBadPointer}},
		{name: "reserved_export", want: []error{ErrManifest}, message: `"wasmrpc.alloc", a name the ABI reserves`},
		{name: "missing_export", want: []error{ErrMissingExport}, message: `method "gone"`},
		{name: "bad_signature", want: []error{ErrSignature}, message: "rpc.echo is (i32) -> (i32), the ABI wants (i32, i32, i32, i32) -> (i64)"},
		{name: "bad_alloc", want: []error{ErrSignature}, message: "wasmrpc.alloc is (i64) -> (i32)"},
		{name: "bad limits", wasm: echo, lim: Limits{MemoryLimit: 100}, message: "memory limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := tc.wasm
			if wasm == nil {
				wasm = readWasm(t, tc.name)
			}
			m, err := r.Load(context.Background(), tc.name, wasm, tc.lim)
			if err == nil {
				m.Close(context.Background())
				t.Fatal("loaded")
			}
			var le *LoadError
			if !errors.As(err, &le) || le.Module != tc.name {
				t.Fatalf("got %T %v, want a *LoadError for %s", err, err, tc.name)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("got %v, want errors.Is %v", err, want)
				}
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
	// Nothing of the refused modules stays loaded.
	r.mu.Lock()
	n := len(r.modules)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d modules registered after failed loads", n)
	}
}

// corrupt flips bytes in the middle of a module's code.
func corrupt(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := len(c) / 2; i < len(c)/2+16 && i < len(c); i++ {
		c[i] ^= 0xff
	}
	return c
}

func TestLoadAfterClose(t *testing.T) {
	r, err := NewRuntime(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Load(context.Background(), "echo", readWasm(t, "echo"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(context.Background(), "rpc.echo", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call on a module of a closed runtime: %v, want ErrClosed", err)
	}
	if _, err := r.Load(context.Background(), "echo", readWasm(t, "echo"), Limits{}); !errors.Is(err, ErrClosed) {
		t.Errorf("load on a closed runtime: %v, want ErrClosed", err)
	}
}

func TestCacheDir(t *testing.T) {
	dir := t.TempDir() + "/cache"
	wasm := readWasm(t, "echo")
	for i := range 2 {
		r, _ := newRuntime(t, Config{CacheDir: dir})
		m, err := r.Load(context.Background(), "echo", wasm, Limits{})
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if _, err := m.Call(context.Background(), "rpc.echo", nil, nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var files int
	err := walkFiles(dir, func() { files++ })
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Error("the cache directory holds no compiled module")
	}
}

func walkFiles(dir string, f func()) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := walkFiles(dir+"/"+e.Name(), f); err != nil {
				return err
			}
			continue
		}
		f()
	}
	return nil
}

// TestSameBytesTwice loads one module twice (compiled once, shared by the
// cache) and checks that closing one leaves the other serving.
func TestSameBytesTwice(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	a := load(t, r, "echo", Limits{})
	b := load(t, r, "echo", Limits{})
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(context.Background(), "rpc.echo", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed module: %v, want ErrClosed", err)
	}
	for range 3 {
		if _, err := b.Call(context.Background(), "rpc.echo", nil, nil); err != nil {
			t.Fatalf("the other module: %v", err)
		}
		// A fresh instance of the other module still instantiates.
		in, err := b.newInstance(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		in.close()
	}
}
