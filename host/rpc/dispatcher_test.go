package rpc

import (
	"context"
	"errors"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// named returns a handler that answers with its own name, so that tests see
// which endpoint served a request.
func named(name string) Handler {
	return HandlerFunc(func(context.Context, *Request) ([]byte, error) { return []byte(name), nil })
}

func TestDispatcherRouting(t *testing.T) {
	d, err := NewDispatcher(
		Endpoint{Version: "1.5", Methods: []string{"echo", "_private", "old"}, Handler: named("v1")},
		Endpoint{Version: "2.1", Methods: []string{"echo", "new"}, Handler: named("v2")},
		Endpoint{Namespace: "admin", Version: "1.0", Methods: []string{"echo"}, Handler: named("admin")},
		Endpoint{Methods: []string{"legacy"}, Handler: named("default-version")},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		req       Request
		want      string
		wantClass string // of the error, when one is wanted
	}{
		{"no version asks 1.0", Request{Method: "echo"}, "v1", ""},
		{"minor below", Request{Method: "echo", Version: "1.2"}, "v1", ""},
		{"minor equal", Request{Method: "echo", Version: "1.5"}, "v1", ""},
		{"minor above", Request{Method: "echo", Version: "1.6"}, "", "UnsupportedVersion"},
		{"other major", Request{Method: "new", Version: "2.0"}, "v2", ""},
		{"revision within", Request{Method: "echo", Version: "2.1.0"}, "v2", ""},
		{"revision above", Request{Method: "echo", Version: "2.1.1"}, "", "UnsupportedVersion"},
		{"no such major", Request{Method: "echo", Version: "3.0"}, "", "UnsupportedVersion"},
		{"method of another version", Request{Method: "new", Version: "1.0"}, "", "NoSuchMethod"},
		{"unknown method", Request{Method: "nope", Version: "1.1"}, "", "NoSuchMethod"},
		{"private method", Request{Method: "_private"}, "", "NoSuchMethod"},
		{"namespace", Request{Method: "echo", Namespace: "admin"}, "admin", ""},
		{"unknown namespace", Request{Method: "echo", Namespace: "nope"}, "", "UnsupportedVersion"},
		{"later compatible endpoint", Request{Method: "legacy", Version: "1.0"}, "default-version", ""},
		{"malformed major", Request{Method: "echo", Version: "x.1"}, "", "ValueError"},
		{"missing minor", Request{Method: "echo", Version: "1"}, "", "IndexError"},
		{"malformed minor of a missing major", Request{Method: "echo", Version: "9.x"}, "", "UnsupportedVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Dispatch(context.Background(), &tc.req)
			if tc.wantClass == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Dispatch = %v, %v; want %q", got, err, tc.want)
				}
				return
			}
			if f, _ := FailureOf(err); f.Class != tc.wantClass {
				t.Fatalf("Dispatch error = %v (class %q), want class %q", err, f.Class, tc.wantClass)
			}
		})
	}
}

func TestDispatcherMessages(t *testing.T) {
	d, _ := NewDispatcher(Endpoint{Version: "1.5", Methods: []string{"echo"}, Handler: named("v1")})
	_, err := d.Dispatch(context.Background(), &Request{Method: "nope"})
	var nsm *NoSuchMethodError
	if !errors.As(err, &nsm) || err.Error() != "Endpoint does not support RPC method nope" {
		t.Errorf("err = %v", err)
	}
	_, err = d.Dispatch(context.Background(), &Request{Method: "echo", Version: "1.6"})
	if err == nil || err.Error() != "Endpoint does not support RPC version 1.6. Attempted method: echo" {
		t.Errorf("err = %v", err)
	}
}

func TestDispatcherSetEndpoints(t *testing.T) {
	d, _ := NewDispatcher(Endpoint{Version: "1.5", Methods: []string{"echo"}, Handler: named("old")})
	if err := d.SetEndpoints(Endpoint{Version: "bad"}); err == nil {
		t.Fatal("accepted a bad version")
	}
	if got, _ := d.Dispatch(context.Background(), &Request{Method: "echo"}); string(got) != "old" {
		t.Fatalf("a refused swap changed the endpoints: got %v", got)
	}
	if err := d.SetEndpoints(Endpoint{Version: "1.6", Methods: []string{"echo"}, Handler: named("new")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Dispatch(context.Background(), &Request{Method: "echo", Version: "1.6"}); string(got) != "new" {
		t.Fatalf("after swap got %v", got)
	}
	var zero Dispatcher
	if _, err := zero.Dispatch(context.Background(), &Request{Method: "echo"}); err == nil {
		t.Fatal("an empty dispatcher served a request")
	}
}

func TestHandlerErrorPassesThrough(t *testing.T) {
	guestErr := &abi.Error{Class: "ValueError", Message: "bad"}
	d, _ := NewDispatcher(Endpoint{Methods: []string{"f"}, Handler: HandlerFunc(func(context.Context, *Request) ([]byte, error) {
		return nil, guestErr
	})})
	if _, err := d.Dispatch(context.Background(), &Request{Method: "f"}); !errors.Is(err, guestErr) {
		t.Fatalf("err = %v", err)
	}
}

func TestDispatcherFollowsReplacedEndpoint(t *testing.T) {
	d, _ := NewDispatcher()
	replaced := HandlerFunc(func(context.Context, *Request) ([]byte, error) {
		// Swapped out while the request was on its way in.
		d.SetEndpoints(Endpoint{Methods: []string{"f"}, Handler: named("new")})
		return nil, ErrEndpointReplaced
	})
	d.SetEndpoints(Endpoint{Methods: []string{"f"}, Handler: replaced})
	got, err := d.Dispatch(context.Background(), &Request{Method: "f"})
	if err != nil || string(got) != "new" {
		t.Fatalf("Dispatch = %q, %v; want the new endpoint's answer", got, err)
	}
}
