package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
)

// fastReconnect makes a test's transport reconnect without oslo's
// one-second pauses.
func fastReconnect(t *testing.T, name string) Options {
	return Options{
		ConnectionName: fmt.Sprintf("wrt-%s-%s", name, uuidHex()[:8]),
		ReconnectDelay: 50 * time.Millisecond,
		RetryInterval:  100 * time.Millisecond,
		RetryBackoff:   100 * time.Millisecond,
		IntervalMax:    500 * time.Millisecond,
		Logger:         testLogger(t),
	}
}

// waitFor polls cond until it holds, failing the test after waitTime.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReconnectResumesConsumersAndPublishers(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	opts := fastReconnect(t, "reconnect")
	e := newEnv(t, im, opts)
	a := e.tr.(*AMQP)

	topic := e.topic("s1")
	srv := e.listenRPC(a, Target{Topic: topic, Server: "s1"})
	replies, rq := e.listenReplies(a)
	heldTopic := e.topic("s1")
	heldL := e.listenRPC(a, Target{Topic: heldTopic, Server: "s1"})
	e.send(Target{Topic: heldTopic}, "held", SendOptions{})
	held := e.next(heldL, "held") // not acknowledged before the reconnect

	// Consume and acknowledge everything on topic.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	received := map[int]bool{}
	wg.Go(func() {
		for {
			d, err := srv.Next(ctx)
			if err != nil {
				return
			}
			n, _ := strconv.Atoi(string(d.Body))
			if err := d.Ack(); err != nil && !errors.Is(err, ErrStaleDelivery) {
				t.Errorf("Ack: %v", err)
			}
			mu.Lock()
			received[n] = true
			mu.Unlock()
		}
	})
	// Publish from several goroutines; remember what the broker confirmed.
	confirmed := map[int]bool{}
	var next int
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	for range 4 {
		pubs.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				next++
				n := next
				mu.Unlock()
				sctx, scancel := context.WithTimeout(ctx, waitTime)
				err := a.Send(sctx, Target{Topic: topic}, []byte(strconv.Itoa(n)), SendOptions{})
				scancel()
				if err != nil {
					t.Errorf("Send %d: %v", n, err)
					return
				}
				mu.Lock()
				confirmed[n] = true
				mu.Unlock()
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(received) }

	waitFor(t, "50 messages before the fault", func() bool { return count() >= 50 })
	send, listen := a.ConnectionNames()
	if n := brokertest.CloseConnections(t, send, listen); n != 2 {
		t.Fatalf("closed %d connections named %s and %s, want 2", n, send, listen)
	}
	waitFor(t, "both connections back", func() bool {
		s := a.Status()
		return s.Reconnects >= 2 && s.SendConnected && s.ListenConnected
	})
	before := count()
	waitFor(t, "50 more messages after the reconnect", func() bool { return count() >= before+50 })
	close(stop)
	pubs.Wait()

	mu.Lock()
	want := len(confirmed)
	mu.Unlock()
	waitFor(t, "every confirmed message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for n := range confirmed {
			if !received[n] {
				return false
			}
		}
		return true
	})
	cancel()
	wg.Wait()
	t.Logf("%d messages confirmed, all received; %d reconnects", want, a.Status().Reconnects)

	// The delivery taken before the fault is stale and comes again.
	if err := held.Ack(); !errors.Is(err, ErrStaleDelivery) {
		t.Fatalf("Ack of a delivery from the lost channel = %v, want ErrStaleDelivery", err)
	}
	again := e.next(heldL, "held")
	if !again.Redelivered {
		t.Error("redelivered message not marked so")
	}
	ack(t, again)

	// The reply queue's consumer resumed too.
	if err := a.Reply(e.ctx(), rq, []byte("after")); err != nil {
		t.Fatal(err)
	}
	ack(t, e.next(replies, "after"))
}

func TestPublishWaitsForReconnect(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	opts := fastReconnect(t, "publish-wait")
	opts.ReconnectDelay = 2 * time.Second // the publish below starts while disconnected
	e := newEnv(t, im, opts)
	a := e.tr.(*AMQP)
	topic := e.topic("s1")
	l := e.listenRPC(a, Target{Topic: topic, Server: "s1"})
	e.send(Target{Topic: topic}, "before", SendOptions{})
	ack(t, e.next(l, "before"))

	send, _ := a.ConnectionNames()
	if n := brokertest.CloseConnections(t, send); n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	e.send(Target{Topic: topic}, "after", SendOptions{})
	ack(t, e.next(l, "after"))
	if a.Status().Reconnects == 0 {
		t.Error("publish succeeded without a reconnect")
	}
}

func TestPublishWhileDisconnectedHonoursContext(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	opts := fastReconnect(t, "publish-ctx")
	opts.ReconnectDelay = time.Minute // stays disconnected for the test
	e := newEnv(t, im, opts)
	a := e.tr.(*AMQP)
	send, _ := a.ConnectionNames()
	if n := brokertest.CloseConnections(t, send); n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	waitFor(t, "the loss to be noticed", func() bool { return !a.Status().SendConnected })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.Send(ctx, Target{Topic: e.topic()}, []byte("x"), SendOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send while disconnected = %v, want it to wait and give up with the context", err)
	}
}

func TestFailoverToTheNextHost(t *testing.T) {
	real := brokerURL(t)
	h := real.Brokers()[0]
	refusing := Host{Hostname: "127.0.0.1", Port: 1, Username: h.Username, Password: h.Password}
	u := &URL{Scheme: "rabbit", Hosts: []Host{refusing, h}, VirtualHost: real.VirtualHost}
	im := &amqpImpl{url: u, j: newJanitor(t, real)}
	opts := fastReconnect(t, "failover")
	e := newEnv(t, im, opts)
	a := e.tr.(*AMQP)

	topic := e.topic("s1")
	l := e.listenRPC(a, Target{Topic: topic, Server: "s1"})
	e.send(Target{Topic: topic}, "first", SendOptions{})
	ack(t, e.next(l, "first"))

	// After a loss, round-robin tries the refusing host first again.
	send, listen := a.ConnectionNames()
	if n := brokertest.CloseConnections(t, send, listen); n != 2 {
		t.Fatalf("closed %d connections, want 2", n)
	}
	waitFor(t, "both connections back", func() bool {
		s := a.Status()
		return s.Reconnects >= 2 && s.SendConnected && s.ListenConnected
	})
	e.send(Target{Topic: topic}, "second", SendOptions{})
	ack(t, e.next(l, "second"))
}

func TestDialGivesUpWithContext(t *testing.T) {
	u := &URL{Scheme: "rabbit", Hosts: []Host{{Hostname: "127.0.0.1", Port: 1}, {Hostname: "127.0.0.1", Port: 2}}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	opts := Options{RetryInterval: 50 * time.Millisecond, Logger: testLogger(t)}
	a, err := DialAMQP(ctx, u, opts)
	if err == nil {
		a.Close()
		t.Fatal("DialAMQP to refusing hosts succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialAMQP = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestConcurrentPublishers(t *testing.T) {
	if testing.Short() {
		t.Skip("hammer test")
	}
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	e := newEnv(t, im, Options{Logger: testLogger(t)})
	topic := e.topic("s1")
	l := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
	replies, rq := e.listenReplies(e.tr)
	const goroutines, each = 32, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				body := []byte(fmt.Sprintf("%d-%d", g, i))
				if err := e.tr.Send(e.ctx(), Target{Topic: topic}, body, SendOptions{}); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				if err := e.tr.Reply(e.ctx(), rq, body); err != nil {
					t.Errorf("Reply: %v", err)
					return
				}
			}
		})
	}
	got := e.collect(2*goroutines*each, l, replies)
	wg.Wait()
	seen := map[string]int{}
	for _, bodies := range got {
		for _, b := range bodies {
			seen[b]++
		}
	}
	for g := range goroutines {
		for i := range each {
			if k := fmt.Sprintf("%d-%d", g, i); seen[k] != 2 {
				t.Fatalf("message %s seen %d times, want 2 (request and reply)", k, seen[k])
			}
		}
	}
}

func TestListenerResumesAfterQueueDeleted(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	e := newEnv(t, im, fastReconnect(t, "cancel"))
	topic := e.topic("s1")
	l := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})

	// Someone deletes the shared queue: the broker cancels the consumer.
	conn, err := adminDial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(topic, false, false, false); err != nil {
		t.Fatal(err)
	}
	// The listener declares it again and consumes: a mandatory send
	// finds a queue once it has.
	waitFor(t, "the queue to be declared again", func() bool {
		_, err := ch.QueueDeclarePassive(topic, false, false, false, false, nil)
		if err != nil {
			ch, _ = conn.Channel() // a failed passive declare closes the channel
			return false
		}
		return true
	})
	e.send(Target{Topic: topic}, "back", SendOptions{Mandatory: true})
	ack(t, e.next(l, "back"))
}

func TestHeartbeatNegotiated(t *testing.T) {
	u := brokerURL(t)
	for _, tt := range []struct {
		opt  time.Duration
		want time.Duration
	}{{0, 60 * time.Second}, {10 * time.Second, 10 * time.Second}} {
		t.Run(tt.opt.String(), func(t *testing.T) {
			a, err := DialAMQP(context.Background(), u, Options{HeartbeatTimeout: tt.opt, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			conn, err := a.send.current(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := conn.Config.Heartbeat; got != tt.want {
				t.Fatalf("negotiated heartbeat %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDialProbesRefusingHost: while a pause between rounds runs, a host
// that refused the connection (a broker stopped or starting) is dialed
// again, so the connection comes as soon as the broker listens, not
// after the pause (here a minute, longer than the test waits).
func TestDialProbesRefusingHost(t *testing.T) {
	real := brokerURL(t)
	h := real.Brokers()[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // refused until the proxy below listens
	u := &URL{Scheme: "rabbit", Hosts: []Host{{Hostname: "127.0.0.1", Port: addr.Port, Username: h.Username, Password: h.Password}}, VirtualHost: real.VirtualHost}
	go func() {
		time.Sleep(500 * time.Millisecond)
		proxy, err := net.Listen("tcp", addr.String())
		if err != nil {
			t.Errorf("listen again on %s: %v", addr, err)
			return
		}
		t.Cleanup(func() { proxy.Close() })
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", h.Addr())
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(b, c); b.Close() }()
			go func() { _, _ = io.Copy(c, b); c.Close() }()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := DialAMQP(ctx, u, Options{RetryInterval: time.Minute, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("DialAMQP: %v; the refusing host was not dialed again during the pause", err)
	}
	a.Close()
}

// TestDialDoesNotProbeFailingHost: a host that accepts the TCP connection
// but fails the AMQP handshake is dialed once per round, at kombu's
// pace, not probed.
func TestDialDoesNotProbeFailingHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	u := &URL{Scheme: "rabbit", Hosts: []Host{{Hostname: "127.0.0.1", Port: addr.Port}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := DialAMQP(ctx, u, Options{RetryInterval: time.Minute, Logger: testLogger(t)})
	if err == nil {
		a.Close()
		t.Fatal("DialAMQP to a host that closes every connection succeeded")
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the failing host was dialed %d times within the first pause, want once", n)
	}
}
