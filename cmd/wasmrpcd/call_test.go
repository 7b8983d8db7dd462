package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// rpcPeer is an rpc.Server on the real broker, on a topic of its own in an
// exchange of its own, serving testkit-like methods.
type rpcPeer struct {
	url      string // for --url; reply queues expire 5 s after their client
	exchange string
	topic    string
	casts    atomic.Int64
	contexts chan []byte
}

func startRPCPeer(t *testing.T) *rpcPeer {
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
	id := transport.NewReplyQueueName()[len("reply_"):][:12]
	p := &rpcPeer{exchange: "wasmrpcd_cli_test_" + id, topic: "cli_" + id, contexts: make(chan []byte, 1)}
	q := *u
	q.Query = map[string]string{"rabbit_transient_queues_ttl": "5"}
	p.url = q.String()

	// Delete the topology after the server stopped (cleanups run last first).
	t.Cleanup(func() {
		h := u.Brokers()[0]
		conn, err := amqp.DialConfig("amqp://"+h.Addr()+"/", amqp.Config{
			Vhost: u.VHost(),
			SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: h.User(), Password: h.Pass()}},
		})
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer ch.Close()
		for _, q := range []string{p.topic, p.topic + ".host-a"} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if err := ch.ExchangeDelete(p.exchange, false, false); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ctx := context.Background()
	tr, err := transport.DialAMQP(ctx, u, transport.Options{ControlExchange: p.exchange})
	if err != nil {
		t.Fatalf("RabbitMQ at %s is unreachable (start it with `make broker`): %v", u.Redacted(), err)
	}
	t.Cleanup(func() { tr.Close() })
	d, err := rpc.NewDispatcher(rpc.Endpoint{
		Version: "1.5",
		Methods: []string{"echo", "fail", "context", "spin", "count"},
		Handler: rpc.HandlerFunc(p.serve),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := rpc.NewServer(tr, transport.Target{Topic: p.topic, Server: "host-a"}, d, rpc.ServerOptions{})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return p
}

func (p *rpcPeer) serve(ctx context.Context, req *rpc.Request) ([]byte, error) {
	var args map[string]any
	if err := cborcodec.Unmarshal(req.Args, &args); err != nil {
		return nil, err
	}
	switch req.Method {
	case "echo":
		return cborcodec.Marshal(args["value"])
	case "fail":
		return nil, &abi.Error{Class: args["kind"].(string), Message: args["message"].(string)}
	case "context":
		var rc map[string]any
		if err := cborcodec.Unmarshal(req.Context, &rc); err != nil {
			return nil, err
		}
		return cborcodec.Marshal(rc[args["key"].(string)])
	case "spin":
		ms, _ := args["ms"].(int64)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return cborcodec.Marshal(ms)
	case "count":
		p.casts.Add(1)
		return nil, nil
	}
	return nil, &rpc.NoSuchMethodError{Method: req.Method}
}

// wasmrpcd runs the command in process and returns its exit code and
// output.
func wasmrpcd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCallCommand(t *testing.T) {
	p := startRPCPeer(t)
	base := []string{"--url", p.url, "--exchange", p.exchange, "--topic", p.topic}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // exact
		stderrHas  string
		stderrNone bool
	}{
		{name: "echo", args: []string{"echo", `{"value": {"a": [1, 2.5, null, "\u00e9"]}}`}, stdout: `{"a": [1, 2.5, null, "\u00e9"]}` + "\n", stderrNone: true},
		{name: "flags after the method", args: []string{"echo", "--server", "host-a", `{"value": 7}`}, stdout: "7\n", stderrNone: true},
		{name: "null result", args: []string{"echo", `{"value": null}`}, stdout: "null\n"},
		{name: "no arguments", args: []string{"spin"}, stdout: "0\n"},
		{name: "context", args: []string{"--context", `{"user": "alice"}`, "context", `{"key": "user"}`}, stdout: `"alice"` + "\n"},
		{name: "version", args: []string{"--version", "1.5", "echo", `{"value": 1}`}, stdout: "1\n"},
		{name: "remote error", args: []string{"fail", `{"kind": "ValueError", "message": "bad size"}`}, code: 1,
			stderrHas: "remote error: ValueError: bad size"},
		{name: "remote traceback", args: []string{"--traceback", "fail", `{"kind": "KeyError", "message": "k"}`}, code: 1,
			stderrHas: "KeyError: k\n"},
		{name: "no such method", args: []string{"nope"}, code: 1, stderrHas: "remote error: oslo_messaging.rpc.dispatcher.NoSuchMethod: Endpoint does not support RPC method nope"},
		{name: "unsupported version", args: []string{"--version", "1.6", "echo"}, code: 1, stderrHas: "UnsupportedVersion"},
		{name: "timeout", args: []string{"--timeout", "300ms", "spin", `{"ms": 2000}`}, code: 3, stderrHas: "timed out waiting for a reply"},
		{name: "no such topic", args: []string{"--topic", p.topic + "_nobody", "--timeout", "300ms", "echo"}, code: 3, stderrHas: "timed out"},
		{name: "arguments not an object", args: []string{"echo", "[1]"}, code: 2, stderrHas: "ARGS_JSON must be a JSON object"},
		{name: "arguments not JSON", args: []string{"echo", "{value: 1}"}, code: 2, stderrHas: "ARGS_JSON"},
		{name: "bad context", args: []string{"--context", "1", "echo"}, code: 2, stderrHas: "--context must be a JSON object"},
		{name: "bad version", args: []string{"--version", "2", "echo"}, code: 2, stderrHas: "version"},
		{name: "no method", args: nil, code: 2, stderrHas: "want METHOD [ARGS_JSON]"},
		{name: "too many arguments", args: []string{"echo", "{}", "{}"}, code: 2, stderrHas: "want METHOD [ARGS_JSON]"},
		{name: "unknown flag", args: []string{"--bogus", "echo"}, code: 2, stderrHas: "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := wasmrpcd(append(append([]string{"call"}, base...), tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.code == 0 && stdout != tc.stdout {
				t.Fatalf("stdout %q, want %q", stdout, tc.stdout)
			}
			if tc.code != 0 && stdout != "" {
				t.Fatalf("stdout %q on failure", stdout)
			}
			if !strings.Contains(stderr, tc.stderrHas) || (tc.stderrNone && stderr != "") {
				t.Fatalf("stderr %q, want it to contain %q", stderr, tc.stderrHas)
			}
		})
	}
	t.Run("missing topic", func(t *testing.T) {
		code, _, stderr := wasmrpcd("call", "--url", p.url, "echo")
		if code != 2 || !strings.Contains(stderr, "--topic is required") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("broker unreachable", func(t *testing.T) {
		code, _, stderr := wasmrpcd("call", "--url", "rabbit://guest:guest@127.0.0.1:1/", "--timeout", "1s", "--topic", "t", "echo")
		if code != 4 || !strings.Contains(stderr, "cannot reach the broker") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("the broker of an oslo config file", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "cinder.conf")
		ini := "[DEFAULT]\ntransport_url = " + p.url + "\ncontrol_exchange = " + p.exchange +
			"\n\n[oslo_messaging_rabbit]\nkombu_compression = gzip\nnot_an_option = 1\n"
		if err := os.WriteFile(conf, []byte(ini), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := wasmrpcd("call", "--oslo-config", conf, "--topic", p.topic, "echo", `{"value": "compressed"}`)
		if code != 0 || stdout != `"compressed"`+"\n" || !strings.Contains(stderr, "not_an_option is no option") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		code, _, stderr = wasmrpcd("call", "--oslo-config", conf+".missing", "--topic", p.topic, "echo")
		if code != 2 || !strings.Contains(stderr, "--oslo-config") {
			t.Fatalf("missing file: exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		code, _, stderr := wasmrpcd("call", "--url", "http://x/", "--topic", "t", "echo")
		if code != 2 || !strings.Contains(stderr, "--url") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestCastCommand(t *testing.T) {
	p := startRPCPeer(t)
	base := []string{"cast", "--url", p.url, "--exchange", p.exchange, "--topic", p.topic}
	for _, extra := range [][]string{nil, {"--server", "host-a"}, {"--fanout"}} {
		code, stdout, stderr := wasmrpcd(append(append(base, extra...), "count")...)
		if code != 0 || stdout != "" || stderr != "" {
			t.Fatalf("cast %v: exit %d, stdout %q, stderr %q", extra, code, stdout, stderr)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.casts.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the server ran %d of the 3 casts", p.casts.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _, stderr := wasmrpcd(append(base, "count", "[]")...); code != 2 || !strings.Contains(stderr, "JSON object") {
		t.Fatalf("cast with bad arguments: exit %d, stderr %q", code, stderr)
	}
}

func TestBenchCommand(t *testing.T) {
	p := startRPCPeer(t)
	base := []string{"bench", "--url", p.url, "--exchange", p.exchange, "--topic", p.topic, "--payload-bytes", "100"}
	line := regexp.MustCompile(`^calls=(\d+) seconds=\d+\.\d{3} rate=\d+\.\d/s p50_ms=\d+\.\d{3} p99_ms=\d+\.\d{3}$`)
	for _, tc := range []struct {
		name  string
		args  []string
		calls string
	}{
		{"calls", []string{"--concurrency", "4", "--calls", "40"}, "40"},
		{"casts", []string{"--cast", "--method", "count", "--calls", "20"}, "20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := wasmrpcd(append(base, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			m := line.FindStringSubmatch(lines[len(lines)-1])
			if m == nil || m[1] != tc.calls {
				t.Fatalf("last line %q, want calls=%s and the bench format", lines[len(lines)-1], tc.calls)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := wasmrpcd(append(base, "--json", "--concurrency", "2", "--calls", "10")...)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var r benchJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("stdout %q: %v", stdout, err)
		}
		if r.Calls != 10 || r.Errors != 0 || r.Concurrency != 2 || r.PayloadBytes != 100 || r.Mode != "call" || r.Rate <= 0 || r.P50ms <= 0 {
			t.Fatalf("report %+v", r)
		}
	})
	t.Run("remote errors", func(t *testing.T) {
		code, _, stderr := wasmrpcd(append(base, "--method", "nope", "--calls", "5", "--warmup", "0")...)
		if code != 1 || !strings.Contains(stderr, "NoSuchMethod") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"calls and duration", []string{"--calls", "5", "--duration", "1s"}},
		{"no concurrency", []string{"--concurrency", "0"}},
		{"positional", []string{"extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := wasmrpcd(append(base, tc.args...)...); code != 2 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}
