package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hand-written hostile modules (host/wasm/testdata/*.wat, built with
// wabt's wat2wasm by `make modules`) served by the daemon binary: each is
// refused at start or at swap, or its calls fail, with a clear error; the
// daemon serves on.

// hostileTenant is the tenant the hostile modules run under.
var hostileTenant = map[string]any{"memory_limit": "16MiB", "call_timeout": "2s", "max_instances": 2}

// refusedModules are modules the daemon must not load, with a part of the
// error that must say why.
var refusedModules = []struct{ wat, why string }{
	{"init_loop", "module initialization failed"},
	{"init_trap", "module initialization failed"},
	{"empty", "ABI version mismatch"},
	{"command", "WASI command"},
	{"no_memory", "memory"},
	{"manifest_oob", "invalid manifest"},
	{"garbage_manifest", "invalid manifest"},
	{"abi_v2", "ABI version mismatch"},
	{"bad_import", "frobnicate"},
	{"bad_signature", "wrong signature"},
	{"bad_alloc", "wrong signature"},
	{"missing_export", "rpc.gone"},
	{"reserved_export", "wasmrpc.alloc"},
	{"big_memory", "memory limit"},
}

// TestHostileModuleRefusedAtStart: a daemon whose module is hostile exits
// with a non-zero status before it serves, its last line naming the
// module and the reason; a module whose _initialize never returns is
// stopped at the tenant's call_timeout.
func TestHostileModuleRefusedAtStart(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	for _, tc := range refusedModules {
		t.Run(tc.wat, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			code, stderr := refusedStart(t, daemonConfig{
				Exchange: ex, Server: "s1", Tenant: hostileTenant,
				Modules: []moduleConfig{{Name: "hostile", Topic: n.prefix + "_never", Files: []string{watModule(t, tc.wat)}}},
			}, time.Minute)
			msg := lastLine(stderr)
			if code == 0 || !strings.Contains(msg, "module hostile") || !strings.Contains(msg, tc.why) {
				t.Fatalf("exit code %d, last line %q; want a non-zero exit and a line naming module hostile and %q\n%s", code, msg, tc.why, stderr)
			}
			t.Logf("exit %d after %v: %s", code, time.Since(start).Round(time.Millisecond), msg)
		})
	}
}

// TestHostileModuleRefusedAtSwap replaces a serving module's file with
// each hostile module in turn: the admin reload answers 422 with the
// reason, the module's last error says it, and the version before serves
// on.
func TestHostileModuleRefusedAtSwap(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("swap", "s1")
	file := filepath.Join(t.TempDir(), "mod.wasm")
	good := readModule(t, watModule(t, "echo"))
	placeFile(t, good, file)
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1", Tenant: hostileTenant,
		Modules: []moduleConfig{{Name: "hostile", Topic: topic, Files: []string{file}}},
	})
	c := startClient(t, n, ex, "")
	for _, tc := range refusedModules {
		t.Run(tc.wat, func(t *testing.T) {
			placeFile(t, readModule(t, watModule(t, tc.wat)), file)
			var answer struct {
				Error  string       `json:"error"`
				Module moduleStatus `json:"module"`
			}
			start := time.Now()
			code, err := d.adminRequest(http.MethodPost, "/v1/modules/hostile/reload", &answer)
			if err != nil || code != http.StatusUnprocessableEntity || !strings.Contains(answer.Error, tc.why) {
				t.Errorf("reload: %d %v %q; want 422 and an error saying %q", code, err, answer.Error, tc.why)
			}
			if st := answer.Module; st.Swaps != 0 || st.State != "serving" || len(st.Versions) != 1 || st.Versions[0].Digest != sha256Hex(good) {
				t.Errorf("status after the refusal: %+v", st)
			}
			t.Logf("refused after %v: %s", time.Since(start).Round(time.Millisecond), answer.Error)
			value := fmt.Sprintf(`"after %s"`, tc.wat)
			out := c.call(t, Request{Topic: topic, Method: "echo", Args: `{"value": ` + value + `}`})
			if err := out.check(`ok {"value": ` + value + `}`); err != nil {
				t.Errorf("echo after the refusal: %v", err)
			}
		})
	}
}

// TestHostileCalls calls methods of modules that misbehave at run time:
// trap, return pointers outside their memory, grow memory without bound,
// loop, sleep, return garbage or too much, exit. Each call fails with a
// clear remote error and the module serves on.
func TestHostileCalls(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topics := map[string]string{}
	var mods []moduleConfig
	for _, wat := range []string{"misbehave", "alloc_oob", "alloc_fails"} {
		topics[wat] = n.topic(wat, "s1")
		mods = append(mods, moduleConfig{Name: strings.ReplaceAll(wat, "_", "-"), Topic: topics[wat], Files: []string{watModule(t, wat)}})
	}
	d := startDaemon(t, daemonConfig{Exchange: ex, Server: "s1", Tenant: hostileTenant, Modules: mods})
	c := startClient(t, n, ex, "")
	tests := []struct {
		wat, method string
		want, why   string
	}{
		{"misbehave", "trap", "error RuntimeError", "guest trapped"},
		{"misbehave", "oob_ptr", "error RuntimeError", "pointer outside its memory"},
		{"misbehave", "oob_len", "error RuntimeError", "pointer outside its memory"},
		{"misbehave", "grow", "error MemoryError", "memory limit"},
		{"misbehave", "huge", "error RuntimeError", "size cap"},
		{"misbehave", "spin", "error TimeoutError", "stopped at its deadline"},
		{"misbehave", "sleep", "error TimeoutError", "stopped at its deadline"},
		{"misbehave", "bad_cbor", "error RuntimeError", "malformed result"},
		{"misbehave", "not_result", "error RuntimeError", "malformed result"},
		{"misbehave", "exit", "error RuntimeError", "exit"},
		{"alloc_oob", "echo", "error RuntimeError", "pointer outside its memory"},
		{"alloc_fails", "echo", "error RuntimeError", "could not allocate"},
	}
	for _, tc := range tests {
		t.Run(tc.wat+"."+tc.method, func(t *testing.T) {
			out := c.call(t, Request{Topic: topics[tc.wat], Method: tc.method, Timeout: 60})
			if err := out.check(tc.want); err != nil {
				t.Errorf("%v", err)
			} else if !strings.Contains(out.Error.Message, tc.why) {
				t.Errorf("message %q lacks %q", out.Error.Message, tc.why)
			}
			t.Logf("%v", out)
			if tc.wat != "misbehave" {
				return // its echo is what fails
			}
			value := fmt.Sprintf(`"after %s"`, tc.method)
			if err := c.call(t, Request{Topic: topics[tc.wat], Method: "echo", Args: `{"value": ` + value + `}`}).check(`ok {"value": ` + value + `}`); err != nil {
				t.Errorf("echo after %s: %v", tc.method, err)
			}
		})
	}
	if st := d.moduleStatus(t, "misbehave"); st.State != "serving" || st.Swaps != 0 {
		t.Errorf("misbehave after the calls: %+v", st)
	}
}
