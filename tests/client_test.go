package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// Request is one request of the Python oslo.messaging client
// (tests/python/rpc_client.py): a call or a cast of Method on a target.
type Request struct {
	Op        string // "call" (when empty) or "cast"
	Method    string
	Args      string // a JSON object as Python reads it (NaN, integers of any size); "" is {}
	Context   string // a JSON object; "" is {}
	Exchange  string // "" is the client's control exchange
	Topic     string
	Server    string
	Namespace string
	Version   string
	Fanout    bool
	// Timeout of a call in seconds; 0 is 10.
	Timeout float64
	// CallMonitorTimeout in seconds asks the server for heartbeats; 0 is none.
	CallMonitorTimeout float64
}

// line returns the request as the client's JSON line.
func (r Request) line(id int) ([]byte, error) {
	op := r.Op
	if op == "" {
		op = "call"
	}
	fields := map[string]any{"id": id, "op": op, "method": r.Method, "topic": r.Topic, "fanout": r.Fanout}
	for k, v := range map[string]string{"exchange": r.Exchange, "server": r.Server, "namespace": r.Namespace, "version": r.Version} {
		if v != "" {
			fields[k] = v
		}
	}
	if r.Timeout > 0 {
		fields["timeout"] = r.Timeout
	}
	if r.CallMonitorTimeout > 0 {
		fields["call_monitor_timeout"] = r.CallMonitorTimeout
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	args, ctx := orEmpty(r.Args), orEmpty(r.Context)
	if strings.ContainsAny(args+ctx, "\n\r") {
		return nil, fmt.Errorf("args and context must be one line")
	}
	// Args and context go in as written: encoding/json would refuse NaN.
	b = append(b[:len(b)-1], `, "args": `...)
	b = append(b, args...)
	b = append(b, `, "context": `...)
	b = append(b, ctx...)
	return append(b, "}\n"...), nil
}

func orEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

// Outcome is what the Python client observed: a result or an exception.
type Outcome struct {
	OK bool `json:"ok"`
	// Result is the result as JSON text (non-finite floats as pyJSON
	// writes them).
	Result json.RawMessage `json:"result"`
	Error  *RemoteError    `json:"error"`
}

// RemoteError is the exception the client raised, as rpc_client.py
// describes it.
type RemoteError struct {
	Class   string            `json:"class"`
	Module  string            `json:"module"`
	Message string            `json:"message"` // first line of str(exc)
	Args    []json.RawMessage `json:"args"`
	ExcType *string           `json:"exc_type"` // RemoteError only
	Value   json.RawMessage   `json:"value"`    // RemoteError only
}

func (o Outcome) String() string {
	if o.OK {
		return "ok " + string(o.Result)
	}
	if o.Error == nil {
		return "failed without an error"
	}
	e := o.Error
	s := fmt.Sprintf("%s.%s: %s", e.Module, e.Class, e.Message)
	if e.ExcType != nil {
		s += fmt.Sprintf(" (exc_type %s, value %s)", *e.ExcType, e.Value)
	}
	return s
}

// pyClient is a running rpc_client.py: one oslo.messaging transport (one
// reply queue) whose calls run concurrently on its thread pool.
type pyClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *output
	done   chan struct{} // closed when stdout ends

	mu      sync.Mutex // guards the fields below and writes to stdin
	nextID  int
	pending map[int]chan Outcome
	closed  bool
}

// startClient starts a Python client of Debian's oslo.messaging
// (oslopeer.Debian) on the control exchange of n with the broker URL's
// query (oslo driver options, may be empty). It stops at the end of the
// test, and its reply queue is deleted.
func startClient(t *testing.T, n *names, exchange, query string) *pyClient {
	t.Helper()
	return startPeerClient(t, oslopeer.Debian, n, exchange, query)
}

// startPeerClient is startClient with the oslo.messaging of peer.
func startPeerClient(t *testing.T, peer oslopeer.Peer, n *names, exchange, query string) *pyClient {
	t.Helper()
	cmd := peer.Command(filepath.Join(repoRoot, "tests/python/rpc_client.py"), rabbitURL(query), exchange)
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
		t.Fatalf("rpc_client.py: %v", err)
	}
	c := &pyClient{cmd: cmd, stdin: stdin, stderr: newOutput(), done: make(chan struct{}), pending: map[int]chan Outcome{}}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		c.stderr.read(stderr)
	}()
	go func() {
		defer readers.Done()
		defer close(c.done)
		c.readAnswers(t, stdout)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := c.do(ctx, Request{Op: "reply_queue"}); err == nil && out.OK {
			var q string
			if json.Unmarshal(out.Result, &q) == nil {
				n.addQueue(q)
			}
		}
		c.mu.Lock()
		c.closed = true
		_ = c.stdin.Close()
		c.mu.Unlock()
		// At the end of its input the client waits for its calls in flight,
		// then for oslo's reply poller, which takes up to ten seconds to
		// notice. Its work is done when it has answered everything.
		select {
		case <-c.done:
		case <-time.After(time.Second):
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		readers.Wait()
		_ = cmd.Wait()
	})
	return c
}

// readAnswers hands each answer line to the request waiting for it.
func (c *pyClient) readAnswers(t *testing.T, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var a struct {
			ID int `json:"id"`
			Outcome
		}
		if err := json.Unmarshal(pyJSON(sc.Bytes()), &a); err != nil {
			t.Errorf("rpc_client.py wrote %q: %v", sc.Text(), err)
			continue
		}
		c.mu.Lock()
		ch := c.pending[a.ID]
		delete(c.pending, a.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- a.Outcome
		}
	}
}

// do sends r and waits for its outcome or the end of ctx.
func (c *pyClient) do(ctx context.Context, r Request) (Outcome, error) {
	ch := make(chan Outcome, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Outcome{}, fmt.Errorf("rpc_client.py is closed")
	}
	c.nextID++
	id := c.nextID
	line, err := r.line(id)
	if err == nil {
		c.pending[id] = ch
		_, err = c.stdin.Write(line)
	}
	c.mu.Unlock()
	if err != nil {
		return Outcome{}, fmt.Errorf("rpc_client.py: %w", err)
	}
	select {
	case out := <-ch:
		return out, nil
	case <-c.done:
		return Outcome{}, fmt.Errorf("rpc_client.py ended: %s", c.stderr.tail(10))
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return Outcome{}, fmt.Errorf("no answer from rpc_client.py: %w", ctx.Err())
	}
}

// call is do for a test: it fails t when there is no answer. Its
// deadline is the request's timeout and a margin.
func (c *pyClient) call(t *testing.T, r Request) Outcome {
	t.Helper()
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 10
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second))+time.Minute)
	defer cancel()
	out, err := c.do(ctx, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Args, err)
	}
	return out
}

// isTimeout reports whether o is oslo's MessagingTimeout.
func (o Outcome) isTimeout() bool {
	return !o.OK && o.Error != nil && o.Error.Class == "MessagingTimeout"
}

// resultIs reports whether o is a result equal to the JSON text want.
func (o Outcome) resultIs(want string) bool {
	return o.OK && jsonEqual(o.Result, pyJSON([]byte(want)))
}
