package tests

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pyServer is a running tests/python/rpc_server.py: a Python
// oslo.messaging RPC server serving the testkit reference endpoint.
type pyServer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *output
	stderr *output
	exited chan struct{} // closed when the process has ended; err is its exit
	err    error

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

// startPyServer starts a Python RPC server for topic on exchange as
// server and waits until it consumes. It stops at the end of the test
// (or at stop), which fails the test unless it exits cleanly.
func startPyServer(t *testing.T, exchange, topic, server string, opts pyServerOptions) *pyServer {
	t.Helper()
	args := []string{filepath.Join(repoRoot, "tests/python/rpc_server.py"), rabbitURL(opts.Query), exchange, topic, server}
	if opts.Version != "" {
		args = append(args, "--version", opts.Version)
	}
	if opts.LogCalls {
		args = append(args, "--log-calls")
	}
	cmd := exec.Command(python, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("rpc_server.py: %v", err)
	}
	s := &pyServer{t: t, name: server, cmd: cmd, stdin: stdin, stdout: newOutput(), stderr: newOutput(), exited: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		s.stdout.read(stdout)
	}()
	go func() {
		defer readers.Done()
		s.stderr.read(stderr)
	}()
	go func() {
		readers.Wait() // Wait closes the pipes: read them all first
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("rpc_server.py %s stderr (last lines):\n%s", server, s.stderr.tail(20))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := s.stdout.waitFor(ctx, 0, func(l string) bool { return l == "ready" }); err != nil {
		t.Fatalf("rpc_server.py %s did not get ready: %v\n%s", server, err, s.stderr.tail(20))
	}
	return s
}

// stop closes the server's stdin, which stops it after its calls in
// flight, and returns how many calls it served. It runs once; later calls
// return the same count.
func (s *pyServer) stop() int {
	s.stopOnce.Do(func() {
		t := s.t
		_ = s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(time.Minute):
			_ = s.cmd.Process.Kill()
			<-s.exited
			t.Errorf("rpc_server.py %s did not stop within a minute", s.name)
		}
		if s.err != nil {
			t.Errorf("rpc_server.py %s: %v\n%s", s.name, s.err, s.stderr.tail(20))
		}
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
