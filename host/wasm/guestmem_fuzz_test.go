package wasm

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// Fuzz tests of every decoder of guest memory. `make fuzz` runs each for
// a while; `go test` runs their seeds.

func resultSeeds(f *testing.F) {
	for _, v := range []any{
		abi.Result{Value: []byte{0xf6}},
		abi.Result{Value: mustMarshal(map[string]any{"a": []any{1, "x", 2.5}})},
		abi.Result{Error: &abi.Error{Class: "ValueError", Message: "m", Args: []any{"m"}, Kwargs: map[string]any{"k": 1}}},
		abi.Result{},
		map[string]any{"value": 1, "error": map[string]any{"class": "E", "message": "m"}},
		map[string]any{"error": map[string]any{"message": "no class"}},
		map[string]any{"value": 1, "other": true},
		[]any{1, 2},
		"value",
	} {
		f.Add(mustMarshal(v))
	}
	f.Add([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e'})                   // header, no value
	f.Add([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x01, 0x02})       // trailing byte
	f.Add([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x9f, 0x9f, 0xff}) // unterminated array
	f.Add([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x62, 0xff, 0xfe}) // invalid UTF-8
	f.Add([]byte{0xbf, 0x65, 'v', 'a', 'l', 'u', 'e', 0x01, 0xff})       // indefinite map
	f.Add(bytes.Repeat([]byte{0x81}, 100))                               // nesting past the limit
	f.Add([]byte{})
}

func mustMarshal(v any) []byte {
	b, err := cborcodec.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzDecodeResult(f *testing.F) {
	resultSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var scratch cbor.RawMessage
		value, raised, err := decodeResult(b, &scratch)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadResult) || value != nil || raised != nil {
				t.Fatalf("error %v with value %x, raised %v", err, value, raised)
			}
		case raised != nil:
			if raised.Class == "" || value != nil {
				t.Fatalf("raised %+v with value %x", raised, value)
			}
		default:
			if err := decMode.Wellformed(value); err != nil {
				t.Fatalf("value %x is not well-formed: %v", value, err)
			}
			// The fast path agrees with a full decode.
			var r abi.Result
			if err := decMode.Unmarshal(b, &r); err != nil {
				t.Fatalf("accepted %x that does not decode: %v", b, err)
			}
			want := []byte(r.Value)
			if len(want) == 0 {
				want = cborNull
			}
			if r.Error != nil || !bytes.Equal(value, want) {
				t.Fatalf("value %x, a full decode gives %x (error %v)", value, want, r.Error)
			}
			if len(b) > 0 && &value[0] == &b[0] {
				t.Fatal("the value aliases guest memory")
			}
		}
	})
}

func FuzzDecodeCallRequest(f *testing.F) {
	for _, v := range []any{
		map[string]any{"target": map[string]any{"topic": "t", "version": "1.2", "fanout": true}, "method": "m",
			"args": map[string]any{"a": 1}, "context": map[string]any{"c": "d"}, "timeout_ms": 100},
		map[string]any{"target": map[string]any{"topic": "t"}, "method": "m"},
		map[string]any{"target": map[string]any{"topic": "t", "version": "x"}, "method": "m"},
		map[string]any{"target": map[string]any{"topic": "t"}, "method": "m", "args": []any{}},
		map[string]any{"target": "t", "method": "m"},
		map[string]any{"method": 1},
	} {
		f.Add(mustMarshal(v))
	}
	f.Add([]byte{0xa1, 0x66, 'm', 'e', 't', 'h', 'o', 'd', 0x61, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeCallRequest(b)
		if err != nil {
			if !errors.Is(err, errRequest) || req != nil {
				t.Fatalf("error %v with request %+v", err, req)
			}
			return
		}
		if req.Method == "" || req.Target.Topic == "" || !isMap(req.Args) {
			t.Fatalf("accepted %+v", req)
		}
		if len(req.Context) > 0 && !isMap(req.Context) {
			t.Fatalf("accepted context %x", req.Context)
		}
		again, err := decodeCallRequest(mustMarshal(req))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, req)
		}
	})
}

func FuzzDecodeNotification(f *testing.F) {
	for _, v := range []any{
		map[string]any{"topic": "n", "priority": "info", "publisher_id": "p", "event_type": "e",
			"payload": map[string]any{"x": []any{1}}, "context": map[string]any{}},
		map[string]any{"priority": "sample", "publisher_id": "p", "event_type": "e"},
		map[string]any{"priority": "loud", "publisher_id": "p", "event_type": "e"},
		map[string]any{"priority": "info", "publisher_id": "p", "event_type": "e", "context": 1},
	} {
		f.Add(mustMarshal(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeNotification(b)
		if err != nil {
			if !errors.Is(err, errRequest) || n != nil {
				t.Fatalf("error %v with notification %+v", err, n)
			}
			return
		}
		if !abi.IsPriority(n.Priority) || n.EventType == "" || n.PublisherID == "" || len(n.Payload) == 0 {
			t.Fatalf("accepted %+v", n)
		}
		again, err := decodeNotification(mustMarshal(n))
		if err != nil || !reflect.DeepEqual(again, n) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, n)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	for _, m := range []abi.Manifest{
		{ABIVersion: 1, Module: "m", Endpoints: []abi.Endpoint{{Namespace: "ns", Version: "1.5", Methods: []abi.Method{{Name: "a", Export: "rpc.a"}}}},
			Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}}},
		{ABIVersion: 1, Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{{Name: "a", Export: "wasmrpc.alloc"}}}}},
		{ABIVersion: 1, Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{{Name: "a", Export: "memory"}}}}},
		{ABIVersion: 2, Endpoints: []abi.Endpoint{{Version: "1.0"}}},
		{ABIVersion: 1},
	} {
		f.Add(mustMarshal(m))
	}
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrManifest) || m != nil {
				t.Fatalf("error %v with manifest %+v", err, m)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		for _, e := range m.Exports() {
			if isReserved(e) {
				t.Fatalf("accepted reserved export %q", e)
			}
		}
		again, err := decodeManifest(mustMarshal(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, m)
		}
	})
}

func FuzzGuestSpan(f *testing.F) {
	f.Add(abi.Pack(0, 0), uint64(0), 0)
	f.Add(abi.Pack(65536, 100), uint64(65636), 100)
	f.Add(abi.Pack(0xffffffff, 0xffffffff), uint64(1<<32), abi.DefaultMaxResultSize)
	f.Add(abi.Pack(10, 20), uint64(29), 4096)
	f.Fuzz(func(t *testing.T, packed, memSize uint64, max int) {
		ptr, n, err := guestSpan(packed, memSize, max)
		inside := uint64(ptr)+uint64(n) <= memSize
		underCap := max >= 0 && uint64(n) <= uint64(max)
		switch {
		case err == nil && !(inside && underCap):
			t.Fatalf("accepted %d bytes at 0x%x, memory %d, cap %d", n, ptr, memSize, max)
		case err != nil && inside && underCap:
			t.Fatalf("refused %d bytes at 0x%x, memory %d, cap %d: %v", n, ptr, memSize, max, err)
		case err != nil && !errors.Is(err, ErrBadPointer) && !errors.Is(err, ErrResultTooLarge):
			t.Fatalf("unnamed error %v", err)
		}
	})
}

// FuzzLineWriter fuzzes what a guest writes to stdout or stderr.
func FuzzLineWriter(f *testing.F) {
	f.Add([]byte("hello\nworld"), uint16(3))
	f.Add([]byte("\xff\xfe\n\r\n"), uint16(1))
	f.Add(bytes.Repeat([]byte("é"), 40), uint16(20))
	f.Add([]byte(strings.Repeat("x", 70)+"\n"+strings.Repeat("y", 130)), uint16(65))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		rec := &logRecorder{}
		w := newLineWriter(writerModule(slog.New(rec), nil), slog.LevelInfo, budget.StreamStdout)
		w.max = 64 // small, for the fuzzer to cross it often
		w.mark()
		cut := int(split) % (len(data) + 1)
		w.Write(data[:cut])
		w.Write(data[cut:])
		first := w.firstLine()
		w.flush()
		var lines []string
		for _, r := range rec.records {
			if !utf8.ValidString(r.Msg) || strings.Contains(r.Msg, "\n") {
				t.Fatalf("logged %q", r.Msg)
			}
			lines = append(lines, r.Msg)
		}
		if !utf8.ValidString(first) {
			t.Fatalf("first line %q", first)
		}
		// Printable ASCII comes out as it went in, split into lines.
		ascii := true
		for _, c := range data {
			if (c < 0x20 || c > 0x7e) && c != '\n' {
				ascii = false
			}
		}
		if ascii {
			got := strings.Join(lines, "")
			want := strings.ReplaceAll(string(data), "\n", "")
			if got != want {
				t.Fatalf("logged %q, want %q", got, want)
			}
		}
	})
}

// FuzzGuestResult runs arbitrary bytes through a real guest that returns
// them as its Result: the host answers a value, an exception or
// ErrBadResult, and the module keeps serving.
func FuzzGuestResult(f *testing.F) {
	resultSeeds(f)
	r, err := NewRuntime(context.Background(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close(context.Background()) })
	m, err := r.Load(context.Background(), "misbehave", readWasm(f, "misbehave"), Limits{MaxInstances: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		value, err := m.Call(context.Background(), "rpc.raw", nil, b)
		var raised *abi.Error
		switch {
		case errors.As(err, &raised):
		case errors.Is(err, ErrBadResult):
			if len(b) == 0 {
				t.Fatal("empty arguments are sent as {}, a valid Result")
			}
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			if err := decMode.Wellformed(value); err != nil {
				t.Fatalf("value %x: %v", value, err)
			}
		}
	})
}

// FuzzLoad loads mutated modules: whatever the bytes, Load answers a
// module or a *LoadError, and never panics or hangs.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"echo", "misbehave", "abi_v2", "bad_import", "init_trap", "garbage_manifest"} {
		f.Add(readWasm(f, name))
	}
	r, err := NewRuntime(context.Background(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close(context.Background()) })
	lim := Limits{MemoryLimit: 16 << 20, CallTimeout: 100 * time.Millisecond, MaxInstances: 1}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := r.Load(context.Background(), "fuzz", b, lim)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("got %T %v, want a *LoadError", err, err)
			}
			return
		}
		if err := m.Manifest().Validate(); err != nil {
			t.Fatalf("loaded a module with an invalid manifest: %v", err)
		}
		m.Close(context.Background())
	})
}
