package oslo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// capture is one golden file written by testdata/capture.py: a raw AMQP
// message that real oslo.messaging produced, and what Python made of it.
type capture struct {
	name       string
	exchange   string
	routingKey string
	properties map[string]any
	body       []byte
	python     map[string]any
}

// loadCaptures reads dir/<prefix>*.json: dir is testdata for the golden
// files, or where TestCaptureMatchesGolden had capture.py write.
func loadCaptures(t *testing.T, dir, prefix string) []capture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, prefix+"*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files %s/%s*.json: run testdata/capture.py", dir, prefix)
	}
	var out []capture
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The files hold Python's json.dump output, NaN tokens included,
		// which encoding/json refuses.
		v, err := DecodeValue(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m := v.(map[string]any)
		c := capture{
			name:       strings.TrimSuffix(filepath.Base(f), ".json"),
			exchange:   m["exchange"].(string),
			routingKey: m["routing_key"].(string),
			properties: m["properties"].(map[string]any),
			body:       []byte(m["body"].(string)),
			python:     m["python"].(map[string]any),
		}
		out = append(out, c)
	}
	return out
}

// str returns the string at path in m ("" for null or absent).
func str(t *testing.T, m map[string]any, path ...string) string {
	t.Helper()
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = mm[p]
	}
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v: %T, not a string", path, v)
	}
	return s
}

func toJSON(t *testing.T, c []byte) string {
	t.Helper()
	j, err := CBORToJSON(nil, c)
	if err != nil {
		t.Fatalf("CBORToJSON(%x): %v", c, err)
	}
	return string(j)
}

func toCBOR(t *testing.T, j string) []byte {
	t.Helper()
	c, err := JSONToCBOR(nil, []byte(j))
	if err != nil {
		t.Fatalf("JSONToCBOR(%s): %v", j, err)
	}
	return c
}

func checkProperties(t *testing.T, c capture) {
	t.Helper()
	if got := c.properties["content_type"]; got != ContentType {
		t.Errorf("content_type %v, want %v", got, ContentType)
	}
	if got := c.properties["content_encoding"]; got != ContentEncoding {
		t.Errorf("content_encoding %v, want %v", got, ContentEncoding)
	}
	if got := c.properties["delivery_mode"]; got != int64(DeliveryMode) {
		t.Errorf("delivery_mode %v, want %v", got, DeliveryMode)
	}
}

// TestGoldenRequests decodes every request Python's RPCClient sent, checks
// each field against what Python's server made of it, and encodes it back
// to the same bytes.
func TestGoldenRequests(t *testing.T) { goldenRequests(t, "testdata") }

// goldenRequests is TestGoldenRequests on the captures in dir.
func goldenRequests(t *testing.T, dir string) {
	cases := append(loadCaptures(t, dir, "request_"), loadCaptures(t, dir, "client_view_")...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkProperties(t, c)
			r, err := DecodeRequest(c.body)
			if err != nil {
				t.Fatal(err)
			}
			py := c.python
			for _, f := range []struct{ name, got, want string }{
				{"method", r.Method, str(t, py, "message", "method")},
				{"namespace", r.Namespace, str(t, py, "message", "namespace")},
				{"version", r.Version, str(t, py, "message", "version")},
				{"msg_id", r.MsgID, str(t, py, "msg_id")},
				{"reply_q", r.ReplyQ, str(t, py, "reply_q")},
				{"unique_id", r.UniqueID, str(t, py, "unique_id")},
				{"args", toJSON(t, r.Args), str(t, py, "json", "args")},
				{"context", toJSON(t, r.Context), str(t, py, "json", "ctxt")},
			} {
				if f.got != f.want {
					t.Errorf("%s:\n got %s\nwant %s", f.name, f.got, f.want)
				}
			}
			var wantTimeout time.Duration
			if tj := str(t, py, "json", "timeout"); tj != "null" {
				v, err := DecodeValue([]byte(tj))
				if err != nil {
					t.Fatal(err)
				}
				wantTimeout = time.Duration(v.(int64)) * time.Second
			}
			if r.CallMonitorTimeout != wantTimeout {
				t.Errorf("call monitor timeout %v, want %v", r.CallMonitorTimeout, wantTimeout)
			}
			if r.IsCall() != (c.properties["expiration"] != nil) {
				t.Errorf("IsCall %v, but expiration %v", r.IsCall(), c.properties["expiration"])
			}

			// Encode what the client sent: the same bytes.
			sent := Request{
				Method: r.Method, Namespace: r.Namespace, Version: r.Version,
				Args:    toCBOR(t, str(t, py, "json", "args")),
				Context: toCBOR(t, str(t, py, "json", "sent_ctxt")),
				MsgID:   r.MsgID, ReplyQ: r.ReplyQ, UniqueID: r.UniqueID,
				CallMonitorTimeout: r.CallMonitorTimeout,
			}
			got, err := EncodeRequest(nil, &sent)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(c.body) {
				t.Errorf("EncodeRequest:\n got %s\nwant %s", got, c.body)
			}
		})
	}
}

// pythonAllowed is the allowed_remote_exmods capture.py gives the client
// for "raises_allowed".
var pythonAllowed = []string{ModuleDispatcher, ModuleExceptions, "__main__"}

// TestGoldenReplies decodes every reply the Python server sent, checks it
// against what Python's client made of it, and encodes it back.
func TestGoldenReplies(t *testing.T) { goldenReplies(t, "testdata") }

// goldenReplies is TestGoldenReplies on the captures in dir.
func goldenReplies(t *testing.T, dir string) {
	for _, c := range loadCaptures(t, dir, "reply_") {
		t.Run(c.name, func(t *testing.T) {
			checkProperties(t, c)
			if c.exchange != "" {
				t.Errorf("reply published on exchange %q, want the default exchange", c.exchange)
			}
			r, err := DecodeReply(c.body)
			if err != nil {
				t.Fatal(err)
			}
			py := c.python
			if r.MsgID != str(t, py, "msg_id") || r.UniqueID != str(t, py, "unique_id") {
				t.Errorf("ids %q %q, want %q %q", r.MsgID, r.UniqueID, str(t, py, "msg_id"), str(t, py, "unique_id"))
			}
			if r.Ending != py["ending"].(bool) {
				t.Errorf("ending %v, want %v", r.Ending, py["ending"])
			}
			if r.IsHeartbeat() != strings.HasPrefix(c.name, "reply_heartbeat_1") {
				t.Errorf("IsHeartbeat() = %v", r.IsHeartbeat())
			}
			var again []byte
			if _, failed := py["failure"]; !failed {
				if r.Failure != nil {
					t.Fatalf("unexpected failure %v", r.Failure)
				}
				if got, want := toJSON(t, r.Result), str(t, py, "result_json"); got != want {
					t.Errorf("result:\n got %s\nwant %s", got, want)
				}
				again, err = EncodeReply(nil, &Reply{MsgID: r.MsgID, UniqueID: r.UniqueID,
					Result: toCBOR(t, str(t, py, "result_json")), Ending: r.Ending})
			} else {
				checkFailure(t, r.Failure, py)
				again, err = EncodeReply(nil, FailureReply(r.MsgID, r.UniqueID, r.Failure))
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Failure.kwargsOrNil()) > 1 {
				// A Go map does not keep Python's kwargs order: compare
				// the inner message as values.
				sameMessage(t, again, c.body)
			} else if string(again) != string(c.body) {
				t.Errorf("EncodeReply:\n got %s\nwant %s", again, c.body)
			}
		})
	}
}

func (f *Failure) kwargsOrNil() map[string]any {
	if f == nil {
		return nil
	}
	return f.Kwargs
}

// checkFailure compares a decoded failure with Python's view of it,
// including whether the Python client rebuilt the class.
func checkFailure(t *testing.T, f *Failure, py map[string]any) {
	t.Helper()
	if f == nil {
		t.Fatal("no failure decoded")
	}
	want := py["failure"].(map[string]any)
	if f.Class != want["class"] || f.Module != want["module"] || f.Message != want["message"] {
		t.Errorf("failure %q %q %q, want %v", f.Class, f.Module, f.Message, want)
	}
	if !reflect.DeepEqual(f.Args, want["args"]) || !reflect.DeepEqual(f.Kwargs, want["kwargs"]) {
		t.Errorf("failure args %#v kwargs %#v, want %#v %#v", f.Args, f.Kwargs, want["args"], want["kwargs"])
	}
	if len(f.Traceback) != len(want["tb"].([]any)) {
		t.Errorf("traceback of %d lines, want %d", len(f.Traceback), len(want["tb"].([]any)))
	}
	for _, k := range []struct {
		key     string
		allowed []string
	}{{"raises", nil}, {"raises_allowed", pythonAllowed}} {
		raised := str(t, py, k.key, "class")
		if got, want := f.Rebuilt(k.allowed), raised != "RemoteError"; got != want {
			t.Errorf("Rebuilt(%v) = %v, but the Python client raised %s", k.allowed, got, raised)
		}
	}
	got, err := EncodeFailure(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Kwargs) <= 1 && string(got) != str(t, py, "failure_json") {
		t.Errorf("EncodeFailure:\n got %s\nwant %s", got, str(t, py, "failure_json"))
	}
}

// sameMessage checks that two AMQP bodies carry equal messages (equal
// values, failures compared as values too).
func sameMessage(t *testing.T, got, want []byte) {
	t.Helper()
	g, w := canonical(t, messageValue(t, got)), canonical(t, messageValue(t, want))
	if g != w {
		t.Errorf("messages differ:\n got %s\nwant %s", g, w)
	}
}

func messageValue(t *testing.T, body []byte) map[string]any {
	t.Helper()
	msg, _, err := OpenEnvelope(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeValue(msg)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if f, ok := m["failure"].(string); ok {
		fv, err := DecodeValue([]byte(f))
		if err != nil {
			t.Fatal(err)
		}
		m["failure"] = fv
	}
	return m
}

// TestGoldenDispatcherFailures builds the dispatcher's failures with the
// constructors and checks them against what the Python server sent.
func TestGoldenDispatcherFailures(t *testing.T) { goldenDispatcherFailures(t, "testdata") }

// goldenDispatcherFailures is TestGoldenDispatcherFailures on the
// captures in dir.
func goldenDispatcherFailures(t *testing.T, dir string) {
	for _, tc := range []struct {
		file string
		f    *Failure
	}{
		{"reply_no_such_method", NoSuchMethod("no_such")},
		{"reply_private_method", NoSuchMethod("_private")},
		{"reply_unsupported_version", UnsupportedVersion("1.9", "echo")},
		{"reply_unsupported_namespace", UnsupportedVersion("1.0", "echo")},
		{"reply_type_error_missing", MissingArguments("Endpoint.echo", "value")},
		{"reply_type_error_unexpected", UnexpectedArgument("Endpoint.echo", "x")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var c capture
			for _, cc := range loadCaptures(t, dir, tc.file) {
				if cc.name == tc.file {
					c = cc
				}
			}
			r, err := DecodeReply(c.body)
			if err != nil {
				t.Fatal(err)
			}
			// Same exception, Go's own traceback.
			f := *tc.f
			f.Traceback = r.Failure.Traceback
			checkFailure(t, &f, c.python)
			got, err := EncodeReply(nil, FailureReply(r.MsgID, r.UniqueID, &f))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(c.body) {
				t.Errorf("EncodeReply:\n got %s\nwant %s", got, c.body)
			}
		})
	}
}

// TestGoldenNotifications decodes every notification Python's Notifier
// sent, checks it against what Python's listener made of it, and encodes
// it back.
func TestGoldenNotifications(t *testing.T) { goldenNotifications(t, "testdata") }

// goldenNotifications is TestGoldenNotifications on the captures in dir.
func goldenNotifications(t *testing.T, dir string) {
	for _, c := range loadCaptures(t, dir, "notify_") {
		t.Run(c.name, func(t *testing.T) {
			checkProperties(t, c)
			n, err := DecodeNotification(c.body)
			if err != nil {
				t.Fatal(err)
			}
			py := c.python
			for _, f := range []struct{ name, got, want string }{
				{"message_id", n.MessageID, str(t, py, "message", "message_id")},
				{"publisher_id", n.PublisherID, str(t, py, "message", "publisher_id")},
				{"event_type", n.EventType, str(t, py, "message", "event_type")},
				{"priority", n.Priority, str(t, py, "message", "priority")},
				{"timestamp", n.Timestamp, str(t, py, "message", "timestamp")},
				{"unique_id", n.UniqueID, str(t, py, "unique_id")},
				{"payload", toJSON(t, n.Payload), str(t, py, "json", "payload")},
				{"context", toJSON(t, n.Context), str(t, py, "json", "ctxt")},
				{"routing key", n.RoutingKey(strings.Split(c.routingKey, ".")[0]), c.routingKey},
			} {
				if f.got != f.want {
					t.Errorf("%s:\n got %s\nwant %s", f.name, f.got, f.want)
				}
			}
			if n.Legacy != strings.HasPrefix(c.name, "notify_v1") {
				t.Errorf("Legacy = %v", n.Legacy)
			}
			sent := n
			sent.Context = toCBOR(t, str(t, py, "json", "sent_ctxt"))
			got, err := EncodeNotification(nil, &sent)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(c.body) {
				t.Errorf("EncodeNotification:\n got %s\nwant %s", got, c.body)
			}
		})
	}
}
