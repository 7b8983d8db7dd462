package rpc

import (
	"io"
	"net"
	"sync"
	"testing"
)

// link is a TCP proxy between a test's transport and the broker that the
// test can break as a network does: hold the broker's bytes (its
// confirms never arrive), then cut every connection and refuse new ones.
type link struct {
	ln     net.Listener
	broker string

	mu      sync.Mutex
	conns   []net.Conn
	held    bool
	release chan struct{} // closed when held bytes may flow again
	down    bool
	wg      sync.WaitGroup
}

// newLink listens on a free local port and forwards to broker (host:port)
// until the test ends.
func newLink(t *testing.T, broker string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, broker: broker, release: make(chan struct{})}
	l.wg.Go(l.accept)
	t.Cleanup(func() {
		ln.Close()
		l.cut()
		l.wg.Wait()
	})
	return l
}

// addr is the host:port to dial instead of the broker's.
func (l *link) addr() string { return l.ln.Addr().String() }

func (l *link) accept() {
	for {
		client, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down := l.down
		l.mu.Unlock()
		if down {
			client.Close()
			continue
		}
		broker, err := net.Dial("tcp", l.broker)
		if err != nil {
			client.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, client, broker)
		l.mu.Unlock()
		l.wg.Go(func() { l.pipe(client, broker, false) })
		l.wg.Go(func() { l.pipe(broker, client, true) })
	}
}

// pipe copies from src to dst; fromBroker bytes wait while the link holds.
func (l *link) pipe(src, dst net.Conn, fromBroker bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && fromBroker {
			l.mu.Lock()
			held, release := l.held, l.release
			l.mu.Unlock()
			if held {
				<-release
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				src.Close()
			}
			return
		}
	}
}

// hold stops the broker's bytes from reaching the client.
func (l *link) hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		l.held, l.release = true, make(chan struct{})
	}
}

// cut closes every connection and refuses new ones until restore.
func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
	if l.held {
		close(l.release) // held bytes go nowhere now: their conns are closed
		l.held = false
	}
}

// restore accepts connections again.
func (l *link) restore() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}
