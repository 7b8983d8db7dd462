package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// TestContextHiddenKeys has a Python oslo.messaging client call the
// testkit's context(key), which returns the key's value in the context
// the guest got, with an oslo.context-like context carrying an auth_token
// and a service_token. A tenant that says nothing hides both (the
// default); one whose context_hidden_keys is [] sees the whole context,
// as a Python endpoint does; one with its own list hides that list only.
func TestContextHiddenKeys(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topics := map[string]string{
		"default": n.topic("ctx-default", "wasm"),
		"open":    n.topic("ctx-open", "wasm"),
		"custom":  n.topic("ctx-custom", "wasm"),
	}
	cfg := daemonConfig{Exchange: ex, Server: "wasm", Extra: map[string]any{"tenants": map[string]any{
		"default": map[string]any{},
		"open":    map[string]any{"context_hidden_keys": []string{}},
		"custom":  map[string]any{"context_hidden_keys": []string{"project_id", "roles"}},
	}}}
	for tenant, topic := range topics {
		cfg.Modules = append(cfg.Modules, moduleConfig{Name: "testkit-" + tenant, Topic: topic,
			Files: []string{modules.testkit}, Extra: map[string]any{"tenant": tenant}})
	}
	startDaemon(t, cfg)
	client := startClient(t, n, ex, "")

	const ctxt = `{"user": "alice", "project_id": "p1", "roles": ["admin"], "is_admin": true, ` +
		`"auth_token": "gAAAAABtoken", "service_token": "gAAAAABservice", "request_id": "req-1"}`
	for _, tc := range []struct {
		tenant, key, want string
	}{
		{"default", "auth_token", `null`},
		{"default", "service_token", `null`},
		{"default", "user", `"alice"`},
		{"default", "roles", `["admin"]`},
		{"default", "request_id", `"req-1"`},
		{"open", "auth_token", `"gAAAAABtoken"`},
		{"open", "service_token", `"gAAAAABservice"`},
		{"open", "user", `"alice"`},
		{"custom", "auth_token", `"gAAAAABtoken"`},
		{"custom", "project_id", `null`},
		{"custom", "roles", `null`},
		{"custom", "user", `"alice"`},
	} {
		t.Run(tc.tenant+"/"+tc.key, func(t *testing.T) {
			out := client.call(t, Request{Method: "context", Topic: topics[tc.tenant],
				Args: `{"key": "` + tc.key + `"}`, Context: ctxt})
			if !out.resultIs(tc.want) {
				t.Fatalf("context(%q) under tenant %s: %v, want %s", tc.key, tc.tenant, out, tc.want)
			}
		})
	}
	// The host keeps the whole context: the call monitor's client_timeout
	// still reaches the guest, and replies go to the caller.
	out := client.call(t, Request{Method: "context", Topic: topics["default"], Args: `{"key": "client_timeout"}`,
		Context: ctxt, CallMonitorTimeout: 5})
	if !out.resultIs(`5`) {
		t.Fatalf("client_timeout: %v", out)
	}
}

// TestContextHiddenKeysNotForwarded has a guest call onward with the
// context it got (guest-sdk/testdata/hostcalls's call, which forwards its
// request's context), to the testkit of a tenant that sees every key: a
// key hidden from the relaying guest is not sent on its behalf either,
// unless its tenant hides nothing, as a Python service forwards its ctxt.
func TestContextHiddenKeysNotForwarded(t *testing.T) {
	relayWasm := filepath.Join(t.TempDir(), "hostcalls.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", relayWasm, "./guest-sdk/testdata/hostcalls")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building guest-sdk/testdata/hostcalls: %v\n%s", err, out)
	}
	n := newNames(t)
	ex := n.exchange()
	echo := n.topic("ctx-echo", "wasm")
	relays := map[string]string{"relay": n.topic("ctx-relay", "wasm"), "openrelay": n.topic("ctx-openrelay", "wasm")}
	cfg := daemonConfig{Exchange: ex, Server: "wasm", Extra: map[string]any{"tenants": map[string]any{
		"default":   map[string]any{},
		"open":      map[string]any{"context_hidden_keys": []string{}},
		"relay":     map[string]any{"rpc_targets": []string{echo}},
		"openrelay": map[string]any{"rpc_targets": []string{echo}, "context_hidden_keys": []string{}},
	}}, Modules: []moduleConfig{{Name: "testkit", Topic: echo, Files: []string{modules.testkit}, Extra: map[string]any{"tenant": "open"}}}}
	for tenant, topic := range relays {
		cfg.Modules = append(cfg.Modules, moduleConfig{Name: tenant, Topic: topic, Files: []string{relayWasm},
			Extra: map[string]any{"tenant": tenant}})
	}
	startDaemon(t, cfg)
	// The relay's method takes an argument named "method", which Python's
	// RPCClient.call cannot pass: the call is written by hand, with the
	// context as oslo packs it.
	raw := newRawClient(t)
	for _, tc := range []struct{ relay, key, want string }{
		{"relay", "auth_token", `null`},
		{"relay", "user", `"alice"`},
		{"openrelay", "auth_token", `"gAAAAABtoken"`},
		{"openrelay", "user", `"alice"`},
	} {
		t.Run(tc.relay+"/"+tc.key, func(t *testing.T) {
			id := newID()
			msg := fmt.Sprintf(`{"method": "call", "args": {"topic": %q, "method": "context", "args": {"key": %q}}, `+
				`"_msg_id": %q, "_reply_q": %q, "_timeout": null, "_unique_id": %q, `+
				`"_context_user": "alice", "_context_auth_token": "gAAAAABtoken", "_context_request_id": "req-2"}`,
				echo, tc.key, id, raw.replyQ, newID())
			if err := raw.publish(context.Background(), relays[tc.relay], envelope([]byte(msg)), ""); err != nil {
				t.Fatal(err)
			}
			r := raw.waitFor(t, id)
			if f, err := r.failure(); err != nil || f != nil {
				t.Fatalf("context(%q) through %s: %+v, %v", tc.key, tc.relay, f, err)
			}
			if string(r.Result) != tc.want {
				t.Fatalf("context(%q) seen through %s: %s, want %s", tc.key, tc.relay, r.Result, tc.want)
			}
		})
	}
}

// TestContextHiddenKeysInNotifications: a notification's context reaches
// the guest without its tenant's hidden keys too. testkit emits
// testkit.seen with the context it got, through the notifier's safe keys
// (which keep user_id and project_id): a tenant hiding user_id sends it
// on without user_id, and with project_id, which it does not hide.
func TestContextHiddenKeysInNotifications(t *testing.T) {
	c := newChain(t, oslopeer.Debian, newNames(t), "hidden")
	topic := c.topic("volumes")
	cfg := testkitConfig(c.exchange, c.n.topic("rpc", "notifyhost"), "notifyhost")
	cfg.Modules[0].Extra = map[string]any{"notification_topics": []string{topic}}
	cfg.Tenant = map[string]any{"notification_topics": []string{seenTopic}, "context_hidden_keys": []string{"user_id", "auth_token"}}
	d := startDaemon(t, cfg)
	cliNotify(t, c.exchange, topic, pyNotification{Priority: "info", PublisherID: "volume.host1", EventType: "testkit.volume.created",
		Ctxt: `{"request_id": "req-hidden", "user_id": "u1", "project_id": "p1", "auth_token": "secret"}`, Payload: `{"k": 1}`})
	got := c.seen.wait("testkit.seen", func(n notification) bool { return n.requestID() == "req-hidden" })
	for key, want := range map[string]string{"user_id": "", "project_id": `"p1"`, "auth_token": ""} {
		if v := got.ctxtValue(key); v != want {
			t.Errorf("context %s of the guest's notification: %q, want %q", key, v, want)
		}
	}
	waitDrained(t, topic+".info")
	d.stop()
	c.seen.stop()
}
