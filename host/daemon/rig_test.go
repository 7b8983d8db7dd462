package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// rig is a daemon running in the test process on the real broker, with a
// unique control exchange, and a raw oslo caller of it.
type rig struct {
	t        *testing.T
	dir      string
	exchange string
	d        *Daemon
	log      *syncBuffer
	stop     func()
	caller   transport.Transport
	replies  transport.Listener
	replyQ   string

	mu      sync.Mutex
	waiting map[string]chan oslo.Reply

	extraQueues []string // queues of topics a test moved to, deleted at cleanup
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRig places files (name → source module) in a temp directory, writes
// the config body there (after a common header; {{ex}} becomes the unique
// exchange name, to prefix topics with) and runs a daemon on it until the
// test ends.
func newRig(t *testing.T, files map[string]string, body string) *rig {
	t.Helper()
	dir := t.TempDir()
	exchange := fmt.Sprintf("wrd_%d", time.Now().UnixNano())
	for name, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgText := fmt.Sprintf(`transport_url: %s
control_exchange: %s
server: host-a
admin_listen: 127.0.0.1:0
cache_dir: %s
cache_key_file: %s
shutdown_timeout: 10s
`, amqpURL(), exchange, filepath.Join(os.TempDir(), "wasmrpcd-test-cache"), filepath.Join(os.TempDir(), "wasmrpcd-test-cache.key")) + strings.ReplaceAll(body, "{{ex}}", exchange)
	cfgPath := filepath.Join(dir, "wasmrpcd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dir: dir, exchange: exchange, log: &syncBuffer{}, waiting: map[string]chan oslo.Reply{}}
	r.d = New(cfg, slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- r.d.Run(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	waitFor(t, "the daemon to be ready", func() bool {
		select {
		case err := <-runErr:
			t.Fatalf("Run returned early: %v\n%s", err, r.log.String())
		default:
		}
		return r.d.Ready()
	})

	r.caller, err = transport.Open(ctx, amqpURL(), transport.Options{ControlExchange: exchange, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.replyQ = transport.NewReplyQueueName()
	r.replies, err = r.caller.ListenReplies(ctx, r.replyQ)
	if err != nil {
		t.Fatal(err)
	}
	go r.route()
	t.Cleanup(func() {
		r.stop()
		r.replies.Close()
		r.caller.Close()
		r.cleanBroker(cfg)
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.log.String())
		}
	})
	return r
}

// route hands replies to the calls waiting for them.
func (r *rig) route() {
	for {
		d, err := r.replies.Next(context.Background())
		if err != nil {
			return
		}
		d.Ack()
		rep, err := oslo.DecodeReply(d.Body)
		if err != nil || rep.IsHeartbeat() {
			continue
		}
		r.mu.Lock()
		ch := r.waiting[rep.MsgID]
		delete(r.waiting, rep.MsgID)
		r.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// call makes an oslo call on topic and returns the final reply, or an
// error when none comes within the timeout.
func (r *rig) call(topic, version, method string, args map[string]any) (oslo.Reply, error) {
	if args == nil {
		args = map[string]any{}
	}
	argBytes, err := cborcodec.Marshal(args)
	if err != nil {
		return oslo.Reply{}, err
	}
	id := oslo.NewMessageID()
	ch := make(chan oslo.Reply, 1)
	r.mu.Lock()
	r.waiting[id] = ch
	r.mu.Unlock()
	body, err := oslo.EncodeRequest(nil, &oslo.Request{
		Method: method, Version: version, Args: argBytes,
		MsgID: id, ReplyQ: r.replyQ, UniqueID: oslo.NewID(),
	})
	if err != nil {
		return oslo.Reply{}, err
	}
	const timeout = 30 * time.Second
	if err := r.caller.Send(context.Background(), transport.Target{Topic: topic}, body, transport.SendOptions{Expiration: timeout}); err != nil {
		return oslo.Reply{}, err
	}
	select {
	case rep := <-ch:
		return rep, nil
	case <-time.After(timeout):
		return oslo.Reply{}, fmt.Errorf("%s: no reply within %v", method, timeout)
	}
}

// mustCall calls and returns the decoded result, failing on any error.
func (r *rig) mustCall(topic, version, method string, args map[string]any) any {
	r.t.Helper()
	rep, err := r.call(topic, version, method, args)
	if err != nil {
		r.t.Fatal(err)
	}
	if rep.Failure != nil {
		r.t.Fatalf("%s: %v", method, rep.Failure)
	}
	var v any
	if err := cborcodec.Unmarshal(rep.Result, &v); err != nil {
		r.t.Fatal(err)
	}
	return v
}

// admin sends an admin API request and decodes the JSON answer into out.
func (r *rig) admin(method, path string, out any) int {
	r.t.Helper()
	req, _ := http.NewRequest(method, "http://"+r.d.AdminAddr()+path, nil)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			r.t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

// status returns a module's admin status.
func (r *rig) status(name string) moduleStatus {
	var st moduleStatus
	if code := r.admin("GET", "/v1/modules/"+name, &st); code != http.StatusOK {
		r.t.Fatalf("GET /v1/modules/%s: %d", name, code)
	}
	return st
}

// cleanBroker deletes the queues and exchanges the daemon declared.
func (r *rig) cleanBroker(cfg *config.Config) {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		r.t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	for _, m := range cfg.Modules {
		for _, q := range []string{m.Topic, m.Topic + "." + m.Server} {
			if ch, err := conn.Channel(); err == nil {
				ch.QueueDelete(q, false, false, false)
				ch.Close()
			}
		}
		if ch, err := conn.Channel(); err == nil {
			ch.ExchangeDelete(m.Topic+"_fanout", false, false)
			ch.Close()
		}
	}
	for _, q := range r.extraQueues {
		if ch, err := conn.Channel(); err == nil {
			ch.QueueDelete(q, false, false, false)
			ch.Close()
		}
	}
	if ch, err := conn.Channel(); err == nil {
		ch.ExchangeDelete(r.exchange, false, false)
		ch.Close()
	}
}

// place copies a module file into the rig's directory under name, by an
// atomic rename as a deployment does.
func (r *rig) place(src, name string) {
	r.t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		r.t.Fatal(err)
	}
	r.placeBytes(data, name)
}

func (r *rig) placeBytes(data []byte, name string) {
	r.t.Helper()
	tmp := filepath.Join(r.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(r.dir, name)); err != nil {
		r.t.Fatal(err)
	}
}

const (
	testkit15 = "../../modules/testkit/testkit.wasm"
	testkit16 = "../../modules/testkit/testkit-v1.6.wasm"
)
