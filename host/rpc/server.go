package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// ErrServerClosed is returned by [Server.Start] after [Server.Shutdown].
var ErrServerClosed = errors.New("rpc: server closed")

// ServerOptions tune a [Server]. The zero value is usable.
type ServerOptions struct {
	// Executors is how many requests run at once (oslo's
	// executor_thread_pool_size); 0 means 64.
	Executors int
	// ReplyRetryTimeout is how long a reply to a missing reply queue is
	// retried (oslo's kombu_missing_consumer_retry_timeout); 0 means 60 s.
	// The retries stop sooner when the caller's own timeout passes.
	ReplyRetryTimeout time.Duration
	// RetryingReplies bounds the replies retried at once, away from the
	// workers; 0 means [DefaultRetryingReplies]. A reply beyond it is
	// dropped (ReplyOverflow).
	RetryingReplies int
	// RetryingReplyBytes bounds the bytes of the replies retried at once;
	// 0 means [DefaultRetryingReplyBytes].
	RetryingReplyBytes int
	// OnReplyRetry, when set, is told what became of each reply that did
	// not go out at its first try (and of each dropped because its queue
	// is known to be gone). It runs on the server's goroutines; keep it
	// quick.
	OnReplyRetry func(ReplyOutcome)
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// Observer, when set, is told of every request the server ran: its
	// method, how long the dispatch took, and the failure sent back (nil
	// on success). It runs on the request's goroutine; keep it quick.
	Observer func(method string, took time.Duration, failure *oslo.Failure)
	// Slots, when set, bounds the requests running at once across every
	// server that shares it (oslo's executor pool over all of a daemon's
	// servers); each server still runs at most Executors. A worker takes a
	// slot after it takes a request and before it acknowledges it, and
	// gives it back when the dispatch is done, before its reply goes out.
	Slots Limiter
}

// Limiter bounds how many requests run at once; *Slots is one.
type Limiter interface {
	// Acquire takes a slot, waiting until one is free or ctx ends.
	Acquire(ctx context.Context) error
	// Release returns a slot taken by Acquire.
	Release()
}

var _ Limiter = (*Slots)(nil)

// Slots is a counting semaphore shared by servers.
type Slots struct{ c chan struct{} }

// NewSlots returns n slots; n < 1 means 1.
func NewSlots(n int) *Slots { return &Slots{c: make(chan struct{}, max(n, 1))} }

// Acquire takes a slot, waiting until one is free or ctx ends. A nil
// *Slots always has one.
func (s *Slots) Acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release returns a slot taken by Acquire.
func (s *Slots) Release() {
	if s != nil {
		<-s.c
	}
}

// Server is an oslo.messaging RPC server: it consumes a target's topic,
// topic.server and fanout queues, dispatches each request and replies to
// calls. It behaves as oslo's RPCServer with the default access policy:
// requests are acknowledged when a worker takes them, a copy of a
// request acknowledged before (same `_unique_id`) is dropped, calls with a call monitor timeout get heartbeat
// replies while they run, and replies to a missing reply queue are retried
// for a while, then dropped: the worker that ran the call does not wait
// for them (see replyRetries).
type Server struct {
	transport  transport.Transport
	target     transport.Target
	dispatcher *Dispatcher
	opts       ServerOptions
	log        *slog.Logger

	mu       sync.Mutex // guards listener, started, closed
	listener transport.Listener
	started  bool
	closed   bool

	stopTaking context.CancelFunc // stops the workers taking requests
	abort      context.CancelFunc // cancels the requests in flight
	workers    sync.WaitGroup

	recent   recentIDs
	gone     goneQueues
	retries  *replyRetries
	inFlight atomic.Int64
	expired  atomic.Int64 // requests dropped: their time to live ended while they waited for a slot
	failed   atomic.Bool  // the listener failed: no request is taken any more
}

// NewServer returns a server for target (Topic and Server set) that
// dispatches to d. Start starts it.
func NewServer(t transport.Transport, target transport.Target, d *Dispatcher, opts ServerOptions) *Server {
	if opts.Executors <= 0 {
		opts.Executors = 64
	}
	if opts.ReplyRetryTimeout <= 0 {
		opts.ReplyRetryTimeout = 60 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		transport:  t,
		target:     target,
		dispatcher: d,
		opts:       opts,
		log:        log.With("topic", target.Topic, "server", target.Server),
	}
	s.retries = newReplyRetries(s, opts.RetryingReplies, opts.RetryingReplyBytes)
	return s
}

// Start declares the target's queues, starts consuming and returns. It
// fails when the queues cannot be declared, when called twice, and with
// [ErrServerClosed] after Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrServerClosed
	case s.started:
		return errors.New("rpc: server already started")
	}
	l, err := s.transport.ListenRPC(ctx, s.target)
	if err != nil {
		return fmt.Errorf("rpc: listen on topic %q: %w", s.target.Topic, err)
	}
	s.listener = l
	s.started = true
	takeCtx, stopTaking := context.WithCancel(context.Background())
	runCtx, abort := context.WithCancel(context.Background())
	s.stopTaking, s.abort = stopTaking, abort
	for range s.opts.Executors {
		s.workers.Add(1)
		go s.work(takeCtx, runCtx, l)
	}
	s.log.Info("rpc server started", "queues", l.Queues(), "executors", s.opts.Executors)
	return nil
}

// Running reports whether the server is consuming: started, not shut
// down, and its listener has not failed.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.closed && !s.failed.Load()
}

// InFlight returns how many requests are running.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// RetryingReplies returns how many replies wait for their reply queue to
// appear, and their bytes.
func (s *Server) RetryingReplies() (n, bytes int) { return s.retries.pending() }

// Shutdown stops taking requests, waits for those running to finish and
// their replies to go out, then stops consuming; messages taken from the
// broker but not started go back to their queue. When ctx ends first, the
// running requests are cancelled and Shutdown returns ctx's error after
// they return. Replies still waiting for a missing reply queue are
// dropped once the workers are done: their callers are most likely gone,
// and a server that stops should not wait the retry time for them. It is
// idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	wasStarted, wasClosed := s.started, s.closed
	s.closed = true
	s.mu.Unlock()
	if !wasStarted || wasClosed {
		if wasStarted {
			s.workers.Wait()
		}
		s.retries.close()
		return nil
	}
	s.stopTaking()
	done := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.abort()
		<-done
	}
	s.abort()
	s.retries.close()
	if cerr := s.listener.Close(); cerr != nil && !errors.Is(cerr, transport.ErrClosed) && err == nil {
		err = cerr
	}
	s.log.Info("rpc server stopped")
	return err
}

// work takes requests until takeCtx ends or the listener closes.
func (s *Server) work(takeCtx, runCtx context.Context, l transport.Listener) {
	defer s.workers.Done()
	for {
		d, err := l.Next(takeCtx)
		if err != nil {
			if takeCtx.Err() == nil && !errors.Is(err, transport.ErrClosed) {
				s.failed.Store(true)
				s.log.Error("rpc listener failed; the server takes no more requests", "err", err)
			}
			return
		}
		// A request's time to live runs from when it was received: the
		// time it waits for a slot counts against it.
		received := d.Received
		if received.IsZero() {
			received = time.Now()
		}
		release := func() {}
		if s.opts.Slots != nil {
			if err := s.acquire(takeCtx, d, received); err != nil {
				if takeCtx.Err() != nil {
					// Stopping: the unacknowledged message goes back to
					// its queue when the listener closes.
					return
				}
				continue // expired while waiting, dropped
			}
			var once sync.Once
			release = func() { once.Do(s.opts.Slots.Release) }
		}
		s.inFlight.Add(1)
		s.handle(runCtx, d, received, release)
		s.inFlight.Add(-1)
		release()
	}
}

// acquire takes a slot for d, waiting at most until d's time to live
// ends. A request whose caller stopped waiting while it waited is
// dropped (rejected, not requeued), as the broker drops one that expires
// in its queue: its caller raised MessagingTimeout already.
func (s *Server) acquire(takeCtx context.Context, d *transport.Delivery, received time.Time) error {
	if d.Expiration <= 0 {
		return s.opts.Slots.Acquire(takeCtx)
	}
	ctx, cancel := context.WithDeadline(takeCtx, received.Add(d.Expiration))
	defer cancel()
	err := s.opts.Slots.Acquire(ctx)
	if err == nil && ctx.Err() != nil {
		// A slot came free as the time to live ended: too late all the same.
		s.opts.Slots.Release()
		err = ctx.Err()
	}
	if err == nil || takeCtx.Err() != nil {
		return err
	}
	s.expired.Add(1)
	s.log.Warn("rpc: request expired while it waited for a slot; dropped",
		"waited", time.Since(received).Round(time.Millisecond), "ttl", d.Expiration, "queue", d.Queue)
	if rerr := d.Reject(); rerr != nil {
		s.log.Warn("rpc: reject failed", "err", rerr)
	}
	return err
}

// Expired returns how many requests expired while they waited for a
// slot, and were dropped.
func (s *Server) Expired() int64 { return s.expired.Load() }

// handle runs one delivery, received at received: decode, acknowledge,
// de-duplicate, dispatch, reply. It calls release once the dispatch is
// done: the slot bounds the work, not the wait for the broker to take
// the reply.
func (s *Server) handle(ctx context.Context, d *transport.Delivery, received time.Time, release func()) {
	msg, err := oslo.DecodeRequest(d.Body)
	if err != nil {
		// A message that cannot be read is dropped, not requeued: it would
		// fail again. The caller, when known, gets the reason.
		s.log.Warn("rpc: malformed request dropped", "err", err, "msg_id", msg.MsgID, "bytes", len(d.Body))
		if rerr := d.Reject(); rerr != nil {
			s.log.Warn("rpc: reject failed", "err", rerr)
		}
		if msg.MsgID != "" && msg.ReplyQ != "" {
			s.reply(ctx, &msg, time.Time{}, oslo.FailureReply(msg.MsgID, oslo.NewID(), &oslo.Failure{
				Class: "ValueError", Module: oslo.ModuleBuiltins,
				Message: "wasmrpcd could not read the request: " + err.Error(),
			}))
		}
		return
	}
	// The request's logger is made only when it logs: slog's With formats
	// its attributes at once, a cost every request would pay.
	log := func() *slog.Logger { return s.log.With("method", msg.Method, "msg_id", msg.MsgID) }
	// As oslo's RPC listener: acknowledge first, and remember the message
	// only once the broker has taken the acknowledgement. A request whose
	// acknowledgement fails is not run (the broker delivers it again, and
	// running it now could run it twice) and not remembered, so that its
	// next copy runs; a copy of a request acknowledged before is dropped.
	if err := d.Ack(); err != nil {
		log().Warn("rpc: cannot acknowledge request, skipping it; the broker delivers it again", "err", err)
		return
	}
	if !s.recent.addIfNew(msg.UniqueID) {
		log().Warn("rpc: ignoring duplicate message", "unique_id", msg.UniqueID)
		return
	}

	req := &Request{
		Context:   msg.Context,
		Method:    msg.Method,
		Args:      msg.Args,
		Namespace: msg.Namespace,
		Version:   msg.Version,
		Hops:      msg.Hops,
	}
	callCtx := ctx
	if d.Expiration > 0 {
		req.Deadline = received.Add(d.Expiration)
		var cancel context.CancelFunc
		callCtx, cancel = context.WithDeadline(ctx, req.Deadline)
		defer cancel()
	}

	stopHeartbeats := s.heartbeat(ctx, &msg, log)
	began := time.Now()
	result, err := s.dispatcher.Dispatch(callCtx, req)
	took := time.Since(began)
	release()
	stopHeartbeats()

	if err != nil {
		failure, expected := FailureOf(err)
		if s.opts.Observer != nil {
			s.opts.Observer(msg.Method, took, failure)
		}
		if !req.Deadline.IsZero() && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
			// The caller's own timeout has passed: it raised
			// MessagingTimeout already and would drop a reply, as a
			// Python server's late reply is dropped. Sending one anyway
			// would race with its timer.
			log().Warn("rpc: the caller's deadline passed; the call was stopped and gets no reply",
				"class", failure.Class, "message", failure.Message)
			return
		}
		if expected {
			log().Debug("rpc: expected exception", "class", failure.Class, "message", failure.Message)
		} else {
			log().Error("rpc: exception during message handling", "class", failure.Class, "message", failure.Message)
		}
		if msg.IsCall() {
			s.reply(ctx, &msg, req.Deadline, oslo.FailureReply(msg.MsgID, oslo.NewID(), failure))
		}
		return
	}
	if s.opts.Observer != nil {
		s.opts.Observer(msg.Method, took, nil)
	}
	if msg.IsCall() {
		s.reply(ctx, &msg, req.Deadline, oslo.ResultReply(msg.MsgID, oslo.NewID(), result))
	}
}

// heartbeat sends call-monitor heartbeats while a call with a call monitor
// timeout runs, every half of that timeout as oslo's dispatcher watchdog
// does, and returns the function that stops them and waits.
func (s *Server) heartbeat(ctx context.Context, msg *oslo.Request, log func() *slog.Logger) (stop func()) {
	interval := msg.HeartbeatInterval()
	if !msg.IsCall() || interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		var buf []byte
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var err error
			buf, err = oslo.EncodeReply(buf[:0], oslo.HeartbeatReply(msg.MsgID, oslo.NewID()))
			if err == nil {
				err = s.transport.Reply(ctx, msg.ReplyQ, buf)
			}
			if err != nil {
				log().Debug("rpc: call-monitor heartbeat failed", "err", err)
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// reply sends r to the request's reply queue. When the queue is missing
// (the broker returned the mandatory publish), the encoded reply goes to
// the server's retries, which try it again for ReplyRetryTimeout, or
// until the caller's deadline (zero: none), as oslo does; the worker goes
// on at once. A queue given up on before is not tried again.
func (s *Server) reply(ctx context.Context, msg *oslo.Request, deadline time.Time, r *oslo.Reply) {
	now := time.Now()
	if s.gone.isGone(msg.ReplyQ, now) {
		s.log.Warn("rpc: reply queue is gone, reply dropped", "reply_q", msg.ReplyQ, "msg_id", msg.MsgID)
		s.replyOutcome(ReplyGone)
		return
	}
	body, err := oslo.EncodeReply(nil, r)
	if err != nil {
		// The result cannot be written as JSON: tell the caller why.
		s.log.Error("rpc: cannot encode reply", "msg_id", msg.MsgID, "err", err)
		body, err = oslo.EncodeReply(nil, oslo.FailureReply(msg.MsgID, r.UniqueID, &oslo.Failure{
			Class: "ValueError", Module: oslo.ModuleBuiltins,
			Message: "the result cannot be sent as JSON: " + err.Error(),
		}))
		if err != nil {
			return
		}
	}
	// A reply goes out even when the call was cancelled (a forced
	// shutdown): the caller learns at once. While the broker is away
	// the first try waits for it, for the retry time at most.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ReplyRetryTimeout)
	defer cancel()
	err = s.transport.Reply(sendCtx, msg.ReplyQ, body)
	switch {
	case err == nil:
	case errors.Is(err, transport.ErrNoRoute):
		if !s.retries.add(pendingReply{
			queue: msg.ReplyQ, msgID: msg.MsgID, body: body,
			first: now, until: now.Add(s.opts.ReplyRetryTimeout), deadline: deadline,
		}) {
			s.replyOutcome(ReplyOverflow)
			return
		}
		s.log.Debug("rpc: reply queue missing; the reply is retried", "reply_q", msg.ReplyQ, "msg_id", msg.MsgID)
	default:
		s.log.Error("rpc: reply not sent", "reply_q", msg.ReplyQ, "msg_id", msg.MsgID, "err", err)
	}
}
