package sdk

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

func TestCallRequest(t *testing.T) {
	ctx, err := newContext("m", enc(t, map[string]any{"request_id": "req-1", "user_id": "u"}))
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Topic: "volumes", Server: "host-a", Version: "1.0"}
	tests := []struct {
		name    string
		c       *Context
		args    any
		opts    []CallOption
		want    abi.CallRequest
		wantErr string
	}{
		{"map args, current context", ctx, map[string]any{"volume_id": "v1"}, nil,
			abi.CallRequest{Target: target, Method: "get_volume", Args: enc(t, map[string]any{"volume_id": "v1"})}, ""},
		{"struct args", ctx, struct {
			ID string `cbor:"volume_id"`
		}{"v1"}, nil,
			abi.CallRequest{Target: target, Method: "get_volume", Args: enc(t, map[string]any{"volume_id": "v1"})}, ""},
		{"no args, nil context", nil, nil, nil,
			abi.CallRequest{Target: target, Method: "get_volume"}, ""},
		{"override context", ctx.WithValue("user_id", "admin").WithValue("request_id", nil), nil, nil,
			abi.CallRequest{Target: target, Method: "get_volume", Context: enc(t, map[string]any{"user_id": "admin"})}, ""},
		{"timeout", ctx, nil, []CallOption{Timeout(1500 * time.Millisecond)},
			abi.CallRequest{Target: target, Method: "get_volume", TimeoutMillis: 1500}, ""},
		{"tiny timeout", ctx, nil, []CallOption{Timeout(time.Microsecond)},
			abi.CallRequest{Target: target, Method: "get_volume", TimeoutMillis: 1}, ""},
		{"huge timeout", ctx, nil, []CallOption{Timeout(2000 * time.Hour)},
			abi.CallRequest{Target: target, Method: "get_volume", TimeoutMillis: ^uint32(0)}, ""},
		{"args not a map", ctx, []string{"x"}, nil, abi.CallRequest{}, "must encode to a map"},
		{"args unencodable", ctx, map[string]any{"c": make(chan int)}, nil, abi.CallRequest{}, "encoding the arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := callRequest(tt.c, target, "get_volume", tt.args, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got abi.CallRequest
			if err := cborcodec.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("request\n %#v\nwant\n %#v", got, tt.want)
			}
		})
	}
	if _, err := callRequest(ctx, Target{}, "m", nil, nil); err == nil {
		t.Fatal("a call without a topic was encoded")
	}
}

func TestNotifyRequest(t *testing.T) {
	n := Notification{Topic: "testkit_seen", Priority: "info", PublisherID: "testkit", EventType: "testkit.seen", Payload: map[string]any{"k": 1}}
	b, err := notifyRequest(nil, n)
	if err != nil {
		t.Fatal(err)
	}
	var got abi.Notification
	if err := cborcodec.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := abi.Notification{Topic: "testkit_seen", Priority: "info", PublisherID: "testkit", EventType: "testkit.seen", Payload: enc(t, map[string]any{"k": 1})}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("notification\n %#v\nwant\n %#v", got, want)
	}
	if _, err := notifyRequest(nil, Notification{Priority: "loud"}); err == nil || !strings.Contains(err.Error(), `priority "loud"`) {
		t.Fatalf("bad priority: %v", err)
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name    string
		resp    []byte
		want    abi.RawMessage
		wantErr error
	}{
		{"value", enc(t, abi.Result{Value: enc(t, "ok")}), enc(t, "ok"), nil},
		{"null", enc(t, abi.Result{}), nil, nil},
		{"remote error", enc(t, abi.Result{Error: &abi.Error{Class: "VolumeNotFound", Module: "volumes", Message: "no v1", Args: []any{"v1"}}}),
			nil, &Error{Class: "VolumeNotFound", Module: "volumes", Message: "no v1", Args: []any{"v1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeResponse(tt.resp)
			if !reflect.DeepEqual(err, tt.wantErr) {
				t.Fatalf("error %#v, want %#v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("value % x, want % x", got, tt.want)
			}
		})
	}
	if _, err := decodeResponse([]byte{0xff}); err == nil || !strings.Contains(err.Error(), "not a CBOR result") {
		t.Fatalf("garbage: %v", err)
	}
}

func TestErrnoError(t *testing.T) {
	tests := map[int32]string{
		-1: "host import call: the request is out of range or not valid CBOR (errno 1)",
		-2: "host import call: no response held (errno 2)",
		-3: "host import call: response buffer too small (errno 3)",
		-9: "host import call: errno 9",
	}
	for n, want := range tests {
		if got := errnoError(importCall, n).Error(); got != want {
			t.Errorf("errnoError(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNoHostOutsideWasm(t *testing.T) {
	_, err := Call[string](nil, Target{Topic: "t"}, "m", nil)
	if !errors.Is(err, ErrNoHost) {
		t.Fatalf("Call: %v", err)
	}
	if err := Cast(nil, Target{Topic: "t"}, "m", nil); !errors.Is(err, ErrNoHost) {
		t.Fatalf("Cast: %v", err)
	}
	if err := Notify(nil, Notification{Priority: "info"}); !errors.Is(err, ErrNoHost) {
		t.Fatalf("Notify: %v", err)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(enc(f, abi.Result{Value: enc(f, []any{1, "x"})}))
	f.Add(enc(f, abi.Result{Error: &abi.Error{Class: "E", Message: "m", Args: []any{1}}}))
	f.Add([]byte{0xa1, 0x65, 'e', 'r', 'r', 'o', 'r', 0xf6})
	f.Fuzz(func(t *testing.T, resp []byte) {
		v, err := decodeResponse(resp)
		var r abi.Result
		if cborcodec.Unmarshal(resp, &r) != nil {
			if err == nil {
				t.Fatalf("accepted a response that is not a Result: % x", resp)
			}
			return
		}
		if r.Error != nil {
			var se *Error
			if !errors.As(err, &se) || se.Class != r.Error.Class || se.Message != r.Error.Message {
				t.Fatalf("remote error %#v came back as %#v", r.Error, err)
			}
			return
		}
		if err != nil || string(v) != string(r.Value) {
			t.Fatalf("value % x, %v; want % x", v, err, r.Value)
		}
		// Call decodes the value into its result type; a bad one is an
		// error there, never a panic.
		var x any
		_ = cborcodec.Unmarshal(v, &x)
	})
}
