package oslo

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/encoded/ from what the encoders write")

// Fixed IDs for the messages the Go side builds, so that its output is
// stable.
const (
	fixedMsgID    = "0123456789abcdef0123456789abcdef"
	fixedUniqueID = "fedcba9876543210fedcba9876543210"
	fixedReplyQ   = "reply_00000000000000000000000000000000"
	fixedMessage  = "01234567-89ab-4def-8123-456789abcdef"
	fixedTime     = "2024-05-06 07:08:09.123456"
)

// TestEncodedGolden builds messages with the Go encoders and the
// constructors, from the values of the captured ones but with fixed IDs
// and no Python traceback. Each must equal its file in testdata/encoded/
// (rewritten with -update) and carry what the captured Python message
// carries, IDs, timestamps and tracebacks aside.
func TestEncodedGolden(t *testing.T) {
	type builder func(t *testing.T, c capture) []byte
	request := func(t *testing.T, c capture) []byte {
		py := c.python
		r := Request{
			Method:    str(t, py, "message", "method"),
			Namespace: str(t, py, "message", "namespace"),
			Version:   str(t, py, "message", "version"),
			Args:      toCBOR(t, str(t, py, "json", "args")),
			Context:   toCBOR(t, str(t, py, "json", "sent_ctxt")),
			UniqueID:  fixedUniqueID,
		}
		if str(t, py, "msg_id") != "" {
			r.MsgID, r.ReplyQ = fixedMsgID, fixedReplyQ
			if tj := str(t, py, "json", "timeout"); tj != "null" {
				v, err := DecodeValue([]byte(tj))
				if err != nil {
					t.Fatal(err)
				}
				r.CallMonitorTimeout = time.Duration(v.(int64)) * time.Second
			}
		}
		return must(t)(EncodeRequest(nil, &r))
	}
	result := func(t *testing.T, c capture) []byte {
		r := Reply{MsgID: fixedMsgID, UniqueID: fixedUniqueID, Result: toCBOR(t, str(t, c.python, "result_json")),
			Ending: c.python["ending"].(bool)}
		return must(t)(EncodeReply(nil, &r))
	}
	failure := func(f *Failure) builder {
		return func(t *testing.T, c capture) []byte {
			return must(t)(EncodeReply(nil, FailureReply(fixedMsgID, fixedUniqueID, f)))
		}
	}
	notification := func(t *testing.T, c capture) []byte {
		py := c.python
		n := Notification{
			MessageID: fixedMessage, PublisherID: str(t, py, "message", "publisher_id"),
			EventType: str(t, py, "message", "event_type"), Priority: str(t, py, "message", "priority"),
			Payload: toCBOR(t, str(t, py, "json", "payload")), Timestamp: fixedTime,
			Context: toCBOR(t, str(t, py, "json", "sent_ctxt")), UniqueID: fixedUniqueID,
			Legacy: c.name == "notify_v1_info",
		}
		return must(t)(EncodeNotification(nil, &n))
	}
	for _, tc := range []struct {
		capture string
		build   builder
	}{
		{"request_call_nested", request},
		{"request_call_server_version", request},
		{"request_cast", request},
		{"request_cast_fanout", request},
		{"reply_result", result},
		{"reply_none", result},
		{"reply_heartbeat_1", result},
		{"reply_no_such_method", failure(NoSuchMethod("no_such"))},
		{"reply_private_method", failure(NoSuchMethod("_private"))},
		{"reply_unsupported_version", failure(UnsupportedVersion("1.9", "echo"))},
		{"reply_type_error_missing", failure(MissingArguments("Endpoint.echo", "value"))},
		{"reply_type_error_unexpected", failure(UnexpectedArgument("Endpoint.echo", "x"))},
		{"reply_failure_oslo", failure(&Failure{Class: "MessagingTimeout", Module: ModuleExceptions, Message: "inner call timed out"})},
		{"reply_failure_builtin", failure(&Failure{Class: "ValueError", Module: ModuleBuiltins, Message: "('size must be > 0', 42)", Args: []any{"size must be > 0", int64(42)}})},
		{"notify_v2_info", notification},
		{"notify_v2_sample", notification},
		{"notify_v1_info", notification},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			var c capture
			for _, cc := range loadCaptures(t, "testdata", tc.capture) {
				if cc.name == tc.capture {
					c = cc
				}
			}
			got := tc.build(t, c)
			path := filepath.Join("testdata", "encoded", tc.capture+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(got)+"\n" != string(want) {
				t.Errorf("encoded:\n got %s\nwant %s", got, want)
			}
			g, w := canonical(t, anonymous(t, got)), canonical(t, anonymous(t, c.body))
			if g != w {
				t.Errorf("differs from what Python sent:\n    go %s\npython %s", g, w)
			}
		})
	}
}

func must(t *testing.T) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// anonymous returns the message of body as values, with every ID,
// timestamp and traceback replaced by a placeholder.
func anonymous(t *testing.T, body []byte) map[string]any {
	m := messageValue(t, body)
	for _, k := range []string{"_msg_id", "_unique_id", "_reply_q", "message_id", "timestamp"} {
		if _, ok := m[k]; ok {
			m[k] = "<id>"
		}
	}
	if f, ok := m["failure"].(map[string]any); ok {
		f["tb"] = "<traceback>"
	}
	return m
}

// canonical is v as JSON with sorted keys, for comparing values that hold
// NaN or *big.Int.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := AppendValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
