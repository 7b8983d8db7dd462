package rpc

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
)

// goldenReplies returns the reply bodies real oslo.messaging servers sent
// (host/oslo/testdata/reply_*.json), by case name.
func goldenReplies(t testing.TB) map[string][]byte {
	paths, err := filepath.Glob("../oslo/testdata/reply_*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden replies: %v", err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Written by Python's json: NaN tokens, which encoding/json refuses.
		v, err := oslo.DecodeValue(b)
		g, _ := v.(map[string]any)
		name, _ := g["case"].(string)
		body, _ := g["body"].(string)
		if err != nil || name == "" || body == "" {
			t.Fatalf("%s: no case and body (%v)", p, err)
		}
		out[name] = []byte(body)
	}
	return out
}

func quietReplies() *replies {
	return newReplies(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestClientGoldenReplies routes each reply a real oslo.messaging server
// sent to a waiting call, as the client's reply listener does, and
// checks the outcome against the reply's own JSON read independently.
func TestClientGoldenReplies(t *testing.T) {
	golden := goldenReplies(t)
	for _, name := range []string{
		"reply_result", "reply_none", "reply_context", "reply_heartbeat_1",
		"reply_failure_builtin", "reply_failure_custom", "reply_failure_expected", "reply_failure_oslo",
		"reply_no_such_method", "reply_private_method", "reply_type_error_missing",
		"reply_type_error_unexpected", "reply_unsupported_namespace", "reply_unsupported_version",
	} {
		t.Run(name, func(t *testing.T) {
			body, ok := golden[name]
			if !ok {
				t.Fatalf("no golden %s", name)
			}
			msg := innerMessage(t, body)
			heartbeat := msg["ending"] != true
			r := quietReplies()
			rep, err := oslo.DecodeReply(body)
			if err != nil {
				t.Fatal(err)
			}
			w, err := r.add(rep.MsgID)
			if err != nil {
				t.Fatal(err)
			}
			r.deliver(&rep, nil)
			select {
			case <-w.done:
				if heartbeat {
					t.Fatal("a heartbeat ended the call")
				}
			default:
				if !heartbeat {
					t.Fatal("the final reply did not end the call")
				}
				select {
				case <-w.beat:
				default:
					t.Fatal("the heartbeat did not renew the call monitor")
				}
				return
			}
			res, err := w.outcome()
			if f, _ := msg["failure"].(string); f != "" {
				failure := innerValue(t, []byte(f))
				re, ok := err.(*RemoteError)
				if !ok || re.Class != failure["class"] || re.Module != failure["module"] || re.Message != failure["message"] {
					t.Fatalf("outcome %#v, want the failure %v", err, failure)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := oslo.AppendValue(nil, msg["result"])
			if err != nil {
				t.Fatal(err)
			}
			text, err := res.JSON()
			if err != nil {
				t.Fatal(err)
			}
			v, err := oslo.DecodeValue(text)
			if err != nil {
				t.Fatal(err)
			}
			// Compared with map keys sorted (AppendValue sorts them).
			if got, err := oslo.AppendValue(nil, v); err != nil || string(got) != string(want) {
				t.Fatalf("result %s (%v), want %s", got, err, want)
			}
		})
	}
}

// innerMessage reads the message inside a reply's envelope as plain
// values.
func innerMessage(t *testing.T, body []byte) map[string]any {
	t.Helper()
	msg, _, err := oslo.OpenEnvelope(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	return innerValue(t, msg)
}

func innerValue(t *testing.T, text []byte) map[string]any {
	t.Helper()
	v, err := oslo.DecodeValue(text)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		t.Fatalf("%s is not a JSON object: %v", text, err)
	}
	return m
}

// FuzzClientReplies routes arbitrary reply bodies to a waiting call: the
// router never panics, a call ends at most once and then with exactly one
// of a result and an error.
func FuzzClientReplies(f *testing.F) {
	for _, body := range goldenReplies(f) {
		f.Add(body, true)
	}
	f.Add([]byte(`{"oslo.version": "2.0", "oslo.message": "{\"result\": 1, \"ending\": false}"}`), false)
	f.Add([]byte(`{"result": null, "failure": "{\"class\": 1}", "ending": true}`), false)
	f.Fuzz(func(t *testing.T, body []byte, thenFinal bool) {
		r := quietReplies()
		const id = "m1"
		w, err := r.add(id)
		if err != nil {
			t.Fatal(err)
		}
		rep, decodeErr := oslo.DecodeReply(body)
		rep.MsgID = id
		r.deliver(&rep, decodeErr)
		if thenFinal {
			final := oslo.ResultReply(id, "u", nil)
			r.deliver(final, nil) // ignored when the call ended
		}
		select {
		case <-w.done:
		default:
			if decodeErr != nil || rep.Ending || thenFinal {
				t.Fatalf("call not ended by %q (ending %v, decode error %v)", body, rep.Ending, decodeErr)
			}
			return
		}
		res, err := w.outcome()
		if (res == nil) == (err == nil) {
			t.Fatalf("outcome %x, %v", []byte(res), err)
		}
		if err != nil && decodeErr != nil && !strings.Contains(err.Error(), "unreadable reply") {
			t.Fatalf("decode error reported as %v", err)
		}
		if _, ok := r.waiters[id]; ok {
			t.Fatal("an ended call is still waited for")
		}
	})
}
