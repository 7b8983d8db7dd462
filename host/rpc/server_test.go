package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// rig is a server on an in-memory broker and a raw caller of it that
// speaks the wire format directly, as a Python client would.
type rig struct {
	t       *testing.T
	server  *Server
	caller  transport.Transport
	replies transport.Listener
	replyQ  string
	target  transport.Target
}

func newRig(t *testing.T, opts ServerOptions, endpoints ...Endpoint) *rig {
	t.Helper()
	ctx := context.Background()
	broker, err := transport.NewMemory(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := broker.Connect(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(endpoints...)
	if err != nil {
		t.Fatal(err)
	}
	target := transport.Target{Topic: "testkit", Server: "host-a"}
	s := NewServer(broker, target, d, opts)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	replyQ := transport.NewReplyQueueName()
	replies, err := caller.ListenReplies(ctx, replyQ)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, server: s, caller: caller, replies: replies, replyQ: replyQ, target: target}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		replies.Close()
		caller.Close()
		broker.Close()
	})
	return r
}

// send publishes a request; a call when msgID is set.
func (r *rig) send(req *oslo.Request, target transport.Target) {
	r.t.Helper()
	if req.UniqueID == "" {
		req.UniqueID = oslo.NewID()
	}
	if req.MsgID != "" {
		req.ReplyQ = r.replyQ
	}
	body, err := oslo.EncodeRequest(nil, req)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.caller.Send(context.Background(), target, body, transport.SendOptions{}); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the next reply, failing the test after a generous wait.
func (r *rig) next() oslo.Reply {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := r.replies.Next(ctx)
	if err != nil {
		r.t.Fatalf("no reply: %v", err)
	}
	d.Ack()
	rep, err := oslo.DecodeReply(d.Body)
	if err != nil {
		r.t.Fatalf("DecodeReply: %v", err)
	}
	return rep
}

// call sends a call and returns its final reply.
func (r *rig) call(method string, args any) oslo.Reply {
	r.t.Helper()
	id := oslo.NewMessageID()
	r.send(&oslo.Request{Method: method, Args: mustCBOR(r.t, args), MsgID: id}, r.target)
	rep := r.next()
	if rep.MsgID != id {
		r.t.Fatalf("reply for %s, want %s", rep.MsgID, id)
	}
	return rep
}

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	if v == nil {
		return nil
	}
	b, err := cborcodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoEndpoint echoes its "value" argument, fails on "fail".
func echoEndpoint() Endpoint {
	return Endpoint{Version: "1.5", Methods: []string{"echo", "fail"}, Handler: HandlerFunc(
		func(ctx context.Context, req *Request) ([]byte, error) {
			var args map[string]any
			if err := cborcodec.Unmarshal(req.Args, &args); err != nil {
				return nil, err
			}
			if req.Method == "fail" {
				return nil, &abi.Error{Class: "ValueError", Message: "asked to fail"}
			}
			return cborcodec.Marshal(args["value"])
		})}
}

func TestServerCall(t *testing.T) {
	r := newRig(t, ServerOptions{}, echoEndpoint())
	for _, tc := range []struct {
		name      string
		method    string
		args      any
		want      any
		wantClass string
	}{
		{"string", "echo", map[string]any{"value": "héllo"}, "héllo", ""},
		{"nested", "echo", map[string]any{"value": map[string]any{"a": []any{int64(1), 2.5, nil}}}, map[string]any{"a": []any{int64(1), 2.5, nil}}, ""},
		{"guest exception", "fail", map[string]any{}, nil, "ValueError"},
		{"no such method", "nope", map[string]any{}, nil, "NoSuchMethod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := r.call(tc.method, tc.args)
			if !rep.Ending {
				t.Fatal("final reply without ending")
			}
			if tc.wantClass != "" {
				if rep.Failure == nil || rep.Failure.Class != tc.wantClass {
					t.Fatalf("failure = %+v, want class %s", rep.Failure, tc.wantClass)
				}
				return
			}
			if rep.Failure != nil {
				t.Fatalf("unexpected failure %v", rep.Failure)
			}
			var got any
			if err := cborcodec.Unmarshal(rep.Result, &got); err != nil {
				t.Fatal(err)
			}
			want, _ := cborcodec.Marshal(tc.want)
			gotBytes, _ := cborcodec.Marshal(got)
			if string(want) != string(gotBytes) {
				t.Fatalf("result = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestServerTargets(t *testing.T) {
	r := newRig(t, ServerOptions{}, echoEndpoint())
	for _, target := range []transport.Target{
		{Topic: "testkit"},
		{Topic: "testkit", Server: "host-a"},
		{Topic: "testkit", Fanout: true},
	} {
		r.send(&oslo.Request{Method: "echo", Args: mustCBOR(t, map[string]any{"value": "x"}), MsgID: oslo.NewMessageID()}, target)
		if rep := r.next(); rep.Failure != nil {
			t.Fatalf("target %+v: %v", target, rep.Failure)
		}
	}
}

func TestServerCastAndDuplicates(t *testing.T) {
	var calls atomic.Int32
	ep := Endpoint{Methods: []string{"count"}, Handler: HandlerFunc(func(context.Context, *Request) ([]byte, error) {
		calls.Add(1)
		return nil, nil
	})}
	r := newRig(t, ServerOptions{Executors: 1}, ep)
	r.send(&oslo.Request{Method: "count", UniqueID: "u1"}, r.target)
	r.send(&oslo.Request{Method: "count", UniqueID: "u1"}, r.target) // redelivered copy
	r.send(&oslo.Request{Method: "count", UniqueID: "u2"}, r.target)
	// A call after the casts: with one executor its reply means the casts ran.
	if rep := r.call("count", nil); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("handler ran %d times, want 3 (two casts, one call; the duplicate dropped)", got)
	}
}

func TestServerHeartbeats(t *testing.T) {
	release := make(chan struct{})
	ep := Endpoint{Methods: []string{"slow"}, Handler: HandlerFunc(func(ctx context.Context, _ *Request) ([]byte, error) {
		<-release
		return cborcodec.Marshal("done")
	})}
	r := newRig(t, ServerOptions{}, ep)
	r.send(&oslo.Request{Method: "slow", MsgID: oslo.NewMessageID(), CallMonitorTimeout: 2 * time.Second}, r.target)
	for i := 0; i < 2; i++ {
		if rep := r.next(); !rep.IsHeartbeat() {
			t.Fatalf("reply %d is not a heartbeat: %+v", i, rep)
		}
	}
	close(release)
	for {
		rep := r.next()
		if rep.IsHeartbeat() {
			continue
		}
		if !rep.Ending || rep.Failure != nil {
			t.Fatalf("final reply %+v", rep)
		}
		return
	}
}

func TestServerMalformed(t *testing.T) {
	r := newRig(t, ServerOptions{}, echoEndpoint())
	msgID := oslo.NewMessageID()
	for _, body := range []string{
		`not json`,
		`{"oslo.version": "9.9", "oslo.message": "{}"}`,
		`{"oslo.version": "2.0", "oslo.message": "{\"args\": {}, \"_msg_id\": \"` + msgID + `\", \"_reply_q\": \"` + r.replyQ + `\"}"}`,
	} {
		if err := r.caller.Send(context.Background(), r.target, []byte(body), transport.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep := r.next() // only the last names a reply queue
	if rep.MsgID != msgID || rep.Failure == nil || rep.Failure.Class != "ValueError" {
		t.Fatalf("reply to a request without method: %+v", rep)
	}
	// The server goes on serving.
	if rep := r.call("echo", map[string]any{"value": 1}); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
}

func TestServerReplyToGoneQueue(t *testing.T) {
	r := newRig(t, ServerOptions{ReplyRetryTimeout: 300 * time.Millisecond}, echoEndpoint())
	gone := &oslo.Request{Method: "echo", MsgID: oslo.NewMessageID(), ReplyQ: "reply_gone" + oslo.NewID(), UniqueID: oslo.NewID()}
	body, _ := oslo.EncodeRequest(nil, gone)
	if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// The server retries, gives up, and goes on serving.
	if rep := r.call("echo", map[string]any{"value": 1}); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !r.server.gone.isGone(gone.ReplyQ, time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("the missing reply queue was never given up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerShutdownWaitsForCalls(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	ep := Endpoint{Methods: []string{"slow"}, Handler: HandlerFunc(func(context.Context, *Request) ([]byte, error) {
		close(started)
		<-release
		return cborcodec.Marshal("finished")
	})}
	r := newRig(t, ServerOptions{}, ep)
	r.send(&oslo.Request{Method: "slow", MsgID: oslo.NewMessageID()}, r.target)
	<-started
	var wg sync.WaitGroup
	wg.Add(1)
	var shutdownErr error
	go func() {
		defer wg.Done()
		shutdownErr = r.server.Shutdown(context.Background())
	}()
	close(release)
	rep := r.next()
	wg.Wait()
	if shutdownErr != nil {
		t.Fatal(shutdownErr)
	}
	var got string
	if err := cborcodec.Unmarshal(rep.Result, &got); err != nil || got != "finished" {
		t.Fatalf("in-flight call answered %q, %v", got, err)
	}
	if r.server.Running() {
		t.Fatal("server still running after Shutdown")
	}
	if err := r.server.Start(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Start after Shutdown = %v", err)
	}
}

func TestServerShutdownDeadlineCancelsCalls(t *testing.T) {
	started := make(chan struct{})
	ep := Endpoint{Methods: []string{"stuck"}, Handler: HandlerFunc(func(ctx context.Context, _ *Request) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})}
	r := newRig(t, ServerOptions{}, ep)
	r.send(&oslo.Request{Method: "stuck", MsgID: oslo.NewMessageID()}, r.target)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.server.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if rep := r.next(); rep.Failure == nil {
		t.Fatalf("cancelled call replied %+v", rep)
	}
}

func TestServerDeadlineFromExpiration(t *testing.T) {
	deadlines := make(chan time.Time, 2)
	ep := Endpoint{Methods: []string{"when"}, Handler: HandlerFunc(func(ctx context.Context, req *Request) ([]byte, error) {
		d, _ := ctx.Deadline()
		if !d.Equal(req.Deadline) {
			return nil, errors.New("context deadline differs from the request's")
		}
		deadlines <- d
		return nil, nil
	})}
	r := newRig(t, ServerOptions{}, ep)
	before := time.Now()
	body, _ := oslo.EncodeRequest(nil, &oslo.Request{Method: "when", MsgID: oslo.NewMessageID(), ReplyQ: r.replyQ, UniqueID: oslo.NewID()})
	if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{Expiration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if rep := r.next(); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
	if d := <-deadlines; d.Before(before.Add(time.Hour)) || d.After(time.Now().Add(time.Hour)) {
		t.Fatalf("deadline %v is not an hour after the request", d)
	}
	// Without an expiration there is no deadline.
	if rep := r.call("when", nil); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
	if d := <-deadlines; !d.IsZero() {
		t.Fatalf("deadline %v without an expiration", d)
	}
}

func TestServerNoReplyPastCallersDeadline(t *testing.T) {
	ep := Endpoint{Methods: []string{"slow", "fast"}, Handler: HandlerFunc(func(ctx context.Context, req *Request) ([]byte, error) {
		if req.Method == "fast" {
			return cborcodec.Marshal("fast")
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})}
	r := newRig(t, ServerOptions{}, ep)
	late := oslo.NewMessageID()
	body, _ := oslo.EncodeRequest(nil, &oslo.Request{Method: "slow", MsgID: late, ReplyQ: r.replyQ, UniqueID: oslo.NewID()})
	if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{Expiration: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// The server stops the slow call at the caller's deadline and sends
	// nothing; the next reply the caller sees is the fast call's.
	time.Sleep(300 * time.Millisecond)
	rep := r.call("fast", nil)
	if rep.MsgID == late {
		t.Fatalf("a reply came after the caller's deadline: %+v", rep)
	}
}

func TestRecentIDs(t *testing.T) {
	var r recentIDs
	if !r.addIfNew("") || !r.addIfNew("") {
		t.Fatal("an empty id is always new")
	}
	if !r.addIfNew("a") || r.addIfNew("a") {
		t.Fatal("a repeated id is new")
	}
	for i := range 16 {
		r.addIfNew(fmt.Sprint(i))
	}
	if !r.addIfNew("a") {
		t.Fatal("an id older than the last 16 is remembered")
	}
}
