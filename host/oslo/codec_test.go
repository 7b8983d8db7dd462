package oslo

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// wrap puts a message into the 2.0 envelope as kombu does.
func wrap(msg string) []byte { return appendEnvelope(nil, []byte(msg)) }

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    []byte
		want    Request // Args and Context as JSON in Method-less fields below
		args    string
		context string
		err     error
	}{
		{
			name: "un-enveloped (1.0) request",
			body: []byte(`{"method": "m", "args": {"a": 1}, "_unique_id": "u"}`),
			want: Request{Method: "m", UniqueID: "u"},
			args: `{"a": 1}`, context: `{"client_timeout": null}`,
		},
		{
			name: "context as unpack_context makes it",
			body: wrap(`{"method": "m", "_msg_id": "id", "_reply_q": "q", "_timeout": 2.5, "_context_a": 1, "_context_msg_id": "x", "_context_client_timeout": "y", "_context_reply_q": "z", "_context_b": [2], "_context_a": 3}`),
			want: Request{Method: "m", MsgID: "id", ReplyQ: "q", CallMonitorTimeout: 2500 * time.Millisecond},
			args: `{}`, context: `{"a": 3, "client_timeout": 2.5, "b": [2]}`,
		},
		{
			name: "escaped keys and unknown members",
			body: wrap(`{"\u006dethod": "m", "extra": {"x": [1]}, "_context_\u00e9": "\u00e9", "namespace": null, "version": "1.1"}`),
			want: Request{Method: "m", Version: "1.1"},
			args: `{}`, context: `{"\u00e9": "\u00e9", "client_timeout": null}`,
		},
		{
			name: "envelope version 2.0.0",
			body: []byte(`{"oslo.version": "2.0.0", "oslo.message": "{\"method\": \"m\"}"}`),
			want: Request{Method: "m"}, args: `{}`, context: `{"client_timeout": null}`,
		},
		{
			name: "no method: the IDs are still there to reply",
			body: wrap(`{"args": {}, "_msg_id": "id", "_reply_q": "q"}`),
			want: Request{MsgID: "id", ReplyQ: "q"}, args: `{}`, context: `{"client_timeout": null}`,
			err: ErrMessage,
		},
		{
			name: "args not an object",
			body: wrap(`{"method": "m", "args": [1], "_msg_id": "id", "_reply_q": "q", "_context_u": 1}`),
			want: Request{Method: "m", MsgID: "id", ReplyQ: "q"}, args: `{}`, context: `{"u": 1, "client_timeout": null}`,
			err: ErrMessage,
		},
		{
			name: "namespace not a string",
			body: wrap(`{"method": "m", "namespace": 1, "_msg_id": "id", "_reply_q": "q"}`),
			want: Request{Method: "m", MsgID: "id", ReplyQ: "q"}, args: `{}`, context: `{"client_timeout": null}`,
			err: ErrMessage,
		},
		{
			name: "call without reply queue",
			body: wrap(`{"method": "m", "_msg_id": "id"}`),
			want: Request{Method: "m", MsgID: "id"}, args: `{}`, context: `{"client_timeout": null}`,
			err: ErrMessage,
		},
		{name: "envelope 2.1", body: []byte(`{"oslo.version": "2.1", "oslo.message": "{}"}`), err: ErrMessage},
		{name: "envelope 3.0", body: []byte(`{"oslo.version": "3.0", "oslo.message": "{}"}`), err: ErrMessage},
		{name: "envelope version not a string", body: []byte(`{"oslo.version": 2, "oslo.message": "{}"}`), err: ErrMessage},
		{name: "envelope message not a string", body: []byte(`{"oslo.version": "2.0", "oslo.message": {}}`), err: ErrMessage},
		{name: "body not an object", body: []byte(`[1]`), err: ErrMessage},
		{name: "message not an object", body: wrap(`"m"`), err: ErrMessage},
		{name: "bad JSON in the message", body: wrap(`{"method": "m",}`), err: ErrSyntax},
		{name: "bad JSON in the body", body: []byte(`{"oslo.version": "2.0"`), err: ErrSyntax},
		{name: "msg id not a string", body: wrap(`{"method": "m", "_msg_id": 1}`), err: ErrMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(tc.body)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if tc.err != nil && (errors.Is(err, ErrSyntax) || tc.args == "") {
				return
			}
			if r.Method != tc.want.Method || r.Namespace != tc.want.Namespace || r.Version != tc.want.Version ||
				r.MsgID != tc.want.MsgID || r.ReplyQ != tc.want.ReplyQ || r.UniqueID != tc.want.UniqueID ||
				r.CallMonitorTimeout != tc.want.CallMonitorTimeout {
				t.Errorf("got %+v, want %+v", r, tc.want)
			}
			if got := toJSON(t, r.Args); got != tc.args {
				t.Errorf("args %s, want %s", got, tc.args)
			}
			if got := toJSON(t, r.Context); got != tc.context {
				t.Errorf("context %s, want %s", got, tc.context)
			}
		})
	}
}

func TestHeartbeatInterval(t *testing.T) {
	for _, tc := range []struct{ timeout, want time.Duration }{
		{0, 0},
		{time.Second, 0},
		{1900 * time.Millisecond, 0},
		{2 * time.Second, time.Second},
		{2500 * time.Millisecond, time.Second},
		{3 * time.Second, 1500 * time.Millisecond},
		{30 * time.Second, 15 * time.Second},
	} {
		r := Request{CallMonitorTimeout: tc.timeout}
		if got := r.HeartbeatInterval(); got != tc.want {
			t.Errorf("HeartbeatInterval for %v = %v, want %v", tc.timeout, got, tc.want)
		}
	}
}

func TestEncodeRequest(t *testing.T) {
	ctx := toCBOR(t, `{"user": "u\u00e9", "roles": ["a"]}`)
	cast, err := EncodeRequest(nil, &Request{Method: "m", Args: toCBOR(t, `{"x": NaN}`), Context: ctx, UniqueID: "u", ReplyQ: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"oslo.version": "2.0", "oslo.message": "{\"method\": \"m\", \"args\": {\"x\": NaN}, \"_unique_id\": \"u\", \"_context_user\": \"u\\u00e9\", \"_context_roles\": [\"a\"]}"}`
	if string(cast) != want {
		t.Errorf("cast:\n got %s\nwant %s", cast, want)
	}
	call, err := EncodeRequest(nil, &Request{Method: "m", Namespace: "ns", Version: "1.2", MsgID: "id", ReplyQ: "q", UniqueID: "u", CallMonitorTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"oslo.version": "2.0", "oslo.message": "{\"method\": \"m\", \"args\": {}, \"namespace\": \"ns\", \"version\": \"1.2\", \"_msg_id\": \"id\", \"_reply_q\": \"q\", \"_timeout\": 1.5, \"_unique_id\": \"u\"}"}`
	if string(call) != want {
		t.Errorf("call:\n got %s\nwant %s", call, want)
	}
	for _, tc := range []struct {
		name string
		r    Request
		err  error
	}{
		{"no method", Request{UniqueID: "u"}, ErrMessage},
		{"no unique id", Request{Method: "m"}, ErrMessage},
		{"call without reply queue", Request{Method: "m", UniqueID: "u", MsgID: "id"}, ErrMessage},
		{"args not a map", Request{Method: "m", UniqueID: "u", Args: []byte{0x80}}, ErrCBOR},
		{"context not a map", Request{Method: "m", UniqueID: "u", Context: []byte{0x80}}, ErrCBOR},
		{"context key not text", Request{Method: "m", UniqueID: "u", Context: []byte{0xa1, 0x01, 0x01}}, ErrCBOR},
		{"context trailing bytes", Request{Method: "m", UniqueID: "u", Context: []byte{0xa0, 0x01}}, ErrCBOR},
		{"bad value", Request{Method: "m", UniqueID: "u", Args: []byte{0xa1, 0x61, 0x61, 0x61, 0xff}}, ErrCBOR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncodeRequest(nil, &tc.r); !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
		})
	}
}

func TestReplies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      []byte
		result    string
		ending    bool
		heartbeat bool
		failure   string // class
		err       error
	}{
		{name: "result", body: wrap(`{"result": {"a": [1]}, "failure": null, "ending": true, "_msg_id": "m", "_unique_id": "u"}`), result: `{"a": [1]}`, ending: true},
		{name: "heartbeat", body: wrap(`{"result": null, "failure": null, "ending": false, "_msg_id": "m", "_unique_id": "u"}`), result: "null", heartbeat: true},
		{name: "no ending, no failure", body: wrap(`{"result": 1, "_msg_id": "m"}`), result: "1"},
		{name: "empty failure is none", body: wrap(`{"result": null, "failure": "", "ending": true, "_msg_id": "m"}`), result: "null", ending: true},
		{name: "un-enveloped", body: []byte(`{"result": "x", "ending": null, "_msg_id": "m"}`), result: `"x"`},
		{name: "failure", body: wrap(`{"result": null, "failure": "{\"class\": \"KeyError\", \"module\": \"builtins\", \"message\": \"'k'\", \"tb\": [], \"args\": [\"k\"], \"kwargs\": {}}", "ending": true, "_msg_id": "m"}`), result: "null", ending: true, failure: "KeyError"},
		{name: "failure not a string", body: wrap(`{"failure": {}, "_msg_id": "m"}`), err: ErrMessage},
		{name: "failure not JSON", body: wrap(`{"failure": "x", "_msg_id": "m"}`), err: ErrSyntax},
		{name: "failure with a bad tb", body: wrap(`{"failure": "{\"tb\": [1]}", "_msg_id": "m"}`), err: ErrMessage},
		{name: "ending not a boolean", body: wrap(`{"ending": 1, "_msg_id": "m"}`), err: ErrMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeReply(tc.body)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := toJSON(t, r.Result); got != tc.result {
				t.Errorf("result %s, want %s", got, tc.result)
			}
			if r.Ending != tc.ending || r.IsHeartbeat() != tc.heartbeat || r.MsgID != "m" {
				t.Errorf("ending %v, heartbeat %v, msg id %q", r.Ending, r.IsHeartbeat(), r.MsgID)
			}
			if (r.Failure == nil) != (tc.failure == "") || (r.Failure != nil && r.Failure.Class != tc.failure) {
				t.Errorf("failure %+v, want class %q", r.Failure, tc.failure)
			}
		})
	}
	hb, err := EncodeReply(nil, HeartbeatReply("m", "u"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": null, \"ending\": false, \"_msg_id\": \"m\", \"_unique_id\": \"u\"}"}`; string(hb) != want {
		t.Errorf("heartbeat:\n got %s\nwant %s", hb, want)
	}
	if _, err := EncodeReply(nil, ResultReply("", "u", nil)); !errors.Is(err, ErrMessage) {
		t.Errorf("reply without msg id: %v", err)
	}
	if _, err := EncodeReply(nil, ResultReply("m", "u", []byte{0x41, 0xff})); !errors.Is(err, ErrCBOR) {
		t.Errorf("reply with binary bytes: %v", err)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		f     *Failure
		json  string
		error string
	}{
		{
			f:     NewFailure("ValueError", "size must be > 0"),
			json:  `{"class": "ValueError", "module": "builtins", "message": "size must be > 0", "tb": ["ValueError: size must be > 0\n"], "args": ["size must be > 0"], "kwargs": {}}`,
			error: "ValueError: size must be > 0",
		},
		{
			f:     NoSuchMethod("x"),
			json:  `{"class": "NoSuchMethod", "module": "oslo_messaging.rpc.dispatcher", "message": "Endpoint does not support RPC method x", "tb": ["oslo_messaging.rpc.dispatcher.NoSuchMethod: Endpoint does not support RPC method x\n"], "args": ["Endpoint does not support RPC method x"], "kwargs": {}}`,
			error: "oslo_messaging.rpc.dispatcher.NoSuchMethod: Endpoint does not support RPC method x",
		},
		{
			f:    UnsupportedVersion("2.0", ""),
			json: `{"class": "UnsupportedVersion", "module": "oslo_messaging.rpc.dispatcher", "message": "Endpoint does not support RPC version 2.0", "tb": ["oslo_messaging.rpc.dispatcher.UnsupportedVersion: Endpoint does not support RPC version 2.0\n"], "args": ["Endpoint does not support RPC version 2.0"], "kwargs": {}}`,
		},
		{
			f:    &Failure{Class: "StopIteration", Module: "builtins"},
			json: `{"class": "StopIteration", "module": "builtins", "message": "", "tb": ["StopIteration\n"], "args": [], "kwargs": {}}`,
		},
		{
			f:    &Failure{Class: "Quota", Module: "nova.exception", Message: "over", Traceback: []string{"a\n"}, Args: []any{"over", 1}, Kwargs: map[string]any{"b": 2, "a": 1.5}},
			json: `{"class": "Quota", "module": "nova.exception", "message": "over", "tb": ["a\n"], "args": ["over", 1], "kwargs": {"a": 1.5, "b": 2}}`,
		},
	} {
		got, err := EncodeFailure(nil, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.json {
			t.Errorf("EncodeFailure:\n got %s\nwant %s", got, tc.json)
		}
		if tc.error != "" && tc.f.Error() != tc.error {
			t.Errorf("Error() = %q, want %q", tc.f.Error(), tc.error)
		}
		back, err := DecodeFailure(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := EncodeFailure(nil, back)
		if err != nil || string(again) != tc.json {
			t.Errorf("decode and encode again: %s, %v", again, err)
		}
	}

	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"a"}, "f() missing 1 required positional argument: 'a'"},
		{[]string{"a", "b"}, "f() missing 2 required positional arguments: 'a' and 'b'"},
		{[]string{"a", "b", "c", "d"}, "f() missing 4 required positional arguments: 'a', 'b', 'c', and 'd'"},
	} {
		if got := MissingArguments("f", tc.names...).Message; got != tc.want {
			t.Errorf("MissingArguments(%v) = %q, want %q", tc.names, got, tc.want)
		}
	}

	for _, tc := range []struct {
		f       *Failure
		allowed []string
		want    bool
	}{
		{NewFailure("ValueError", "x"), nil, true},
		{&Failure{Class: "ValueError", Module: "exceptions"}, nil, true},
		{&Failure{Class: "ValueError", Module: "builtins", Kwargs: map[string]any{"a": 1}}, nil, false},
		{&Failure{Class: "Frobnicate", Module: "builtins"}, nil, false},
		{&Failure{Class: "KeyboardInterrupt", Module: "builtins"}, nil, false},
		{&Failure{Class: "UnicodeDecodeError", Module: "builtins"}, nil, false},
		{NoSuchMethod("x"), nil, false},
		{NoSuchMethod("x"), []string{ModuleDispatcher}, true},
		{&Failure{Class: "Quota", Module: "nova.exception"}, []string{"nova.exception"}, true},
	} {
		if got := tc.f.Rebuilt(tc.allowed); got != tc.want {
			t.Errorf("%s.%s Rebuilt(%v) = %v, want %v", tc.f.Module, tc.f.Class, tc.allowed, got, tc.want)
		}
	}

	for _, bad := range []string{`[]`, `{"class": 1}`, `{"tb": "x"}`, `{"args": {}}`, `{"kwargs": []}`, `{`} {
		if _, err := DecodeFailure([]byte(bad)); err == nil {
			t.Errorf("DecodeFailure(%s) succeeded", bad)
		}
	}
}

func TestNotifications(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	if got := FormatTimestamp(ts); got != "2024-05-06 06:08:09.123456" {
		t.Errorf("FormatTimestamp = %q", got)
	}
	if got := FormatTimestamp(ts.Truncate(time.Second)); got != "2024-05-06 06:08:09" {
		t.Errorf("FormatTimestamp without microseconds = %q", got)
	}
	n, err := DecodeNotification([]byte(`{"event_type": null, "priority": "ERROR", "payload": [1], "_context_u": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !n.Legacy || n.EventType != "" || n.RoutingKey("notifications") != "notifications.error" {
		t.Errorf("got %+v", n)
	}
	if toJSON(t, n.Payload) != "[1]" || toJSON(t, n.Context) != `{"u": 1, "client_timeout": null}` {
		t.Errorf("payload %s context %s", toJSON(t, n.Payload), toJSON(t, n.Context))
	}
	n, err = DecodeNotification(wrap(`{"priority": "INFO"}`))
	if err != nil || n.Legacy || toJSON(t, n.Payload) != "null" {
		t.Errorf("enveloped without payload: %+v %v", n, err)
	}
	for _, bad := range [][]byte{wrap(`{"priority": 1}`), wrap(`{"payload": }`), []byte(`1`)} {
		if _, err := DecodeNotification(bad); err == nil {
			t.Errorf("DecodeNotification(%s) succeeded", bad)
		}
	}
	if _, err := EncodeNotification(nil, &Notification{}); !errors.Is(err, ErrMessage) {
		t.Errorf("notification without unique id: %v", err)
	}
}

func TestIDs(t *testing.T) {
	id, mid := NewID(), NewMessageID()
	if !regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`).MatchString(id) {
		t.Errorf("NewID() = %q", id)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(mid) {
		t.Errorf("NewMessageID() = %q", mid)
	}
	if NewID() == id || strings.EqualFold(NewMessageID(), mid) {
		t.Error("IDs repeat")
	}
}

func TestOpenEnvelope(t *testing.T) {
	msg, enveloped, err := OpenEnvelope([]byte("x"), wrap(`{"a": "\u00e9"}`))
	if err != nil || !enveloped || string(msg) != `x{"a": "\u00e9"}` {
		t.Errorf("got %s %v %v", msg, enveloped, err)
	}
	msg, enveloped, err = OpenEnvelope(nil, []byte(`{"oslo.version": "2.0", "other": 1}`))
	if err != nil || enveloped || string(msg) != `{"oslo.version": "2.0", "other": 1}` {
		t.Errorf("got %s %v %v", msg, enveloped, err)
	}
}
