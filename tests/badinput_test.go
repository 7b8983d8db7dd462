package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bad input: messages no oslo.messaging client would send, published by
// hand to the daemon's topic queue. Each must be logged with its reason
// and, when the message names a reply queue, answered with a failure; the
// daemon must keep serving.

// badInputEnv is a daemon serving testkit, a raw client and a Python
// client on its topic.
type badInputEnv struct {
	daemon *daemon
	raw    *rawClient
	client *pyClient
	topic  string
}

func newBadInputEnv(t *testing.T, rabbit map[string]any) *badInputEnv {
	t.Helper()
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("bad", "wasm")
	cfg := testkitConfig(ex, topic, "wasm")
	cfg.Rabbit = rabbit
	return &badInputEnv{
		daemon: startDaemon(t, cfg),
		raw:    newRawClient(t),
		client: startClient(t, n, ex, ""),
		topic:  topic,
	}
}

// stillServes checks that the daemon runs and answers a normal call from
// the Python client.
func (e *badInputEnv) stillServes(t *testing.T) {
	t.Helper()
	if !e.daemon.running() {
		t.Fatalf("wasmrpcd exited: %v", e.daemon.err)
	}
	value := fmt.Sprintf(`"still serving %s"`, newID())
	if out := e.client.call(t, Request{Method: "echo", Topic: e.topic, Args: `{"value": ` + value + `}`}); !out.resultIs(value) {
		t.Fatalf("a normal call after the bad input: %v", out)
	}
}

// waitReason waits for a warning or error logged from line from on whose
// text contains every one of reasons.
func (e *badInputEnv) waitReason(t *testing.T, from int, reasons ...string) logRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := e.daemon.waitLog(ctx, from, func(r logRecord) bool {
		if r.Level != "WARN" && r.Level != "ERROR" {
			return false
		}
		text, _ := json.Marshal(r.Attrs)
		for _, reason := range reasons {
			if !strings.Contains(string(text), reason) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("no warning or error logged with %q: %v\n%s", reasons, err, e.daemon.log.tail(5))
	}
	return r
}

func TestBadInput(t *testing.T) {
	e := newBadInputEnv(t, nil)
	replyQ := e.raw.replyQ
	// message returns an oslo message with a reply queue, and its ID.
	message := func(format string) (string, string) {
		id := newID()
		return strings.NewReplacer("MSGID", id, "REPLYQ", replyQ, "UNIQUEID", newID()).Replace(format), id
	}
	type badCase struct {
		name string
		// body returns the AMQP body and the message ID it names ("" when
		// the daemon cannot know where to reply).
		body func() ([]byte, string)
		// reason is what the log record must say.
		reason []string
		// failure is the class of the failure reply and what its message
		// must contain, when the daemon can read the reply queue; when it
		// cannot, no reply may come.
		failure, failureText string
	}
	enveloped := func(format string) func() ([]byte, string) {
		return func() ([]byte, string) {
			msg, id := message(format)
			return envelope([]byte(msg)), id
		}
	}
	cases := []badCase{
		{name: "not JSON", body: func() ([]byte, string) { return []byte("this is not JSON"), "" },
			reason: []string{"malformed request"}},
		{name: "empty body", body: func() ([]byte, string) { return nil, "" },
			reason: []string{"malformed request"}},
		{name: "body not an object", body: func() ([]byte, string) { return []byte(`[1, 2]`), "" },
			reason: []string{"malformed request", "not a JSON object"}},
		{name: "truncated envelope", body: func() ([]byte, string) {
			body, _ := e.raw.call("echo", `{"value": 1}`)
			return body[:len(body)/2], ""
		}, reason: []string{"malformed request"}},
		// The reply queue is inside a message of a format the daemon does
		// not speak: as a Python server, it does not reply.
		{name: "wrong envelope version", body: func() ([]byte, string) {
			msg, id := message(`{"_msg_id": "MSGID", "_reply_q": "REPLYQ", "method": "echo", "args": {"value": 1}, "_unique_id": "UNIQUEID"}`)
			b, _ := json.Marshal(map[string]string{"oslo.version": "9.9", "oslo.message": msg})
			return b, id
		}, reason: []string{"malformed request", "envelope version", "9.9"}},
		{name: "malformed message after the reply queue",
			body:   enveloped(`{"_msg_id": "MSGID", "_reply_q": "REPLYQ", "method": "echo", "args": {"value": 1,}}`),
			reason: []string{"malformed request"}, failure: "ValueError", failureText: "could not read the request"},
		{name: "missing method",
			body:   enveloped(`{"args": {}, "_msg_id": "MSGID", "_reply_q": "REPLYQ", "_timeout": null, "_unique_id": "UNIQUEID"}`),
			reason: []string{"malformed request", "no method"}, failure: "ValueError", failureText: "no method"},
		{name: "method not a string",
			body:   enveloped(`{"method": 5, "args": {}, "_msg_id": "MSGID", "_reply_q": "REPLYQ", "_timeout": null, "_unique_id": "UNIQUEID"}`),
			reason: []string{"malformed request", "method"}, failure: "ValueError", failureText: "method"},
		{name: "args not an object",
			body:   enveloped(`{"method": "echo", "args": [1, 2], "_msg_id": "MSGID", "_reply_q": "REPLYQ", "_timeout": null, "_unique_id": "UNIQUEID"}`),
			reason: []string{"malformed request", "args"}, failure: "ValueError", failureText: "args"},
		{name: "args null",
			body:   enveloped(`{"method": "echo", "args": null, "_msg_id": "MSGID", "_reply_q": "REPLYQ", "_timeout": null, "_unique_id": "UNIQUEID"}`),
			reason: []string{"malformed request", "args"}, failure: "ValueError", failureText: "args"},
		{name: "call without a reply queue",
			body: func() ([]byte, string) {
				msg, _ := message(`{"method": "echo", "args": {"value": 1}, "_msg_id": "MSGID", "_timeout": null, "_unique_id": "UNIQUEID"}`)
				return envelope([]byte(msg)), ""
			},
			reason: []string{"malformed request", "no reply queue"}},
		// Raw bytes that are not UTF-8 make the envelope unreadable (inside
		// the message, JSON escapes cannot make them).
		{name: "invalid UTF-8",
			body: func() ([]byte, string) {
				msg, id := message(`{"_msg_id": "MSGID", "_reply_q": "REPLYQ", "method": "echo", "args": {"value": "`)
				body := envelope([]byte(msg))
				body = append(body[:len(body)-2], "\xff\xfe\\\"}}\"}"...)
				return body, id
			}, reason: []string{"malformed request", "UTF-8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from := e.daemon.logLen()
			body, msgID := c.body()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := e.raw.publish(ctx, e.topic, body, ""); err != nil {
				t.Fatal(err)
			}
			rec := e.waitReason(t, from, c.reason...)
			t.Logf("logged: %s: %s", rec.Msg, rec.attr("err"))
			if c.failure != "" {
				r, err := e.raw.wait(ctx, msgID)
				if err != nil {
					t.Fatalf("no failure reply: %v", err)
				}
				f, err := r.failure()
				switch {
				case err != nil:
					t.Error(err)
				case f == nil:
					t.Errorf("reply %s, want a %s failure", r.Result, c.failure)
				case f.Class != c.failure || !strings.Contains(f.Message, c.failureText):
					t.Errorf("failure %s.%s: %q, want %s saying %q", f.Module, f.Class, f.Message, c.failure, c.failureText)
				}
			}
			e.stillServes(t)
			if c.failure == "" && msgID != "" && e.raw.count(msgID) > 0 {
				t.Errorf("the daemon replied to a message it could not read")
			}
		})
	}
}

// TestBadInputHuge sends a 64 MiB call: one string argument as large as
// the tenant's memory limit. The daemon must answer it (a failure: it
// cannot fit in the guest, nor the result in max_result_size), keep its
// memory in bounds and keep serving.
func TestBadInputHuge(t *testing.T) {
	e := newBadInputEnv(t, nil)
	const size = 64 << 20
	for round := range 2 {
		from := e.daemon.logLen()
		body, msgID := e.raw.call("echo", `{"value": "`+strings.Repeat("x", size)+`"}`)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := e.raw.publish(ctx, e.topic, body, ""); err != nil {
			cancel()
			t.Fatal(err)
		}
		r, err := e.raw.wait(ctx, msgID)
		cancel()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		f, err := r.failure()
		switch {
		case err != nil:
			t.Fatal(err)
		case f == nil:
			t.Errorf("round %d: a result of %d bytes, want a failure", round, len(r.Result))
		case f.Class == "" || f.Message == "":
			t.Errorf("round %d: failure without a class or message: %+v", round, f)
		default:
			t.Logf("round %d: %s.%s: %s", round, f.Module, f.Class, firstLine(f.Message))
		}
		rec := e.waitReason(t, from, "echo")
		t.Logf("logged: %s: %s %s", rec.Msg, rec.attr("class"), rec.attr("message"))
		rss := e.daemon.rss(t)
		t.Logf("round %d: daemon RSS %d MiB", round, rss>>20)
		if rss > 1<<30 {
			t.Errorf("round %d: daemon RSS %d MiB after a %d MiB message", round, rss>>20, size>>20)
		}
		e.stillServes(t)
	}
}

// TestBadInputGoneReplyQueue calls with a reply queue that does not exist:
// the daemon retries the reply for kombu_missing_consumer_retry_timeout,
// logs that it could not send it, drops later replies to that queue at
// once, and keeps serving.
func TestBadInputGoneReplyQueue(t *testing.T) {
	e := newBadInputEnv(t, map[string]any{"kombu_missing_consumer_retry_timeout": "2s"})
	gone := "reply_" + newID() // never declared
	// The first reply is retried for 2 s, then given up: the log must say
	// the queue is missing. The second is dropped at once.
	for i := range 2 {
		from := e.daemon.logLen()
		msg := fmt.Sprintf(`{"method": "echo", "args": {"value": %d}, "_msg_id": %q, "_reply_q": %q, "_timeout": null, "_unique_id": %q}`,
			i, newID(), gone, newID())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := e.raw.publish(ctx, e.topic, envelope([]byte(msg)), "")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		rec := e.waitReason(t, from, "rpc: reply", gone)
		t.Logf("call %d: logged %q (%s)", i, rec.Msg, rec.attr("err"))
		switch i {
		case 0:
			if rec.Msg != "rpc: reply queue missing for the whole retry time; reply dropped" {
				t.Errorf("first reply: logged %q (%s), want it given up because the queue is missing", rec.Msg, rec.attr("err"))
			}
		case 1:
			if rec.Msg != "rpc: reply queue is gone, reply dropped" {
				t.Errorf("second reply: logged %q (%s), want it dropped at once as the queue is known to be gone", rec.Msg, rec.attr("err"))
			}
		}
		e.stillServes(t)
	}
}

// TestBadInputDuplicate sends one call several times at once with the
// same _unique_id (as a broker redelivers it): it runs once and is
// answered once, as by oslo's duplicate message check.
func TestBadInputDuplicate(t *testing.T) {
	e := newBadInputEnv(t, nil)
	body, msgID := e.raw.call("echo", `{"value": "once"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const copies = 20
	for range copies {
		if err := e.raw.publish(ctx, e.topic, body, ""); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.raw.waitFor(t, msgID); !jsonEqual(r.Result, []byte(`"once"`)) {
		t.Errorf("reply %s, want \"once\"", r.Result)
	}
	e.stillServes(t)
	// Every copy has been taken by now: one answered, the others dropped.
	if n := e.raw.count(msgID); n != 1 {
		t.Errorf("%d replies to one call sent %d times, want 1", n, copies)
	}
	if len(e.daemon.records(func(r logRecord) bool { return strings.Contains(r.Msg, "duplicate") })) == 0 {
		t.Errorf("the duplicate was not logged")
	}
}
