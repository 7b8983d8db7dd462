package tests

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// pyProcess is a Python peer (tests/python/*.py) that runs until its
// stdin closes, with its stdout and stderr read line by line.
type pyProcess struct {
	t      *testing.T
	label  string // the script and what it serves, for messages
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *output
	stderr *output
	exited chan struct{} // closed when the process has ended; err is its exit
	err    error

	endOnce sync.Once
}

// startPython starts tests/python/script with args on peer; its
// stderr's last lines are logged if the test fails.
func startPython(t *testing.T, peer oslopeer.Peer, label, script string, args ...string) *pyProcess {
	t.Helper()
	cmd := peer.Command(filepath.Join(repoRoot, "tests/python", script), args...)
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
		t.Fatalf("%s: %v", label, err)
	}
	p := &pyProcess{t: t, label: label, cmd: cmd, stdin: stdin, stdout: newOutput(), stderr: newOutput(), exited: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		p.stdout.read(stdout)
	}()
	go func() {
		defer readers.Done()
		p.stderr.read(stderr)
	}()
	go func() {
		readers.Wait() // Wait closes the pipes: read them all first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.end()
		if t.Failed() {
			t.Logf("%s stderr (last lines):\n%s", label, p.stderr.tail(20))
		}
	})
	return p
}

// waitReady waits for the line "ready" (or a line done accepts), failing
// the test after a minute or when the process says something else first.
func (p *pyProcess) waitReady(done func(string) bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	line, _, err := p.stdout.waitFor(ctx, 0, done)
	if err != nil || line != "ready" {
		p.t.Fatalf("%s did not get ready: %v %s\n%s", p.label, err, line, p.stderr.tail(20))
	}
}

// end closes the process's stdin and waits for it to exit cleanly,
// failing the test otherwise (killing it after a minute). It runs once.
func (p *pyProcess) end() {
	p.endOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.t.Errorf("%s did not stop within a minute", p.label)
		}
		if p.err != nil {
			p.t.Errorf("%s: %v\n%s\n%s", p.label, p.err, p.stdout.tail(5), p.stderr.tail(20))
		}
	})
}

// isReady accepts the line "ready" alone.
func isReady(s string) bool { return s == "ready" }
