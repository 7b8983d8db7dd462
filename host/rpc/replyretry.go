package rpc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// ReplyOutcome is what became of a reply that did not go out at its first
// try, for [ServerOptions.OnReplyRetry].
type ReplyOutcome string

const (
	// ReplySentLate: the reply queue appeared during the retries and the
	// reply went out.
	ReplySentLate ReplyOutcome = "sent_late"
	// ReplyAbandoned: the reply queue stayed missing for the whole retry
	// time (oslo's "failed to send after N seconds due to a missing
	// queue. Abandoning..."); the queue is then known to be gone.
	ReplyAbandoned ReplyOutcome = "abandoned"
	// ReplyExpired: the caller's own timeout passed during the retries;
	// it raised MessagingTimeout already and would drop the reply.
	ReplyExpired ReplyOutcome = "expired"
	// ReplyOverflow: the retries held as many replies, or as many bytes,
	// as they may; the reply was dropped at once.
	ReplyOverflow ReplyOutcome = "overflow"
	// ReplyGone: the reply queue was given up on less than a minute ago
	// (oslo's ObsoleteReplyQueuesCache); the reply was dropped at once.
	ReplyGone ReplyOutcome = "gone"
	// ReplyFailed: a retry failed otherwise (connection closed, server
	// stopped before the retry time passed).
	ReplyFailed ReplyOutcome = "failed"
)

// Bounds of the replies retried at once by one server, when
// [ServerOptions] leaves them 0.
const (
	// DefaultRetryingReplies is oslo's executor_thread_pool_size: the most
	// replies a Python server retries at once, one per executor thread.
	DefaultRetryingReplies = 64
	// DefaultRetryingReplyBytes bounds the encoded replies kept for
	// retrying, whatever their number.
	DefaultRetryingReplyBytes = 16 << 20
)

// replyRetryInterval is the pause between two tries of a reply, oslo's
// time.sleep(0.25) in its reply loop.
const replyRetryInterval = 250 * time.Millisecond

// replyRetries retries the replies whose reply queue was missing at the
// first try, away from the worker that ran the call: a Python server's
// executor thread sleeps in its reply loop for up to
// kombu_missing_consumer_retry_timeout, so callers naming queues that do
// not exist can hold every worker; here the worker goes back to the
// queue at once and the reply, already encoded, waits here.
//
// Each reply is retried on a goroutine of its own, every 250 ms, until it
// goes out, the retry time passes (the queue is then remembered as gone)
// or the caller's deadline passes. The replies held at once are bounded in
// number and in bytes; a reply beyond either bound is dropped, counted and
// logged (once per interval, not once per reply).
type replyRetries struct {
	s        *Server
	max      int
	maxBytes int

	mu       sync.Mutex // guards n, bytes, overflow, lastLog, and orders stop before wg.Add
	n, bytes int
	overflow int       // replies dropped since lastLog
	lastLog  time.Time // when an overflow was last logged
	wg       sync.WaitGroup
	stopCtx  context.Context // ends when the retries stop
	stop     context.CancelFunc
}

// overflowLogInterval is how often dropped replies are logged at most.
const overflowLogInterval = 10 * time.Second

func newReplyRetries(s *Server, max, maxBytes int) *replyRetries {
	if max <= 0 {
		max = DefaultRetryingReplies
	}
	if maxBytes <= 0 {
		maxBytes = DefaultRetryingReplyBytes
	}
	stopCtx, stop := context.WithCancel(context.Background())
	return &replyRetries{s: s, max: max, maxBytes: maxBytes, stopCtx: stopCtx, stop: stop}
}

// pendingReply is a reply waiting for its queue.
type pendingReply struct {
	queue, msgID string
	body         []byte
	first        time.Time // the first try
	until        time.Time // the end of the retry time
	deadline     time.Time // the caller's; zero when unknown
}

// add takes r for retrying and reports whether it did; false (the reply
// dropped) when the bounds are reached or the retries are stopping.
func (rr *replyRetries) add(r pendingReply) bool {
	rr.mu.Lock()
	if rr.stopCtx.Err() != nil {
		rr.mu.Unlock()
		return false
	}
	if rr.n >= rr.max || rr.bytes+len(r.body) > rr.maxBytes {
		rr.overflow++
		now := time.Now()
		var dropped int
		if now.Sub(rr.lastLog) >= overflowLogInterval {
			dropped, rr.overflow, rr.lastLog = rr.overflow, 0, now
		}
		n, bytes := rr.n, rr.bytes
		rr.mu.Unlock()
		if dropped > 0 {
			rr.s.log.Error("rpc: too many replies waiting for missing reply queues; replies dropped",
				"dropped", dropped, "retrying", n, "retrying_bytes", bytes,
				"max", rr.max, "max_bytes", rr.maxBytes, "last_reply_q", r.queue, "last_msg_id", r.msgID)
		}
		return false
	}
	rr.n++
	rr.bytes += len(r.body)
	rr.wg.Add(1)
	rr.mu.Unlock()
	go rr.retry(r)
	return true
}

// pending returns how many replies are retrying and their bytes.
func (rr *replyRetries) pending() (n, bytes int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.n, rr.bytes
}

// retry tries r every replyRetryInterval until it is done with it.
func (rr *replyRetries) retry(r pendingReply) {
	defer rr.wg.Done()
	defer func() {
		rr.mu.Lock()
		rr.n--
		rr.bytes -= len(r.body)
		rr.mu.Unlock()
	}()
	s := rr.s
	end, outcome := r.until, ReplyAbandoned
	if !r.deadline.IsZero() && r.deadline.Before(end) {
		end, outcome = r.deadline, ReplyExpired
	}
	ctx, cancel := context.WithDeadline(rr.stopCtx, end)
	defer cancel()
	t := time.NewTimer(replyRetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done(): // ends with stopCtx too
		case <-t.C:
		}
		if rr.stopCtx.Err() != nil {
			s.log.Warn("rpc: server stopped while a reply waited for its reply queue; reply dropped",
				"reply_q", r.queue, "msg_id", r.msgID, "retried_for", time.Since(r.first).Round(time.Millisecond))
			s.replyOutcome(ReplyFailed)
			return
		}
		if ctx.Err() == nil {
			err := s.transport.Reply(ctx, r.queue, r.body)
			switch {
			case err == nil:
				s.log.Info("rpc: reply sent once its reply queue appeared",
					"reply_q", r.queue, "msg_id", r.msgID, "after", time.Since(r.first).Round(time.Millisecond))
				s.replyOutcome(ReplySentLate)
				return
			case rr.stopCtx.Err() != nil:
				continue // reported above
			case !errors.Is(err, transport.ErrNoRoute) && ctx.Err() == nil:
				s.log.Error("rpc: reply not sent", "reply_q", r.queue, "msg_id", r.msgID, "err", err)
				s.replyOutcome(ReplyFailed)
				return
			}
		}
		if ctx.Err() != nil {
			if outcome == ReplyAbandoned {
				s.gone.add(r.queue, time.Now())
				s.log.Error("rpc: reply queue missing for the whole retry time; reply dropped",
					"reply_q", r.queue, "msg_id", r.msgID, "retried_for", s.opts.ReplyRetryTimeout)
			} else {
				s.log.Warn("rpc: the caller's deadline passed while its reply queue was missing; reply dropped",
					"reply_q", r.queue, "msg_id", r.msgID, "retried_for", time.Since(r.first).Round(time.Millisecond))
			}
			s.replyOutcome(outcome)
			return
		}
		t.Reset(replyRetryInterval)
	}
}

// close drops the replies retrying, refuses new ones and waits for
// their goroutines.
func (rr *replyRetries) close() {
	rr.mu.Lock()
	rr.stop()
	rr.mu.Unlock()
	rr.wg.Wait()
}

// replyOutcome reports what became of a reply that did not go out at its
// first try.
func (s *Server) replyOutcome(o ReplyOutcome) {
	if s.opts.OnReplyRetry != nil {
		s.opts.OnReplyRetry(o)
	}
}
