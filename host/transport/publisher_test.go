package transport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/brokertest"
)

// TestReturnsMatchTheirPublish sends, from one goroutine and without
// waiting in between, mandatory publishes in a random mix of routable and
// unroutable routing keys on one channel, then waits for them all: each
// unroutable one must come back ErrNoRoute naming its own key, each
// routable one nil.
func TestReturnsMatchTheirPublish(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	e := newEnv(t, im, Options{PublishChannels: 1, Logger: testLogger(t)})
	a := e.tr.(*AMQP)
	const n = maxInFlight
	for round, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			replies, rq := e.listenReplies(a)
			pc, err := a.pub.channel(e.ctx())
			if err != nil || pc == nil {
				t.Fatalf("channel: %v, %v", pc, err)
			}
			rnd := rand.New(rand.NewPCG(seed, seed))
			keys := make([]string, n)
			pending := make([]*pendingPublish, n)
			routed := 0
			for i := range n {
				keys[i] = rq
				if rnd.IntN(2) == 0 {
					keys[i] = NewReplyQueueName()
				} else {
					routed++
				}
				pc.slots <- struct{}{} // as publish does
				m := publishing{key: keys[i], body: fmt.Appendf(nil, "%d", i), mandatory: true}
				if pending[i], err = pc.send(e.ctx(), &m); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			for i, p := range pending {
				var err error
				select {
				case err = <-p.done:
				case <-time.After(waitTime):
					t.Fatalf("no confirm for publish %d", i)
				}
				if keys[i] == rq {
					if err != nil {
						t.Errorf("publish %d to the reply queue = %v, want nil", i, err)
					}
					continue
				}
				var nr *noRouteError
				if !errors.As(err, &nr) || nr.key != keys[i] {
					t.Errorf("publish %d to missing queue %s = %v, want ErrNoRoute for that queue", i, keys[i], err)
				}
			}
			if t.Failed() {
				return
			}
			if got := e.collect(routed, replies); len(got[0]) != routed {
				t.Fatalf("received %d replies, want %d", len(got[0]), routed)
			}
			if len(pc.slots) != 0 {
				t.Errorf("%d slots still taken after every confirm", len(pc.slots))
			}
		})
	}
}

// TestPublishesInFlightWhenConnectionCloses publishes mandatory replies
// to existing and missing queues from many goroutines over two channels,
// closes the publishing connection by name midway, and checks that every
// publish ends as its routing key says once the connection is back, and
// that every confirmed reply arrives.
func TestPublishesInFlightWhenConnectionCloses(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	opts := fastReconnect(t, "inflight")
	opts.PublishChannels = 2
	e := newEnv(t, im, opts)
	a := e.tr.(*AMQP)

	var ls []Listener
	var keys []string
	exists := map[string]bool{}
	for range 2 {
		l, q := e.listenReplies(a)
		ls = append(ls, l)
		keys = append(keys, q)
		exists[q] = true
	}
	keys = append(keys, NewReplyQueueName(), NewReplyQueueName())

	var mu sync.Mutex
	confirmed := map[string]bool{}
	returned := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := keys[(g+i)%len(keys)]
				body := fmt.Sprintf("%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), waitTime)
				err := a.Reply(ctx, key, []byte(body))
				cancel()
				mu.Lock()
				switch {
				case exists[key] && err == nil:
					confirmed[body] = true
				case !exists[key] && errors.Is(err, ErrNoRoute):
					returned++
				default:
					t.Errorf("Reply %s to %s (exists: %v) = %v", body, key, exists[key], err)
					mu.Unlock()
					return
				}
				mu.Unlock()
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(confirmed) + returned }

	waitFor(t, "200 publishes before the fault", func() bool { return count() >= 200 || t.Failed() })
	send, _ := a.ConnectionNames()
	if n := brokertest.CloseConnections(t, send); n != 1 {
		t.Fatalf("closed %d connections named %s, want 1", n, send)
	}
	waitFor(t, "the publishing connection back", func() bool {
		s := a.Status()
		return s.Reconnects >= 1 && s.SendConnected
	})
	before := count()
	waitFor(t, "200 publishes after the reconnect", func() bool { return count() >= before+200 || t.Failed() })
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}

	total := count()
	// Every confirmed reply arrives (a publish cut by the fault may have
	// been sent twice: at least once).
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	missing := len(confirmed)
	var rmu sync.Mutex
	var rwg sync.WaitGroup
	for _, l := range ls {
		rwg.Go(func() {
			for {
				d, err := l.Next(ctx)
				if err != nil {
					return
				}
				if err := d.Ack(); err != nil {
					t.Errorf("Ack: %v", err)
				}
				rmu.Lock()
				if confirmed[string(d.Body)] {
					delete(confirmed, string(d.Body))
					if missing--; missing == 0 {
						cancel()
					}
				}
				rmu.Unlock()
			}
		})
	}
	rwg.Wait()
	if missing != 0 {
		t.Fatalf("%d confirmed replies never arrived", missing)
	}
	t.Logf("%d publishes, %d of them returned; %d reconnects", total, returned, a.Status().Reconnects)
}

// TestPublishesGatherOnTheFirstChannel checks the pool's order: publishes
// take the first channel until spillAt are in flight on it, then the next.
func TestPublishesGatherOnTheFirstChannel(t *testing.T) {
	u := brokerURL(t)
	im := &amqpImpl{url: u, j: newJanitor(t, u)}
	e := newEnv(t, im, Options{PublishChannels: 3, Logger: testLogger(t)})
	a := e.tr.(*AMQP)
	replies, rq := e.listenReplies(a)
	reply := func(body string) {
		t.Helper()
		if err := a.Reply(e.ctx(), rq, []byte(body)); err != nil {
			t.Fatalf("Reply %s: %v", body, err)
		}
		ack(t, e.next(replies, body))
	}
	open := func() (n int) {
		for i := range a.pub.slots {
			if a.pub.slots[i].pc.Load() != nil {
				n++
			}
		}
		return n
	}
	for i := range 10 {
		reply(fmt.Sprint(i))
	}
	if n := open(); n != 1 {
		t.Fatalf("%d channels open after publishes one at a time, want 1", n)
	}
	first := a.pub.slots[0].pc.Load()
	for range spillAt { // as if spillAt publishes were in flight on it
		first.slots <- struct{}{}
	}
	reply("spilled")
	if n := open(); n != 2 {
		t.Fatalf("%d channels open after a publish beside %d in flight on the first, want 2", n, spillAt)
	}
	for range spillAt {
		<-first.slots
	}
	reply("back")
	if n := len(first.slots); n != 0 {
		t.Fatalf("%d publishes in flight on the first channel after its publishes came back", n)
	}
}
