package rpc

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
)

// TestServerAckFailsRedeliveredCopyAnswered: a request whose
// acknowledgement fails (its channel went with the connection) is not
// remembered as seen, so that the copy the broker delivers again on the
// new connection runs, once, and the caller gets its answer.
//
// The server's only slot is held by the test, so that the first copy
// waits, unacknowledged, in a worker while the test closes the server's
// listening connection and the broker delivers the request again to
// another worker. The slot then goes to the first copy, whose
// acknowledgement fails, and after it to the second.
func TestServerAckFailsRedeliveredCopyAnswered(t *testing.T) {
	u := brokerURL(t)
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	exchange, topic, server := "wasmrpcd_ackfail_test_"+id, "ackfail_"+id, "host-a"
	var c *Client
	cleanupTopology(t, u, func() (queues, exchanges []string) {
		return []string{topic, topic + "." + server, c.ReplyQueue()}, []string{exchange, topic + "_fanout"}
	})
	ctx := context.Background()
	name := "wasmrpcd-rpc-ackfail-test-" + id
	st, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: exchange, ConnectionName: name, ReconnectDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ran atomic.Int64
	counted := echoEndpoint()
	echo := counted.Handler
	counted.Handler = HandlerFunc(func(ctx context.Context, req *Request) ([]byte, error) {
		ran.Add(1)
		return echo.ServeRPC(ctx, req)
	})
	d, err := NewDispatcher(counted)
	if err != nil {
		t.Fatal(err)
	}
	gate := newQueuedSlots()
	s := NewServer(st, transport.Target{Topic: topic, Server: server}, d, ServerOptions{Executors: 4, Slots: gate})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)

	ct, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	c = NewClient(ct, Target{Topic: topic}, WithTimeout(30*time.Second))
	defer c.Close()
	type answer struct {
		r   Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := c.Call(ctx, "echo", map[string]any{"value": "once"})
		done <- answer{r, err}
	}()

	gate.waitFor(t, 1) // the first copy, unacknowledged, in a worker
	mustClose(t, name+":listen")
	gate.waitFor(t, 2) // the copy delivered again, on the new connection
	gate.Release()     // to the first copy: its acknowledgement fails

	a := <-done
	if a.err != nil {
		t.Fatalf("call: %v; the request was lost", a.err)
	}
	var got string
	if err := a.r.Decode(&got); err != nil || got != "once" {
		t.Fatalf("call returned %q (%v), want \"once\"", got, err)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("the method ran %d times, want once", n)
	}
}

// queuedSlots is a Limiter with no free slot at first, whose slots go to
// the waiters in the order they came; the test hands out the first slot
// with Release.
type queuedSlots struct {
	mu      sync.Mutex
	free    int
	waiters []chan struct{}
	changed chan struct{} // a token whenever a waiter comes
}

func newQueuedSlots() *queuedSlots { return &queuedSlots{changed: make(chan struct{}, 64)} }

func (q *queuedSlots) Acquire(ctx context.Context) error {
	q.mu.Lock()
	if q.free > 0 && len(q.waiters) == 0 {
		q.free--
		q.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q.waiters = append(q.waiters, ch)
	q.mu.Unlock()
	q.changed <- struct{}{}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	for i, w := range q.waiters {
		if w == ch {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			q.mu.Unlock()
			return ctx.Err()
		}
	}
	q.mu.Unlock()
	q.Release() // granted meanwhile: pass it on
	return ctx.Err()
}

func (q *queuedSlots) Release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiters) > 0 {
		close(q.waiters[0])
		q.waiters = q.waiters[1:]
		return
	}
	q.free++
}

// waitFor waits until n requests wait for a slot.
func (q *queuedSlots) waitFor(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		q.mu.Lock()
		have := len(q.waiters)
		q.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-q.changed:
		case <-timeout:
			t.Fatalf("%d requests wait for a slot after a minute, want %d", have, n)
		}
	}
}

// mustClose closes this test's broker connection named name.
func mustClose(t *testing.T, name string) {
	t.Helper()
	if brokertest.CloseConnections(t, name) != 1 {
		t.Fatalf("no broker connection named %s", name)
	}
}
