package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// outcomes counts the ReplyOutcomes a server reports.
type outcomes struct {
	mu sync.Mutex
	n  map[ReplyOutcome]int
}

func (o *outcomes) add(r ReplyOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[ReplyOutcome]int{}
	}
	o.n[r]++
}

func (o *outcomes) get(r ReplyOutcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[r]
}

// waitFor waits, generously, until outcome r was reported n times.
func (o *outcomes) waitFor(t *testing.T, r ReplyOutcome, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for o.get(r) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s reported %d times, want %d", r, o.get(r), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendToMissing sends a call of echo whose reply queue does not exist,
// with a time to live of ttl (0: none), and returns its reply queue.
func (r *rig) sendToMissing(ttl time.Duration) string {
	r.t.Helper()
	req := &oslo.Request{Method: "echo", Args: []byte{0xa0}, MsgID: oslo.NewMessageID(),
		ReplyQ: "reply_missing_" + oslo.NewID(), UniqueID: oslo.NewID()}
	body, err := oslo.EncodeRequest(nil, req)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{Expiration: ttl}); err != nil {
		r.t.Fatal(err)
	}
	return req.ReplyQ
}

func TestReplyRetriesDoNotHoldWorkers(t *testing.T) {
	var got outcomes
	// One worker, and retries far longer than the test: a worker that
	// retried would never answer the good call.
	r := newRig(t, ServerOptions{Executors: 1, ReplyRetryTimeout: time.Hour, OnReplyRetry: got.add}, echoEndpoint())
	var missing []string
	for range 5 {
		missing = append(missing, r.sendToMissing(0))
	}
	if rep := r.call("echo", map[string]any{"value": 1}); rep.Failure != nil {
		t.Fatal(rep.Failure)
	}
	if n, bytes := r.server.RetryingReplies(); n != 5 || bytes == 0 {
		t.Fatalf("%d replies (%d bytes) retrying, want 5", n, bytes)
	}
	// A reply queue that appears gets its reply.
	late, err := r.caller.ListenReplies(context.Background(), missing[0])
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := late.Next(ctx)
	if err != nil {
		t.Fatalf("no late reply: %v", err)
	}
	if rep, err := oslo.DecodeReply(d.Body); err != nil || rep.Failure != nil || !rep.Ending {
		t.Fatalf("late reply %+v, %v", rep, err)
	}
	got.waitFor(t, ReplySentLate, 1)
	// Shutdown drops the others.
	if err := r.server.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got.get(ReplyFailed) != 4 {
		t.Fatalf("outcomes %v, want 4 failed at shutdown", got.n)
	}
	if n, bytes := r.server.RetryingReplies(); n != 0 || bytes != 0 {
		t.Fatalf("%d replies (%d bytes) retrying after shutdown", n, bytes)
	}
}

func TestReplyRetriesBounded(t *testing.T) {
	for _, tc := range []struct {
		name                string
		replies, bytes      int
		wantRetry, wantDrop int
	}{
		{"count", 2, 0, 2, 3},
		{"bytes", 0, 500, 2, 3}, // a reply of echo({}) is about 210 bytes
		{"one byte", 0, 1, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got outcomes
			r := newRig(t, ServerOptions{Executors: 1, ReplyRetryTimeout: time.Hour,
				RetryingReplies: tc.replies, RetryingReplyBytes: tc.bytes, OnReplyRetry: got.add}, echoEndpoint())
			for range 5 {
				r.sendToMissing(0)
			}
			// With one worker, the good call's reply means the five ran.
			if rep := r.call("echo", map[string]any{"value": 1}); rep.Failure != nil {
				t.Fatal(rep.Failure)
			}
			n, bytes := r.server.RetryingReplies()
			if n != tc.wantRetry || got.get(ReplyOverflow) != tc.wantDrop {
				t.Fatalf("%d retrying (%d bytes), %d dropped; want %d and %d", n, bytes, got.get(ReplyOverflow), tc.wantRetry, tc.wantDrop)
			}
			if tc.bytes > 0 && bytes > tc.bytes {
				t.Fatalf("%d bytes retrying, over the bound of %d", bytes, tc.bytes)
			}
		})
	}
}

func TestReplyRetriesEnd(t *testing.T) {
	var got outcomes
	r := newRig(t, ServerOptions{ReplyRetryTimeout: 500 * time.Millisecond, OnReplyRetry: got.add}, echoEndpoint())
	// No time to live: retried for the retry time, then the queue is
	// known to be gone and the next reply to it dropped at once.
	gone := r.sendToMissing(0)
	got.waitFor(t, ReplyAbandoned, 1)
	if !r.server.gone.isGone(gone, time.Now()) {
		t.Fatal("the abandoned queue is not remembered")
	}
	req := &oslo.Request{Method: "echo", MsgID: oslo.NewMessageID(), ReplyQ: gone, UniqueID: oslo.NewID()}
	body, _ := oslo.EncodeRequest(nil, req)
	if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got.waitFor(t, ReplyGone, 1)
	if n, _ := r.server.RetryingReplies(); n != 0 {
		t.Fatalf("%d replies still retrying", n)
	}
	// A time to live shorter than the retry time ends the retries at the
	// caller's deadline.
	var got2 outcomes
	r2 := newRig(t, ServerOptions{ReplyRetryTimeout: time.Hour, OnReplyRetry: got2.add}, echoEndpoint())
	r2.sendToMissing(300 * time.Millisecond)
	got2.waitFor(t, ReplyExpired, 1)
	if n, _ := r2.server.RetryingReplies(); n != 0 {
		t.Fatalf("%d replies still retrying", n)
	}
}
