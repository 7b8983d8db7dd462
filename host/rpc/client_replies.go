package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// replies is a client's reply queue and the calls waiting on it, oslo's
// ReplyWaiter: one queue, declared on the first call, whose replies one
// goroutine (owned by replies, waited for by close) hands to the waiting
// calls by `_msg_id`.
//
// Lock order: startMu, then mu.
type replies struct {
	t   transport.Transport
	log *slog.Logger

	startMu  sync.Mutex // guards listener and starting it
	listener transport.Listener
	queue    atomic.Pointer[string] // set once the listener runs
	routing  sync.WaitGroup

	mu      sync.Mutex // guards waiters, closed, err
	waiters map[string]*waiter
	closed  bool
	err     error // why calls fail once closed
}

// waiter is one call waiting for its replies.
type waiter struct {
	beat chan struct{} // a heartbeat came; capacity 1
	done chan struct{} // closed with the final reply

	// Set by the router, under replies.mu, before done closes.
	result  []byte
	failure *oslo.Failure
	err     error
	// An early result or failure in a reply without ending (as servers
	// before oslo.messaging 5 sent them), kept until the final reply.
	early    bool
	earlyRes []byte
	earlyErr *oslo.Failure
}

func newReplies(t transport.Transport, log *slog.Logger) *replies {
	return &replies{t: t, log: log, waiters: make(map[string]*waiter)}
}

// start returns the reply queue's name, declaring it and starting the
// router on the first call.
func (r *replies) start(ctx context.Context) (string, error) {
	if q := r.queue.Load(); q != nil {
		return *q, nil
	}
	r.startMu.Lock()
	defer r.startMu.Unlock()
	if q := r.queue.Load(); q != nil {
		return *q, nil
	}
	if err := r.closedErr(); err != nil {
		return "", err
	}
	// The transport names it: reply_<uuid>, or the queue manager's name.
	l, err := r.t.ListenReplies(ctx, "")
	if err != nil {
		return "", fmt.Errorf("rpc: reply queue: %w", err)
	}
	name := l.Queues()[0]
	r.listener = l
	r.routing.Add(1)
	go r.route(l)
	r.queue.Store(&name)
	return name, nil
}

// name returns the reply queue's name, "" before the first call.
func (r *replies) name() string {
	if q := r.queue.Load(); q != nil {
		return *q
	}
	return ""
}

// route hands each reply to its waiter until the listener closes.
func (r *replies) route(l transport.Listener) {
	defer r.routing.Done()
	for {
		d, err := l.Next(context.Background())
		if err != nil {
			if !errors.Is(err, transport.ErrClosed) {
				r.log.Error("rpc: reply listener failed", "queue", r.name(), "err", err)
			}
			r.shut(fmt.Errorf("rpc: reply listener stopped: %w", err))
			return
		}
		// Acknowledged at once, as oslo's ReplyWaiter does: a reply is
		// never worth a redelivery.
		if err := d.Ack(); err != nil {
			r.log.Debug("rpc: acknowledging a reply failed", "err", err)
		}
		rep, err := oslo.DecodeReply(d.Body)
		r.deliver(&rep, err)
	}
}

// deliver applies one reply to its waiter, as oslo's ReplyWaiter.wait
// reads it: a heartbeat (no ending, no result, no failure) renews the
// call monitor timer; a result or failure without ending is kept; the
// final reply (ending) completes the call with its own result or failure,
// or else with the one kept.
func (r *replies) deliver(rep *oslo.Reply, decodeErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.waiters[rep.MsgID]
	if w == nil {
		r.log.Info("rpc: no call waiting for the reply", "msg_id", rep.MsgID, "queue", r.name(), "decode_err", decodeErr)
		return
	}
	switch {
	case decodeErr != nil:
		w.err = fmt.Errorf("rpc: unreadable reply to message ID %s: %w", rep.MsgID, decodeErr)
	case !rep.Ending && rep.IsHeartbeat():
		select {
		case w.beat <- struct{}{}:
		default: // one pending heartbeat renews the timer as well as two
		}
		return
	case !rep.Ending:
		w.early, w.earlyRes, w.earlyErr = true, rep.Result, rep.Failure
		return
	case rep.Failure != nil:
		w.failure = rep.Failure
	case !isNull(rep.Result) || !w.early:
		w.result = rep.Result
	default:
		w.result, w.failure = w.earlyRes, w.earlyErr
	}
	delete(r.waiters, rep.MsgID)
	close(w.done)
}

// isNull reports whether the CBOR b is null (or empty).
func isNull(b []byte) bool { return len(b) == 0 || (len(b) == 1 && b[0] == 0xf6) }

// add registers a call before its request goes out.
func (r *replies) add(msgID string) (*waiter, error) {
	w := &waiter{beat: make(chan struct{}, 1), done: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, r.err
	}
	r.waiters[msgID] = w
	return w, nil
}

// remove forgets a call that ended without its final reply.
func (r *replies) remove(msgID string) {
	r.mu.Lock()
	delete(r.waiters, msgID)
	r.mu.Unlock()
}

// closedErr returns the error of calls once closed, or nil.
func (r *replies) closedErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	return nil
}

// shut fails every waiting call with err and refuses new ones.
func (r *replies) shut(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed, r.err = true, err
	}
	for id, w := range r.waiters {
		w.err = r.err
		delete(r.waiters, id)
		close(w.done)
	}
}

// close stops the listener, waits for the router and fails the calls
// still waiting with ErrClientClosed. It is idempotent.
func (r *replies) close() error {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	r.shut(ErrClientClosed)
	if r.listener == nil {
		return nil
	}
	err := r.listener.Close()
	r.routing.Wait()
	r.listener = nil
	if errors.Is(err, transport.ErrClosed) {
		err = nil
	}
	return err
}
