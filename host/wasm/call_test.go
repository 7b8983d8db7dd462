package wasm

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

func TestCallPath(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "echo", Limits{})
	big := strings.Repeat("x", 100<<10)

	for _, tc := range []struct {
		name    string
		export  string
		reqCtx  []byte
		args    []byte
		want    any    // decoded value, when the call succeeds
		wantErr error  // errors.Is target
		raised  string // class of the *abi.Error the guest raises
	}{
		{name: "echo", export: "rpc.echo", args: enc(t, map[string]any{"value": "hi", "n": 3}),
			want: map[string]any{"value": "hi", "n": int64(3)}},
		{name: "no arguments", export: "rpc.echo", want: map[string]any{}},
		{name: "large argument", export: "rpc.echo", args: enc(t, map[string]any{"value": big}),
			want: map[string]any{"value": big}},
		{name: "context", export: "rpc.context", reqCtx: enc(t, map[string]any{"user": "u1", "roles": []any{"admin"}}),
			want: map[string]any{"user": "u1", "roles": []any{"admin"}}},
		{name: "empty context", export: "rpc.context", want: map[string]any{}},
		{name: "exception", export: "rpc.fail", raised: "ValueError"},
		{name: "private export", export: "rpc._private", want: nil},
		{name: "notification handler", export: "notify.info", want: "handled"},
		{name: "export not in manifest", export: "rpc.unlisted", wantErr: ErrNoSuchExport},
		{name: "ABI export", export: "wasmrpc.alloc", wantErr: ErrNoSuchExport},
		{name: "unknown export", export: "rpc.nope", wantErr: ErrNoSuchExport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			made := instancesMade(m)
			value, err := m.Call(context.Background(), tc.export, tc.reqCtx, tc.args)
			switch {
			case tc.wantErr != nil:
				checkCallError(t, err, m.Name(), tc.export, tc.wantErr)
			case tc.raised != "":
				var raised *abi.Error
				if !errors.As(err, &raised) {
					t.Fatalf("got %v, want an *abi.Error", err)
				}
				if raised.Class != tc.raised || raised.Message != "boom" {
					t.Errorf("raised %+v, want %s: boom", raised, tc.raised)
				}
				checkCallError(t, err, m.Name(), tc.export, nil)
			case err != nil:
				t.Fatal(err)
			default:
				if got := decode(t, value); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("value %#v, want %#v", got, tc.want)
				}
			}
			// Neither a result nor an exception costs an instance; the
			// spare the pool warms may add one.
			if made2 := instancesMade(m); made2 > made+1 {
				t.Errorf("%d instances made during the call, want at most one spare", made2-made)
			}
		})
	}
}

// checkCallError checks that err is a *CallError for module and export
// that wraps want (when not nil).
func checkCallError(t *testing.T, err error, module, export string, want error) {
	t.Helper()
	var ce *CallError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T %v, want a *CallError", err, err)
	}
	if ce.Module != module || ce.Export != export {
		t.Errorf("CallError for %s %s, want %s %s", ce.Module, ce.Export, module, export)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("got %v, want errors.Is %v", err, want)
	}
}

// TestCallFailures checks that each way a guest can fail answers a precise
// error, costs only its own instance, and leaves the module serving.
func TestCallFailures(t *testing.T) {
	r, rec := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{MemoryLimit: 16 << 20, MaxInstances: 2})
	// The call timeout, rather than the caller's deadline, stops these.
	short := load(t, r, "misbehave", Limits{CallTimeout: 300 * time.Millisecond, MaxInstances: 2})

	for _, tc := range []struct {
		export  string
		short   bool          // call the module with the short call timeout
		ctx     time.Duration // a deadline for the call, if set
		want    error
		message string // in the error text
	}{
		{export: "rpc.trap", want: ErrTrap, message: "unreachable"},
		{export: "rpc.exit", want: ErrTrap, message: "exited with code 3"},
		{export: "rpc.oob_ptr", want: ErrBadPointer, message: "at 0xffff0000"},
		{export: "rpc.oob_len", want: ErrBadPointer, message: "100 bytes"},
		{export: "rpc.huge", want: ErrResultTooLarge, message: "4194305 bytes, the cap is 4194304"},
		{export: "rpc.grow", want: ErrMemoryLimit, message: "16MiB"},
		{export: "rpc.spin", short: true, want: context.DeadlineExceeded, message: "ran past its deadline"},
		{export: "rpc.sleep", short: true, want: context.DeadlineExceeded, message: "ran past its deadline"},
		{export: "rpc.spin", ctx: 50 * time.Millisecond, want: context.DeadlineExceeded, message: "ran past its deadline"},
		{export: "rpc.sleep", ctx: 50 * time.Millisecond, want: context.DeadlineExceeded, message: "ran past its deadline"},
		{export: "rpc.bad_cbor", want: ErrBadResult},
		{export: "rpc.not_result", want: ErrBadResult},
	} {
		t.Run(strings.TrimPrefix(tc.export, "rpc."), func(t *testing.T) {
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			m := m
			if tc.short {
				m = short
			}
			_, err := m.Call(ctx, tc.export, nil, nil)
			checkCallError(t, err, "misbehave", tc.export, tc.want)
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if n := liveInstances(m); n > 2 {
				t.Errorf("%d live instances, the cap is 2", n)
			}
			// The module serves on.
			args := enc(t, map[string]any{"after": tc.export})
			value, err := m.Call(context.Background(), "rpc.echo", nil, args)
			if err != nil {
				t.Fatalf("echo after %s: %v", tc.export, err)
			}
			if !bytes.Equal(value, args) {
				t.Errorf("echo after %s: %x, want %x", tc.export, value, args)
			}
		})
	}
	if _, ok := rec.find("guest failed; its instance is discarded"); !ok {
		t.Error("no failure was logged")
	}
}

// TestFailureDiscardsOnlyItsInstance checks that a failing call replaces
// its own instance and no other.
func TestFailureDiscardsOnlyItsInstance(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{MaxInstances: 1})
	first := <-m.pool.idle
	m.pool.idle <- first
	if _, err := m.Call(context.Background(), "rpc.echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	second := <-m.pool.idle
	m.pool.idle <- second
	if first != second {
		t.Fatal("a successful call replaced its instance")
	}
	if _, err := m.Call(context.Background(), "rpc.trap", nil, nil); !errors.Is(err, ErrTrap) {
		t.Fatalf("got %v, want ErrTrap", err)
	}
	if _, err := m.Call(context.Background(), "rpc.echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	third := <-m.pool.idle
	m.pool.idle <- third
	if third == first {
		t.Error("the instance that trapped serves again")
	}
	if !first.mod.IsClosed() {
		t.Error("the instance that trapped was not closed")
	}
}

func TestResultCap(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "echo", Limits{MaxResultSize: 1024})
	small := enc(t, map[string]any{"value": strings.Repeat("s", 500)})
	if _, err := m.Call(context.Background(), "rpc.echo", nil, small); err != nil {
		t.Fatalf("a result under the cap: %v", err)
	}
	large := enc(t, map[string]any{"value": strings.Repeat("l", 2000)})
	_, err := m.Call(context.Background(), "rpc.echo", nil, large)
	checkCallError(t, err, "echo", "rpc.echo", ErrResultTooLarge)
}

func TestRequestBufferErrors(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	for _, tc := range []struct {
		module string
		want   error
	}{
		{"alloc_fails", ErrAlloc},
		{"alloc_oob", ErrBadPointer},
	} {
		t.Run(tc.module, func(t *testing.T) {
			m := load(t, r, tc.module, Limits{})
			_, err := m.Call(context.Background(), "rpc.echo", nil, nil)
			checkCallError(t, err, tc.module, "rpc.echo", tc.want)
		})
	}
	t.Run("request over the memory limit", func(t *testing.T) {
		m := load(t, r, "echo", Limits{MemoryLimit: 1 << 20})
		args := enc(t, map[string]any{"value": strings.Repeat("x", 2<<20)})
		_, err := m.Call(context.Background(), "rpc.echo", nil, args)
		checkCallError(t, err, "echo", "rpc.echo", ErrMemoryLimit)
	})
}

func TestCallerDeadlineAndCancel(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Call(ctx, "rpc.echo", nil, nil)
	checkCallError(t, err, "misbehave", "rpc.echo", context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.Call(ctx, "rpc.sleep", nil, nil)
		done <- err
	}()
	cancel()
	err = <-done
	// The call is cancelled either while it waits for an instance or
	// while it sleeps in the guest.
	checkCallError(t, err, "misbehave", "rpc.sleep", context.Canceled)
}
