package oslo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

type interopItem struct {
	Kind    string   `json:"kind"`
	Body    string   `json:"body"`
	Allowed []string `json:"allowed,omitempty"`
}

// askPython runs testdata/interop.py of peer (internal/oslopeer) on the
// items and returns what oslo.messaging made of each.
func askPython(t *testing.T, peer oslopeer.Peer, items []interopItem) []map[string]any {
	t.Helper()
	var in bytes.Buffer
	for _, it := range items {
		line, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(line, '\n'))
	}
	cmd := peer.Command("testdata/interop.py")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s testdata/interop.py: %v\n%s\n(oslo.messaging 14.0.3 comes from Debian's python3-oslo.messaging: scripts/deps.sh)", oslopeer.Python, err, stderr.String())
	}
	var res []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		res = append(res, m)
	}
	if len(res) != len(items) {
		t.Fatalf("python answered %d of %d items:\n%s", len(res), len(items), stderr.String())
	}
	return res
}

// TestPythonReadsGoMessages has oslo.messaging itself, of each reference
// peer, read what the Go encoders write: values, contexts, heartbeats, and
// failures, which the Python client must rebuild exactly when
// Failure.Rebuilt says so.
func TestPythonReadsGoMessages(t *testing.T) {
	oslopeer.Run(t, testPythonReadsGoMessages)
}

func testPythonReadsGoMessages(t *testing.T, peer oslopeer.Peer) {
	values := []string{
		`{"a": [1, -1, 1.5, NaN, Infinity, -Infinity, null, true, false]}`,
		`[18446744073709551615, 18446744073709551616, -18446744073709551617, 1267650600228229401496703205376]`,
		`"\u00e9\ud83d\ude00 \"quoted\" \\ \n\u0000\u007f"`,
		`{"\u043a\u043b\u044e\u0447": {"\u6df1\u3044": [[[{}]]]}, "": ""}`,
		`[0.1, 1e+16, 1000000000000000.0, 1e-05, 5e-324, -0.0, 123456789.123]`,
	}
	var items []interopItem
	type check func(t *testing.T, got map[string]any)
	var checks []check

	for _, v := range values {
		v := v
		body := must(t)(EncodeReply(nil, ResultReply("m1", "u1", toCBOR(t, v))))
		items = append(items, interopItem{Kind: "reply", Body: string(body)})
		checks = append(checks, func(t *testing.T, got map[string]any) {
			if got["result"] != v || got["ending"] != true || got["msg_id"] != "m1" {
				t.Errorf("reply of %s read as %v", v, got)
			}
		})
	}
	hb := must(t)(EncodeReply(nil, HeartbeatReply("m2", "u2")))
	items = append(items, interopItem{Kind: "reply", Body: string(hb)})
	checks = append(checks, func(t *testing.T, got map[string]any) {
		if got["result"] != "null" || got["ending"] != false {
			t.Errorf("heartbeat read as %v", got)
		}
	})

	for _, tc := range []struct {
		f       *Failure
		allowed []string
	}{
		{NewFailure("ValueError", "size must be > 0"), nil},
		{&Failure{Class: "ValueError", Module: ModuleBuiltins, Message: "('a', 42)", Args: []any{"a", int64(42)}}, nil},
		{&Failure{Class: "KeyError", Module: ModuleBuiltins, Message: "'k'", Args: []any{"k"}}, nil},
		{MissingArguments("Endpoint.echo", "value"), nil},
		{UnexpectedArgument("Endpoint.echo", "x"), nil},
		{NewFailure("StopIteration", ""), nil},
		{&Failure{Class: "ValueError", Module: ModuleBuiltins, Message: "m", Kwargs: map[string]any{"k": 1}}, nil},
		{&Failure{Class: "NoSuchClass", Module: ModuleBuiltins, Message: "m"}, nil},
		{&Failure{Class: "UnicodeDecodeError", Module: ModuleBuiltins, Message: "m"}, nil},
		{&Failure{Class: "KeyboardInterrupt", Module: ModuleBuiltins, Message: "m"}, nil},
		{&Failure{Class: "ValueError", Module: "exceptions", Message: "py2"}, nil},
		{NoSuchMethod("frob"), nil},
		{NoSuchMethod("frob"), []string{ModuleDispatcher}},
		{UnsupportedVersion("3.0", "frob"), []string{ModuleDispatcher}},
		{&Failure{Class: "MessagingTimeout", Module: ModuleExceptions, Message: "late"}, nil},
		{&Failure{Class: "MessagingTimeout", Module: ModuleExceptions, Message: "late"}, []string{ModuleExceptions}},
		{&Failure{Class: "Trap", Module: "wasmrpcd", Message: "unreachable"}, nil},
	} {
		tc := tc
		body := must(t)(EncodeReply(nil, FailureReply("m3", "u3", tc.f)))
		items = append(items, interopItem{Kind: "reply", Body: string(body), Allowed: tc.allowed})
		checks = append(checks, func(t *testing.T, got map[string]any) {
			raises, ok := got["raises"].(map[string]any)
			if !ok {
				t.Fatalf("failure %v read as %v", tc.f, got)
			}
			class, _ := raises["class"].(string)
			rebuilt := class != "RemoteError"
			if rebuilt != tc.f.Rebuilt(tc.allowed) {
				t.Errorf("%s.%s with allowed %v: Python raised %s, Rebuilt says %v",
					tc.f.Module, tc.f.Class, tc.allowed, class, tc.f.Rebuilt(tc.allowed))
			}
			s, _ := raises["str"].(string)
			if rebuilt {
				if strings.TrimSuffix(class, "_Remote") != tc.f.Class {
					t.Errorf("rebuilt %s, want %s", class, tc.f.Class)
				}
				// The client puts message and traceback into str().
				if !strings.Contains(s, strings.Trim(tc.f.Message, "'")) {
					t.Errorf("str() = %q lacks %q", s, tc.f.Message)
				}
			} else if !strings.HasPrefix(s, "Remote error: "+tc.f.Class+" "+tc.f.Message) {
				t.Errorf("RemoteError str() = %q", s)
			}
		})
	}

	req := Request{
		Method: "echo", Namespace: "ns", Version: "1.5",
		Args:    toCBOR(t, values[0]),
		Context: toCBOR(t, `{"user_id": "u\u00e9", "roles": ["a"], "n": 18446744073709551616}`),
		MsgID:   "m4", ReplyQ: "reply_q", UniqueID: "u4", CallMonitorTimeout: 30 * time.Second,
	}
	items = append(items, interopItem{Kind: "request", Body: string(must(t)(EncodeRequest(nil, &req)))})
	checks = append(checks, func(t *testing.T, got map[string]any) {
		want := map[string]any{
			"ctxt":   `{"user_id": "u\u00e9", "roles": ["a"], "n": 18446744073709551616, "client_timeout": 30}`,
			"args":   values[0],
			"method": "echo", "namespace": "ns", "version": "1.5",
			"msg_id": "m4", "reply_q": "reply_q", "unique_id": "u4",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("request %s: Python read %v, want %v", k, got[k], v)
			}
		}
		// And the Go decoder reads the context as Python does.
		r, err := DecodeRequest(must(t)(EncodeRequest(nil, &req)))
		if err != nil {
			t.Fatal(err)
		}
		if toJSON(t, r.Context) != want["ctxt"] {
			t.Errorf("Go context %s, Python %s", toJSON(t, r.Context), want["ctxt"])
		}
	})

	for _, legacy := range []bool{false, true} {
		legacy := legacy
		n := Notification{MessageID: NewMessageID(), PublisherID: "p", EventType: "e.x", Priority: "WARN",
			Payload: toCBOR(t, values[1]), Timestamp: FormatTimestamp(time.Now()), UniqueID: "u5",
			Context: toCBOR(t, `{"user": "u"}`), Legacy: legacy}
		items = append(items, interopItem{Kind: "notification", Body: string(must(t)(EncodeNotification(nil, &n)))})
		checks = append(checks, func(t *testing.T, got map[string]any) {
			if got["payload"] != values[1] || got["priority"] != "WARN" || got["event_type"] != "e.x" ||
				got["ctxt"] != `{"user": "u", "client_timeout": null}` || got["unique_id"] != "u5" {
				t.Errorf("notification (legacy %v) read as %v", legacy, got)
			}
		})
	}

	res := askPython(t, peer, items)
	for i, got := range res {
		if e, ok := got["error"]; ok {
			t.Errorf("item %d: python failed: %v\n%s", i, e, items[i].Body)
			continue
		}
		checks[i](t, got)
	}
}
