package nice

import (
	"runtime"
	"sync"
)

// Pool runs functions on at most max OS threads, each Nice nicer than the
// process. Threads start as they are needed and end when the pool is
// closed.
type Pool struct {
	nice int
	max  int
	work chan func()
	done chan struct{}

	mu      sync.Mutex
	threads int
	closed  bool
}

// NewPool returns a pool of at most threads threads (at least 1), each
// nice nicer than the process (at most 19 in all).
func NewPool(nice, threads int) *Pool {
	return &Pool{nice: nice, max: max(threads, 1), work: make(chan func()), done: make(chan struct{})}
}

// Nice returns how much nicer than the process the pool's threads are.
func (p *Pool) Nice() int { return p.nice }

// Max returns the most threads the pool runs.
func (p *Pool) Max() int { return p.max }

// Run runs f on one of the pool's threads and returns when f has: on an
// idle thread, on a new one while fewer than Max run, or else on the
// first to come free. After Close, f runs on the caller's goroutine.
func (p *Pool) Run(f func()) {
	finished := make(chan struct{})
	task := func() {
		defer close(finished)
		f()
	}
	select {
	case p.work <- task: // an idle thread took it
	default:
		if !p.start(task) {
			select {
			case p.work <- task:
			case <-p.done:
				task()
			}
		}
	}
	<-finished
}

// start starts a thread running task and then the pool's work, if the
// pool is open and has room for one more.
func (p *Pool) start(task func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.threads >= p.max {
		return false
	}
	p.threads++
	go p.thread(task)
	return true
}

// thread locks itself to its OS thread, makes it nicer, runs first and
// then whatever the pool is given until it is closed. The thread is never
// unlocked: it ends with the goroutine, nice value and all.
func (p *Pool) thread(first func()) {
	runtime.LockOSThread()
	lower(p.nice)
	first()
	for {
		select {
		case task := <-p.work:
			task()
		case <-p.done:
			return
		}
	}
}

// Close ends the pool's threads once they finish what they run; a Run
// after Close runs on its caller's goroutine.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
}
