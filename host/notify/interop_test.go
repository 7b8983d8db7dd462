package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// Interoperability with the real oslo.messaging through RabbitMQ, each
// reference peer of internal/oslopeer (Debian's 14.0.3, and 18.1.0):
// Python's Notifier and notification listener (testdata/oslo_notify.py)
// on one side, this package on the other.

// interopPayloads are a payload per priority, as JSON text: every JSON
// type, non-ASCII text and an integer beyond 64 bits.
var interopPayloads = map[Priority]string{
	PriorityAudit:    `{"instance_id": 12, "state": "active", "tags": ["a", "b"]}`,
	PriorityDebug:    `["list", 1, 2.5, null, true, false]`,
	PriorityInfo:     `"\u00fcn\u00efc\u00f6d\u00e9 \"quoted\" \ud83d\ude00"`,
	PriorityWarn:     `42`,
	PriorityError:    `null`,
	PriorityCritical: `{"nested": {"deep": [{"x": -1}]}, "big": 18446744073709551616, "f": 1e+100}`,
	PrioritySample:   `0.1`,
}

// interopContext is a request context with keys oslo's Notifier keeps and
// keys it drops.
const interopContext = `{"user_id": "u1", "project_id": "p1", "roles": ["admin", "member"], "is_admin": true, ` +
	`"request_id": "req-1", "global_request_id": null, "auth_token": "secret", "custom": 1}`

// sanitizedContext is interopContext as a listener gets it from 14.0.3's
// Notifier, and from this package's.
var sanitizedContext = `{"user_id": "u1", "project_id": "p1", "roles": ["admin", "member"], "is_admin": true, ` +
	`"request_id": "req-1", "global_request_id": null, "client_timeout": null}`

// pyContext is interopContext as a listener gets it from peer's Notifier.
// 14.0.3 keeps oslo's safe keys (Debian's backported whitelist), which is
// what this package does. 18.1.0 sends no context for a plain dict
// (notifier._sanitize_context makes it {}; a RequestContext fares no better
// with Debian's oslo.context 5.0.0), so the listener gets only the
// client_timeout it adds.
func pyContext(peer oslopeer.Peer) string {
	if peer.Name == oslopeer.V18 {
		return `{"client_timeout": null}`
	}
	return sanitizedContext
}

// jsonOf decodes JSON text keeping numbers exact, for comparisons.
func jsonOf(t testing.TB, text []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v
}

// cborJSON is the CBOR value c as jsonOf decodes its JSON.
func cborJSON(t testing.TB, c []byte) any {
	t.Helper()
	j, err := oslo.CBORToJSON(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	return jsonOf(t, j)
}

// valueJSON is a decoded JSON value (from the Python listener's output)
// as jsonOf decodes it.
func valueJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return jsonOf(t, b)
}

func toCBOR(t testing.TB, text string) []byte {
	t.Helper()
	c, err := oslo.JSONToCBOR(nil, []byte(text))
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return c
}

func pyItems(t testing.TB, publisher string) []pyItem {
	var ctxt map[string]any
	if err := json.Unmarshal([]byte(interopContext), &ctxt); err != nil {
		t.Fatal(err)
	}
	var items []pyItem
	for _, p := range Priorities() {
		items = append(items, pyItem{
			Priority: string(p), PublisherID: publisher, EventType: "interop." + string(p),
			Ctxt: ctxt, Payload: json.RawMessage(interopPayloads[p]),
		})
	}
	return items
}

func TestInteropPythonNotifierToGoListener(t *testing.T) {
	oslopeer.Run(t, testInteropPythonNotifierToGoListener)
}

func testInteropPythonNotifierToGoListener(t *testing.T, peer oslopeer.Peer) {
	for _, driver := range []Driver{DriverMessagingV2, DriverMessaging} {
		t.Run(string(driver), func(t *testing.T) {
			r := newRig(t)
			topic := r.topic()
			s := newSink()
			startListener(t, r.transport(), topic, ListenerOptions{}, Endpoint{Handlers: everyPriority(s.handler(nil))})
			r.pyNotify(peer, string(driver), topic, pyItems(t, "python.host"))
			got := map[Priority]*Message{}
			for range Priorities() {
				m := s.next(t)
				got[m.Priority] = m
			}
			for _, p := range Priorities() {
				m := got[p]
				if m == nil {
					t.Fatalf("no %s notification", p)
				}
				if m.PublisherID != "python.host" || m.EventType != "interop."+string(p) {
					t.Errorf("%s: publisher %q, event %q", p, m.PublisherID, m.EventType)
				}
				if g, w := cborJSON(t, m.Payload), jsonOf(t, []byte(interopPayloads[p])); !reflect.DeepEqual(g, w) {
					t.Errorf("%s: payload %v, want %v", p, g, w)
				}
				if g, w := cborJSON(t, m.Context), jsonOf(t, []byte(pyContext(peer))); !reflect.DeepEqual(g, w) {
					t.Errorf("%s: context %v, want %v", p, g, w)
				}
				if !uuidForm.MatchString(m.Metadata.MessageID) || !timestampForm.MatchString(m.Metadata.Timestamp) {
					t.Errorf("%s: metadata %+v", p, m.Metadata)
				}
			}
		})
	}
}

func TestInteropGoNotifierToPythonListener(t *testing.T) {
	oslopeer.Run(t, testInteropGoNotifierToPythonListener)
}

func testInteropGoNotifierToPythonListener(t *testing.T, peer oslopeer.Peer) {
	for _, driver := range []Driver{DriverMessagingV2, DriverMessaging} {
		t.Run(string(driver), func(t *testing.T) {
			r := newRig(t)
			topic := r.topic()
			py := r.pyListen(peer, topic, "", "handled")
			stamp := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
			n := newNotifier(t, r.transport(), "go.host", NotifierOptions{
				Topics: []string{topic}, Driver: driver, Now: func() time.Time { return stamp },
			})
			for _, p := range Priorities() {
				if err := n.Notify(context.Background(), p, toCBOR(t, interopContext), "interop."+string(p), toCBOR(t, interopPayloads[p])); err != nil {
					t.Fatal(err)
				}
			}
			fromGo := collectPy(t, py, len(Priorities()))
			// The same notifications from oslo's own Notifier, for
			// comparison.
			r.pyNotify(peer, string(driver), topic, pyItems(t, "go.host"))
			fromPy := collectPy(t, py, len(Priorities()))

			for _, p := range Priorities() {
				g, w := fromGo["interop."+string(p)], fromPy["interop."+string(p)]
				if g == nil || w == nil {
					t.Fatalf("%s: from Go %v, from Python %v", p, g, w)
				}
				if g["priority"] != string(p) || g["publisher_id"] != "go.host" || g["result"] != "handled" {
					t.Errorf("%s: %v", p, g)
				}
				if got, want := valueJSON(t, g["payload"]), jsonOf(t, []byte(interopPayloads[p])); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: payload %v, want %v", p, got, want)
				}
				if got, want := valueJSON(t, g["ctxt"]), jsonOf(t, []byte(sanitizedContext)); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: ctxt %v, want %v", p, got, want)
				}
				md := g["metadata"].(map[string]any)
				if md["timestamp"] != "2025-01-02 03:04:05.000006" || !uuidForm.MatchString(fmt.Sprint(md["message_id"])) || len(md) != 2 {
					t.Errorf("%s: metadata %v", p, md)
				}
				// What Python's endpoint sees is the same whoever sent it,
				// but for the message ID and the time, and the context
				// where peer's Notifier sends another (see pyContext).
				for _, m := range []map[string]any{g, w} {
					delete(m, "metadata")
				}
				if got, want := valueJSON(t, w["ctxt"]), jsonOf(t, []byte(pyContext(peer))); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: ctxt from oslo's Notifier %v, want %v", p, got, want)
				}
				if pyContext(peer) != sanitizedContext {
					delete(g, "ctxt")
					delete(w, "ctxt")
				}
				if !reflect.DeepEqual(valueJSON(t, g), valueJSON(t, w)) {
					t.Errorf("%s: from Go\n  %v\nfrom oslo's Notifier\n  %v", p, g, w)
				}
			}
		})
	}
}

// collectPy returns the next n endpoint calls of py by event type.
func collectPy(t *testing.T, py *pyListener, n int) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	for range n {
		m := py.next()
		ev := fmt.Sprint(m["event_type"])
		if got[ev] != nil {
			t.Fatalf("%s twice", ev)
		}
		got[ev] = m
	}
	return got
}

func TestInteropPools(t *testing.T) {
	r := newRig(t)
	topic, poolA, poolB := r.topic(), r.pool(), r.pool()
	const count = 30
	type member struct {
		name, group string
		s           *sink
		l           *Listener
	}
	members := []*member{{name: "a1", group: poolA}, {name: "a2", group: poolA}, {name: "b", group: poolB}}
	for _, m := range members {
		m.s = newSink()
		// A transport each, as separate processes would have.
		m.l = startListener(t, r.transport(), topic, ListenerOptions{Pool: m.group}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: m.s.handler(nil)}})
	}
	r.waitConsumers(poolA, 2)
	n := newNotifier(t, r.transport(), "go.host", NotifierOptions{Topics: []string{topic}})
	for i := range count {
		notifyInfo(t, n, fmt.Sprint(i))
	}
	seen := map[string]map[string]int{}
	by := map[string]int{}
	for range 2 * count {
		select {
		case m := <-members[0].s.ch:
			addTo(seen, poolA, m.EventType)
			by["a1"]++
		case m := <-members[1].s.ch:
			addTo(seen, poolA, m.EventType)
			by["a2"]++
		case m := <-members[2].s.ch:
			addTo(seen, poolB, m.EventType)
		case <-time.After(waitTime):
			t.Fatalf("the pools got %v", seen)
		}
	}
	for _, m := range members {
		if err := m.l.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(m.s.ch) != 0 {
			t.Errorf("%s got more", m.name)
		}
	}
	checkExactlyOnce(t, seen, count, poolA, poolB)
	if by["a1"] == 0 || by["a2"] == 0 {
		t.Errorf("pool A shared the notifications as %v: the broker round-robins its consumers", by)
	}
	for _, q := range []string{poolA, poolB} {
		if ready, _ := r.queue(q); ready != 0 {
			t.Errorf("queue %s holds %d messages", q, ready)
		}
	}
}

func checkExactlyOnce(t *testing.T, seen map[string]map[string]int, count int, groups ...string) {
	t.Helper()
	for _, g := range groups {
		if len(seen[g]) != count {
			t.Errorf("%s got %d distinct notifications, want %d", g, len(seen[g]), count)
		}
		for ev, c := range seen[g] {
			if c != 1 {
				t.Errorf("%s got %s %d times", g, ev, c)
			}
		}
	}
}

func TestInteropMixedPools(t *testing.T) {
	oslopeer.Run(t, testInteropMixedPools)
}

func testInteropMixedPools(t *testing.T, peer oslopeer.Peer) {
	r := newRig(t)
	topic, shared, pyOnly := r.topic(), r.pool(), r.pool()
	const half = 15
	goSink := newSink()
	goL := startListener(t, r.transport(), topic, ListenerOptions{Pool: shared}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: goSink.handler(nil)}})
	noPool := newSink()
	noPoolL := startListener(t, r.transport(), topic, ListenerOptions{}, Endpoint{Handlers: map[Priority]Handler{PriorityInfo: noPool.handler(nil)}})
	pyShared := r.pyListen(peer, topic, shared, "handled")
	pyQ := r.pyListen(peer, topic, pyOnly, "handled")
	r.waitConsumers(shared, 2)
	r.waitConsumers(pyOnly, 1)

	var items []pyItem
	for i := range half {
		items = append(items, pyItem{Priority: "info", PublisherID: "python.host", EventType: fmt.Sprint("py", i), Ctxt: map[string]any{}, Payload: i})
	}
	r.pyNotify(peer, "messagingv2", topic, items)
	n := newNotifier(t, r.transport(), "go.host", NotifierOptions{Topics: []string{topic}})
	for i := range half {
		notifyInfo(t, n, fmt.Sprint("go", i))
	}

	seen := map[string]map[string]int{}
	by := map[string]int{}
	for range 3 * 2 * half {
		select {
		case m := <-goSink.ch:
			addTo(seen, "shared", m.EventType)
			by["go"]++
		case m := <-pyShared.lines:
			addTo(seen, "shared", fmt.Sprint(m["event_type"]))
			by["python"]++
		case m := <-pyQ.lines:
			addTo(seen, "python pool", fmt.Sprint(m["event_type"]))
		case m := <-noPool.ch:
			addTo(seen, "no pool", m.EventType)
		case <-time.After(waitTime):
			t.Fatalf("the listeners got %v", seen)
		}
	}
	if err := goL.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := noPoolL.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pyShared.stop()
	pyQ.stop()
	if len(goSink.ch)+len(noPool.ch)+len(pyShared.lines)+len(pyQ.lines) != 0 {
		t.Error("a listener got more notifications than were sent")
	}
	checkExactlyOnce(t, seen, 2*half, "shared", "python pool", "no pool")
	if by["go"] == 0 || by["python"] == 0 {
		t.Errorf("the shared pool split the notifications as %v: the broker round-robins its consumers", by)
	}
	for _, q := range []string{shared, pyOnly, topic + ".info"} {
		if ready, _ := r.queue(q); ready != 0 {
			t.Errorf("queue %s holds %d messages", q, ready)
		}
	}
}

// TestInteropRequeue has a Go listener and a Python listener each refuse
// every notification once, by asking to requeue it or by failing, and
// compares what they see: each notification twice, then acknowledged;
// with each reference peer.
func TestInteropRequeue(t *testing.T) {
	oslopeer.Run(t, testInteropRequeue)
}

func testInteropRequeue(t *testing.T, peer oslopeer.Peer) {
	for _, mode := range []string{"requeue-once", "fail-once"} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t)
			goTopic, pyTopic := r.topic(), r.topic()
			const count = 3
			type call struct {
				id     string
				result string
			}
			goCalls := make(chan call, 4*count)
			seen := map[string]bool{}
			goL := startListener(t, r.transport(), goTopic, ListenerOptions{Executors: 1}, Endpoint{Handlers: map[Priority]Handler{
				PriorityInfo: HandlerFunc(func(_ context.Context, m *Message) (Result, error) {
					first := !seen[m.Metadata.MessageID]
					seen[m.Metadata.MessageID] = true
					switch {
					case first && mode == "requeue-once":
						goCalls <- call{m.Metadata.MessageID, "requeue"}
						return Requeue, nil
					case first:
						goCalls <- call{m.Metadata.MessageID, "fail"}
						return Handled, fmt.Errorf("fail-once")
					}
					goCalls <- call{m.Metadata.MessageID, "handled"}
					return Handled, nil
				}),
			}})
			py := r.pyListen(peer, pyTopic, "", mode)
			n := newNotifier(t, r.transport(), "go.host", NotifierOptions{Topics: []string{goTopic, pyTopic}})
			for i := range count {
				notifyInfo(t, n, fmt.Sprint(i))
			}
			goSeq, pySeq := map[string][]string{}, map[string][]string{}
			for range 2 * count {
				select {
				case c := <-goCalls:
					goSeq[c.id] = append(goSeq[c.id], c.result)
				case <-time.After(waitTime):
					t.Fatalf("the Go listener saw %v", goSeq)
				}
				m := py.next()
				id := fmt.Sprint(m["metadata"].(map[string]any)["message_id"])
				pySeq[id] = append(pySeq[id], fmt.Sprint(m["result"]))
			}
			if err := goL.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			py.stop()
			refusal := "requeue"
			if mode == "fail-once" {
				refusal = "fail"
			}
			want := []string{refusal, "handled"}
			if !reflect.DeepEqual(goSeq, pySeq) {
				t.Errorf("Go saw %v, Python saw %v", goSeq, pySeq)
			}
			if len(goSeq) != count {
				t.Errorf("Go saw %d notifications, want %d", len(goSeq), count)
			}
			for id, seq := range goSeq {
				if !slices.Equal(seq, want) {
					t.Errorf("Go: %s went %v, want %v", id, seq, want)
				}
			}
			if len(goCalls) != 0 || len(py.lines) != 0 {
				t.Error("a notification came a third time")
			}
			for _, q := range []string{goTopic + ".info", pyTopic + ".info"} {
				if ready, _ := r.queue(q); ready != 0 {
					t.Errorf("queue %s holds %d messages", q, ready)
				}
			}
		})
	}
}

// TestInteropBatchPrefetch checks that the prefetch count caps a batch,
// as in oslo: a batch of 5 with a prefetch of 2 would never fill.
func TestInteropBatchPrefetch(t *testing.T) {
	r := newRig(t)
	topic := r.topic()
	tr := r.transportWith(transport.Options{PrefetchCount: 2})
	s := newBatchSink()
	startBatchListener(t, tr, topic, ListenerOptions{BatchSize: 5, Executors: 1},
		BatchEndpoint{Handlers: map[Priority]BatchHandler{PriorityInfo: s.handler(nil)}})
	n := newNotifier(t, r.transport(), "go.host", NotifierOptions{Topics: []string{topic}})
	notifyInfo(t, n, "0", "1", "2", "3")
	var got []string
	for len(got) < 4 {
		b := s.next(t)
		if len(b) != 2 {
			t.Fatalf("batch %v, want 2 notifications", b)
		}
		got = append(got, b...)
	}
	slices.Sort(got)
	if fmt.Sprint(got) != "[info:0 info:1 info:2 info:3]" {
		t.Fatalf("batches held %v", got)
	}
}
