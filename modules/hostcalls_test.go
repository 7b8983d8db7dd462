package modules_test

import (
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// TestSDKHostCalls drives the SDK's Call, Cast, Notify and Log through the
// real host imports, with guest-sdk/testdata/hostcalls.
func TestSDKHostCalls(t *testing.T) {
	host := &hostCalls{reply: func(req *abi.CallRequest) ([]byte, error) {
		switch req.Method {
		case "get_volume":
			return cborcodec.Marshal(map[string]any{"id": "v1", "size_gb": 3, "extra": true})
		case "missing":
			return nil, &abi.Error{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "no v9", Args: []any{"v9"}}
		case "slow":
			return nil, &abi.Error{Class: "MessagingTimeout", Module: "oslo_messaging.exceptions", Message: "timed out"}
		}
		return cborcodec.Marshal(req.Method)
	}}
	m := load(t, hostcallsWasm, wasm.Limits{MaxInstances: 1}, host)
	noArgs := enc(t, map[string]any{}) // the host's default for a call without arguments
	ctx := map[string]any{"request_id": "req-1", "user_id": "u1"}

	tests := []struct {
		name     string
		export   string
		args     map[string]any
		want     any
		wantCall *abi.CallRequest // the request the host got, Context decoded separately
		wantCtx  map[string]any
	}{
		{"call", "rpc.call", map[string]any{"topic": "volumes", "method": "get_volume", "args": map[string]any{"volume_id": "v1"}},
			map[string]any{"id": "v1", "size_gb": 3, "extra": true},
			&abi.CallRequest{Target: abi.Target{Topic: "volumes", Version: "1.0"}, Method: "get_volume", Args: enc(t, map[string]any{"volume_id": "v1"})}, ctx},
		{"typed call", "rpc.call", map[string]any{"topic": "volumes", "method": "get_volume", "typed": true},
			map[string]any{"id": "v1", "size_gb": 3},
			&abi.CallRequest{Target: abi.Target{Topic: "volumes", Version: "1.0"}, Method: "get_volume", Args: noArgs}, ctx},
		{"call as another user", "rpc.call", map[string]any{"topic": "t", "method": "whoami", "as_user": "admin", "timeout_ms": 1500},
			"whoami",
			&abi.CallRequest{Target: abi.Target{Topic: "t", Version: "1.0"}, Method: "whoami", Args: noArgs, TimeoutMillis: 1500},
			map[string]any{"request_id": "req-1", "user_id": "admin"}},
		{"remote error", "rpc.call", map[string]any{"topic": "volumes", "method": "missing"},
			abi.Error{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "no v9", Args: []any{"v9"}},
			&abi.CallRequest{Target: abi.Target{Topic: "volumes", Version: "1.0"}, Method: "missing", Args: noArgs}, ctx},
		{"timeout", "rpc.call", map[string]any{"topic": "volumes", "method": "slow"},
			abi.Error{Class: "MessagingTimeout", Module: "oslo_messaging.exceptions", Message: "timed out"},
			&abi.CallRequest{Target: abi.Target{Topic: "volumes", Version: "1.0"}, Method: "slow", Args: noArgs}, ctx},
		{"cast", "rpc.cast", map[string]any{"topic": "volumes", "method": "delete_volume", "args": map[string]any{"volume_id": "v1"}},
			"sent",
			&abi.CallRequest{Target: abi.Target{Topic: "volumes", Version: "1.0"}, Method: "delete_volume", Args: enc(t, map[string]any{"volume_id": "v1"})}, ctx},
		{"bad priority", "rpc.notify", map[string]any{"topic": "n", "method": "x.y", "priority": "loud"},
			abi.Error{Class: "RuntimeError", Module: "builtins", Message: `sdk: notification priority "loud" is not one of [audit debug info warn error critical sample]`},
			nil, nil},
		{"log", "rpc.log", map[string]any{"level": 2, "message": "careful"}, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, call(t, m, tc.export, ctx, tc.args), tc.want)
			got := host.taken()
			if tc.wantCall == nil {
				if len(got) != 0 {
					t.Fatalf("host calls %#v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].call == nil {
				t.Fatalf("host calls %#v, want one", got)
			}
			req := *got[0].call
			gotCtx := decode(t, req.Context)
			req.Context = nil
			if !reflect.DeepEqual(&req, tc.wantCall) {
				t.Fatalf("request\n %#v\nwant\n %#v", &req, tc.wantCall)
			}
			if !reflect.DeepEqual(gotCtx, tc.wantCtx) {
				t.Fatalf("context %#v, want %#v", gotCtx, tc.wantCtx)
			}
			if got[0].from != (wasm.Caller{Module: "hostcalls.wasm", Export: tc.export}) {
				t.Fatalf("caller %+v", got[0].from)
			}
		})
	}

	t.Run("notify", func(t *testing.T) {
		args := map[string]any{"topic": "audit_topic", "method": "thing.happened", "priority": "audit", "args": map[string]any{"k": "v"}}
		expect(t, call(t, m, "rpc.notify", ctx, args), "sent")
		got := host.taken()
		if len(got) != 1 || got[0].notify == nil {
			t.Fatalf("host calls %#v", got)
		}
		n := got[0].notify
		if n.Topic != "audit_topic" || n.Priority != "audit" || n.PublisherID != "hostcalls" || n.EventType != "thing.happened" ||
			!reflect.DeepEqual(decode(t, n.Payload), map[string]any{"k": "v"}) || !reflect.DeepEqual(decode(t, n.Context), ctx) {
			t.Fatalf("notification %+v", n)
		}
	})
}
