package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// notification is one notification as a Python endpoint got it, from a
// line of tests/python/notify_peer.py listen.
type notification struct {
	Priority    string          `json:"priority"`
	PublisherID string          `json:"publisher_id"`
	EventType   string          `json:"event_type"`
	Ctxt        json.RawMessage `json:"ctxt"`
	Payload     json.RawMessage `json:"payload"`
	Metadata    struct {
		MessageID string `json:"message_id"`
		Timestamp string `json:"timestamp"`
	} `json:"metadata"`
}

// ctxtValue returns the context's value of key as JSON text ("" when
// absent).
func (n notification) ctxtValue(key string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(n.Ctxt, &m); err != nil {
		return ""
	}
	return string(m[key])
}

// requestID returns the context's request_id, the tests' case key.
func (n notification) requestID() string {
	s, _ := strconv.Unquote(n.ctxtValue("request_id"))
	return s
}

// String is the notification without its metadata, for failure messages.
func (n notification) String() string {
	return fmt.Sprintf("%s %s from %s ctxt=%s payload=%s", n.Priority, n.EventType, n.PublisherID, n.Ctxt, n.Payload)
}

// sameNotification compares what an endpoint sees of two notifications
// except their ids and timestamps: priority, publisher, event type,
// context and payload (JSON values, types included).
func sameNotification(a, b notification) error {
	switch {
	case a.Priority != b.Priority || a.PublisherID != b.PublisherID || a.EventType != b.EventType:
		return fmt.Errorf("priority, publisher, event type: %q %q %q vs %q %q %q",
			a.Priority, a.PublisherID, a.EventType, b.Priority, b.PublisherID, b.EventType)
	case !jsonEqual(a.Ctxt, b.Ctxt):
		return fmt.Errorf("context %s vs %s", a.Ctxt, b.Ctxt)
	case !jsonEqual(a.Payload, b.Payload):
		return fmt.Errorf("payload %s vs %s", a.Payload, b.Payload)
	}
	return nil
}

// pyListener is a running notify_peer.py listen: a Python oslo.messaging
// notification listener that prints each notification it gets.
type pyListener struct {
	*pyProcess
	name string

	stopOnce sync.Once
	got      []notification
}

// pyListenerOptions are notify_peer.py listen's options.
type pyListenerOptions struct {
	Pool         string // "" is no pool
	AllowRequeue bool
	// Testkit runs the reference TestkitNotificationEndpoint after the
	// recording endpoint.
	Testkit   bool
	Executors int    // 0 is 64
	Query     string // oslo driver options in the URL's query
}

// startPyListener starts a Python notification listener of peer on topic
// of exchange and waits until it consumes. It stops at the end of the test
// (or at stop), which fails the test unless it exits cleanly.
func startPyListener(t *testing.T, peer oslopeer.Peer, exchange, topic string, opts pyListenerOptions) *pyListener {
	t.Helper()
	args := []string{"listen", rabbitURL(opts.Query), exchange, topic}
	if opts.Pool != "" {
		args = append(args, "--pool", opts.Pool)
	}
	if opts.AllowRequeue {
		args = append(args, "--allow-requeue")
	}
	if opts.Testkit {
		args = append(args, "--testkit")
	}
	if opts.Executors > 0 {
		args = append(args, "--executors", strconv.Itoa(opts.Executors))
	}
	name := topic
	if opts.Pool != "" {
		name += " pool " + opts.Pool
	}
	l := &pyListener{pyProcess: startPython(t, peer, "notify_peer.py listen "+name, "notify_peer.py", args...), name: name}
	t.Cleanup(func() { l.stop() })
	l.waitReady(func(s string) bool { return s == "ready" || strings.HasPrefix(s, "ERROR ") })
	return l
}

// parse reads a notification line.
func (l *pyListener) parse(line string) (notification, bool) {
	var n notification
	if !strings.HasPrefix(line, "{") {
		return n, false
	}
	if err := json.Unmarshal(pyJSON([]byte(line)), &n); err != nil {
		l.t.Errorf("notify_peer.py listen %s: %q: %v", l.name, line, err)
		return n, false
	}
	return n, true
}

// wait waits up to a minute for a notification that matches and returns
// it; it fails the test when none comes.
func (l *pyListener) wait(what string, match func(notification) bool) notification {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got notification
	_, _, err := l.stdout.waitFor(ctx, 0, func(s string) bool {
		n, ok := l.parse(s)
		if ok && match(n) {
			got = n
			return true
		}
		return false
	})
	if err != nil {
		l.t.Fatalf("listener %s: no %s: %v\ngot:\n%s\nstderr:\n%s", l.name, what, err, l.stdout.tail(20), l.stderr.tail(20))
	}
	return got
}

// stop closes the listener's stdin, which stops it once the notifications
// being handled are, and returns every notification it got. It runs once;
// later calls return the same.
func (l *pyListener) stop() []notification {
	l.stopOnce.Do(func() {
		t := l.t
		l.end()
		stopped := -1
		for _, s := range l.stdout.snapshot() {
			if n, ok := l.parse(s); ok {
				l.got = append(l.got, n)
			} else if c, ok := strings.CutPrefix(s, "stopped "); ok {
				stopped, _ = strconv.Atoi(c)
			}
		}
		if stopped != len(l.got) {
			t.Errorf("notify_peer.py listen %s: %d notification lines, but it says it recorded %d", l.name, len(l.got), stopped)
		}
	})
	return l.got
}

// pyNotification is one notification a Python Notifier sends.
type pyNotification struct {
	Priority    string // "info", "warn"…
	PublisherID string
	EventType   string
	Ctxt        string // a JSON object; "" is {}
	Payload     string // JSON as Python's json.loads reads it (NaN too)
}

// line returns the notification as a line of notify_peer.py notify (JSON
// text has no newline but between tokens).
func (n pyNotification) line() string {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	ctxt := n.Ctxt
	if ctxt == "" {
		ctxt = "{}"
	}
	return fmt.Sprintf(`{"priority": %s, "publisher_id": %s, "event_type": %s, "ctxt": %s, "payload": %s}`,
		q(n.Priority), q(n.PublisherID), q(n.EventType), ctxt, strings.ReplaceAll(n.Payload, "\n", " "))
}

// pyNotify sends ns with a Python oslo_messaging.Notifier (messagingv2)
// of peer on topic of exchange, and returns once they are sent.
func pyNotify(t *testing.T, peer oslopeer.Peer, exchange, topic string, ns ...pyNotification) {
	t.Helper()
	pyNotifyWith(t, peer, "", exchange, topic, ns...)
}

// pyNotifyWith is pyNotify with oslo driver options in the URL's query.
func pyNotifyWith(t *testing.T, peer oslopeer.Peer, query, exchange, topic string, ns ...pyNotification) {
	t.Helper()
	var in strings.Builder
	for _, n := range ns {
		in.WriteString(n.line() + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := peer.CommandContext(ctx, filepath.Join(repoRoot, "tests/python/notify_peer.py"), "notify", rabbitURL(query), exchange, topic)
	cmd.Stdin = strings.NewReader(in.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("sent %d", len(ns)) {
		t.Fatalf("notify_peer.py notify: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
}

// queueReady returns how many messages queue holds ready for delivery
// (not those delivered and not yet acknowledged).
func queueReady(t *testing.T, queue string) int {
	t.Helper()
	conn := dialT(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	return q.Messages
}

// queueMessages returns how many messages each of queues holds, ready or
// delivered and not yet acknowledged, as `rabbitmqctl list_queues` counts
// them; a queue that does not exist is absent from the map.
func queueMessages(t *testing.T, queues ...string) map[string]int {
	t.Helper()
	uri, err := amqp.ParseURI(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "list_queues", "-q", "--no-table-headers", "-p", uri.Vhost, "name", "messages").Output()
	if err != nil {
		t.Fatalf("rabbitmqctl list_queues: %v", err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		for _, q := range queues {
			if f[0] == q {
				if counts[q], err = strconv.Atoi(f[1]); err != nil {
					t.Fatalf("rabbitmqctl list_queues: %q: %v", line, err)
				}
			}
		}
	}
	return counts
}

// waitDrained waits until each of queues exists and holds no message,
// ready or unacknowledged: every notification in it has been handled and
// settled. It fails the test after two minutes.
func waitDrained(t *testing.T, queues ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		counts := queueMessages(t, queues...)
		drained := true
		for _, q := range queues {
			if c, ok := counts[q]; !ok || c != 0 {
				drained = false
			}
		}
		if drained {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues not drained in two minutes: %v", counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
