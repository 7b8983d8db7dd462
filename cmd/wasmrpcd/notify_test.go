package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

func TestNotifyUsage(t *testing.T) {
	// None of these reaches a broker: the URL would fail with exit code 4.
	base := []string{"notify", "--url", "rabbit://guest:guest@127.0.0.1:1/", "--timeout", "1s"}
	for _, tc := range []struct {
		name      string
		args      []string
		stderrHas string
	}{
		{"no event type", nil, "want EVENT_TYPE [PAYLOAD_JSON], got 0 arguments"},
		{"too many arguments", []string{"a.b", "{}", "{}"}, "want EVENT_TYPE [PAYLOAD_JSON], got 3 arguments"},
		{"empty event type", []string{""}, "EVENT_TYPE must not be empty"},
		{"payload not JSON", []string{"a.b", "{size: 1}"}, "PAYLOAD_JSON"},
		{"payload with trailing text", []string{"a.b", "{} x"}, "PAYLOAD_JSON"},
		{"context not JSON", []string{"--context", "{", "a.b"}, "--context"},
		{"context not an object", []string{"--context", "[1]", "a.b"}, "--context must be a JSON object"},
		{"unknown priority", []string{"--priority", "loud", "a.b"}, `--priority "loud"`},
		{"empty priority", []string{"--priority", "", "a.b"}, "--priority"},
		{"unknown driver", []string{"--driver", "noop", "a.b"}, `--driver "noop": want messagingv2 or messaging`},
		{"empty topic", []string{"--topic", "", "a.b"}, "empty topic"},
		{"empty topic in a list", []string{"--topic", "a,,b", "a.b"}, "empty topic"},
		{"empty publisher", []string{"--publisher-id", "", "a.b"}, "--publisher-id must not be empty"},
		{"zero timeout", []string{"--timeout", "0s", "a.b"}, "--timeout must be positive"},
		{"bad url", []string{"--url", "http://x/", "a.b"}, "--url"},
		{"unknown flag", []string{"--bogus", "a.b"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := wasmrpcd(append(base, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\nstderr: %s", code, stderr)
			}
			if stdout != "" {
				t.Fatalf("stdout %q on failure", stdout)
			}
			if !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("stderr %q, want it to contain %q", stderr, tc.stderrHas)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		code, _, stderr := wasmrpcd("notify", "-h")
		if code != 0 || !strings.Contains(stderr, "usage: wasmrpcd notify") || !strings.Contains(stderr, "-publisher-id") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("listed", func(t *testing.T) {
		code, stdout, _ := wasmrpcd("help")
		if code != 0 || !strings.Contains(stdout, "notify ") {
			t.Fatalf("help does not list notify:\n%s", stdout)
		}
	})
}

func TestNotifyBrokerUnreachable(t *testing.T) {
	code, stdout, stderr := wasmrpcd("notify", "--url", "rabbit://guest:guest@127.0.0.1:1/", "--timeout", "1s", "a.b")
	if code != exitUnreachable || stdout != "" || !strings.Contains(stderr, "wasmrpcd notify: cannot reach the broker within 1s") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// notifyBroker is a connection to the real broker and the names of one
// test: a control exchange of its own, whose queues and exchange are
// deleted at the end.
type notifyBroker struct {
	url      string
	exchange string
	ch       *amqp.Channel
	queues   []string
}

func newNotifyBroker(t *testing.T) *notifyBroker {
	t.Helper()
	if testing.Short() {
		t.Skip("needs RabbitMQ; -short runs the unit tests only")
	}
	url := os.Getenv("AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ at AMQP_URL is unreachable (start it with `make broker`): %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	b := &notifyBroker{url: url, exchange: "wasmrpcd_cli_notify_" + id, ch: ch}
	t.Cleanup(func() {
		defer conn.Close()
		ch, err := conn.Channel() // b.ch may be closed by a failed get
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range b.queues {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
		}
		if err := ch.ExchangeDelete(b.exchange, false, false); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return b
}

// topic returns a topic of the test and registers the deletion of its
// queues topic.priority for each of priorities.
func (b *notifyBroker) topic(name string, priorities ...string) string {
	topic := b.exchange + "_" + name
	for _, p := range priorities {
		b.queues = append(b.queues, topic+"."+p)
	}
	return topic
}

// wireNotification is a notification as it is on the wire.
type wireNotification struct {
	MessageID   string          `json:"message_id"`
	PublisherID string          `json:"publisher_id"`
	EventType   string          `json:"event_type"`
	Priority    string          `json:"priority"`
	Payload     json.RawMessage `json:"payload"`
	Timestamp   string          `json:"timestamp"`
	UniqueID    string          `json:"_unique_id"`
	enveloped   bool
	context     map[string]any // the _context_* keys, without the prefix
}

// get takes the one message of queue: the notifier has declared it and
// the broker has confirmed the publish before the command returned.
func (b *notifyBroker) get(t *testing.T, queue string) wireNotification {
	t.Helper()
	d, ok, err := b.ch.Get(queue, true)
	if err != nil {
		t.Fatalf("get %s: %v", queue, err)
	}
	if !ok {
		t.Fatalf("queue %s is empty", queue)
	}
	if _, more, err := b.ch.Get(queue, true); err != nil || more {
		t.Fatalf("queue %s holds more than one message (err %v)", queue, err)
	}
	var n wireNotification
	body := d.Body
	var env struct {
		Version string `json:"oslo.version"`
		Message string `json:"oslo.message"`
	}
	if err := json.Unmarshal(body, &env); err == nil && env.Version != "" {
		if env.Version != "2.0" {
			t.Fatalf("oslo.version %q", env.Version)
		}
		n.enveloped = true
		body = []byte(env.Message)
	}
	if err := json.Unmarshal(body, &n); err != nil {
		t.Fatalf("notification %s: %v", body, err)
	}
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	n.context = map[string]any{}
	for k, v := range all {
		if key, ok := strings.CutPrefix(k, "_context_"); ok {
			n.context[key] = v
		}
	}
	if d.ContentType != "application/json" {
		t.Errorf("content type %q", d.ContentType)
	}
	return n
}

var (
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)
)

// samePayload reports whether the payload on the wire is the JSON value
// want, types included (1 and 1.0 differ), as Python's json.loads reads
// both.
func samePayload(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	g, err := oslo.JSONToCBOR(nil, got)
	if err != nil {
		t.Fatalf("payload %s: %v", got, err)
	}
	w, err := oslo.JSONToCBOR(nil, []byte(want))
	if err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return bytes.Equal(g, w)
}

func TestNotifyCommand(t *testing.T) {
	b := newNotifyBroker(t)
	base := []string{"notify", "--url", b.url, "--exchange", b.exchange, "--timeout", "30s"}
	for _, tc := range []struct {
		name      string
		args      []string
		queues    []string // topic.priority without the test's prefix
		publisher string
		eventType string
		priority  string
		payload   string
		context   map[string]any
		legacy    bool
	}{
		{name: "defaults", args: []string{"--topic", "@defaults", "volume.create.end", `{"size": 1}`},
			queues: []string{"defaults.info"}, publisher: "wasmrpcd", eventType: "volume.create.end", priority: "INFO", payload: `{"size": 1}`},
		{name: "no payload", args: []string{"--topic", "@empty", "volume.delete.end"},
			queues: []string{"empty.info"}, publisher: "wasmrpcd", eventType: "volume.delete.end", priority: "INFO", payload: `{}`},
		{name: "varied payload", args: []string{"--topic", "@varied", "--publisher-id", "volumes.host1", "x.y",
			`{"int": 7, "neg": -3, "big": 123456789012345678901234567890, "float": 2.5, "whole float": 3.0, "exp": 1e300,
			  "str": "\u00e9\u4e2d\ud83d\ude00", "empty": "", "t": true, "f": false, "none": null,
			  "list": [1, "two", [3.5], {}], "nested": {"a": {"b": [null]}}}`},
			queues: []string{"varied.info"}, publisher: "volumes.host1", eventType: "x.y", priority: "INFO",
			payload: `{"int": 7, "neg": -3, "big": 123456789012345678901234567890, "float": 2.5, "whole float": 3.0, "exp": 1e300,
			  "str": "\u00e9\u4e2d\ud83d\ude00", "empty": "", "t": true, "f": false, "none": null,
			  "list": [1, "two", [3.5], {}], "nested": {"a": {"b": [null]}}}`},
		{name: "payload not an object", args: []string{"--topic", "@list", "a.b", `[1, "x", null]`},
			queues: []string{"list.info"}, publisher: "wasmrpcd", eventType: "a.b", priority: "INFO", payload: `[1, "x", null]`},
		{name: "null payload", args: []string{"--topic", "@null", "a.b", `null`},
			queues: []string{"null.info"}, publisher: "wasmrpcd", eventType: "a.b", priority: "INFO", payload: `null`},
		{name: "priority", args: []string{"--topic", "@error", "--priority", "ERROR", "a.b"},
			queues: []string{"error.error"}, publisher: "wasmrpcd", eventType: "a.b", priority: "ERROR", payload: `{}`},
		{name: "warning is warn", args: []string{"--topic", "@warn", "--priority", "warning", "a.b"},
			queues: []string{"warn.warn"}, publisher: "wasmrpcd", eventType: "a.b", priority: "WARN", payload: `{}`},
		{name: "flags after the event type", args: []string{"a.b", "--priority", "sample", `{"v": 1}`, "--topic", "@late"},
			queues: []string{"late.sample"}, publisher: "wasmrpcd", eventType: "a.b", priority: "SAMPLE", payload: `{"v": 1}`},
		{name: "context sanitised", args: []string{"--topic", "@ctx", "--context",
			`{"user_id": "u1", "project_id": "p1", "roles": ["admin"], "auth_token": "secret", "password": "pw", "request_id": "req-1"}`, "a.b"},
			queues: []string{"ctx.info"}, publisher: "wasmrpcd", eventType: "a.b", priority: "INFO", payload: `{}`,
			context: map[string]any{"user_id": "u1", "project_id": "p1", "roles": []any{"admin"}, "request_id": "req-1"}},
		{name: "several topics", args: []string{"--topic", "@one, @two", "a.b"},
			queues: []string{"one.info", "two.info"}, publisher: "wasmrpcd", eventType: "a.b", priority: "INFO", payload: `{}`},
		{name: "legacy driver", args: []string{"--topic", "@legacy", "--driver", "messaging", "a.b", `{"k": "v"}`},
			queues: []string{"legacy.info"}, publisher: "wasmrpcd", eventType: "a.b", priority: "INFO", payload: `{"k": "v"}`, legacy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), base...)
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "@", b.exchange+"_"))
			}
			for _, q := range tc.queues {
				name, priority, _ := strings.Cut(q, ".")
				b.topic(name, priority)
			}
			code, stdout, stderr := wasmrpcd(args...)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			var ids []string
			for _, q := range tc.queues {
				n := b.get(t, b.exchange+"_"+q)
				if n.enveloped == tc.legacy {
					t.Errorf("%s: enveloped %v with the legacy driver %v", q, n.enveloped, tc.legacy)
				}
				if n.PublisherID != tc.publisher || n.EventType != tc.eventType || n.Priority != tc.priority {
					t.Errorf("%s: publisher %q, event %q, priority %q; want %q, %q, %q", q,
						n.PublisherID, n.EventType, n.Priority, tc.publisher, tc.eventType, tc.priority)
				}
				if !samePayload(t, n.Payload, tc.payload) {
					t.Errorf("%s: payload %s, want %s", q, n.Payload, tc.payload)
				}
				if !uuidRE.MatchString(n.MessageID) || !timestampRE.MatchString(n.Timestamp) || n.UniqueID == "" {
					t.Errorf("%s: message_id %q, timestamp %q, _unique_id %q", q, n.MessageID, n.Timestamp, n.UniqueID)
				}
				if tc.context == nil {
					tc.context = map[string]any{}
				}
				if got, _ := json.Marshal(n.context); string(got) != string(must(json.Marshal(tc.context))) {
					t.Errorf("%s: context %s, want %s", q, got, must(json.Marshal(tc.context)))
				}
				ids = append(ids, n.MessageID)
			}
			for _, id := range ids[1:] {
				if id != ids[0] {
					t.Errorf("message ids %q differ between topics", ids)
				}
			}
		})
	}
}

func TestNotifyRefused(t *testing.T) {
	// The broker refuses the notifier's topology (the exchange exists as
	// another type): exit code 4 with the broker's reason.
	b := newNotifyBroker(t)
	if err := b.ch.ExchangeDeclare(b.exchange, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := wasmrpcd("notify", "--url", b.url, "--exchange", b.exchange, "--topic", b.topic("t", "info"), "--timeout", "30s", "a.b")
	if code != exitUnreachable || stdout != "" || !strings.HasPrefix(stderr, "wasmrpcd notify: info a.b to ") || !strings.Contains(stderr, "PRECONDITION_FAILED") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
