package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// pyServer is a running tests/python/rpc_server.py: a Python
// oslo.messaging RPC server serving the testkit reference endpoint.
type pyServer struct {
	*pyProcess
	name string

	stopOnce sync.Once
	served   int
}

// pyServerOptions are rpc_server.py's options.
type pyServerOptions struct {
	Query   string // oslo driver options in the transport URL
	Version string // the endpoint's version; "" is testkit's 1.5
	// LogCalls makes the server print "call METHOD KWARGS_JSON" for each
	// call it serves (see calls).
	LogCalls bool
}

// startPyServer starts a Python RPC server of peer for topic on exchange
// as server and waits until it consumes. It stops at the end of the test
// (or at stop), which fails the test unless it exits cleanly.
func startPyServer(t *testing.T, peer oslopeer.Peer, exchange, topic, server string, opts pyServerOptions) *pyServer {
	t.Helper()
	args := []string{rabbitURL(opts.Query), exchange, topic, server}
	if opts.Version != "" {
		args = append(args, "--version", opts.Version)
	}
	if opts.LogCalls {
		args = append(args, "--log-calls")
	}
	s := &pyServer{pyProcess: startPython(t, peer, "rpc_server.py "+server, "rpc_server.py", args...), name: server}
	t.Cleanup(func() { s.stop() })
	s.waitReady(isReady)
	return s
}

// stop closes the server's stdin, which stops it after its calls in
// flight, and returns how many calls it served. It runs once; later calls
// return the same count.
func (s *pyServer) stop() int {
	s.stopOnce.Do(func() {
		t := s.t
		s.end()
		for _, l := range s.stdout.snapshot() {
			if n, ok := strings.CutPrefix(l, "served "); ok {
				if _, err := fmt.Sscan(n, &s.served); err != nil {
					t.Errorf("rpc_server.py %s: %q: %v", s.name, l, err)
				}
				return
			}
		}
		t.Errorf("rpc_server.py %s did not say how many calls it served", s.name)
	})
	return s.served
}

// calls returns how many calls of method the server has started whose
// arguments contain the text marker (started with LogCalls).
func (s *pyServer) calls(method, marker string) int {
	return s.stdout.count(func(l string) bool {
		rest, ok := strings.CutPrefix(l, "call "+method+" ")
		return ok && strings.Contains(rest, marker)
	})
}
