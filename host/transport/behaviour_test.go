package transport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The behaviour every Transport shares, run against Memory
// (memory_test.go) and AMQP (amqp_test.go).

// impl opens transports of one implementation for a test. Transports
// opened by one impl in one test share a broker.
type impl interface {
	// open returns a transport with opts; the test closes it.
	open(t *testing.T, opts Options) Transport
	// forget registers queues and exchanges the test declared, for
	// deletion at its end, after its transports are closed.
	forget(t *testing.T, queues, exchanges []string)
}

// waitTime bounds every wait of these tests, so that a broken transport
// fails instead of hanging. It asserts nothing about speed.
const waitTime = 60 * time.Second

// env is one behaviour test's transport and unique names.
type env struct {
	t        *testing.T
	impl     impl
	opts     Options
	tr       Transport
	exchange string
	id       string
}

func newEnv(t *testing.T, im impl, opts Options) *env {
	t.Helper()
	id := uuidHex()[:12]
	if opts.ControlExchange == "" {
		opts.ControlExchange = "wrt_" + id
	}
	e := &env{t: t, impl: im, opts: opts, exchange: opts.ControlExchange, id: id}
	e.tr = im.open(t, opts)
	im.forget(t, nil, []string{opts.ControlExchange})
	return e
}

// topic returns a fresh topic name and forgets what an RPC server of it
// declares.
func (e *env) topic(servers ...string) string {
	topic := fmt.Sprintf("wrt_%s_%s", e.id, uuidHex()[:8])
	qs := []string{topic}
	for _, s := range servers {
		qs = append(qs, topic+"."+s)
	}
	e.impl.forget(e.t, qs, []string{topic + "_fanout"})
	return topic
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) listenRPC(tr Transport, target Target) Listener {
	e.t.Helper()
	l, err := tr.ListenRPC(e.ctx(), target)
	if err != nil {
		e.t.Fatalf("ListenRPC(%+v): %v", target, err)
	}
	e.impl.forget(e.t, l.Queues(), nil)
	e.t.Cleanup(func() { _ = l.Close() })
	return l
}

func (e *env) listenReplies(tr Transport) (Listener, string) {
	e.t.Helper()
	q := NewReplyQueueName()
	e.impl.forget(e.t, []string{q}, nil)
	l, err := tr.ListenReplies(e.ctx(), q)
	if err != nil {
		e.t.Fatalf("ListenReplies: %v", err)
	}
	e.t.Cleanup(func() { _ = l.Close() })
	return l, q
}

func (e *env) listenNotify(tr Transport, targets []NotifyTarget, pool string) Listener {
	e.t.Helper()
	var qs []string
	for _, t := range targets {
		qs = append(qs, t.RoutingKey())
	}
	if pool != "" {
		qs = append(qs, pool)
	}
	e.impl.forget(e.t, qs, nil)
	l, err := tr.ListenNotifications(e.ctx(), targets, pool)
	if err != nil {
		e.t.Fatalf("ListenNotifications: %v", err)
	}
	e.t.Cleanup(func() { _ = l.Close() })
	return l
}

func (e *env) send(target Target, body string, opts SendOptions) {
	e.t.Helper()
	if err := e.tr.Send(e.ctx(), target, []byte(body), opts); err != nil {
		e.t.Fatalf("Send(%+v, %q): %v", target, body, err)
	}
}

// next takes the next message of l and checks its body.
func (e *env) next(l Listener, want string) *Delivery {
	e.t.Helper()
	d, err := l.Next(e.ctx())
	if err != nil {
		e.t.Fatalf("Next (want %q): %v", want, err)
	}
	if string(d.Body) != want {
		e.t.Fatalf("Next = %q, want %q", d.Body, want)
	}
	return d
}

func ack(t *testing.T, d *Delivery) {
	t.Helper()
	if err := d.Ack(); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

// collect takes n messages from the listeners together and returns their
// bodies by listener index.
func (e *env) collect(n int, ls ...Listener) [][]string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	var mu sync.Mutex
	got := make([][]string, len(ls))
	total := 0
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			for {
				d, err := l.Next(ctx)
				if err != nil {
					return
				}
				_ = d.Ack()
				mu.Lock()
				got[i] = append(got[i], string(d.Body))
				total++
				if total == n {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if total < n {
		e.t.Fatalf("collected %d of %d messages: %v", total, n, got)
	}
	return got
}

// behaviourTests are the cases every implementation passes.
var behaviourTests = []struct {
	name string
	opts Options
	run  func(t *testing.T, e *env)
}{
	{"rpc call and reply", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1")
		srv := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		replies, rq := e.listenReplies(e.tr)
		e.send(Target{Topic: topic}, `{"call":1}`, SendOptions{Expiration: time.Minute})
		d := e.next(srv, `{"call":1}`)
		if d.Exchange != e.exchange || d.RoutingKey != topic || d.Queue != topic {
			t.Errorf("delivery from exchange %q key %q queue %q", d.Exchange, d.RoutingKey, d.Queue)
		}
		if d.ContentType != ContentType || d.ContentEncoding != ContentEncoding {
			t.Errorf("content type %q encoding %q", d.ContentType, d.ContentEncoding)
		}
		if d.Expiration != time.Minute {
			t.Errorf("expiration %v, want the sender's 1m", d.Expiration)
		}
		ack(t, d)
		if err := e.tr.Reply(e.ctx(), rq, []byte(`{"result":1}`)); err != nil {
			t.Fatalf("Reply: %v", err)
		}
		r := e.next(replies, `{"result":1}`)
		if r.Queue != rq || r.Exchange != "" || r.RoutingKey != rq {
			t.Errorf("reply from exchange %q key %q queue %q", r.Exchange, r.RoutingKey, r.Queue)
		}
		ack(t, r)
	}},
	{"server queue reaches only that server", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		s1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		s2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
		e.send(Target{Topic: topic, Server: "s2"}, "for s2", SendOptions{})
		e.send(Target{Topic: topic, Server: "s1"}, "for s1", SendOptions{})
		ack(t, e.next(s1, "for s1"))
		d := e.next(s2, "for s2")
		if d.Queue != topic+".s2" || d.RoutingKey != topic+".s2" {
			t.Errorf("queue %q key %q", d.Queue, d.RoutingKey)
		}
		ack(t, d)
	}},
	{"fanout reaches every server", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		s1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		s2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
		e.send(Target{Topic: topic, Fanout: true}, "all", SendOptions{})
		d1 := e.next(s1, "all")
		d2 := e.next(s2, "all")
		queuesOK := d1.Queue != d2.Queue && strings.HasPrefix(d1.Queue, topic+"_fanout_")
		if e.opts.StreamFanout { // one stream each server reads
			queuesOK = d1.Queue == topic+"_fanout" && d2.Queue == d1.Queue
		}
		if !queuesOK || d1.Exchange != topic+"_fanout" || d1.RoutingKey != "" {
			t.Errorf("fanout queues %q and %q, exchange %q, key %q", d1.Queue, d2.Queue, d1.Exchange, d1.RoutingKey)
		}
		ack(t, d1)
		ack(t, d2)
	}},
	{"topic queue shares work", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		s1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		s2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
		const n = 20
		for i := range n {
			e.send(Target{Topic: topic}, fmt.Sprint(i), SendOptions{})
		}
		got := e.collect(n, s1, s2)
		all := slices.Concat(got...)
		slices.Sort(all)
		if len(slices.Compact(all)) != n {
			t.Fatalf("got %v, want %d distinct messages", got, n)
		}
	}},
	{"reply to a missing queue is ErrNoRoute", Options{}, func(t *testing.T, e *env) {
		err := e.tr.Reply(e.ctx(), NewReplyQueueName(), []byte("lost"))
		if !errors.Is(err, ErrNoRoute) {
			t.Fatalf("Reply = %v, want ErrNoRoute", err)
		}
		// The transport still works afterwards.
		replies, rq := e.listenReplies(e.tr)
		if err := e.tr.Reply(e.ctx(), rq, []byte("found")); err != nil {
			t.Fatal(err)
		}
		ack(t, e.next(replies, "found"))
	}},
	{"concurrent mandatory replies each get their own outcome", Options{PublishChannels: 1}, func(t *testing.T, e *env) {
		// Replies to queues that exist and to queues that do not, from
		// many goroutines over one publishing channel: each unroutable
		// one is ErrNoRoute, each routable one nil and delivered to its
		// own queue.
		const routable, unroutable, goroutines, each = 3, 3, 16, 24
		var ls []Listener
		queueOf := map[string]int{} // reply queue name -> index in ls
		var keys []string
		for i := range routable {
			l, q := e.listenReplies(e.tr)
			queueOf[q] = i
			ls = append(ls, l)
			keys = append(keys, q)
		}
		for range unroutable {
			keys = append(keys, NewReplyQueueName())
		}
		var mu sync.Mutex
		sent := map[string]string{} // body -> reply queue, for the replies that returned nil
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					key := keys[(g*7+i)%len(keys)]
					body := fmt.Sprintf("%d-%d", g, i)
					err := e.tr.Reply(e.ctx(), key, []byte(body))
					_, ok := queueOf[key]
					switch {
					case ok && err != nil:
						t.Errorf("Reply %s to existing queue %s = %v, want nil", body, key, err)
					case !ok && !errors.Is(err, ErrNoRoute):
						t.Errorf("Reply %s to missing queue %s = %v, want ErrNoRoute", body, key, err)
					case !ok && !strings.Contains(err.Error(), key):
						t.Errorf("Reply %s to missing queue %s: error %q names another queue", body, key, err)
					case ok:
						mu.Lock()
						sent[body] = key
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		got := e.collect(len(sent), ls...)
		for i, bodies := range got {
			for _, b := range bodies {
				if q, ok := sent[b]; !ok || queueOf[q] != i {
					t.Errorf("reply %s delivered to queue %d, sent to %q", b, i, q)
				}
			}
		}
	}},
	{"mandatory send without a queue is ErrNoRoute", Options{}, func(t *testing.T, e *env) {
		topic := e.topic()
		err := e.tr.Send(e.ctx(), Target{Topic: topic}, []byte("x"), SendOptions{Mandatory: true})
		if !errors.Is(err, ErrNoRoute) {
			t.Fatalf("mandatory Send = %v, want ErrNoRoute", err)
		}
		if err := e.tr.Send(e.ctx(), Target{Topic: topic}, []byte("x"), SendOptions{}); err != nil {
			t.Fatalf("Send = %v, want nil: a cast to nobody is dropped silently", err)
		}
	}},
	{"notification waits in its queue for a listener", Options{}, func(t *testing.T, e *env) {
		topic := e.topic()
		target := NotifyTarget{Topic: topic, Priority: "info"}
		e.impl.forget(t, []string{target.RoutingKey()}, nil)
		if err := e.tr.Notify(e.ctx(), target, []byte("early")); err != nil {
			t.Fatal(err)
		}
		l := e.listenNotify(e.tr, []NotifyTarget{target}, "")
		d := e.next(l, "early")
		if d.Queue != topic+".info" || d.RoutingKey != topic+".info" || d.Exchange != e.exchange {
			t.Errorf("queue %q key %q exchange %q", d.Queue, d.RoutingKey, d.Exchange)
		}
		ack(t, d)
	}},
	{"notification pools each get a copy", Options{}, func(t *testing.T, e *env) {
		topic := e.topic()
		info := NotifyTarget{Topic: topic, Priority: "info"}
		errT := NotifyTarget{Topic: topic, Priority: "error"}
		p1, p2 := "wrt_pool_"+uuidHex()[:8], "wrt_pool_"+uuidHex()[:8]
		a := e.listenNotify(e.tr, []NotifyTarget{info, errT}, p1)
		b := e.listenNotify(e.tr, []NotifyTarget{info}, p2)
		if q := a.Queues(); len(q) != 1 || q[0] != p1 {
			t.Errorf("pool listener queues %v, want [%s]", q, p1)
		}
		for _, n := range []struct {
			target NotifyTarget
			body   string
		}{{info, "i"}, {errT, "e"}} {
			if err := e.tr.Notify(e.ctx(), n.target, []byte(n.body)); err != nil {
				t.Fatal(err)
			}
		}
		got := e.collect(2, a)
		slices.Sort(got[0])
		if !slices.Equal(got[0], []string{"e", "i"}) {
			t.Errorf("pool %s got %v", p1, got[0])
		}
		ack(t, e.next(b, "i"))
		// notify_send declared the shared queues too: the messages wait there.
		shared := e.listenNotify(e.tr, []NotifyTarget{info}, "")
		ack(t, e.next(shared, "i"))
	}},
	{"nack requeues, reject drops", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1")
		l := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		e.send(Target{Topic: topic}, "again", SendOptions{})
		d := e.next(l, "again")
		if d.Redelivered {
			t.Error("first delivery marked redelivered")
		}
		if err := d.Nack(true); err != nil {
			t.Fatal(err)
		}
		d = e.next(l, "again")
		if !d.Redelivered {
			t.Error("requeued delivery not marked redelivered")
		}
		if err := d.Reject(); err != nil {
			t.Fatal(err)
		}
		e.send(Target{Topic: topic}, "next", SendOptions{})
		ack(t, e.next(l, "next"))
	}},
	{"settling twice is ErrSettled", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1")
		l := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		e.send(Target{Topic: topic}, "once", SendOptions{})
		d := e.next(l, "once")
		ack(t, d)
		for _, f := range []func() error{d.Ack, d.Reject, func() error { return d.Nack(true) }} {
			if err := f(); !errors.Is(err, ErrSettled) {
				t.Fatalf("second settle = %v, want ErrSettled", err)
			}
		}
		// The channel survived: the listener still works.
		e.send(Target{Topic: topic}, "twice", SendOptions{})
		ack(t, e.next(l, "twice"))
	}},
	{"closing a listener requeues what it holds", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		l1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		e.send(Target{Topic: topic}, "held", SendOptions{})
		d := e.next(l1, "held")
		if err := l1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Ack(); !errors.Is(err, ErrStaleDelivery) {
			t.Fatalf("Ack after Close = %v, want ErrStaleDelivery", err)
		}
		if _, err := l1.Next(e.ctx()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
		if err := l1.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		l2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
		d = e.next(l2, "held")
		if !d.Redelivered {
			t.Error("requeued message not marked redelivered")
		}
		ack(t, d)
	}},
	{"prefetch holds back", Options{PrefetchCount: 1}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		l1 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		e.send(Target{Topic: topic}, "m1", SendOptions{})
		d1 := e.next(l1, "m1")
		l2 := e.listenRPC(e.tr, Target{Topic: topic, Server: "s2"})
		e.send(Target{Topic: topic}, "m2", SendOptions{})
		ack(t, e.next(l2, "m2"))
		ack(t, d1)
	}},
	{"inequivalent declaration is ErrPreconditionFailed", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1", "s2")
		e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		opts := e.opts
		opts.DurableQueues = !opts.DurableQueues
		if opts.QuorumQueues { // durable anyway: a classic queue over a quorum one
			opts.QuorumQueues, opts.DurableQueues = false, true
		}
		other := e.impl.open(t, opts)
		_, err := other.ListenRPC(e.ctx(), Target{Topic: topic, Server: "s2"})
		if !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("ListenRPC with other arguments than the topic's = %v, want ErrPreconditionFailed", err)
		}
	}},
	{"closed transport refuses work", Options{}, func(t *testing.T, e *env) {
		topic := e.topic("s1")
		l := e.listenRPC(e.tr, Target{Topic: topic, Server: "s1"})
		if err := e.tr.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Next(e.ctx()); !errors.Is(err, ErrClosed) {
			t.Errorf("Next = %v, want ErrClosed", err)
		}
		if err := e.tr.Send(e.ctx(), Target{Topic: topic}, nil, SendOptions{}); !errors.Is(err, ErrClosed) {
			t.Errorf("Send = %v, want ErrClosed", err)
		}
		if _, err := e.tr.ListenReplies(e.ctx(), NewReplyQueueName()); !errors.Is(err, ErrClosed) {
			t.Errorf("ListenReplies = %v, want ErrClosed", err)
		}
	}},
	{"bad targets are refused", Options{}, func(t *testing.T, e *env) {
		if _, err := e.tr.ListenRPC(e.ctx(), Target{Topic: "t"}); err == nil {
			t.Error("ListenRPC without a server accepted")
		}
		if _, err := e.tr.ListenNotifications(e.ctx(), nil, ""); err == nil {
			t.Error("ListenNotifications without targets accepted")
		}
		if err := e.tr.Send(e.ctx(), Target{}, nil, SendOptions{}); err == nil {
			t.Error("Send without a topic accepted")
		}
	}},
}

// runBehaviour runs behaviourTests, each on a fresh impl.
func runBehaviour(t *testing.T, newImpl func(t *testing.T) impl) {
	runBehaviourWith(t, newImpl, func(o Options) Options { return o })
}

// runBehaviourWith runs behaviourTests, each on a fresh impl, with
// options(the test's options).
func runBehaviourWith(t *testing.T, newImpl func(t *testing.T) impl, options func(Options) Options) {
	for _, tt := range behaviourTests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newEnv(t, newImpl(t), options(tt.opts)))
		})
	}
}
