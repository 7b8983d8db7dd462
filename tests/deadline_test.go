package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// TestCallerDeadline sends a call whose message expires (oslo's client
// sets the expiration to its timeout) before the method returns. A Python
// server runs the method to the end and replies, to a caller that is gone
// or about to give up with MessagingTimeout. wasmrpcd may stop the method
// at the caller's deadline, but must not answer with an exception of its
// own: a caller still waiting would raise that (a TimeoutError) instead of
// MessagingTimeout, which is what oslo callers catch.
func TestCallerDeadline(t *testing.T) {
	oslopeer.Run(t, testCallerDeadline)
}

func testCallerDeadline(t *testing.T, peer oslopeer.Peer) {
	n := newNames(t)
	ex := n.exchange()
	pyTopic, wasmTopic := n.topic("py", "s1"), n.topic("wasm", "s1")
	py := startPyServer(t, peer, ex, pyTopic, "s1", pyServerOptions{})
	d := startDaemon(t, testkitConfig(ex, wasmTopic, "s1"))
	t.Cleanup(func() { stopAll(func() { py.stop() }, d.stop) })
	raw := newRawClient(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pyBody, pyID := raw.call("spin", `{"ms": 2500}`)
	wasmBody, wasmID := raw.call("spin", `{"ms": 2500}`)
	for _, m := range []struct {
		topic string
		body  []byte
	}{{pyTopic, pyBody}, {wasmTopic, wasmBody}} {
		if err := raw.publish(ctx, m.topic, m.body, "1000"); err != nil {
			t.Fatal(err)
		}
	}

	r, err := raw.wait(ctx, pyID)
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	if f, _ := r.failure(); f != nil || !jsonEqual(r.Result, []byte("2500")) {
		t.Fatalf("python replied %s %v, want the result 2500", r.Result, f)
	}
	// The method would have returned by now; give the reply a few seconds.
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	r, err = raw.wait(wctx, wasmID)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Log("wasmrpcd did not reply")
	case err != nil:
		t.Fatal(err)
	default:
		f, ferr := r.failure()
		switch {
		case ferr != nil:
			t.Error(ferr)
		case f != nil:
			t.Errorf("wasmrpcd replied with %s.%s: %s; a Python server replies with the result, or a caller past its deadline gets nothing", f.Module, f.Class, f.Message)
		case !jsonEqual(r.Result, []byte("2500")):
			t.Errorf("wasmrpcd replied %s, want 2500 or nothing", r.Result)
		}
	}
}
