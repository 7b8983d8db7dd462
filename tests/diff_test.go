package tests

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// diffEnv is the set-up of the differential tests: on one control
// exchange, Python oslo.messaging servers and wasmrpcd daemons serving
// testkit on separate topics, the same server names on both sides, and one
// Python client, all Python of one peer.
type diffEnv struct {
	peer   oslopeer.Peer
	names  *names
	client *pyClient
	// topics of each side, by target kind: "" is testkit 1.5; "v16" is
	// version 1.6 (Python's endpoint at 1.6; wasmrpcd's testkit.wasm and
	// testkit-v1.6.wasm side by side).
	py, wasm  map[string]string
	pyServers []*pyServer
	daemons   []*daemon
}

// diffServers are the server names of each side: two, for fanout.
var diffServers = []string{"s1", "s2"}

// newDiffEnv starts the servers of both sides and the client, the Python
// ones of peer.
func newDiffEnv(t *testing.T, peer oslopeer.Peer) *diffEnv {
	t.Helper()
	n := newNames(t)
	ex := n.exchange()
	e := &diffEnv{
		peer:  peer,
		names: n,
		py:    map[string]string{"": n.topic("py", diffServers...), "v16": n.topic("py16", diffServers[0])},
		wasm:  map[string]string{"": n.topic("wasm", diffServers...), "v16": n.topic("wasm16", diffServers...)},
	}
	for _, s := range diffServers {
		e.pyServers = append(e.pyServers, startPyServer(t, peer, ex, e.py[""], s, pyServerOptions{LogCalls: true}))
		cfg := testkitConfig(ex, e.wasm[""], s)
		cfg.Modules = append(cfg.Modules, moduleConfig{
			Name: "testkit16", Topic: e.wasm["v16"], Files: []string{modules.testkit, modules.testkit16},
		})
		e.daemons = append(e.daemons, startDaemon(t, cfg))
	}
	e.pyServers = append(e.pyServers, startPyServer(t, peer, ex, e.py["v16"], diffServers[0], pyServerOptions{Version: "1.6"}))
	t.Cleanup(func() {
		var stops []func()
		for _, s := range e.pyServers {
			stops = append(stops, func() { s.stop() })
		}
		for _, d := range e.daemons {
			stops = append(stops, d.stop)
		}
		stopAll(stops...)
	})
	e.client = startPeerClient(t, peer, n, ex, "")
	return e
}

// diffCase is one request that both sides get.
type diffCase struct {
	name string
	req  Request // the runner sets Topic
	// target is the kind of target (see diffEnv.py).
	target string
	// want describes the Python server's outcome (see Outcome.check), so
	// that a case cannot pass by both sides failing alike for another
	// reason.
	want string
	// known, for a difference by design documented in
	// tests/python/testkit_endpoint.py ("Known differences"), checks the
	// two outcomes instead of requiring them equal.
	known func(py, wasm Outcome) error
}

// diffResult is the outcome of one case on both sides.
type diffResult struct {
	py, wasm Outcome
	err      error
}

// run sends every case to both sides at once, then checks each case in
// a subtest of its own.
func (e *diffEnv) run(t *testing.T, cases []diffCase) {
	t.Helper()
	results := make([]diffResult, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		for side, topics := range []map[string]string{e.py, e.wasm} {
			req := c.req
			req.Topic = topics[c.target]
			wg.Add(1)
			go func() {
				defer wg.Done()
				timeout := req.Timeout
				if timeout == 0 {
					timeout = 10
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second))+2*time.Minute)
				defer cancel()
				out, err := e.client.do(ctx, req)
				if side == 0 {
					results[i].py = out
				} else {
					results[i].wasm = out
				}
				if err != nil {
					results[i].err = err // one error is enough to fail the case
				}
			}()
		}
	}
	wg.Wait()
	for i, c := range cases {
		r := results[i]
		t.Run(c.name, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			if err := r.py.check(c.want); err != nil {
				t.Errorf("python server: %v", err)
			}
			if c.known != nil {
				if err := c.known(r.py, r.wasm); err != nil {
					t.Errorf("documented difference: %v", err)
				}
				return
			}
			if err := sameOutcome(r.py, r.wasm); err != nil {
				t.Errorf("%s %s: %v", c.req.Method, c.req.Args, err)
			}
		})
	}
}

// TestDifferential runs the same requests against Python oslo.messaging
// servers and wasmrpcd daemons serving testkit, through one Python client,
// and requires the outcomes to be equal; once with each reference peer.
func TestDifferential(t *testing.T) {
	oslopeer.Run(t, func(t *testing.T, p oslopeer.Peer) {
		e := newDiffEnv(t, p)
		t.Run("calls", func(t *testing.T) { e.run(t, callCases()) })
		t.Run("timeouts", func(t *testing.T) { e.run(t, timeoutCases()) })
		t.Run("concurrent callers", e.testConcurrent)
		t.Run("targets", e.testTargets)
	})
}
