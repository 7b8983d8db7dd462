package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// Helpers for the tests that need RabbitMQ (AMQP_URL, default
// amqp://guest:guest@127.0.0.1:5672/) and Python's oslo.messaging.

// brokerURL returns AMQP_URL parsed, and fails the test when the broker
// does not answer. Under -short it skips the test.
func brokerURL(t *testing.T) *transport.URL {
	t.Helper()
	if testing.Short() {
		t.Skip("needs RabbitMQ; -short runs the unit tests only")
	}
	raw := os.Getenv("AMQP_URL")
	if raw == "" {
		raw = "amqp://guest:guest@127.0.0.1:5672/"
	}
	u, err := transport.ParseURL(raw)
	if err != nil {
		t.Fatalf("AMQP_URL: %v", err)
	}
	conn, err := adminDial(u)
	if err != nil {
		t.Fatalf("RabbitMQ at %s is unreachable (start it with `make broker`): %v", u.Redacted(), err)
	}
	_ = conn.Close()
	return u
}

func adminDial(u *transport.URL) (*amqp.Connection, error) {
	h := u.Brokers()[0]
	return amqp.DialConfig("amqp://"+h.Addr()+"/", amqp.Config{
		Vhost: u.VHost(),
		SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: h.User(), Password: h.Pass()}},
		Dial:  amqp.DefaultDial(10 * time.Second),
	})
}

// randomID returns 10 random hex digits for unique names.
func randomID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rig is one test's exchange and topics on the real broker, with an
// admin connection; at the end of the test it deletes the exchange and
// every queue it may have caused (topic.priority for each topic, and the
// pools).
type rig struct {
	t        *testing.T
	url      *transport.URL
	pyURL    string // the URL as a Python transport URL
	exchange string
	admin    *amqp.Connection

	mu     sync.Mutex
	queues []string
}

func newRig(t *testing.T) *rig {
	u := brokerURL(t)
	admin, err := adminDial(u)
	if err != nil {
		t.Fatal(err)
	}
	py := *u
	py.Scheme = "rabbit"
	r := &rig{t: t, url: u, pyURL: py.String(), exchange: "notify_test_" + randomID(), admin: admin}
	// Registered first, so it runs after the transports' and the
	// listeners' cleanups.
	t.Cleanup(func() {
		defer admin.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		del := func(f func(ch *amqp.Channel) error) {
			ch, err := admin.Channel()
			if err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
			defer ch.Close()
			_ = f(ch) // a queue never declared gives NOT_FOUND
		}
		for _, q := range r.queues {
			del(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
		}
		del(func(ch *amqp.Channel) error { return ch.ExchangeDelete(r.exchange, false, false) })
	})
	return r
}

// topic returns a fresh topic name, whose queues are deleted at the end.
func (r *rig) topic() string {
	topic := "nt_" + randomID()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range Priorities() {
		r.queues = append(r.queues, topic+"."+string(p))
	}
	return topic
}

// pool returns a fresh pool name, whose queue is deleted at the end.
func (r *rig) pool() string {
	pool := "np_" + randomID()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queues = append(r.queues, pool)
	return pool
}

// transport returns a Go transport on the broker with the rig's
// exchange as control exchange.
func (r *rig) transport() transport.Transport {
	r.t.Helper()
	return r.transportWith(transport.Options{})
}

// transportWith is transport with opts (the control exchange and logger
// set).
func (r *rig) transportWith(opts transport.Options) transport.Transport {
	r.t.Helper()
	opts.ControlExchange, opts.Logger = r.exchange, testLogger(r.t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	tr, err := transport.DialAMQP(ctx, r.url, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// queue returns the ready messages and the consumers of queue.
func (r *rig) queue(name string) (messages, consumers int) {
	r.t.Helper()
	ch, err := r.admin.Channel()
	if err != nil {
		r.t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	if err != nil {
		r.t.Fatalf("queue %s: %v", name, err)
	}
	return q.Messages, q.Consumers
}

// waitConsumers waits until queue has n consumers.
func (r *rig) waitConsumers(queue string, n int) {
	r.t.Helper()
	deadline := time.Now().Add(waitTime)
	for {
		if _, c := r.queue(queue); c >= n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("queue %s never had %d consumers", queue, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pyNotify sends items through the Notifier (driver, topic) of peer's
// oslo.messaging.
func (r *rig) pyNotify(peer oslopeer.Peer, driver, topic string, items []pyItem) {
	r.t.Helper()
	checkPython(r.t)
	var in strings.Builder
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			r.t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	cmd := peer.CommandContext(ctx, "testdata/oslo_notify.py", "notify", r.pyURL, r.exchange, driver, topic)
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = testWriter{r.t}
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "SENT "+itoa(len(items)) {
		r.t.Fatalf("oslo_notify.py notify: %v: %s", err, out)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// pyItem is one notification for oslo_notify.py notify.
type pyItem struct {
	Priority    string         `json:"priority"`
	PublisherID string         `json:"publisher_id"`
	EventType   string         `json:"event_type"`
	Ctxt        map[string]any `json:"ctxt"`
	Payload     any            `json:"payload"`
}

// pyListener is a running oslo_notify.py listen.
type pyListener struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan map[string]any
	// stop closes its stdin and waits for it to stop.
	stop func()
}

// pyListen starts oslo_notify.py listen of peer on topic (pool "" for
// none) in mode, and waits until it is ready; it stops at the end of the
// test unless stopped before.
func (r *rig) pyListen(peer oslopeer.Peer, topic, pool, mode string) *pyListener {
	r.t.Helper()
	checkPython(r.t)
	if pool == "" {
		pool = "-"
	}
	cmd := peer.Command("testdata/oslo_notify.py", "listen", r.pyURL, r.exchange, topic, pool, mode)
	cmd.Stderr = testWriter{r.t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	p := &pyListener{t: r.t, stdin: stdin, lines: make(chan map[string]any, 1024)}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<24)
		first := true
		for sc.Scan() {
			if first {
				ready <- sc.Text()
				first = false
				continue
			}
			var m map[string]any
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber() // exact integers beyond 2^53
			if err := d.Decode(&m); err != nil {
				m = map[string]any{"unreadable": sc.Text()}
			}
			p.lines <- m
		}
		if first {
			ready <- "(no output)"
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = stdin.Close()
			<-done
			if err := cmd.Wait(); err != nil {
				r.t.Errorf("oslo_notify.py listen: %v", err)
			}
		})
	}
	p.stop = stop
	r.t.Cleanup(stop)
	select {
	case line := <-ready:
		if line != "READY" {
			r.t.Fatalf("oslo_notify.py listen: %s", line)
		}
	case <-time.After(waitTime):
		r.t.Fatal("oslo_notify.py listen never got ready")
	}
	return p
}

// next returns the next endpoint call the Python listener reported.
func (p *pyListener) next() map[string]any {
	p.t.Helper()
	select {
	case m, ok := <-p.lines:
		if !ok {
			p.t.Fatal("oslo_notify.py listen ended early")
		}
		if m["unreadable"] != nil {
			p.t.Fatalf("oslo_notify.py listen said %v", m["unreadable"])
		}
		return m
	case <-time.After(waitTime):
		p.t.Fatal("no notification reached the Python listener")
		return nil
	}
}
