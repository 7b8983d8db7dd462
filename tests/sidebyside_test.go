package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// TestSideBySide runs a Python oslo.messaging server (server "py") and
// wasmrpcd (server "wasm") on the same topic of the same exchange, with
// the same topology options, each declaring first in turn: neither may
// meet a PRECONDITION_FAILED, calls to the topic are shared between them,
// and calls to a server reach that server; with each reference peer.
func TestSideBySide(t *testing.T) {
	variants := []struct {
		name   string
		query  string         // the Python side's driver options
		rabbit map[string]any // the same for wasmrpcd
	}{
		{"default", "", nil},
		{"durable quorum", "amqp_durable_queues=true&rabbit_quorum_queue=true",
			map[string]any{"amqp_durable_queues": true, "rabbit_quorum_queue": true}},
	}
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		t.Parallel()
		for _, v := range variants {
			for _, pythonFirst := range []bool{true, false} {
				order := map[bool]string{true: "python first", false: "wasmrpcd first"}[pythonFirst]
				t.Run(v.name+"/"+order, func(t *testing.T) {
					t.Parallel()
					n := newNames(t)
					ex := n.exchange()
					topic := n.topic("shared", "py", "wasm")
					cfg := testkitConfig(ex, topic, "wasm")
					cfg.Rabbit = v.rabbit
					var py *pyServer
					var d *daemon
					if pythonFirst {
						py = startPyServer(t, peer, ex, topic, "py", pyServerOptions{Query: v.query, LogCalls: true})
						d = startDaemon(t, cfg)
					} else {
						d = startDaemon(t, cfg)
						py = startPyServer(t, peer, ex, topic, "py", pyServerOptions{Query: v.query, LogCalls: true})
					}
					t.Cleanup(func() { stopAll(func() { py.stop() }, d.stop) })
					client := startPeerClient(t, peer, n, ex, v.query)
					testSideBySide(t, client, topic, py, d)
					for _, l := range append(py.stderr.snapshot(), d.log.snapshot()...) {
						if strings.Contains(l, "PRECONDITION_FAILED") {
							t.Errorf("a declaration was refused: %s", l)
						}
					}
				})
			}
		}
	})
}

// testSideBySide makes calls to the shared topic and to each server.
func testSideBySide(t *testing.T, client *pyClient, topic string, py *pyServer, d *daemon) {
	// Calls to the topic: each is served once, by one of the two.
	const calls = 60
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			marker := fmt.Sprintf("shared-%d;", i)
			out := client.call(t, Request{Method: "fail", Topic: topic, Timeout: 30,
				Args: fmt.Sprintf(`{"kind": "ValueError", "message": %q}`, marker)})
			if err := out.check("error ValueError"); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			runs := func() int { return py.calls("fail", marker) + d.failures(marker) }
			if waitUntil(func() bool { return runs() >= 1 }); runs() != 1 {
				t.Errorf("call %d ran %d times", i, runs())
			}
		}()
	}
	wg.Wait()
	pyRuns, wasmRuns := py.calls("fail", "shared-"), d.failures("shared-")
	t.Logf("of %d calls to the topic, python served %d, wasmrpcd %d", calls, pyRuns, wasmRuns)
	if pyRuns == 0 || wasmRuns == 0 || pyRuns+wasmRuns != calls {
		t.Errorf("of %d calls to the topic, python served %d, wasmrpcd %d: want every call served once, by both servers", calls, pyRuns, wasmRuns)
	}

	// Calls to each server.
	for _, server := range []string{"py", "wasm"} {
		marker := "to-" + server + ";"
		out := client.call(t, Request{Method: "fail", Topic: topic, Server: server,
			Args: fmt.Sprintf(`{"kind": "KeyError", "message": %q}`, marker)})
		if err := out.check("error KeyError"); err != nil {
			t.Errorf("call to %s: %v", server, err)
		}
		runs := map[string]int{}
		waitUntil(func() bool {
			runs = map[string]int{"py": py.calls("fail", marker), "wasm": d.failures(marker)}
			return runs[server] >= 1
		})
		if runs[server] != 1 || runs[map[string]string{"py": "wasm", "wasm": "py"}[server]] != 0 {
			t.Errorf("call to server %s ran %v times per server", server, runs)
		}
	}

	// Echo through the topic, whichever serves it.
	for i := range 10 {
		value := fmt.Sprintf(`{"i": %d, "s": "\u00e9\ud83d\ude00", "f": 0.1, "big": 123456789012345678901234567890}`, i)
		if out := client.call(t, Request{Method: "echo", Topic: topic, Args: `{"value": ` + value + `}`}); !out.resultIs(value) {
			t.Errorf("echo %s: %v", value, out)
		}
	}
}
