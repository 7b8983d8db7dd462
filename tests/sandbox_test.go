package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// tightTenant is a tenant with small limits: the sandbox tests push
// guests past each of them. Its call_timeout leaves a guest that grows its
// memory to the limit time to reach it on a loaded machine.
var tightTenant = map[string]any{
	"memory_limit":    "48MiB",
	"call_timeout":    "5s",
	"max_instances":   2,
	"max_result_size": "64KiB",
}

// sandboxCase is one request that must fail in a given way, after which
// the module must serve normally.
type sandboxCase struct {
	name string
	req  Request // the runner sets Topic
	want string  // see Outcome.check
	// message is a part of the error message the caller must see.
	message string
	// atLeast, when set, is how long the call must have run before its
	// answer: a guest stopped at its deadline is not answered before it.
	atLeast time.Duration
}

// runSandboxCases runs each case on topic, then checks that the module
// still answers echo and add.
func runSandboxCases(t *testing.T, c *pyClient, topic string, cases []sandboxCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Topic = topic
			if req.Timeout == 0 {
				req.Timeout = 60 // far beyond every tenant deadline: a MessagingTimeout is a failure
			}
			start := time.Now()
			out := c.call(t, req)
			took := time.Since(start)
			if err := out.check(tc.want); err != nil {
				t.Errorf("%s %s: %v", req.Method, req.Args, err)
			} else if tc.message != "" && !strings.Contains(out.Error.Message, tc.message) {
				t.Errorf("%s %s: message %q lacks %q", req.Method, req.Args, out.Error.Message, tc.message)
			}
			if took < tc.atLeast {
				t.Errorf("answered after %v, before the deadline of %v", took, tc.atLeast)
			}
			t.Logf("%v after %v", out, took.Round(time.Millisecond))
			// The module serves on.
			value := fmt.Sprintf(`"after %s"`, tc.name)
			if err := c.call(t, Request{Method: "echo", Args: `{"value": ` + value + `}`, Topic: topic}).check("ok " + value); err != nil {
				t.Errorf("echo after %s: %v", tc.name, err)
			}
			if err := c.call(t, Request{Method: "add", Args: `{"a": 2, "b": 3}`, Topic: topic}).check("ok 5"); err != nil {
				t.Errorf("add after %s: %v", tc.name, err)
			}
		})
	}
}

// testkitSandboxCases push testkit past each limit of tightTenant.
func testkitSandboxCases() []sandboxCase {
	return []sandboxCase{
		{name: "spin within call_timeout", req: Request{Method: "spin", Args: `{"ms": 1000}`}, want: "ok 1000", atLeast: time.Second},
		{name: "spin beyond call_timeout", req: Request{Method: "spin", Args: `{"ms": 30000}`},
			want: "error TimeoutError", message: "stopped at its deadline", atLeast: 5 * time.Second},
		{name: "alloc beyond memory_limit", req: Request{Method: "alloc", Args: `{"mb": 64}`},
			want: "error MemoryError", message: "memory limit"},
		{name: "read_file of a host path", req: Request{Method: "read_file", Args: `{"path": "/etc/passwd"}`},
			want: "error OSError", message: "Bad file descriptor"},
		{name: "read_file of the module itself", req: Request{Method: "read_file", Args: `{"path": "` + checkoutPath(modules.testkit) + `"}`},
			want: "error OSError", message: "Bad file descriptor"},
		{name: "result beyond max_result_size", req: Request{Method: "echo", Args: `{"value": "` + strings.Repeat("x", 100<<10) + `"}`},
			want: "error RuntimeError", message: "size cap"},
		{name: "alloc within memory_limit", req: Request{Method: "alloc", Args: `{"mb": 8}`}, want: "ok 8"},
	}
}

// TestSandboxTightTenant runs testkit in a tenant with small limits: a
// spin past call_timeout is stopped and answered with a remote error at
// the deadline, an alloc past memory_limit is refused, a read of a host
// file fails, a result past max_result_size is refused; after each the
// module serves normally.
func TestSandboxTightTenant(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("tight", "s1")
	startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1", Tenant: tightTenant,
		Modules: []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{modules.testkit}}},
	})
	c := startClient(t, n, ex, "")
	runSandboxCases(t, c, topic, testkitSandboxCases())
}

// TestTenantIsolation runs testkit in tenant "a", with small limits, next
// to a hostile module (host/wasm/testdata/misbehave.wat) in the same
// tenant, and testkit in tenant "b". While tenant a's guests spin past
// their deadline, exhaust their memory and trap, all at once, b answers
// every call of a steady load correctly; then a's testkit serves again,
// and the metrics count every outcome by module, tenant and class.
func TestTenantIsolation(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topicA, topicB, topicH := n.topic("a", "s1"), n.topic("b", "s1"), n.topic("hostile", "s1")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{"a": tightTenant, "b": map[string]any{"call_timeout": "30s"}}},
		Modules: []moduleConfig{
			{Name: "tka", Topic: topicA, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "a"}},
			{Name: "hostile", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "a"}},
			{Name: "tkb", Topic: topicB, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
		},
	})
	c := startClient(t, n, ex, "")
	l := startLoad(c, topicB, "1.5", 4)
	defer l.finish(t)

	faults := []struct {
		req  Request
		want string
	}{
		{Request{Topic: topicA, Method: "spin", Args: `{"ms": 30000}`}, "error TimeoutError"},
		{Request{Topic: topicA, Method: "alloc", Args: `{"mb": 64}`}, "error MemoryError"},
		{Request{Topic: topicA, Method: "spin", Args: `{"ms": 30000}`}, "error TimeoutError"},
		{Request{Topic: topicH, Method: "spin"}, "error TimeoutError"},
		{Request{Topic: topicH, Method: "grow"}, "error MemoryError"},
		{Request{Topic: topicH, Method: "trap"}, "error RuntimeError"},
		{Request{Topic: topicH, Method: "oob_ptr"}, "error RuntimeError"},
	}
	var wg sync.WaitGroup
	for round := range 2 {
		for _, f := range faults {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := f.req
				req.Timeout = 60
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				out, err := c.do(ctx, req)
				if err == nil {
					err = out.check(f.want)
				}
				if err != nil {
					t.Errorf("round %d, %s on %s: %v", round, req.Method, req.Topic, err)
				}
			}()
		}
		wg.Wait()
	}
	l.finish(t)
	t.Logf("tenant b answered %d calls while tenant a failed %d", l.calls.Load(), 2*len(faults))
	if err := c.call(t, Request{Topic: topicA, Method: "echo", Args: `{"value": "a"}`}).check(`ok "a"`); err != nil {
		t.Errorf("tenant a's testkit after the faults: %v", err)
	}

	m := d.metrics(t)
	for key, want := range map[string]float64{
		`wasmrpcd_rpc_errors_total{class="TimeoutError",module="tka",tenant="a"}`:               4,
		`wasmrpcd_rpc_errors_total{class="MemoryError",module="tka",tenant="a"}`:                2,
		`wasmrpcd_rpc_errors_total{class="TimeoutError",module="hostile",tenant="a"}`:           2,
		`wasmrpcd_rpc_errors_total{class="MemoryError",module="hostile",tenant="a"}`:            2,
		`wasmrpcd_rpc_errors_total{class="RuntimeError",module="hostile",tenant="a"}`:           4,
		`wasmrpcd_rpc_requests_total{method="spin",module="tka",outcome="error",tenant="a"}`:    4,
		`wasmrpcd_rpc_requests_total{method="echo",module="tka",outcome="ok",tenant="a"}`:       1,
		`wasmrpcd_rpc_requests_total{method="echo",module="tkb",outcome="ok",tenant="b"}`:       float64(l.calls.Load()),
		`wasmrpcd_rpc_duration_seconds_count{method="echo",module="tkb",tenant="b"}`:            float64(l.calls.Load()),
		`wasmrpcd_rpc_duration_seconds_bucket{method="spin",module="tka",tenant="a",le="+Inf"}`: 4,
	} {
		if got := m[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	for _, key := range []string{
		`wasmrpcd_module_instances{module="tka",tenant="a"}`,
		`wasmrpcd_module_instances{module="hostile",tenant="a"}`,
		`wasmrpcd_module_instances{module="tkb",tenant="b"}`,
		`wasmrpcd_rpc_in_flight{module="tkb",tenant="b"}`,
		`wasmrpcd_rpc_duration_seconds_sum{method="echo",module="tkb",tenant="b"}`,
		`wasmrpcd_rpc_duration_seconds_bucket{method="echo",module="tkb",tenant="b",le="0.005"}`,
	} {
		if _, ok := m[key]; !ok {
			t.Errorf("/metrics lacks %s", key)
		}
	}
	if _, ok := m[`wasmrpcd_rpc_requests_total{method="echo",module="tkb",outcome="error",tenant="b"}`]; ok {
		t.Error("tenant b's echo counts errors")
	}
	if got := m[`wasmrpcd_module_instances{module="tka",tenant="a"}`]; got < 1 || got > 2 {
		t.Errorf("tenant a's testkit has %v instances; max_instances is 2", got)
	}
}

// TestTenantConcurrency checks max_concurrency end to end: a tenant with
// one slot runs its calls one after the other, and its long calls queued
// beyond executor_threads do not keep another tenant's module from
// answering. The ordering of answers is the evidence, not their speed:
// calls that run one after the other cannot all be answered before the
// sum of their run times, and a call of tenant b that does not wait for
// tenant a is answered before a's first spin ends.
func TestTenantConcurrency(t *testing.T) {
	const spin = 3 * time.Second
	n := newNames(t)
	ex := n.exchange()
	topicA, topicB := n.topic("a", "s1"), n.topic("b", "s1")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{
			"executor_threads": 2,
			"tenants": map[string]any{
				"a": map[string]any{"max_concurrency": 1, "max_instances": 2, "call_timeout": "60s"},
				"b": map[string]any{},
			},
		},
		Modules: []moduleConfig{
			{Name: "tka", Topic: topicA, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "a"}},
			{Name: "tkb", Topic: topicB, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
		},
	})
	c := startClient(t, n, ex, "")
	// spins sends k spins of tenant a at once and returns a channel that
	// gets the time each answer came.
	spins := func(t *testing.T, k int) <-chan time.Time {
		answers := make(chan time.Time, k)
		for range k {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				out, err := c.do(ctx, Request{Topic: topicA, Method: "spin", Args: fmt.Sprintf(`{"ms": %d}`, spin.Milliseconds()), Timeout: 120})
				if err == nil {
					err = out.check(fmt.Sprintf("ok %d", spin.Milliseconds()))
				}
				if err != nil {
					t.Errorf("spin of tenant a: %v", err)
				}
				answers <- time.Now()
			}()
		}
		return answers
	}

	t.Run("one slot runs calls one after the other", func(t *testing.T) {
		start := time.Now()
		answers := spins(t, 2)
		<-answers
		last := <-answers // the goroutines report to t: wait for them
		if took := last.Sub(start); took < 2*spin {
			t.Errorf("two spins of %v with max_concurrency 1 both answered after %v: they ran at once", spin, took)
		}
	})

	t.Run("a tenant's queue does not block another tenant", func(t *testing.T) {
		// More calls of tenant a than executor_threads, all waiting for
		// a's one slot but one.
		answers := spins(t, 3)
		d.waitModule(t, "tka", "call in flight", func(st moduleStatus) bool { return st.InFlight > 0 })
		answered := 0
		for i := range 3 {
			value := fmt.Sprintf(`"b%d"`, i)
			out, err := c.do(context.Background(), Request{Topic: topicB, Method: "echo", Args: `{"value": ` + value + `}`, Timeout: 60})
			if err == nil {
				err = out.check("ok " + value)
			}
			if err != nil {
				t.Errorf("tenant b: %v", err)
			}
			select {
			case <-answers:
				answered++
				t.Errorf("tenant b's call %d was answered after a spin of tenant a ended: tenant a's calls waiting for its slot hold the executor threads", i)
			default:
			}
			if answered > 0 {
				break
			}
		}
		for ; answered < 3; answered++ {
			<-answers // the goroutines report to t: wait for them
		}
	})
}

// TestTenantPermissions: a guest reaches only the RPC targets and
// notification topics its tenant's rpc_targets and notification_topics
// allow. The hostile module's call, cast and notify methods hand their
// arguments to the host imports as they are; the project's Go client
// calls them, since oslo's Python client cannot send an argument named
// "method".
func TestTenantPermissions(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topicH, topicB, topicC := n.topic("hostile", "s1"), n.topic("b", "s1"), n.topic("c", "s1")
	allowed, denied := n.prefix+"_notes", n.prefix+"_secret"
	startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"a": map[string]any{"call_timeout": "10s", "rpc_targets": []string{topicB}, "notification_topics": []string{allowed}},
			"b": map[string]any{},
		}},
		Modules: []moduleConfig{
			{Name: "hostile", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "a"}},
			{Name: "tkb", Topic: topicB, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
			{Name: "tkc", Topic: topicC, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "b"}},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := transport.Open(ctx, rabbitURL(""), transport.Options{ControlExchange: ex, ConnectionName: "wasmrpcd-e2e-tests", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	defer tr.Close()
	client := rpc.NewClient(tr, rpc.Target{Topic: topicH}, rpc.WithTimeout(30*time.Second))
	defer func() {
		n.addQueue(client.ReplyQueue())
		client.Close()
	}()

	// A queue that receives the notifications of the allowed topic.
	ch, err := dialT(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	notes := n.prefix + "_notes_info"
	n.addQueue(notes)
	n.addQueue(allowed + ".info") // the notifier declares it before it publishes
	if err := ch.ExchangeDeclare(ex, "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(notes, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(notes, allowed+".info", ex, false, nil); err != nil {
		t.Fatal(err)
	}

	call := func(exchange, topic string) map[string]any {
		return map[string]any{"target": map[string]any{"exchange": exchange, "topic": topic}, "method": "echo", "args": map[string]any{"value": "via the host"}}
	}
	note := func(topic string) map[string]any {
		return map[string]any{"topic": topic, "priority": "info", "publisher_id": "hostile", "event_type": "hostile.note", "payload": map[string]any{"n": 1}}
	}
	tests := []struct {
		name, method string
		args         map[string]any
		want         string // a result as JSON, or an exception class
		why          string // a part of the exception's message
	}{
		{"call an allowed target", "call", call("", topicB), `"via the host"`, ""},
		{"call another target", "call", call("", topicC), "PermissionError", "may not reach RPC target " + topicC},
		{"cast to another target", "cast", call("", topicC), "PermissionError", "may not reach RPC target " + topicC},
		{"call another exchange", "call", call("nova", topicB), "PermissionError", "exchange nova"},
		{"notify an allowed topic", "notify", note(allowed), "null", ""},
		{"notify another topic", "notify", note(denied), "PermissionError", "may not emit notifications to topic " + denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client.Call(ctx, tc.method, tc.args)
			var re *rpc.RemoteError
			switch {
			case err == nil:
				got, jerr := res.JSON()
				if jerr != nil || !jsonEqual(got, []byte(tc.want)) {
					t.Errorf("result %s (%v), want %s", got, jerr, tc.want)
				}
			case errors.As(err, &re):
				if re.Class != tc.want || !strings.Contains(re.Message, tc.why) {
					t.Errorf("%s: %s, want %s saying %q", re.Class, re.Message, tc.want, tc.why)
				}
			default:
				t.Errorf("call: %v", err)
			}
		})
	}
	if !waitUntil(func() bool {
		msg, ok, err := ch.Get(notes, true)
		return err == nil && ok && strings.Contains(string(msg.Body), "hostile.note")
	}) {
		t.Error("the allowed notification did not arrive")
	}
}
