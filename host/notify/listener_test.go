package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// waitTime bounds every wait for something that must happen; reaching it
// fails the test. It is no measure of speed.
const waitTime = 30 * time.Second

var (
	uuidForm      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timestampForm = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)
)

var _ Slots = (*rpc.Slots)(nil)

// testLogger logs through t, so that a failing test shows its logs.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newBroker returns an in-memory broker, closed at the end of the test.
func newBroker(t *testing.T) *transport.Memory {
	t.Helper()
	m, err := transport.NewMemory(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// connect returns another transport on broker, as another process has.
func connect(t *testing.T, broker *transport.Memory) *transport.Memory {
	t.Helper()
	m, err := broker.Connect(transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// sink collects what handlers get.
type sink struct {
	ch chan *Message
}

func newSink() *sink { return &sink{ch: make(chan *Message, 256)} }

// handler records every message and answers with answer(m).
func (s *sink) handler(answer func(*Message) (Result, error)) Handler {
	return HandlerFunc(func(_ context.Context, m *Message) (Result, error) {
		s.ch <- m
		if answer == nil {
			return Handled, nil
		}
		return answer(m)
	})
}

// next returns the next message a handler got.
func (s *sink) next(t *testing.T) *Message {
	t.Helper()
	select {
	case m := <-s.ch:
		return m
	case <-time.After(waitTime):
		t.Fatal("no notification reached the handler")
		return nil
	}
}

// everyPriority maps every priority to h.
func everyPriority(h Handler) map[Priority]Handler {
	hs := map[Priority]Handler{}
	for _, p := range Priorities() {
		hs[p] = h
	}
	return hs
}

// startListener starts a listener on topic over endpoints, shut down at
// the end of the test.
func startListener(t *testing.T, tr transport.Transport, topic string, opts ListenerOptions, eps ...Endpoint) *Listener {
	t.Helper()
	d, err := NewDispatcher(eps...)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	l := NewListener(tr, []Target{{Topic: topic}}, d, opts)
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return l
}

func newNotifier(t *testing.T, tr transport.Transport, publisher string, opts NotifierOptions) *Notifier {
	t.Helper()
	n, err := NewNotifier(tr, publisher, opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// queueIsEmpty reports whether the notification queue of target (and
// pool) holds nothing: it publishes a marker there and checks that the
// marker comes first. Call it with no other consumer on the queue.
func queueIsEmpty(t *testing.T, tr transport.Transport, target transport.NotifyTarget, pool string) (bool, *transport.Delivery) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	l, err := tr.ListenNotifications(ctx, []transport.NotifyTarget{target}, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := tr.Notify(ctx, target, []byte("marker")); err != nil {
		t.Fatal(err)
	}
	d, err := l.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Body) == "marker" {
		_ = d.Ack()
		return true, nil
	}
	_ = d.Ack()
	return false, d
}

func TestListenerGetsEveryPriority(t *testing.T) {
	stamp := time.Date(2024, 8, 1, 10, 0, 0, 123456789, time.UTC)
	for _, driver := range []Driver{DriverMessagingV2, DriverMessaging} {
		t.Run(string(driver), func(t *testing.T) {
			broker := newBroker(t)
			s := newSink()
			startListener(t, broker, "notifications", ListenerOptions{}, Endpoint{Handlers: everyPriority(s.handler(nil))})
			n := newNotifier(t, connect(t, broker), "compute.host1", NotifierOptions{Driver: driver, Now: func() time.Time { return stamp }})
			reqCtx := cb(t, map[string]any{"user_id": "u1", "roles": []any{"admin"}, "auth_token": "secret", "is_admin": true})
			for i, p := range Priorities() {
				payload := cb(t, map[string]any{"i": i, "state": "active"})
				if err := n.Notify(context.Background(), p, reqCtx, "compute.instance."+string(p), payload); err != nil {
					t.Fatal(err)
				}
				m := s.next(t)
				if m.Priority != p || m.PublisherID != "compute.host1" || m.EventType != "compute.instance."+string(p) {
					t.Fatalf("got %s %q %q", m.Priority, m.PublisherID, m.EventType)
				}
				if !sameValue(t, m.Payload, map[string]any{"i": i, "state": "active"}) {
					t.Errorf("payload %v", decoded(t, m.Payload))
				}
				wantCtx := map[string]any{"user_id": "u1", "roles": []any{"admin"}, "is_admin": true, "client_timeout": nil}
				if !sameValue(t, m.Context, wantCtx) {
					t.Errorf("context %v, want %v", decoded(t, m.Context), wantCtx)
				}
				if !uuidForm.MatchString(m.Metadata.MessageID) || m.Metadata.Timestamp != "2024-08-01 10:00:00.123456" {
					t.Errorf("metadata %+v", m.Metadata)
				}
			}
		})
	}
}

func TestNotifierTopicsAndPrepare(t *testing.T) {
	broker := newBroker(t)
	a, b := newSink(), newSink()
	startListener(t, broker, "topic_a", ListenerOptions{}, Endpoint{Handlers: map[Priority]Handler{PriorityWarn: a.handler(nil)}})
	startListener(t, broker, "topic_b", ListenerOptions{}, Endpoint{Handlers: map[Priority]Handler{PriorityWarn: b.handler(nil)}})
	n := newNotifier(t, broker, "base", NotifierOptions{Topics: []string{"topic_a", "topic_b"}})
	if got := n.Topics(); !slices.Equal(got, []string{"topic_a", "topic_b"}) {
		t.Fatalf("Topics = %v", got)
	}
	p := n.Prepare("prepared")
	if p.PublisherID() != "prepared" || n.PublisherID() != "base" {
		t.Fatalf("Prepare: %q, base %q", p.PublisherID(), n.PublisherID())
	}
	if err := p.Warn(context.Background(), nil, "ev", nil); err != nil {
		t.Fatal(err)
	}
	ma, mb := a.next(t), b.next(t)
	if ma.PublisherID != "prepared" || mb.PublisherID != "prepared" {
		t.Fatalf("publisher ids %q %q", ma.PublisherID, mb.PublisherID)
	}
	// One message_id for both topics, as oslo's Notifier sends one message.
	if ma.Metadata != mb.Metadata {
		t.Fatalf("metadata differs: %+v %+v", ma.Metadata, mb.Metadata)
	}
	if !sameValue(t, ma.Payload, nil) || !sameValue(t, ma.Context, map[string]any{"client_timeout": nil}) {
		t.Fatalf("payload %x, context %x", ma.Payload, ma.Context)
	}
}

func TestNotifierOptions(t *testing.T) {
	broker := newBroker(t)
	info := transport.NotifyTarget{Topic: DefaultTopic, Priority: "info"}
	raw, err := broker.ListenNotifications(context.Background(), []transport.NotifyTarget{info}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	next := func() oslo.Notification {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		d, err := raw.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = d.Ack()
		n, err := oslo.DecodeNotification(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	reqCtx := cb(t, map[string]any{"auth_token": "secret", "project_id": "p"})
	ctx := context.Background()

	noop := newNotifier(t, broker, "noop", NotifierOptions{Driver: DriverNoop})
	if noop.Enabled() {
		t.Fatal("a noop notifier is enabled")
	}
	if err := noop.Info(ctx, reqCtx, "noop", nil); err != nil {
		t.Fatal(err)
	}
	full := newNotifier(t, broker, "full", NotifierOptions{FullContext: true})
	if err := full.Info(ctx, reqCtx, "full", nil); err != nil {
		t.Fatal(err)
	}
	// The noop notification never came: the first is the full one.
	if n := next(); n.PublisherID != "full" || n.Priority != "INFO" || n.Legacy ||
		!sameValue(t, n.Context, map[string]any{"auth_token": "secret", "project_id": "p", "client_timeout": nil}) {
		t.Fatalf("got %+v, context %v", n, decoded(t, n.Context))
	}
	legacy := newNotifier(t, broker, "legacy", NotifierOptions{Driver: DriverMessaging})
	if err := legacy.Info(ctx, reqCtx, "legacy", nil); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.PublisherID != "legacy" || !n.Legacy || !sameValue(t, n.Context, map[string]any{"project_id": "p", "client_timeout": nil}) {
		t.Fatalf("got %+v", n)
	}

	errTests := []struct {
		name string
		do   func() error
	}{
		{"unknown driver", func() error { _, err := NewNotifier(broker, "x", NotifierOptions{Driver: "log"}); return err }},
		{"empty topic", func() error { _, err := NewNotifier(broker, "x", NotifierOptions{Topics: []string{""}}); return err }},
		{"unknown priority", func() error { return full.Notify(ctx, "WARNING", nil, "e", nil) }},
		{"context not a map", func() error { return legacy.Info(ctx, cb(t, []any{1}), "e", nil) }},
		{"full context not a map", func() error { return full.Info(ctx, cb(t, "x"), "e", nil) }},
		{"payload not CBOR", func() error { return full.Info(ctx, nil, "e", hx(t, "ff")) }},
		{"closed transport", func() error {
			c := connect(t, broker)
			c.Close()
			return newNotifier(t, c, "x", NotifierOptions{}).Info(ctx, nil, "e", nil)
		}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestListenerResults(t *testing.T) {
	tests := []struct {
		name      string
		first     func() (Result, error) // the answer to the first delivery
		noRequeue bool
		calls     int // deliveries the handler sees
	}{
		{"handled", func() (Result, error) { return Handled, nil }, false, 1},
		{"requeue", func() (Result, error) { return Requeue, nil }, false, 2},
		{"error requeues", func() (Result, error) { return Handled, errors.New("broken") }, false, 2},
		{"panic requeues", func() (Result, error) { panic("broken") }, false, 2},
		{"requeue without requeueing", func() (Result, error) { return Requeue, nil }, true, 1},
		{"error without requeueing", func() (Result, error) { return Requeue, errors.New("broken") }, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broker := newBroker(t)
			s := newSink()
			var calls atomic.Int32
			l := startListener(t, broker, "results", ListenerOptions{Executors: 1, NoRequeue: tt.noRequeue},
				Endpoint{Handlers: map[Priority]Handler{PriorityError: s.handler(func(m *Message) (Result, error) {
					if m.EventType == "x" && calls.Add(1) == 1 {
						return tt.first()
					}
					return Handled, nil
				})}})
			n := newNotifier(t, connect(t, broker), "p", NotifierOptions{Topics: []string{"results"}})
			if err := n.Error(context.Background(), nil, "x", nil); err != nil {
				t.Fatal(err)
			}
			first := s.next(t)
			for i := 1; i < tt.calls; i++ {
				if again := s.next(t); again.Metadata != first.Metadata {
					t.Fatalf("delivery %d is another message: %+v", i+1, again.Metadata)
				}
			}
			if err := l.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := int(calls.Load()); got != tt.calls {
				t.Fatalf("the handler saw the message %d times, want %d", got, tt.calls)
			}
			if empty, d := queueIsEmpty(t, broker, transport.NotifyTarget{Topic: "results", Priority: "error"}, ""); !empty {
				t.Fatalf("the queue still holds %q", d.Body)
			}
		})
	}
}

func TestListenerPools(t *testing.T) {
	broker := newBroker(t)
	const topic, count = "pooled", 30
	type member struct {
		group string
		pool  string
		sink  *sink
		l     *Listener
	}
	members := []*member{{group: "a", pool: "pool_a"}, {group: "a", pool: "pool_a"}, {group: "b", pool: "pool_b"}, {group: "none"}, {group: "none"}}
	for _, m := range members {
		m.sink = newSink()
		m.l = startListener(t, connect(t, broker), topic, ListenerOptions{Pool: m.pool},
			Endpoint{Handlers: map[Priority]Handler{PriorityInfo: m.sink.handler(nil), PrioritySample: m.sink.handler(nil)}})
	}
	if got := members[0].l.Queues(); !slices.Equal(got, []string{"pool_a"}) {
		t.Fatalf("pool listener queues %v, want [pool_a]", got)
	}
	if got := members[3].l.Queues(); !slices.Equal(got, []string{topic + ".info", topic + ".sample"}) {
		t.Fatalf("listener queues %v", got)
	}
	n := newNotifier(t, connect(t, broker), "p", NotifierOptions{Topics: []string{topic}})
	for i := range count {
		p := PriorityInfo
		if i%3 == 0 {
			p = PrioritySample
		}
		if err := n.Notify(context.Background(), p, nil, fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Every group gets every notification: wait for them, stop every
	// listener, then count.
	got := map[string]map[string]int{}
	for range 3 * count {
		select {
		case <-time.After(waitTime):
			t.Fatalf("the pools got %v", got)
		case m := <-members[0].sink.ch:
			addTo(got, "a", m.EventType)
		case m := <-members[1].sink.ch:
			addTo(got, "a", m.EventType)
		case m := <-members[2].sink.ch:
			addTo(got, "b", m.EventType)
		case m := <-members[3].sink.ch:
			addTo(got, "none", m.EventType)
		case m := <-members[4].sink.ch:
			addTo(got, "none", m.EventType)
		}
	}
	for _, m := range members {
		if err := m.l.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(m.sink.ch) != 0 {
			t.Fatalf("group %s got more than %d notifications", m.group, count)
		}
	}
	for _, g := range []string{"a", "b", "none"} {
		if len(got[g]) != count {
			t.Errorf("group %s got %d distinct notifications, want %d", g, len(got[g]), count)
		}
		for ev, c := range got[g] {
			if c != 1 {
				t.Errorf("group %s got %s %d times", g, ev, c)
			}
		}
	}
}

func addTo(m map[string]map[string]int, group, ev string) {
	if m[group] == nil {
		m[group] = map[string]int{}
	}
	m[group][ev]++
}

func TestListenerDropsMalformedAndDuplicates(t *testing.T) {
	broker := newBroker(t)
	s := newSink()
	l := startListener(t, broker, "dups", ListenerOptions{Executors: 1}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: s.handler(nil)}})
	target := transport.NotifyTarget{Topic: "dups", Priority: "info"}
	ctx := context.Background()
	body, err := oslo.EncodeNotification(nil, &oslo.Notification{
		MessageID: oslo.NewMessageID(), PublisherID: "p", EventType: "twice", Priority: "INFO",
		Timestamp: oslo.FormatTimestamp(time.Now()), UniqueID: oslo.NewID(),
	})
	if err != nil {
		t.Fatal(err)
	}
	odd, err := oslo.EncodeNotification(nil, &oslo.Notification{
		PublisherID: "p", EventType: "odd priority", Priority: "NOTICE", UniqueID: oslo.NewID(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{[]byte("not json"), []byte(`{"oslo.version": "3.0", "oslo.message": "{}"}`), body, body, odd} {
		if err := broker.Notify(ctx, target, b); err != nil {
			t.Fatal(err)
		}
	}
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"dups"}})
	if err := n.Info(ctx, nil, "last", nil); err != nil {
		t.Fatal(err)
	}
	if m := s.next(t); m.EventType != "twice" {
		t.Fatalf("first handled %q", m.EventType)
	}
	if m := s.next(t); m.EventType != "last" {
		t.Fatalf("then %q: the duplicate or a malformed message reached the handler", m.EventType)
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if empty, d := queueIsEmpty(t, broker, target, ""); !empty {
		t.Fatalf("the queue still holds %q", d.Body)
	}
}

func TestListenerLifecycle(t *testing.T) {
	broker := newBroker(t)
	d, err := NewDispatcher(Endpoint{Handlers: map[Priority]Handler{PriorityInfo: newSink().handler(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := NewListener(broker, nil, d, ListenerOptions{Logger: testLogger(t)}).Start(ctx); err == nil {
		t.Fatal("a listener without targets started")
	}
	if err := NewListener(broker, []Target{{}}, d, ListenerOptions{Logger: testLogger(t)}).Start(ctx); err == nil {
		t.Fatal("a listener without a topic started")
	}
	l := NewListener(broker, []Target{{Topic: "life"}}, d, ListenerOptions{Logger: testLogger(t)})
	if l.Running() || l.Queues() != nil {
		t.Fatal("running before Start")
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Running() {
		t.Fatal("not running after Start")
	}
	if err := l.Start(ctx); err == nil {
		t.Fatal("started twice")
	}
	for range 2 {
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if l.Running() {
		t.Fatal("running after Shutdown")
	}
	if err := l.Start(ctx); !errors.Is(err, ErrListenerClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	never := NewListener(broker, []Target{{Topic: "life"}}, d, ListenerOptions{Logger: testLogger(t)})
	if err := never.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := never.Start(ctx); !errors.Is(err, ErrListenerClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	closed := connect(t, broker)
	closed.Close()
	if err := NewListener(closed, []Target{{Topic: "life"}}, d, ListenerOptions{Logger: testLogger(t)}).Start(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Start on a closed transport: %v", err)
	}
}

func TestListenerShutdownWaitsForHandlers(t *testing.T) {
	broker := newBroker(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, m *Message) (Result, error) {
		close(entered)
		<-release
		return Handled, nil
	})
	l := startListener(t, broker, "slow", ListenerOptions{}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: h}})
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"slow"}})
	if err := n.Info(context.Background(), nil, "slow", nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	if l.InFlight() != 1 {
		t.Fatalf("InFlight = %d", l.InFlight())
	}
	done := make(chan error, 1)
	go func() { done <- l.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a handler runs", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.InFlight() != 0 {
		t.Fatalf("InFlight = %d after Shutdown", l.InFlight())
	}
	if empty, d := queueIsEmpty(t, broker, transport.NotifyTarget{Topic: "slow", Priority: "info"}, ""); !empty {
		t.Fatalf("the queue still holds %q", d.Body)
	}
}

func TestListenerForcedShutdownRequeues(t *testing.T) {
	broker := newBroker(t)
	entered := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, m *Message) (Result, error) {
		close(entered)
		<-ctx.Done()
		return Handled, ctx.Err()
	})
	l := startListener(t, broker, "stuck", ListenerOptions{}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: h}})
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"stuck"}})
	if err := n.Info(context.Background(), nil, "stuck", nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	empty, d := queueIsEmpty(t, broker, transport.NotifyTarget{Topic: "stuck", Priority: "info"}, "")
	if empty || !d.Redelivered {
		t.Fatal("the cancelled notification was not requeued")
	}
	if m, err := oslo.DecodeNotification(d.Body); err != nil || m.EventType != "stuck" {
		t.Fatalf("queue head %q: %v", d.Body, err)
	}
}

func TestListenerSharedSlots(t *testing.T) {
	broker := newBroker(t)
	slots := rpc.NewSlots(1)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	const count = 20
	wg.Add(2 * count)
	h := HandlerFunc(func(ctx context.Context, m *Message) (Result, error) {
		defer wg.Done()
		r := running.Add(1)
		for {
			old := most.Load()
			if r <= old || most.CompareAndSwap(old, r) {
				break
			}
		}
		running.Add(-1)
		return Handled, nil
	})
	for _, topic := range []string{"slot_a", "slot_b"} {
		startListener(t, broker, topic, ListenerOptions{Slots: slots, Executors: 8}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: h}})
	}
	n := newNotifier(t, broker, "p", NotifierOptions{Topics: []string{"slot_a", "slot_b"}})
	for range count {
		if err := n.Info(context.Background(), nil, "e", nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d handlers ran at once with one shared slot", most.Load())
	}
}
