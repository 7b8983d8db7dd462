package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// The client against the real broker: a Python oslo.messaging server
// (tests/python/rpc_server.py, the testkit reference endpoint) of each
// reference peer (internal/oslopeer), and a wasmrpcd Server, with the
// same cases.

// brokerURL returns AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/)
// and fails the test when the broker does not answer; -short skips it.
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
	conn.Close()
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

// cleanupTopology deletes, at the end of the test, the queues and
// exchanges that names returns then. Register it before the transports,
// so that it runs after they closed.
func cleanupTopology(t *testing.T, u *transport.URL, names func() (queues, exchanges []string)) {
	t.Cleanup(func() {
		conn, err := adminDial(u)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		queues, exchanges := names()
		for _, q := range queues {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(q, false, false, false)
				ch.Close()
			}
		}
		for _, e := range exchanges {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(e, false, false)
				ch.Close()
			}
		}
	})
}

// pythonServer is a running tests/python/rpc_server.py.
type pythonServer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string
	stopped bool
}

// startPython serves the testkit reference endpoint with peer's
// oslo.messaging on topic and server of exchange, and returns once it
// consumes.
func startPython(t *testing.T, peer oslopeer.Peer, u *transport.URL, exchange, topic, server string) *pythonServer {
	t.Helper()
	if _, err := os.Stat(oslopeer.Python); err != nil {
		t.Fatalf("%s is missing (scripts/deps.sh installs python3-oslo.messaging): %v", oslopeer.Python, err)
	}
	pu := *u
	pu.Scheme = "rabbit" // amqp:// is oslo's AMQP 1.0 driver
	cmd := peer.Command("../../tests/python/rpc_server.py", pu.String(), exchange, topic, server)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pythonServer{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if !p.stopped {
			p.stop(t)
		}
	})
	if line := p.line(t); line != "ready" {
		t.Fatalf("rpc_server.py said %q", line)
	}
	return p
}

func (p *pythonServer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("rpc_server.py ended early")
		}
		return l
	case <-time.After(time.Minute):
		t.Fatal("rpc_server.py said nothing for a minute")
	}
	return ""
}

// stop ends the server, which waits for its calls, and returns how many
// method calls it served.
func (p *pythonServer) stop(t *testing.T) int64 {
	t.Helper()
	p.stopped = true
	_ = p.stdin.Close()
	var served int64 = -1
	for l := range p.lines {
		if n, ok := strings.CutPrefix(l, "served "); ok {
			served, _ = strconv.ParseInt(n, 10, 64)
		}
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("rpc_server.py: %v", err)
	}
	return served
}

// peerCase is one request to a server serving the testkit methods.
type peerCase struct {
	name   string
	cast   bool
	opts   []Option
	ctx    context.Context
	method string
	args   map[string]any
	want   string // the result as JSON; "" when an error is wanted
	class  string // of the remote error
	module string
	check  func(error) bool // any other error wanted
	served int64            // method runs the request causes on the server
}

func peerCases(server string) []peerCase {
	ctx := WithRequestContext(context.Background(), map[string]any{"user": "alice", "roles": []any{"admin"}})
	return []peerCase{
		{name: "echo", method: "echo", args: map[string]any{"value": map[string]any{"a": []any{1, 2.5, nil, true, "é"}}},
			want: `{"a": [1, 2.5, null, true, "\u00e9"]}`, served: 1},
		{name: "add numbers", method: "add", args: map[string]any{"a": 40, "b": 2}, want: "42", served: 1},
		{name: "add strings", method: "add", args: map[string]any{"a": "wasm", "b": "rpcd"}, want: `"wasmrpcd"`, served: 1},
		{name: "context", ctx: ctx, method: "context", args: map[string]any{"key": "user"}, want: `"alice"`, served: 1},
		{name: "to the server", opts: []Option{WithServer(server)}, method: "echo", args: map[string]any{"value": server},
			want: strconv.Quote(server), served: 1},
		{name: "version within", opts: []Option{WithVersion("1.2")}, method: "echo", args: map[string]any{"value": 1}, want: "1", served: 1},
		{name: "remote builtin", method: "fail", args: map[string]any{"kind": "ValueError", "message": "bad"},
			class: "ValueError", module: "builtins", served: 1},
		{name: "no such method", method: "nope", class: "NoSuchMethod", module: "oslo_messaging.rpc.dispatcher"},
		{name: "private", method: "_private", class: "NoSuchMethod", module: "oslo_messaging.rpc.dispatcher"},
		{name: "unsupported version", opts: []Option{WithVersion("1.6")}, method: "echo", args: map[string]any{"value": 1},
			class: "UnsupportedVersion", module: "oslo_messaging.rpc.dispatcher"},
		{name: "version cap", opts: []Option{WithVersionCap("1.4"), WithVersion("1.5")}, method: "echo",
			check: func(err error) bool { var vc *VersionCapError; return errors.As(err, &vc) }},
		{name: "cast", cast: true, method: "echo", args: map[string]any{"value": 1}, served: 1},
		{name: "cast to the server", cast: true, opts: []Option{WithServer(server)}, method: "echo", args: map[string]any{"value": 1}, served: 1},
		{name: "fanout cast", cast: true, opts: []Option{WithFanout(true)}, method: "echo", args: map[string]any{"value": 1}, served: 1},
		{name: "timeout", opts: []Option{WithTimeout(300 * time.Millisecond)}, method: "spin", args: map[string]any{"ms": 1500},
			check: func(err error) bool { return errors.Is(err, ErrTimeout) }, served: 1},
		// The server heartbeats every second for a call monitor timeout
		// of 2 s: a call of 3.5 s goes through.
		{name: "heartbeats", opts: []Option{WithCallMonitorTimeout(2 * time.Second), WithTimeout(30 * time.Second)},
			method: "spin", args: map[string]any{"ms": 3500}, want: "3500", served: 1},
	}
}

// runPeerCases runs the cases and a concurrent load through c and returns
// how many method runs they caused.
func runPeerCases(t *testing.T, c *Client, server string) int64 {
	var served int64
	for _, tc := range peerCases(server) {
		served += tc.served
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			pc := c.Prepare(tc.opts...)
			if tc.cast {
				if err := pc.Cast(ctx, tc.method, tc.args); err != nil {
					t.Fatalf("Cast: %v", err)
				}
				return
			}
			res, err := pc.Call(ctx, tc.method, tc.args)
			switch {
			case tc.check != nil:
				if !tc.check(err) {
					t.Fatalf("Call = %v, %v: not the error wanted", res, err)
				}
			case tc.class != "":
				var re *RemoteError
				if !errors.As(err, &re) || re.Class != tc.class || re.Module != tc.module {
					t.Fatalf("Call = %v, want remote %s.%s", err, tc.module, tc.class)
				}
			default:
				if err != nil {
					t.Fatalf("Call: %v", err)
				}
				got, err := res.JSON()
				if err != nil || string(got) != tc.want {
					t.Fatalf("result %s (%v), want %s", got, err, tc.want)
				}
			}
		})
	}
	t.Run("concurrent calls", func(t *testing.T) {
		const callers, calls = 32, 10
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for g := range callers {
			wg.Go(func() {
				for i := range calls {
					want := fmt.Sprintf("%d/%d", g, i)
					res, err := c.Call(context.Background(), "echo", map[string]any{"value": want})
					var got string
					if err == nil {
						err = res.Decode(&got)
					}
					if err != nil || got != want {
						errs <- fmt.Errorf("echo %q = %q, %v", want, got, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	return served + 32*10
}

func TestClientBroker(t *testing.T) {
	u := brokerURL(t)
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	exchange := "wasmrpcd_client_test_" + id
	var clients []*Client
	var topics []string
	cleanupTopology(t, u, func() (queues, exchanges []string) {
		exchanges = append(exchanges, exchange)
		for _, topic := range topics {
			queues = append(queues, topic, topic+".host-a")
			exchanges = append(exchanges, topic+"_fanout")
		}
		for _, c := range clients {
			if q := c.ReplyQueue(); q != "" {
				queues = append(queues, q)
			}
		}
		return queues, exchanges
	})
	ctx := context.Background()
	ct, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.Close() })
	newClient := func(topic string) *Client {
		topics = append(topics, topic)
		c := NewClient(ct, Target{Topic: topic}, WithTimeout(30*time.Second))
		clients = append(clients, c)
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("python", func(t *testing.T) {
		oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
			topic := "pytestkit_" + strings.ReplaceAll(peer.Name, ".", "") + "_" + id
			c := newClient(topic)
			py := startPython(t, peer, u, exchange, topic, "host-a")
			want := runPeerCases(t, c, "host-a")
			if served := py.stop(t); served != want {
				t.Fatalf("the Python server served %d method calls, want %d", served, want)
			}
		})
	})

	t.Run("wasmrpcd", func(t *testing.T) {
		topic := "gotestkit_" + id
		c := newClient(topic)
		st, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: exchange})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rec := newRecorder("host-a")
		defer close(rec.release)
		d, err := NewDispatcher(rec.endpoint("", "1.5"))
		if err != nil {
			t.Fatal(err)
		}
		s := NewServer(st, transport.Target{Topic: topic, Server: "host-a"}, d, ServerOptions{})
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		want := runPeerCases(t, c, "host-a")
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if served := rec.calls.Load(); served != want {
			t.Fatalf("the server served %d method calls, want %d", served, want)
		}
	})
}

func TestClientRetryBroker(t *testing.T) {
	u := brokerURL(t)
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	exchange := "wasmrpcd_retry_test_" + id
	var c *Client
	cleanupTopology(t, u, func() (queues, exchanges []string) {
		return []string{c.ReplyQueue()}, []string{exchange}
	})
	ctx := context.Background()
	name := "wasmrpcd-rpc-retry-test-" + id
	// The publishing connection, once closed, stays down for the test.
	ct, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: exchange, ConnectionName: name, ReconnectDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	c = NewClient(ct, Target{Topic: "retry_" + id}, WithTimeout(30*time.Second))
	defer c.Close()
	if err := c.Cast(ctx, "echo", nil); err != nil {
		t.Fatalf("cast while connected: %v", err)
	}
	mustClose(t, name+":send")
	for ct.Status().SendConnected {
		time.Sleep(10 * time.Millisecond)
	}

	for _, tc := range []struct {
		name  string
		call  bool
		retry int
		ctx   time.Duration // a deadline for the request; 0 for none
		want  error
	}{
		{"cast, no retry", false, 0, 0, ErrDeliveryFailure},
		{"call, one retry", true, 1, 0, ErrDeliveryFailure},
		{"cast, retry forever", false, RetryForever, 1500 * time.Millisecond, context.DeadlineExceeded},
		{"call, retry forever", true, RetryForever, 1500 * time.Millisecond, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			pc := c.Prepare(WithRetry(tc.retry))
			if tc.call {
				_, err = pc.Call(ctx, "echo", nil)
			} else {
				err = pc.Cast(ctx, "echo", nil)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want != ErrDeliveryFailure && errors.Is(err, ErrDeliveryFailure) {
				t.Fatalf("error %v: retrying forever gave up", err)
			}
		})
	}
}

// TestClientRetryLostUnderPublish: a send whose connection is lost before
// the broker confirmed it is a failed attempt. With a limited retry (oslo's
// retry=N) the send gives up after N more attempts with
// ErrDeliveryFailure, instead of waiting for the connection as long as
// its context allows; with RetryForever it is sent again once the broker
// can be reached.
func TestClientRetryLostUnderPublish(t *testing.T) {
	u := brokerURL(t)
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	exchange, topic := "wasmrpcd_lost_test_"+id, "lost_"+id
	cleanupTopology(t, u, func() (queues, exchanges []string) {
		return []string{topic}, []string{exchange}
	})
	// A server's topic queue, read by the test.
	admin, err := adminDial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ch, err := admin.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(topic, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(topic, topic, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	broker := u.Brokers()[0]

	for _, tc := range []struct {
		name  string
		retry int
		want  error // nil: the send succeeds once the link is back
	}{
		{"retry once", 1, ErrDeliveryFailure},
		{"retry forever", RetryForever, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ch.QueuePurge(topic, false); err != nil {
				t.Fatal(err)
			}
			l := newLink(t, broker.Addr())
			lu, err := transport.ParseURL(fmt.Sprintf("rabbit://%s:%s@%s/", broker.User(), broker.Pass(), l.addr()))
			if err != nil {
				t.Fatal(err)
			}
			ct, err := transport.DialAMQP(context.Background(), lu, transport.Options{ControlExchange: exchange})
			if err != nil {
				t.Fatal(err)
			}
			defer ct.Close()
			c := NewClient(ct, Target{Topic: topic})
			defer c.Close()
			if err := c.Cast(context.Background(), "echo", map[string]any{"n": 0}); err != nil {
				t.Fatalf("cast while connected: %v", err)
			}

			// The broker gets the message but its confirm never comes
			// back; then the connection is lost.
			l.hold()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Prepare(WithRetry(tc.retry)).Cast(ctx, "echo", map[string]any{"n": 1}) }()
			time.Sleep(300 * time.Millisecond) // the publish is on the wire
			l.cut()
			if tc.want == nil {
				time.Sleep(500 * time.Millisecond)
				l.restore()
			}
			err = <-done
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("cast: %v, want it sent once the link is back", err)
			case tc.want != nil && (!errors.Is(err, tc.want) || ctx.Err() != nil):
				t.Fatalf("cast: %v, want %v before the context ends", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			// Sent before the cut and again after it: at least once.
			counts := map[float64]int{}
			for {
				d, ok, err := ch.Get(topic, true)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				msg, err := oslo.DecodeRequest(d.Body)
				if err != nil {
					t.Fatal(err)
				}
				var args map[string]float64
				if err := cborcodec.Unmarshal(msg.Args, &args); err != nil {
					t.Fatal(err)
				}
				counts[args["n"]]++
			}
			if counts[0] != 1 || counts[1] < 1 {
				t.Errorf("the queue got casts n=0 %d times and n=1 %d times, want 1 and at least 1", counts[0], counts[1])
			}
		})
	}
}
