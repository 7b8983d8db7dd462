package rpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// gate is a Limiter of one slot that the test opens: it tells when a
// worker waits at it.
type gate struct {
	waiting chan struct{}
	open    chan struct{}
}

var _ Limiter = (*gate)(nil)

func newGate() *gate { return &gate{waiting: make(chan struct{}, 16), open: make(chan struct{})} }

func (g *gate) Acquire(ctx context.Context) error {
	g.waiting <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) Release() {}

// TestServerSlotWaitCounts: the time a request waits for a slot counts
// against its time to live, and a request whose time to live ends while
// it waits is dropped, not run.
func TestServerSlotWaitCounts(t *testing.T) {
	deadlines := make(chan time.Time, 4)
	var ran atomic.Int64
	ep := Endpoint{Methods: []string{"when"}, Handler: HandlerFunc(func(ctx context.Context, req *Request) ([]byte, error) {
		ran.Add(1)
		deadlines <- req.Deadline
		return cborcodec.Marshal("ran")
	})}

	t.Run("wait counts", func(t *testing.T) {
		g := newGate()
		r := newRig(t, ServerOptions{Executors: 1, Slots: g}, ep)
		const ttl = time.Hour
		id := oslo.NewMessageID()
		body, _ := oslo.EncodeRequest(nil, &oslo.Request{Method: "when", MsgID: id, ReplyQ: r.replyQ, UniqueID: oslo.NewID()})
		if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{Expiration: ttl}); err != nil {
			t.Fatal(err)
		}
		<-g.waiting                        // the worker holds the request, waiting for a slot
		time.Sleep(100 * time.Millisecond) // a wait that shows (no assertion on how long)
		opened := time.Now()
		close(g.open)
		if rep := r.next(); rep.Failure != nil || rep.MsgID != id {
			t.Fatalf("reply %+v", rep)
		}
		// The deadline runs from before the wait, so before the slot came.
		if d := <-deadlines; !d.Before(opened.Add(ttl)) {
			t.Fatalf("deadline %v is a time to live after the slot came (%v), not after the request came", d, opened)
		}
	})

	t.Run("expired while waiting", func(t *testing.T) {
		ran.Store(0)
		g := newGate()
		r := newRig(t, ServerOptions{Executors: 1, Slots: g}, ep)
		body, _ := oslo.EncodeRequest(nil, &oslo.Request{Method: "when", MsgID: oslo.NewMessageID(), ReplyQ: r.replyQ, UniqueID: oslo.NewID()})
		if err := r.caller.Send(context.Background(), r.target, body, transport.SendOptions{Expiration: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		for r.server.Expired() == 0 {
			time.Sleep(10 * time.Millisecond) // the test's own timeout bounds this
		}
		close(g.open)
		// The next call runs and is the first reply: the expired one
		// neither ran nor got a reply.
		rep := r.call("when", nil)
		<-deadlines
		if rep.Failure != nil || ran.Load() != 1 || r.server.Expired() != 1 {
			t.Fatalf("reply %+v, ran %d, expired %d; want one run, one expired", rep, ran.Load(), r.server.Expired())
		}
	})
}
