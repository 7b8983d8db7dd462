package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// TestPoolHammer runs many concurrent calls, some of which trap, through
// a small pool: every echo answers its own argument, every trap answers
// ErrTrap, and the pool never holds more than MaxInstances.
func TestPoolHammer(t *testing.T) {
	const maxInstances = 3
	workers, calls := 8, 200
	if testing.Short() {
		workers, calls = 4, 25
	}
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{MaxInstances: maxInstances})

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				if err := hammerCall(m, w, i); err != nil {
					errs <- err
					return
				}
				if n := liveInstances(m); n > maxInstances {
					errs <- fmt.Errorf("%d live instances, the cap is %d", n, maxInstances)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := liveInstances(m); n < 1 || n > maxInstances {
		t.Errorf("%d live instances after the hammer", n)
	}
}

func hammerCall(m *Module, w, i int) error {
	ctx := context.Background()
	if i%10 == 7 {
		_, err := m.Call(ctx, "rpc.trap", nil, nil)
		if !errors.Is(err, ErrTrap) {
			return fmt.Errorf("worker %d call %d: trap answered %v", w, i, err)
		}
		return nil
	}
	args, err := cborcodec.Marshal(map[string]any{"worker": w, "call": i})
	if err != nil {
		return err
	}
	value, err := m.Call(ctx, "rpc.echo", nil, args)
	if err != nil {
		return fmt.Errorf("worker %d call %d: %w", w, i, err)
	}
	if !bytes.Equal(value, args) {
		return fmt.Errorf("worker %d call %d: got %x, want %x", w, i, value, args)
	}
	return nil
}

// blockingHost holds every wasmrpc.call until released, telling when one
// has started.
func blockingHost() (*hostFuncs, chan struct{}, chan struct{}) {
	started, release := make(chan struct{}, 16), make(chan struct{})
	return &hostFuncs{call: func(ctx context.Context, _ Caller, _ *abi.CallRequest) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-release:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}, started, release
}

var blockingRequest = func() []byte {
	b, _ := cborcodec.Marshal(map[string]any{"target": map[string]any{"topic": "t"}, "method": "wait"})
	return b
}()

// TestPoolWait checks that when every instance is busy a call waits, and
// gives up when its context ends.
func TestPoolWait(t *testing.T) {
	host, started, release := blockingHost()
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{MaxInstances: 1})

	busy := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.call", nil, blockingRequest)
		busy <- err
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := m.Call(ctx, "rpc.echo", nil, nil)
	checkCallError(t, err, "misbehave", "rpc.echo", context.DeadlineExceeded)
	if !bytes.Contains([]byte(err.Error()), []byte("waiting for one of 1 instances")) {
		t.Errorf("error %q does not say it waited for an instance", err)
	}

	waiting := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.echo", nil, nil)
		waiting <- err
	}()
	close(release)
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; err != nil {
		t.Fatalf("the waiting call: %v", err)
	}
}

// TestCloseGraceful checks that Close refuses new calls at once and lets
// the calls in flight finish.
func TestCloseGraceful(t *testing.T) {
	host, started, release := blockingHost()
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{MaxInstances: 2})

	inflight := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.call", nil, blockingRequest)
		inflight <- err
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- m.Close(context.Background()) }()

	// Close is waiting for the call; new calls are refused meanwhile.
	for {
		m.mu.Lock()
		closing := m.closing
		m.mu.Unlock()
		if closing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_, err := m.Call(context.Background(), "rpc.echo", nil, nil)
	checkCallError(t, err, "misbehave", "rpc.echo", ErrClosed)

	close(release)
	if err := <-inflight; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := liveInstances(m); n != 0 {
		t.Errorf("%d instances left after Close", n)
	}
}

// TestCloseForced checks that when Close's context ends first, the calls
// in flight are stopped and answer ErrInterrupted.
func TestCloseForced(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "misbehave", Limits{})

	inflight := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.spin", nil, nil)
		inflight <- err
	}()
	for liveInstances(m) < 2 || len(m.pool.idle) == 0 {
		// Wait until the spin call holds an instance and the spare is ready.
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want DeadlineExceeded", err)
	}
	err := <-inflight
	checkCallError(t, err, "misbehave", "rpc.spin", ErrInterrupted)
	if errors.Is(err, ErrClosed) {
		t.Error("an interrupted call answers ErrClosed, which says it did not start")
	}
	if err := m.Close(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Close: %v, want the first one's result", err)
	}
}

// TestSpareAheadOfNeed checks that a call taking the last idle instance
// makes the pool instantiate a spare in the background, and only one.
func TestSpareAheadOfNeed(t *testing.T) {
	host, started, release := blockingHost()
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{MaxInstances: 4})

	done := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.call", nil, blockingRequest)
		done <- err
	}()
	<-started
	// The only instance is busy: the spare appears without another call.
	for len(m.pool.idle) == 0 {
		time.Sleep(time.Millisecond)
	}
	if n := liveInstances(m); n != 2 {
		t.Errorf("%d live instances, want the busy one and one spare", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := instancesMade(m); n != 2 {
		t.Errorf("%d instances made, want 2", n)
	}
}

// TestCloseForcedWaiters checks that a forced Close ends a call blocked
// in a host call (ErrInterrupted) and a call waiting for an instance
// (ErrClosed: it never started).
func TestCloseForcedWaiters(t *testing.T) {
	host, started, _ := blockingHost()
	r, _ := newRuntime(t, Config{Host: host})
	m := load(t, r, "misbehave", Limits{MaxInstances: 1})

	inflight, waiting := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), "rpc.call", nil, blockingRequest)
		inflight <- err
	}()
	<-started
	go func() {
		_, err := m.Call(context.Background(), "rpc.echo", nil, nil)
		waiting <- err
	}()
	for {
		m.mu.Lock()
		n := m.inflight
		m.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want DeadlineExceeded", err)
	}
	checkCallError(t, <-inflight, "misbehave", "rpc.call", ErrInterrupted)
	checkCallError(t, <-waiting, "misbehave", "rpc.echo", ErrClosed)
}
