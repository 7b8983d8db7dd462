package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFault breaks the broker under load: it closes every connection
// (rabbitmqctl close_all_connections), then stops and restarts the broker
// application (rabbitmqctl stop_app, start_app).
//
// It disturbs every user of the broker, so it runs only with
// WASMRPCD_FAULT_TESTS=1: `make test` runs it alone, after the rest of the
// suite. rabbitmqctl talks to the node RABBITMQ_NODENAME names (its
// default otherwise), which must be the broker of AMQP_URL.
func TestFault(t *testing.T) {
	if os.Getenv("WASMRPCD_FAULT_TESTS") != "1" {
		t.Skip("restarts the shared broker: `make test` runs it on its own with WASMRPCD_FAULT_TESTS=1")
	}
	t.Run("readiness", testFaultReadiness)
	t.Run("every call counted", testFaultEveryCall)
}

// testFaultReadiness: the daemon survives both faults, says it is not
// ready while the broker is away, recovers by itself and then answers
// every call.
func testFaultReadiness(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("fault", "wasm")
	d := startDaemon(t, testkitConfig(ex, topic, "wasm"))
	client := startClient(t, n, ex, "")

	l := startFaultLoad(t, client, topic)
	l.waitOK(t, 20, "before the fault")

	from := d.logLen()
	rabbitmqctl(t, "close_all_connections", "wasmrpcd fault test")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := d.waitLog(ctx, from, func(r logRecord) bool { return strings.Contains(r.Msg, "connected to AMQP server") }); err != nil {
		t.Fatalf("the daemon did not reconnect after its connections were closed: %v", err)
	}
	l.waitOK(t, 20, "after close_all_connections")

	rabbitmqctl(t, "stop_app")
	stopped := true
	defer func() {
		if stopped { // never leave the broker down
			rabbitmqctl(t, "start_app")
		}
	}()
	// While the broker is away, the daemon must not say it is ready.
	if !waitUntil(func() bool {
		code, _, err := d.readyz(ctx)
		return err == nil && code == http.StatusServiceUnavailable
	}) {
		t.Errorf("/readyz did not report the broker's absence")
	}
	if !d.running() {
		t.Fatalf("the daemon exited while the broker was stopped: %v", d.err)
	}
	rabbitmqctl(t, "start_app")
	stopped = false
	rabbitmqctl(t, "await_startup")

	if err := d.waitReady(ctx); err != nil {
		t.Fatalf("the daemon did not recover: %v", err)
	}
	l.waitOK(t, 20, "after the broker restarted")
	l.stop()
	t.Logf("load: %s", l)

	// Once recovered, every call succeeds.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := fmt.Sprintf(`{"after": %d}`, i)
			if out := client.call(t, Request{Method: "echo", Topic: topic, Args: `{"value": ` + value + `}`, Timeout: 30}); !out.resultIs(value) {
				t.Errorf("call %d after recovery: %v", i, out)
			}
		}()
	}
	wg.Wait()
	if !d.running() {
		t.Fatalf("the daemon exited: %v", d.err)
	}
}

// testFaultEveryCall runs tests/bench/faults, the script of
// docs/BENCHMARKS.md ("Broker faults"), against the daemon with its
// default options: 16 Python callers while the broker drops every
// connection five times, then restarts. Every call across the drops is
// answered; across the restart, which deletes the daemon's topic queues
// with the requests they hold, a call is answered or fails with
// MessagingTimeout, as it would with a Python server.
func testFaultEveryCall(t *testing.T) {
	script := filepath.Join(t.TempDir(), "faults")
	build := exec.Command("go", "build", "-o", script, "./tests/bench/faults")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./tests/bench/faults: %v\n%s", err, out)
	}
	run := exec.Command(script, "-server", "wasmrpcd", "-bin", daemonBin, "-cache-dir", cacheDir,
		"-module", modules.testkit, "-callers", "16", "-timeout", "10s",
		"-drops", "5", "-drop-every", "3s", "-restarts", "1", "-steady", "3s", "-json")
	run.Dir = repoRoot
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("faults: %v\n%s", err, stderr.String())
	}
	var rep struct {
		Calls map[string]struct {
			Total    int            `json:"total"`
			Answered int            `json:"answered"`
			Failed   map[string]int `json:"failed"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("faults printed %q: %v", out, err)
	}
	t.Logf("faults: %s", out)
	for _, kind := range []string{"no fault", "across a drop", "across a restart"} {
		c := rep.Calls[kind]
		switch {
		case c.Total == 0:
			t.Errorf("no call %s: the load did not run", kind)
		case kind != "across a restart" && c.Answered != c.Total:
			t.Errorf("calls %s: %d of %d lost (%v)", kind, c.Total-c.Answered, c.Total, c.Failed)
		}
		for class, n := range c.Failed {
			if class != "MessagingTimeout" {
				t.Errorf("calls %s: %d failed with %s, which a Python server would not cause", kind, n, class)
			}
		}
	}
}

// rabbitmqctl runs rabbitmqctl with args, failing t when it fails.
func rabbitmqctl(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("rabbitmqctl %s", strings.Join(args, " "))
}

// faultLoad calls echo in a loop from a few goroutines and counts the
// outcomes.
type faultLoad struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value // string
	changed    chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

func startFaultLoad(t *testing.T, client *pyClient, topic string) *faultLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &faultLoad{cancel: cancel, changed: make(chan struct{}, 1)}
	for g := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				value := fmt.Sprintf(`"load %d/%d"`, g, i)
				out, err := client.do(ctx, Request{Method: "echo", Topic: topic, Args: `{"value": ` + value + `}`, Timeout: 5})
				switch {
				case ctx.Err() != nil:
					return
				case err == nil && out.resultIs(value):
					l.ok.Add(1)
				default:
					l.failed.Add(1)
					l.lastErr.Store(fmt.Sprintf("%v %v", out, err))
					time.Sleep(100 * time.Millisecond)
				}
				select {
				case l.changed <- struct{}{}:
				default:
				}
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

// waitOK waits until n more calls have succeeded.
func (l *faultLoad) waitOK(t *testing.T, n int64, when string) {
	t.Helper()
	want := l.ok.Load() + n
	deadline := time.After(3 * time.Minute)
	for l.ok.Load() < want {
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("%s: calls do not succeed (%s)", when, l)
		}
	}
}

func (l *faultLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *faultLoad) String() string {
	last, _ := l.lastErr.Load().(string)
	return fmt.Sprintf("%d calls succeeded, %d failed (last: %s)", l.ok.Load(), l.failed.Load(), last)
}
