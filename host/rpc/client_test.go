package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// memBroker is an in-memory broker and a client transport on it, as a
// server process and a client process would each connect to RabbitMQ.
type memBroker struct {
	server *transport.Memory
	client *transport.Memory
}

func newMemBroker(t *testing.T) *memBroker {
	t.Helper()
	server, err := transport.NewMemory(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := server.Connect(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return &memBroker{server: server, client: client}
}

// serve starts a real Server on target (Topic and Server) with endpoints.
func (b *memBroker) serve(t *testing.T, target transport.Target, opts ServerOptions, endpoints ...Endpoint) *Server {
	t.Helper()
	d, err := NewDispatcher(endpoints...)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(b.server, target, d, opts)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// newClient returns a client on b's client transport, closed at the end.
func (b *memBroker) newClient(t *testing.T, target Target, opts ...Option) *Client {
	t.Helper()
	c := NewClient(b.client, target, opts...)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// recorder is an endpoint that records what it was asked and answers as
// testkit does: echo(value), add(a, b), fail(kind, message),
// context(key), spin(ms) (sleeping), and block (until release is
// closed), whoami(), deadline() (whether the request had one).
type recorder struct {
	name    string
	calls   atomic.Int64
	release chan struct{}
	seen    chan *Request // every request, when not nil
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, release: make(chan struct{})}
}

func (r *recorder) endpoint(namespace, version string) Endpoint {
	return Endpoint{
		Namespace: namespace,
		Version:   version,
		Methods:   []string{"echo", "add", "fail", "context", "spin", "block", "whoami", "deadline"},
		Handler:   r,
	}
}

func (r *recorder) ServeRPC(ctx context.Context, req *Request) ([]byte, error) {
	r.calls.Add(1)
	if r.seen != nil {
		r.seen <- req
	}
	var args map[string]any
	if err := cborcodec.Unmarshal(req.Args, &args); err != nil {
		return nil, err
	}
	switch req.Method {
	case "echo":
		return cborcodec.Marshal(args["value"])
	case "add":
		switch a := args["a"].(type) {
		case int64:
			if b, ok := args["b"].(int64); ok {
				return cborcodec.Marshal(a + b)
			}
		case string:
			if b, ok := args["b"].(string); ok {
				return cborcodec.Marshal(a + b)
			}
		}
		return nil, &abi.Error{Class: "TypeError", Message: "unsupported operand types for +"}
	case "spin":
		ms, _ := args["ms"].(int64)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return cborcodec.Marshal(ms)
	case "fail":
		return nil, &abi.Error{
			Class: fmt.Sprint(args["kind"]), Message: fmt.Sprint(args["message"]),
			Args: []any{args["message"], int64(7)}, Kwargs: map[string]any{"code": int64(7)},
		}
	case "context":
		var rc map[string]any
		if err := cborcodec.Unmarshal(req.Context, &rc); err != nil {
			return nil, err
		}
		return cborcodec.Marshal(rc[fmt.Sprint(args["key"])])
	case "block":
		// Deaf to the deadline, as a Python method is: the caller's
		// timeout, not the server's, ends the call.
		<-r.release
		return cborcodec.Marshal("released")
	case "whoami":
		return cborcodec.Marshal(r.name)
	case "deadline":
		return cborcodec.Marshal(!req.Deadline.IsZero())
	}
	return nil, &NoSuchMethodError{Method: req.Method}
}

// decodeResult decodes a call's result into a Go value.
func decodeResult(t *testing.T, r Result) any {
	t.Helper()
	var v any
	if err := r.Decode(&v); err != nil {
		t.Fatalf("Decode(%x): %v", []byte(r), err)
	}
	return v
}

func TestClientCall(t *testing.T) {
	b := newMemBroker(t)
	rec := newRecorder("host-a")
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{},
		rec.endpoint("", "1.5"), newRecorder("admin").endpoint("admin", "2.0"))
	c := b.newClient(t, Target{Topic: "testkit"}, WithTimeout(10*time.Second))

	for _, tc := range []struct {
		name   string
		client *Client
		ctx    context.Context
		method string
		args   any
		want   any
		// Of the remote error, when one is wanted.
		class, module, message string
	}{
		{name: "string", client: c, method: "echo", args: map[string]any{"value": "héllo"}, want: "héllo"},
		{name: "nested", client: c, method: "echo", args: map[string]any{"value": map[string]any{"a": []any{int64(1), 2.5, nil, true}}},
			want: map[string]any{"a": []any{int64(1), 2.5, nil, true}}},
		{name: "null", client: c, method: "echo", args: map[string]any{"value": nil}, want: nil},
		{name: "raw CBOR args", client: c, method: "echo", args: cbor.RawMessage{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x18, 42}, want: int64(42)},
		{name: "struct args", client: c, method: "echo", args: struct {
			Value string `cbor:"value"`
		}{"tagged"}, want: "tagged"},
		{name: "to a server", client: c.Prepare(WithServer("host-a")), method: "whoami", want: "host-a"},
		{name: "version within", client: c.Prepare(WithVersion("1.3")), method: "whoami", want: "host-a"},
		{name: "namespace", client: c.Prepare(WithNamespace("admin"), WithVersion("2.0")), method: "whoami", want: "admin"},
		{name: "request context", client: c, ctx: WithRequestContext(context.Background(), map[string]any{"user": "alice", "roles": []any{"admin"}}),
			method: "context", args: map[string]any{"key": "user"}, want: "alice"},
		{name: "expiration sets the server's deadline", client: c, method: "deadline", want: true},
		{name: "remote builtin", client: c, method: "fail", args: map[string]any{"kind": "ValueError", "message": "bad"},
			class: "ValueError", module: "builtins", message: "bad"},
		{name: "remote custom", client: c, method: "fail", args: map[string]any{"kind": "VolumeNotFound", "message": "vol-1"},
			class: "VolumeNotFound", module: "", message: "vol-1"},
		{name: "no such method", client: c, method: "nope", class: "NoSuchMethod", module: oslo.ModuleDispatcher,
			message: "Endpoint does not support RPC method nope"},
		{name: "private method", client: c, method: "_private", class: "NoSuchMethod", module: oslo.ModuleDispatcher,
			message: "Endpoint does not support RPC method _private"},
		{name: "unsupported version", client: c.Prepare(WithVersion("1.6")), method: "echo", class: "UnsupportedVersion",
			module: oslo.ModuleDispatcher, message: "Endpoint does not support RPC version 1.6. Attempted method: echo"},
		{name: "unknown namespace", client: c.Prepare(WithNamespace("nope")), method: "echo", class: "UnsupportedVersion",
			module: oslo.ModuleDispatcher, message: "Endpoint does not support RPC version 1.0. Attempted method: echo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := tc.client.Call(ctx, tc.method, tc.args)
			if tc.class != "" {
				var re *RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("Call = %v, %v; want a remote %s", res, err, tc.class)
				}
				if re.Class != tc.class || re.Module != tc.module || re.Message != tc.message {
					t.Fatalf("remote error %+v, want %s.%s: %s", re, tc.module, tc.class, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			got := decodeResult(t, res)
			gotCBOR, _ := cborcodec.Marshal(got)
			wantCBOR, _ := cborcodec.Marshal(tc.want)
			if string(gotCBOR) != string(wantCBOR) {
				t.Fatalf("result %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestClientRemoteErrorFields(t *testing.T) {
	b := newMemBroker(t)
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{}, newRecorder("a").endpoint("", "1.5"))
	c := b.newClient(t, Target{Topic: "testkit"})
	_, err := c.Call(context.Background(), "fail", map[string]any{"kind": "KeyError", "message": "k1"})
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("Call = %v, want a *RemoteError", err)
	}
	want := &RemoteError{Class: "KeyError", Module: "builtins", Message: "k1",
		Args: []any{"k1", int64(7)}, Kwargs: map[string]any{"code": int64(7)}}
	if fmt.Sprint(re.Args) != fmt.Sprint(want.Args) || fmt.Sprint(re.Kwargs) != fmt.Sprint(want.Kwargs) ||
		re.Class != want.Class || re.Module != want.Module || re.Message != want.Message {
		t.Fatalf("remote error %#v, want %#v", re, want)
	}
	if len(re.Traceback) == 0 || re.TracebackText() == "" {
		t.Fatalf("remote error without a traceback: %#v", re)
	}
	if got, want := err.Error(), "remote error: KeyError: k1"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if f := re.Failure(); f.Class != "KeyError" || f.Module != "builtins" {
		t.Fatalf("Failure() = %+v", f)
	}
}

func TestClientCastAndFanout(t *testing.T) {
	b := newMemBroker(t)
	a, bb := newRecorder("host-a"), newRecorder("host-b")
	// One executor each: a call after casts on the same queue answers
	// after the casts ran.
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{Executors: 1}, a.endpoint("", "1.5"))
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-b"}, ServerOptions{Executors: 1}, bb.endpoint("", "1.5"))
	c := b.newClient(t, Target{Topic: "testkit"})
	ctx := context.Background()

	type counts struct{ a, b int64 }
	for _, tc := range []struct {
		name string
		cast *Client
		want counts // calls of each server from the cast
	}{
		{"to host-b", c.Prepare(WithServer("host-b")), counts{0, 1}},
		{"to host-a", c.Prepare(WithServer("host-a")), counts{1, 0}},
		{"fanout", c.Prepare(WithFanout(true)), counts{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			beforeA, beforeB := a.calls.Load(), bb.calls.Load()
			if err := tc.cast.Cast(ctx, "echo", map[string]any{"value": 1}); err != nil {
				t.Fatalf("Cast: %v", err)
			}
			// Wait until each server has run what it was sent...
			deadline := time.Now().Add(10 * time.Second)
			for a.calls.Load()-beforeA < tc.want.a || bb.calls.Load()-beforeB < tc.want.b {
				if time.Now().After(deadline) {
					t.Fatalf("casts handled: a %d, b %d; want %+v", a.calls.Load()-beforeA, bb.calls.Load()-beforeB, tc.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// ...then call both servers through their own queues: had the
			// cast gone to a server's queue it should not reach, that
			// server (one executor) would have run it before this call.
			for _, srv := range []string{"host-a", "host-b"} {
				if _, err := c.Prepare(WithServer(srv)).Call(ctx, "whoami", nil); err != nil {
					t.Fatal(err)
				}
			}
			got := counts{a.calls.Load() - beforeA - 1, bb.calls.Load() - beforeB - 1}
			if got != tc.want {
				t.Fatalf("cast handled %+v times, want %+v", got, tc.want)
			}
		})
	}
	if _, err := c.Prepare(WithFanout(true)).Call(ctx, "echo", nil); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("fanout call = %v, want ErrInvalidTarget", err)
	}
}

func TestClientVersionCap(t *testing.T) {
	b := newMemBroker(t)
	rec := newRecorder("a")
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{}, rec.endpoint("", "1.9"))
	base := b.newClient(t, Target{Topic: "testkit"})
	for _, tc := range []struct {
		cap, version string
		ok           bool
	}{
		{"", "", true},
		{"", "1.7", true},
		{"1.5", "1.4", true},
		{"1.5", "1.5", true},
		{"1.5.2", "1.5.1", true},
		{"1.5", "1.5.1", false},
		{"1.5", "1.6", false},
		{"1.5", "2.0", false},
		{"1.5", "0.9", false},
		{"1.5", "", false}, // a cap refuses requests without a version, as oslo does
	} {
		t.Run(tc.cap+"/"+tc.version, func(t *testing.T) {
			c := base.Prepare(WithVersionCap(tc.cap), WithVersion(tc.version))
			if got := c.CanSendVersion(tc.version); got != tc.ok {
				t.Fatalf("CanSendVersion(%q) with cap %q = %v, want %v", tc.version, tc.cap, got, tc.ok)
			}
			before := rec.calls.Load()
			_, callErr := c.Call(context.Background(), "echo", nil)
			castErr := c.Cast(context.Background(), "echo", nil)
			for _, err := range []error{callErr, castErr} {
				var vc *VersionCapError
				if tc.ok {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					continue
				}
				if !errors.As(err, &vc) || vc.Version != tc.version || vc.VersionCap != tc.cap {
					t.Fatalf("error %v, want a *VersionCapError for %q under %q", err, tc.version, tc.cap)
				}
			}
			if tc.ok {
				// Wait for the cast too, so that it is not counted against
				// the next case.
				for deadline := time.Now().Add(30 * time.Second); rec.calls.Load() < before+2; {
					if time.Now().After(deadline) {
						t.Fatalf("the server got %d of the call and the cast", rec.calls.Load()-before)
					}
					time.Sleep(time.Millisecond)
				}
			}
			if !tc.ok && rec.calls.Load() != before {
				t.Fatal("a refused request reached the server")
			}
		})
	}
}

func TestClientBadOptions(t *testing.T) {
	b := newMemBroker(t)
	c := b.newClient(t, Target{Topic: "testkit"})
	for _, tc := range []struct {
		name   string
		client *Client
		method string
		want   error
	}{
		{"version without minor", c.Prepare(WithVersion("2")), "echo", nil},
		{"version not numbers", c.Prepare(WithVersion("a.b")), "echo", nil},
		{"bad cap", c.Prepare(WithVersionCap("x")), "echo", nil},
		{"no topic", c.Prepare(WithTopic("")), "echo", ErrInvalidTarget},
		{"no method", c, "", ErrInvalidTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, callErr := tc.client.Call(context.Background(), tc.method, nil)
			castErr := tc.client.Cast(context.Background(), tc.method, nil)
			for _, err := range []error{callErr, castErr} {
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
			}
		})
	}
	if _, err := c.Call(context.Background(), "echo", []any{1}); err == nil {
		t.Fatal("arguments that are not a map were sent")
	}
	ctx := WithRequestContext(context.Background(), "not a map")
	if err := c.Cast(ctx, "echo", nil); err == nil {
		t.Fatal("a request context that is not a map was sent")
	}
}

func TestClientTimeouts(t *testing.T) {
	b := newMemBroker(t)
	rec := newRecorder("a")
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{}, rec.endpoint("", "1.5"))
	c := b.newClient(t, Target{Topic: "testkit"})
	defer close(rec.release) // before the server's shutdown waits for the calls

	for _, tc := range []struct {
		name              string
		client            *Client
		ctx               func() (context.Context, context.CancelFunc)
		timeout, deadline bool // errors.Is ErrTimeout, context.DeadlineExceeded
		cancelled         bool // errors.Is context.Canceled
	}{
		{"timeout option", c.Prepare(WithTimeout(100 * time.Millisecond)), func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, true, false, false},
		{"context deadline", c, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, true, true, false},
		{"cancelled", c, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := tc.client.Call(ctx, "block", nil)
			if err == nil {
				t.Fatal("a blocked call returned")
			}
			if errors.Is(err, ErrTimeout) != tc.timeout || errors.Is(err, context.DeadlineExceeded) != tc.deadline ||
				errors.Is(err, context.Canceled) != tc.cancelled {
				t.Fatalf("error %q: ErrTimeout %v, DeadlineExceeded %v, Canceled %v; want %v, %v, %v", err,
					errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
					tc.timeout, tc.deadline, tc.cancelled)
			}
		})
	}
}

// rawServer consumes an RPC target on the in-memory broker and answers
// each call with the reply bodies reply returns, as a server speaking the
// wire format directly would.
func rawServer(t *testing.T, b *memBroker, target transport.Target, reply func(req *oslo.Request) [][]byte) {
	t.Helper()
	l, err := b.server.ListenRPC(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			d, err := l.Next(ctx)
			if err != nil {
				return
			}
			d.Ack()
			req, err := oslo.DecodeRequest(d.Body)
			if err != nil || !req.IsCall() {
				continue
			}
			for _, body := range reply(&req) {
				if err := b.server.Reply(ctx, req.ReplyQ, body); err != nil {
					t.Errorf("reply: %v", err)
				}
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		l.Close()
	})
}

func encodeReply(t *testing.T, r *oslo.Reply) []byte {
	t.Helper()
	body, err := oslo.EncodeReply(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestClientReplySequences(t *testing.T) {
	b := newMemBroker(t)
	str := func(s string) []byte { c, _ := cborcodec.Marshal(s); return c }
	failure := oslo.NewFailure("ValueError", "early failure")
	sequences := map[string]func(id string) []*oslo.Reply{
		"heartbeats then result": func(id string) []*oslo.Reply {
			return []*oslo.Reply{oslo.HeartbeatReply(id, oslo.NewID()), oslo.HeartbeatReply(id, oslo.NewID()), oslo.ResultReply(id, oslo.NewID(), str("final"))}
		},
		// Servers before oslo.messaging 5 sent the result, then an ending
		// reply without one.
		"result then bare ending": func(id string) []*oslo.Reply {
			return []*oslo.Reply{{MsgID: id, UniqueID: oslo.NewID(), Result: str("early")}, oslo.ResultReply(id, oslo.NewID(), nil)}
		},
		"early result replaced": func(id string) []*oslo.Reply {
			return []*oslo.Reply{{MsgID: id, UniqueID: oslo.NewID(), Result: str("early")}, oslo.ResultReply(id, oslo.NewID(), str("final"))}
		},
		"failure then bare ending": func(id string) []*oslo.Reply {
			return []*oslo.Reply{{MsgID: id, UniqueID: oslo.NewID(), Failure: failure}, oslo.ResultReply(id, oslo.NewID(), nil)}
		},
		"another call's reply first": func(id string) []*oslo.Reply {
			return []*oslo.Reply{oslo.ResultReply(oslo.NewID(), oslo.NewID(), str("not mine")), oslo.ResultReply(id, oslo.NewID(), str("final"))}
		},
	}
	rawServer(t, b, transport.Target{Topic: "raw", Server: "r"}, func(req *oslo.Request) [][]byte {
		if req.Method == "garbled" {
			return [][]byte{[]byte(`{"oslo.version": "2.0", "oslo.message": "{\"_msg_id\": \"` + req.MsgID + `\", \"ending\": 3}"}`)}
		}
		var out [][]byte
		for _, r := range sequences[req.Method](req.MsgID) {
			out = append(out, encodeReply(t, r))
		}
		return out
	})
	c := b.newClient(t, Target{Topic: "raw"}, WithTimeout(10*time.Second))
	for _, tc := range []struct {
		method string
		want   string // the result, or the remote error's message
		remote bool
	}{
		{"heartbeats then result", "final", false},
		{"result then bare ending", "early", false},
		{"early result replaced", "final", false},
		{"failure then bare ending", "early failure", true},
		{"another call's reply first", "final", false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			res, err := c.Call(context.Background(), tc.method, nil)
			if tc.remote {
				var re *RemoteError
				if !errors.As(err, &re) || re.Message != tc.want {
					t.Fatalf("Call = %v, want remote error %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeResult(t, res); got != tc.want {
				t.Fatalf("result %v, want %q", got, tc.want)
			}
		})
	}
	t.Run("unreadable reply", func(t *testing.T) {
		_, err := c.Call(context.Background(), "garbled", nil)
		if err == nil || errors.Is(err, ErrTimeout) || !errors.Is(err, oslo.ErrMessage) {
			t.Fatalf("Call = %v, want an unreadable reply error", err)
		}
	})
}

func TestClientCallMonitor(t *testing.T) {
	b := newMemBroker(t)

	t.Run("silent server", func(t *testing.T) {
		// A server that never replies: the call monitor, not the minute
		// of timeout, ends the call.
		rawServer(t, b, transport.Target{Topic: "silent", Server: "s"}, func(*oslo.Request) [][]byte { return nil })
		c := b.newClient(t, Target{Topic: "silent"}, WithTimeout(time.Minute), WithCallMonitorTimeout(300*time.Millisecond))
		_, err := c.Call(context.Background(), "anything", nil)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Call = %v, want ErrTimeout", err)
		}
		if want := "call monitor"; !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name the %s", err, want)
		}
	})

	t.Run("heartbeats keep a long call alive", func(t *testing.T) {
		// The server heartbeats every second for a call monitor timeout of
		// 2 s; the method runs 5 s, beyond the monitor timeout.
		rec := newRecorder("a")
		seen := make(chan *Request, 1)
		rec.seen = seen
		b.serve(t, transport.Target{Topic: "slow", Server: "host-a"}, ServerOptions{}, rec.endpoint("", "1.5"))
		c := b.newClient(t, Target{Topic: "slow"}, WithTimeout(time.Minute), WithCallMonitorTimeout(2*time.Second))
		go func() {
			<-seen
			time.Sleep(5 * time.Second)
			close(rec.release)
		}()
		res, err := c.Call(context.Background(), "block", nil)
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		if got := decodeResult(t, res); got != "released" {
			t.Fatalf("result %v", got)
		}
	})
}

func TestClientConcurrentCalls(t *testing.T) {
	b := newMemBroker(t)
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{}, newRecorder("a").endpoint("", "1.5"))
	c := b.newClient(t, Target{Topic: "testkit"}, WithTimeout(time.Minute))
	callers, calls := 32, 50
	if testing.Short() {
		calls = 10
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for g := range callers {
		wg.Go(func() {
			for i := range calls {
				want := fmt.Sprintf("caller %d call %d", g, i)
				res, err := c.Call(context.Background(), "echo", map[string]any{"value": want})
				if err != nil {
					errs <- err
					return
				}
				var got string
				if err := res.Decode(&got); err != nil || got != want {
					errs <- fmt.Errorf("got %q (%v), want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if q := c.ReplyQueue(); q == "" {
		t.Fatal("no reply queue after calls")
	}
	c.replies.mu.Lock()
	left := len(c.replies.waiters)
	c.replies.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d waiters left after the calls", left)
	}
}

func TestClientClose(t *testing.T) {
	b := newMemBroker(t)
	rec := newRecorder("a")
	seen := make(chan *Request, 1)
	rec.seen = seen
	b.serve(t, transport.Target{Topic: "testkit", Server: "host-a"}, ServerOptions{}, rec.endpoint("", "1.5"))
	defer close(rec.release)
	c := NewClient(b.client, Target{Topic: "testkit"}, WithTimeout(time.Minute))
	prepared := c.Prepare(WithServer("host-a"))

	done := make(chan error, 1)
	go func() {
		_, err := prepared.Call(context.Background(), "block", nil)
		done <- err
	}()
	<-seen
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrClientClosed) {
		t.Fatalf("waiting call = %v, want ErrClientClosed", err)
	}
	if _, err := prepared.Call(context.Background(), "echo", nil); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("call after Close = %v", err)
	}
	if err := c.Cast(context.Background(), "echo", nil); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("cast after Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A client closed before any call never declared a queue.
	if err := NewClient(b.client, Target{Topic: "testkit"}).Close(); err != nil {
		t.Fatal(err)
	}
}

func TestClientSendErrors(t *testing.T) {
	b := newMemBroker(t)
	c := b.newClient(t, Target{Topic: "testkit"}, WithRetry(0))
	// An exchange declared with other properties: the broker refuses
	// every publish to it, and a retry would not help.
	if _, err := b.server.ListenRPC(context.Background(), transport.Target{Topic: "testkit", Server: "s"}); err != nil {
		t.Fatal(err)
	}
	other, err := b.server.Connect(transport.Options{DurableQueues: true})
	if err != nil {
		t.Fatal(err)
	}
	oc := NewClient(other, Target{Topic: "testkit"}, WithRetry(3))
	defer oc.Close()
	err = oc.Cast(context.Background(), "echo", nil)
	if !errors.Is(err, transport.ErrPreconditionFailed) || errors.Is(err, ErrDeliveryFailure) {
		t.Fatalf("cast to a clashing exchange = %v", err)
	}
	// The transport closed: no retry either.
	b.client.Close()
	if err := c.Cast(context.Background(), "echo", nil); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("cast on a closed transport = %v", err)
	}
	if _, err := c.Call(context.Background(), "echo", nil); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("call on a closed transport = %v", err)
	}
}

func TestTargetString(t *testing.T) {
	for _, tc := range []struct {
		target Target
		want   string
	}{
		{Target{Topic: "t"}, "<Target topic=t>"},
		{Target{Exchange: "e", Topic: "t", Namespace: "n", Version: "1.2", Server: "s"}, "<Target exchange=e topic=t namespace=n version=1.2 server=s>"},
		{Target{Topic: "t", Fanout: true}, "<Target topic=t fanout=True>"},
	} {
		if got := tc.target.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.target, got, tc.want)
		}
	}
}
