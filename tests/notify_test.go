package tests

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// The notification chain: a notifier sends an info notification to a
// topic that modules/testkit listens to (module config notification_topics);
// on an event type starting with "testkit." the module emits through the
// guest SDK "testkit.seen" from publisher "testkit" with the same payload
// on topic "testkit_seen" of the control exchange, which a Python
// listener receives. tests/python/testkit_endpoint.py's
// TestkitNotificationEndpoint does the same in Python.
//
// testkit_seen is fixed by the module, so its queue "testkit_seen.info"
// is shared by name with every other run on the broker (each binds it to
// its own control exchange): the tests listen to testkit_seen through a
// pool queue of their own, and delete "testkit_seen.info" at the end.

// seenTopic is the topic testkit emits testkit.seen on.
const seenTopic = "testkit_seen"

// variedPayload holds every kind of JSON value, written as Python's
// json.dumps writes them, so that text and value compare alike.
const variedPayload = `{"str": "volume \u00e9 \u4e2d \ud83d\ude00 \"q\" \\ /", "int": 42, "neg": -7,
 "i64max": 9223372036854775807, "i64min": -9223372036854775808, "big": 1267650600228229401496703205376,
 "float": 2.5, "whole": 3.0, "negzero": -0.0, "tiny": 1e-300, "huge": 1e+300,
 "nan": NaN, "inf": Infinity, "ninf": -Infinity, "t": true, "f": false, "none": null,
 "empty_str": "", "empty_list": [], "empty_obj": {},
 "list": [1, "two", 3.5, null, [false]], "nested": {"a": {"b": {"c": [1, {"d": "e"}]}}}}`

// chain is one test's control exchange with a Python listener on
// testkit_seen in a pool of the test's own.
type chain struct {
	n        *names
	exchange string
	seenPool string
	seen     *pyListener
}

// newChain makes the test's names on exchange (a word) and starts the
// testkit_seen listener of peer.
func newChain(t *testing.T, peer oslopeer.Peer, n *names, exchange string) *chain {
	t.Helper()
	c := &chain{n: n, exchange: n.prefix + "_" + exchange, seenPool: n.prefix + "_" + exchange + "_seen"}
	n.addExchange(c.exchange)
	n.addQueue(seenTopic + ".info")
	n.addQueue(c.seenPool)
	c.seen = startPyListener(t, peer, c.exchange, seenTopic, pyListenerOptions{Pool: c.seenPool})
	return c
}

// topic returns a notification topic of the test and registers the
// deletion of its queue for each priority.
func (c *chain) topic(what string) string {
	topic := c.n.prefix + "_" + what
	for _, p := range []string{"audit", "debug", "info", "warn", "error", "critical", "sample"} {
		c.n.addQueue(topic + "." + p)
	}
	return topic
}

// startDaemon starts wasmrpcd with testkit listening to topic, with the
// module keys module (notification_pool…) and a default tenant that may
// emit to tenantTopics (none when nil).
func (c *chain) startDaemon(t *testing.T, topic string, module map[string]any, tenantTopics []string) *daemon {
	t.Helper()
	cfg := testkitConfig(c.exchange, c.n.topic("rpc", "notifyhost"), "notifyhost")
	cfg.Modules[0].Extra = map[string]any{"notification_topics": []string{topic}}
	for k, v := range module {
		cfg.Modules[0].Extra[k] = v
	}
	if tenantTopics != nil {
		cfg.Tenant = map[string]any{"notification_topics": tenantTopics}
	}
	return startDaemon(t, cfg)
}

// cliNotify sends ns with `wasmrpcd notify`, one process each.
func cliNotify(t *testing.T, exchange, topic string, ns ...pyNotification) {
	t.Helper()
	for _, n := range ns {
		args := []string{"notify", "--url", rabbitURL(""), "--exchange", exchange, "--topic", topic,
			"--priority", n.Priority, "--publisher-id", n.PublisherID, "--timeout", "30s"}
		if n.Ctxt != "" {
			args = append(args, "--context", n.Ctxt)
		}
		args = append(args, "--", n.EventType, n.Payload)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, daemonBin, args...).CombinedOutput()
		cancel()
		if err != nil || len(out) != 0 {
			t.Fatalf("wasmrpcd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// sender sends notifications to topic of exchange.
type sender func(t *testing.T, exchange, topic string, ns ...pyNotification)

// sendsContext reports whether peer's Notifier sends the safe keys of a
// dict context (user_id, request_id…), Debian 14.0.3's backported
// whitelist. 18.1.0 sends no context at all for a dict
// (notifier._sanitize_context turns it into {}; a RequestContext fares no
// better with Debian's oslo.context 5.0.0, which lacks redacted_copy): the
// listener gets {"client_timeout": null}, and the tests tell its
// notifications apart by payload (notification.key).
func sendsContext(peer oslopeer.Peer) bool { return peer.Name == oslopeer.V14 }

// key identifies a notification of a test: its context's request_id, or
// with byPayload its payload (canonical JSON).
func (n notification) key(t *testing.T, byPayload bool) string {
	t.Helper()
	if byPayload {
		return canonicalJSON(t, n.Payload)
	}
	return n.requestID()
}

// key is notification.key of what a listener gets of n.
func (n pyNotification) key(t *testing.T, byPayload bool) string {
	t.Helper()
	if byPayload {
		return canonicalJSON(t, pyJSON([]byte(n.Payload)))
	}
	return n.requestID(t)
}

// canonicalJSON returns JSON text as Go writes its value: object keys
// sorted, numbers as written (see jsonValue).
func canonicalJSON(t *testing.T, text []byte) string {
	t.Helper()
	v, err := jsonValue(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNotifyChain(t *testing.T) {
	oslopeer.Run(t, testNotifyChain)
}

func testNotifyChain(t *testing.T, peer oslopeer.Peer) {
	for _, s := range []struct {
		name string
		send sender
		// keeps says whether the module gets the safe keys of the context.
		keeps bool
	}{
		{"python notifier", func(t *testing.T, exchange, topic string, ns ...pyNotification) {
			pyNotify(t, peer, exchange, topic, ns...)
		}, sendsContext(peer)},
		{"wasmrpcd notify", cliNotify, true},
	} {
		t.Run(s.name, func(t *testing.T) {
			c := newChain(t, peer, newNames(t), "x")
			topic := c.topic("volumes")
			d := c.startDaemon(t, topic, nil, []string{seenTopic})
			s.send(t, c.exchange, topic,
				pyNotification{Priority: "info", PublisherID: "volume.host1", EventType: "volume.created", Ctxt: `{"request_id": "req-other"}`, Payload: `{"case": "not testkit"}`},
				pyNotification{Priority: "info", PublisherID: "volume.host1", EventType: "testkitx.created", Ctxt: `{"request_id": "req-prefix"}`, Payload: `{"case": "no dot"}`},
				pyNotification{Priority: "warn", PublisherID: "volume.host1", EventType: "testkit.volume.created", Ctxt: `{"request_id": "req-warn"}`, Payload: `{"case": "warn"}`},
				pyNotification{Priority: "info", PublisherID: "volume.host1", EventType: "testkit.volume.created",
					Ctxt:    `{"request_id": "req-1", "user_id": "u1", "roles": ["admin", "member"], "is_admin": false, "auth_token": "secret", "custom": 1}`,
					Payload: variedPayload},
			)
			want := notification{Priority: "info", PublisherID: "testkit", EventType: "testkit.seen", Payload: []byte(pyJSON([]byte(variedPayload)))}
			got := c.seen.wait("testkit.seen", func(n notification) bool {
				if !s.keeps {
					return jsonEqual(n.Payload, want.Payload) // the only info testkit.* notification
				}
				return n.requestID() == "req-1"
			})
			if got.Priority != want.Priority || got.PublisherID != want.PublisherID || got.EventType != want.EventType {
				t.Errorf("got %v, want info testkit.seen from testkit", got)
			}
			if !jsonEqual(got.Payload, want.Payload) {
				t.Errorf("payload\n%s\nwant\n%s", got.Payload, want.Payload)
			}
			ctxt := map[string]string{"user_id": `"u1"`, "roles": `["admin", "member"]`, "is_admin": "false", "auth_token": "", "custom": ""}
			if !s.keeps {
				// The module got no context (see sendsContext), and
				// passes on none.
				ctxt = map[string]string{"request_id": "", "user_id": "", "roles": "", "is_admin": "", "auth_token": "", "custom": ""}
			}
			for key, value := range ctxt {
				if v := got.ctxtValue(key); !jsonEqual([]byte(v), []byte(value)) && v != value {
					t.Errorf("context %s: %s, want %q (the notifiers keep only oslo's safe keys)", key, v, value)
				}
			}
			// Every notification handled and settled, every emission
			// received: then testkit.seen came for req-1 only.
			waitDrained(t, topic+".info")
			waitDrained(t, c.seenPool)
			d.stop()
			all := c.seen.stop()
			if len(all) != 1 {
				t.Errorf("testkit_seen got %d notifications, want the one of req-1: %v", len(all), all)
			}
			if n := queueReady(t, topic+".info"); n != 0 {
				t.Errorf("%d notifications left in %s.info", n, topic)
			}
			if n := queueReady(t, topic+".warn"); n != 1 {
				t.Errorf("%s.warn holds %d notifications, want the warn one (testkit handles info only)", topic, n)
			}
		})
	}
}

// chainCases are the notifications of the differential test: the context's
// request_id names each; emits says whether testkit answers it.
var chainCases = []struct {
	n     pyNotification
	emits bool
}{
	{pyNotification{"info", "volume.host1", "testkit.volume.created",
		`{"request_id": "req-varied", "user_id": "u1", "project_id": "p1", "roles": ["admin"], "is_admin": true, "global_request_id": "greq-1", "auth_token": "secret", "custom": {"a": 1}}`,
		variedPayload}, true},
	{pyNotification{"info", "volume.host1", "testkit.list", `{"request_id": "req-list"}`, `[1, "a", null, 2.5, {"k": []}]`}, true},
	{pyNotification{"info", "volume.host1", "testkit.string", `{"request_id": "req-string"}`, `"just a string"`}, true},
	{pyNotification{"info", "volume.host1", "testkit.number", `{"request_id": "req-number"}`, `12345678901234567890123`}, true},
	{pyNotification{"info", "volume.host1", "testkit.null", `{"request_id": "req-null"}`, `null`}, true},
	{pyNotification{"info", "volume.host1", "testkit.", `{"request_id": "req-empty-suffix"}`, `{}`}, true},
	{pyNotification{"info", "volume.host1", "testkit.\u00e9v\u00e9nement", `{"request_id": "req-unicode", "user_name": "\u00e9l\u00e8ve"}`, `{"k": "v"}`}, true},
	{pyNotification{"info", "compute.host2", "testkit.other.publisher", `{"request_id": "req-publisher", "user": null}`, `{"k": 1}`}, true},
	{pyNotification{"info", "volume.host1", "volume.created", `{"request_id": "req-other"}`, `{"k": 1}`}, false},
	{pyNotification{"info", "volume.host1", "Testkit.upper", `{"request_id": "req-upper"}`, `{"k": 1}`}, false},
	{pyNotification{"info", "volume.host1", "testkit", `{"request_id": "req-no-dot"}`, `{"k": 1}`}, false},
	{pyNotification{"warn", "volume.host1", "testkit.warned", `{"request_id": "req-warn"}`, `{"k": 1}`}, false},
	{pyNotification{"error", "volume.host1", "testkit.failed", `{"request_id": "req-error"}`, `{"k": 1}`}, false},
}

func TestNotifyChainDifferential(t *testing.T) {
	oslopeer.Run(t, testNotifyChainDifferential)
}

func testNotifyChainDifferential(t *testing.T, peer oslopeer.Peer) {
	n := newNames(t)
	byPayload := !sendsContext(peer)
	var ns []pyNotification
	var want []string
	for _, c := range chainCases {
		ns = append(ns, c.n)
		if c.emits {
			want = append(want, c.n.key(t, byPayload))
		}
	}
	slices.Sort(want)
	if len(slices.Compact(slices.Clone(want))) != len(want) {
		t.Fatalf("the cases that emit do not have distinct keys: %q", want)
	}

	// wasmrpcd serving testkit, and a Python listener serving the
	// reference endpoint, each on a control exchange of its own.
	wc := newChain(t, peer, n, "wasm")
	wtopic := wc.topic("wasm_volumes")
	d := wc.startDaemon(t, wtopic, nil, []string{seenTopic})
	pc := newChain(t, peer, n, "py")
	ptopic := pc.topic("py_volumes")
	ref := startPyListener(t, peer, pc.exchange, ptopic, pyListenerOptions{Testkit: true})

	pyNotify(t, peer, wc.exchange, wtopic, ns...)
	pyNotify(t, peer, pc.exchange, ptopic, ns...)
	waitDrained(t, wtopic+".info", ptopic+".info", ptopic+".warn", ptopic+".error")
	waitDrained(t, wc.seenPool, pc.seenPool)
	d.stop()
	if got := ref.stop(); len(got) != len(ns) {
		t.Errorf("the Python reference endpoint got %d notifications, want %d", len(got), len(ns))
	}
	bySide := map[string]map[string]notification{}
	for side, c := range map[string]*chain{"wasmrpcd": wc, "python": pc} {
		bySide[side] = map[string]notification{}
		var ids []string
		for _, s := range c.seen.stop() {
			id := s.key(t, byPayload)
			if _, dup := bySide[side][id]; dup {
				t.Errorf("%s: testkit.seen twice for %s", side, id)
			}
			bySide[side][id] = s
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("%s emitted testkit.seen for %q, want %q", side, ids, want)
		}
	}
	for _, id := range want {
		w, p := bySide["wasmrpcd"][id], bySide["python"][id]
		if err := sameNotification(w, p); err != nil {
			t.Errorf("%s: wasmrpcd and Python emit different notifications: %v", id, err)
		}
		if w.EventType != "testkit.seen" || w.PublisherID != "testkit" || w.Priority != "info" {
			t.Errorf("%s: %v", id, w)
		}
	}
}

// requestID returns the request_id of the notification's context.
func (n pyNotification) requestID(t *testing.T) string {
	t.Helper()
	id := notification{Ctxt: []byte(n.Ctxt)}.requestID()
	if id == "" {
		t.Fatalf("case %s has no request_id", n.EventType)
	}
	return id
}

func TestNotifyPools(t *testing.T) {
	// testkit in pool P and a Python listener in pool P share the
	// notifications of the topic (each reaches one of them); a Python
	// listener in pool Q gets them all.
	oslopeer.Run(t, testNotifyPools)
}

func testNotifyPools(t *testing.T, peer oslopeer.Peer) {
	n := newNames(t)
	byPayload := !sendsContext(peer)
	c := newChain(t, peer, n, "x")
	topic := c.topic("pools")
	poolP, poolQ := n.prefix+"_pool_p", n.prefix+"_pool_q"
	n.addQueue(poolP)
	n.addQueue(poolQ)
	d := c.startDaemon(t, topic, map[string]any{"notification_pool": poolP}, []string{seenTopic})
	p := startPyListener(t, peer, c.exchange, topic, pyListenerOptions{Pool: poolP})
	q := startPyListener(t, peer, c.exchange, topic, pyListenerOptions{Pool: poolQ})

	var ns []pyNotification
	var want []string
	for i := range 12 {
		id := "req-" + string(rune('a'+i))
		ns = append(ns, pyNotification{Priority: "info", PublisherID: "volume.host1", EventType: "testkit.pool",
			Ctxt: `{"request_id": "` + id + `"}`, Payload: `{"i": ` + strconv.Itoa(i) + `}`})
		want = append(want, ns[i].key(t, byPayload))
	}
	slices.Sort(want)
	pyNotify(t, peer, c.exchange, topic, ns...)
	waitDrained(t, poolP, poolQ)
	waitDrained(t, c.seenPool)
	d.stop()

	ids := func(ns []notification, eventType string) []string {
		var out []string
		for _, n := range ns {
			if n.EventType != eventType {
				t.Errorf("unexpected %v", n)
				continue
			}
			out = append(out, n.key(t, byPayload))
		}
		slices.Sort(out)
		return out
	}
	inQ := ids(q.stop(), "testkit.pool")
	if !slices.Equal(inQ, want) {
		t.Errorf("pool Q got %q, want each of %q once", inQ, want)
	}
	inP := ids(p.stop(), "testkit.pool")
	byModule := ids(c.seen.stop(), "testkit.seen")
	shared := slices.Sorted(slices.Values(append(slices.Clone(inP), byModule...)))
	if !slices.Equal(shared, want) {
		t.Errorf("pool P: Python got %q, testkit got %q; together they must get each of %q once", inP, byModule, want)
	}
	if len(inP) == 0 || len(byModule) == 0 {
		t.Errorf("pool P: Python got %d, testkit %d: the broker should share them between the two", len(inP), len(byModule))
	}
	t.Logf("pool P: Python %d, testkit %d; pool Q %d", len(inP), len(byModule), len(inQ))
}

func TestNotifyRequeue(t *testing.T) {
	// testkit's handler fails when its tenant may not emit to
	// testkit_seen: with notification_allow_requeue the notification is
	// delivered again and again until the daemon stops, and stays in its
	// queue; without, it is acknowledged after the one failure.
	oslopeer.Run(t, testNotifyRequeue)
}

func testNotifyRequeue(t *testing.T, peer oslopeer.Peer) {
	for _, tc := range []struct {
		name    string
		requeue bool
	}{
		{"allow_requeue", true},
		{"no requeue", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, peer, newNames(t), "x")
			topic := c.topic("requeue")
			d := c.startDaemon(t, topic, map[string]any{"notification_allow_requeue": tc.requeue}, nil)
			failed := func(r logRecord) bool {
				return strings.HasPrefix(r.Msg, "notify: handler failed;") && strings.Contains(r.attr("err"), "testkit_seen")
			}
			pyNotify(t, peer, c.exchange, topic, pyNotification{Priority: "info", PublisherID: "volume.host1",
				EventType: "testkit.refused", Ctxt: `{"request_id": "req-refused"}`, Payload: `{"k": 1}`})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want := 1
			if tc.requeue {
				want = 3 // the first delivery and two redeliveries
			}
			from := 0
			for i := range want {
				r, err := d.waitLog(ctx, from, failed)
				if err != nil {
					t.Fatalf("handler failure %d not logged: %v\n%s", i+1, err, d.log.tail(20))
				}
				if i == 0 && !strings.Contains(r.attr("err"), "PermissionError") {
					t.Errorf("failure: %s, want the tenant's PermissionError", r.attr("err"))
				}
				from = slices.IndexFunc(d.log.snapshot()[from:], func(l string) bool {
					r, ok := parseRecord(l)
					return ok && failed(r)
				}) + from + 1
			}
			d.stop()
			failures := len(d.records(failed))
			ready := queueReady(t, topic+".info")
			switch {
			case tc.requeue && (failures < 3 || ready != 1):
				t.Errorf("%d failures logged, %d notifications left in the queue; want at least 3 and 1", failures, ready)
			case !tc.requeue && (failures != 1 || ready != 0):
				t.Errorf("%d failures logged, %d notifications left in the queue; want 1 and 0", failures, ready)
			}
			if all := c.seen.stop(); len(all) != 0 {
				t.Errorf("testkit_seen got %v", all)
			}
		})
	}
}

func TestNotifyCommandToPython(t *testing.T) {
	// `wasmrpcd notify` straight into a Python notification listener, in
	// both drivers' formats and at every priority.
	oslopeer.Run(t, testNotifyCommandToPython)
}

func testNotifyCommandToPython(t *testing.T, peer oslopeer.Peer) {
	n := newNames(t)
	c := &chain{n: n, exchange: n.prefix + "_cli"} // no testkit_seen listener
	n.addExchange(c.exchange)
	topic := c.topic("cli")
	l := startPyListener(t, peer, c.exchange, topic, pyListenerOptions{})
	var sent []pyNotification
	for i, p := range []string{"audit", "debug", "info", "warn", "error", "critical", "sample"} {
		for _, driver := range []string{"messagingv2", "messaging"} {
			nt := pyNotification{Priority: p, PublisherID: "compute.host" + driver, EventType: "cli." + p,
				Ctxt:    `{"request_id": "req-` + p + "-" + driver + `", "user_id": "u1", "auth_token": "secret"}`,
				Payload: []string{variedPayload, `[1, 2.0, "x"]`, `null`, `"s"`, `{}`, `-1`, `{"a": {"b": NaN}}`}[i]}
			args := []string{"notify", "--url", rabbitURL(""), "--exchange", c.exchange, "--topic", topic, "--driver", driver,
				"--priority", p, "--publisher-id", nt.PublisherID, "--context", nt.Ctxt, "--", nt.EventType, nt.Payload}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, daemonBin, args...).CombinedOutput()
			cancel()
			if err != nil || len(out) != 0 {
				t.Fatalf("wasmrpcd notify --driver %s --priority %s: %v\n%s", driver, p, err, out)
			}
			sent = append(sent, nt)
		}
	}
	var queues []string
	for _, p := range []string{"audit", "debug", "info", "warn", "error", "critical", "sample"} {
		queues = append(queues, topic+"."+p)
	}
	waitDrained(t, queues...)
	got := map[string]notification{}
	for _, g := range l.stop() {
		got[g.requestID()] = g
	}
	if len(got) != len(sent) {
		t.Errorf("the listener got %d notifications, want %d", len(got), len(sent))
	}
	for _, s := range sent {
		id := s.requestID(t)
		g, ok := got[id]
		if !ok {
			t.Errorf("%s: not received", id)
			continue
		}
		want := notification{Priority: s.Priority, PublisherID: s.PublisherID, EventType: s.EventType,
			Ctxt:    []byte(`{"request_id": "` + id + `", "user_id": "u1", "client_timeout": null}`),
			Payload: pyJSON([]byte(s.Payload))}
		if err := sameNotification(g, want); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if g.Metadata.MessageID == "" || g.Metadata.Timestamp == "" {
			t.Errorf("%s: metadata %+v", id, g.Metadata)
		}
	}
}
