package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// What a call overlapped.
const (
	faultNone    = "no fault"
	faultDrop    = "across a drop"
	faultRestart = "across a restart"
)

// load is the callers, their Python clients and every call's outcome.
type load struct {
	cfg         *config
	n           names
	clients     []*client
	replyQueues []string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  []call
	faults []window
}

// call is one call's times and outcome: "" when answered with its value,
// else the class of its error.
type call struct {
	start, end time.Time
	failure    string
}

// window is a fault's time: from the command that breaks the broker
// until the first call started after it is answered.
type window struct {
	kind       string
	start, end time.Time
}

func startLoad(ctx context.Context, cfg *config, n names) (*load, error) {
	l := &load{cfg: cfg, n: n}
	for range cfg.clients {
		c, err := startClient(cfg.url, n.exchange)
		if err != nil {
			l.close()
			return nil, err
		}
		l.clients = append(l.clients, c)
	}
	l.ctx, l.cancel = context.WithCancel(ctx)
	for i := range cfg.callers {
		l.wg.Add(1)
		go l.caller(i, l.clients[i%len(l.clients)])
	}
	return l, nil
}

// caller calls echo until the load stops.
func (l *load) caller(id int, c *client) {
	defer l.wg.Done()
	for i := 0; l.ctx.Err() == nil; i++ {
		value := fmt.Sprintf("caller %d call %d", id, i)
		start := time.Now()
		ans, err := c.do(map[string]any{
			"op": "call", "topic": l.n.topic, "method": "echo",
			"args": map[string]any{"value": value}, "timeout": l.cfg.timeout.Seconds(),
		}, l.cfg.timeout+time.Minute)
		cl := call{start: start, end: time.Now()}
		switch {
		case err != nil:
			cl.failure = err.Error()
		case !ans.OK:
			cl.failure = ans.Error.Class
		case string(ans.Result) != mustJSON(value):
			cl.failure = "WrongResult"
		}
		l.mu.Lock()
		l.calls = append(l.calls, cl)
		l.mu.Unlock()
	}
}

// fault runs f as a fault of kind, recording its time.
func (l *load) fault(kind string, f func() error) {
	w := window{kind: kind, start: time.Now()}
	_ = f()
	w.end = time.Now()
	l.mu.Lock()
	l.faults = append(l.faults, w)
	l.mu.Unlock()
}

// stop stops the callers once their calls have returned and asks each
// client for its reply queue.
func (l *load) stop() error {
	l.cancel()
	l.wg.Wait()
	for _, c := range l.clients {
		ans, err := c.do(map[string]any{"op": "reply_queue"}, time.Minute)
		if err != nil {
			return err
		}
		var q string
		if json.Unmarshal(ans.Result, &q) == nil && q != "" {
			l.replyQueues = append(l.replyQueues, q)
		}
	}
	return nil
}

func (l *load) close() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
	for _, c := range l.clients {
		c.close()
	}
}

// tally counts the calls by the fault they overlapped.
type tally map[string]*outcomes

// outcomes are the calls of one kind: how many, how many answered, the
// others by error class.
type outcomes struct {
	Total  int            `json:"total"`
	OK     int            `json:"answered"`
	Failed map[string]int `json:"failed"`
}

func (l *load) tally() tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A fault lasts until the first call answered after it.
	for i := range l.faults {
		w := &l.faults[i]
		first := time.Time{}
		for _, c := range l.calls {
			if c.failure == "" && c.start.After(w.end) && (first.IsZero() || c.end.Before(first)) {
				first = c.end
			}
		}
		if !first.IsZero() {
			w.end = first
		}
	}
	t := tally{}
	for _, k := range []string{faultNone, faultDrop, faultRestart} {
		t[k] = &outcomes{Failed: map[string]int{}}
	}
	for _, c := range l.calls {
		kind := faultNone
		for _, w := range l.faults {
			if c.start.Before(w.end) && c.end.After(w.start) && (kind == faultNone || w.kind == faultRestart) {
				kind = w.kind
			}
		}
		o := t[kind]
		o.Total++
		if c.failure == "" {
			o.OK++
		} else {
			o.Failed[c.failure]++
		}
	}
	return t
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// client is a tests/python/rpc_client.py process: requests go to its
// stdin as JSON lines, answers come back on its stdout by id.
type client struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	wmu    sync.Mutex // serializes writes to stdin
	nextID atomic.Int64

	mu      sync.Mutex
	waiting map[int64]chan answer
	done    chan struct{} // closed when stdout ends
}

// answer is one line of the client.
type answer struct {
	ID     int64           `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  struct {
		Class   string `json:"class"`
		Message string `json:"message"`
	} `json:"error"`
}

func startClient(amqpURL, exchange string) (*client, error) {
	rabbitURL := "rabbit" + amqpURL[len("amqp"):]
	cmd := exec.Command(python, "tests/python/rpc_client.py", rabbitURL, exchange)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the Python client: %w", err)
	}
	c := &client{cmd: cmd, stdin: stdin, waiting: map[int64]chan answer{}, done: make(chan struct{})}
	go c.read(stdout)
	return c, nil
}

func (c *client) read(stdout io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a answer
		if json.Unmarshal(sc.Bytes(), &a) != nil {
			continue
		}
		c.mu.Lock()
		ch := c.waiting[a.ID]
		delete(c.waiting, a.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
}

// do sends req and waits up to limit for its answer.
func (c *client) do(req map[string]any, limit time.Duration) (answer, error) {
	id := c.nextID.Add(1)
	req["id"] = id
	ch := make(chan answer, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	line, _ := json.Marshal(req)
	c.wmu.Lock()
	_, err := c.stdin.Write(append(line, '\n'))
	c.wmu.Unlock()
	if err != nil {
		return answer{}, errClientGone
	}
	select {
	case a := <-ch:
		return a, nil
	case <-c.done:
		return answer{}, errClientGone
	case <-time.After(limit):
		return answer{}, errNoAnswer
	}
}

func (c *client) close() {
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
	}
	_ = c.cmd.Wait()
}

// The failures of a call the client never answered, named as its
// error classes are.
var (
	errClientGone = errors.New("ClientGone")
	errNoAnswer   = errors.New("NoAnswer")
)
