package tests

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"time"
)

// output collects the lines a child process writes to one stream, for
// assertions on them and for the test log when a test fails.
type output struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each new line and at EOF
	eof     bool
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

// read copies r into o line by line until r ends; its caller waits for it.
func (o *output) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		o.mu.Lock()
		o.lines = append(o.lines, sc.Text())
		close(o.changed)
		o.changed = make(chan struct{})
		o.mu.Unlock()
	}
	o.mu.Lock()
	o.eof = true
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// snapshot returns the lines so far.
func (o *output) snapshot() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines...)
}

// count returns how many lines match.
func (o *output) count(match func(string) bool) int {
	n := 0
	for _, l := range o.snapshot() {
		if match(l) {
			n++
		}
	}
	return n
}

// waitFor waits for the first line from index from on that matches and
// returns it and its index. It fails when ctx ends or the stream ends
// without such a line.
func (o *output) waitFor(ctx context.Context, from int, match func(string) bool) (string, int, error) {
	for {
		o.mu.Lock()
		for i := from; i < len(o.lines); i++ {
			if match(o.lines[i]) {
				l := o.lines[i]
				o.mu.Unlock()
				return l, i, nil
			}
		}
		from = len(o.lines)
		eof, changed := o.eof, o.changed
		o.mu.Unlock()
		if eof {
			return "", 0, io.EOF
		}
		select {
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-changed:
		}
	}
}

// tail returns the last n lines as one string, for failure messages.
func (o *output) tail(n int) string {
	lines := o.snapshot()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stopAll runs the stop functions at once and waits for them: Python
// servers take seconds to stop, and tests start several.
func stopAll(stops ...func()) {
	var wg sync.WaitGroup
	for _, stop := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop()
		}()
	}
	wg.Wait()
}

// waitUntil polls cond until it holds or 30 seconds pass, and returns its
// last value. Child processes' output reaches the tests through pipes, so
// what a server wrote before answering may be read after the answer.
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
