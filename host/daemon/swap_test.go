package daemon

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

const swapConfig = `
modules:
  - name: testkit
    path: tk.wasm
    topic: {{ex}}tk
`

func TestSwapOnFileRename(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, swapConfig)
	topic := r.exchange + "tk"
	if got := r.mustCall(topic, "1.5", "echo", map[string]any{"value": "a"}); got != "a" {
		t.Fatalf("echo = %v", got)
	}
	rep, err := r.call(topic, "1.6", "echo", map[string]any{"value": "a"})
	if err != nil || rep.Failure == nil || rep.Failure.Class != "UnsupportedVersion" {
		t.Fatalf("1.6 before the swap: %+v, %v", rep.Failure, err)
	}

	r.place(testkit16, "tk.wasm")
	waitFor(t, "the swap to 1.6", func() bool { return r.status("testkit").Swaps == 1 })
	if got := r.mustCall(topic, "1.6", "echo", map[string]any{"value": "b"}); got != "b" {
		t.Fatalf("echo on 1.6 = %v", got)
	}
	st := r.status("testkit")
	if st.Versions[0].Endpoints[0].Version != "1.6" || st.LastError != "" || st.State != stateServing {
		t.Fatalf("status after the swap: %+v", st)
	}

	// A corrupt file is refused; 1.6 serves on.
	r.placeBytes([]byte("\x00asm garbage"), "tk.wasm")
	waitFor(t, "the refusal", func() bool { return r.status("testkit").LastError != "" })
	st = r.status("testkit")
	if st.Swaps != 1 || st.Versions[0].Endpoints[0].Version != "1.6" || !strings.Contains(st.LastError, "module testkit") {
		t.Fatalf("status after a corrupt file: %+v", st)
	}
	if got := r.mustCall(topic, "1.6", "echo", map[string]any{"value": "c"}); got != "c" {
		t.Fatalf("echo after the refusal = %v", got)
	}
	// The admin reload says the same.
	var answer map[string]any
	if code := r.admin("POST", "/v1/modules/testkit/reload", &answer); code != http.StatusUnprocessableEntity {
		t.Fatalf("reload of a corrupt file: %d %v", code, answer)
	}

	// Back to 1.5 through the admin API after a plain copy the watcher
	// also sees.
	r.place(testkit15, "tk.wasm")
	waitFor(t, "the swap back to 1.5", func() bool { return r.status("testkit").Swaps == 2 })
	rep, err = r.call(topic, "1.6", "echo", map[string]any{"value": "d"})
	if err != nil || rep.Failure == nil || rep.Failure.Class != "UnsupportedVersion" {
		t.Fatalf("1.6 after the swap back: %+v, %v", rep.Failure, err)
	}
	if code := r.admin("POST", "/v1/modules/testkit/reload", &answer); code != http.StatusOK || answer["reloaded"] != false {
		t.Fatalf("reload of unchanged files: %d %v", code, answer)
	}
}

func TestSwapLosesNoCall(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, swapConfig)
	topic := r.exchange + "tk"
	var stop atomic.Bool
	var calls, failures atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				rep, err := r.call(topic, "1.5", "echo", map[string]any{"value": "x"})
				calls.Add(1)
				if err != nil || rep.Failure != nil {
					failures.Add(1)
					t.Errorf("call during swaps: %v %v", err, rep.Failure)
				}
			}
		}()
	}
	for i := 0; i < 4; i++ {
		src, want := testkit16, i+1
		if i%2 == 1 {
			src = testkit15
		}
		r.place(src, "tk.wasm")
		waitFor(t, "a swap", func() bool { return r.status("testkit").Swaps == want })
	}
	stop.Store(true)
	wg.Wait()
	if calls.Load() == 0 || failures.Load() != 0 {
		t.Fatalf("%d calls, %d failed", calls.Load(), failures.Load())
	}
	t.Logf("%d calls across 4 swaps, none failed", calls.Load())
}

func TestReconfigure(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15, "tk16.wasm": testkit16}, `
modules:
  - name: testkit
    path: tk.wasm
    topic: {{ex}}tk
  - name: gone
    path: tk.wasm
    topic: {{ex}}gone
`)
	cfgPath := filepath.Join(r.dir, "wasmrpcd.yaml")
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// testkit moves to another topic, gone goes, added comes with 1.6.
	next := strings.Replace(string(text), "topic: "+r.exchange+"tk\n", "topic: "+r.exchange+"moved\n", 1)
	next = strings.Replace(next, "  - name: gone\n    path: tk.wasm\n    topic: "+r.exchange+"gone\n",
		"  - name: added\n    path: tk16.wasm\n    topic: "+r.exchange+"added\n", 1)
	if err := os.WriteFile(cfgPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r.extraQueues = append(r.extraQueues, r.exchange+"moved", r.exchange+"moved.host-a", r.exchange+"added", r.exchange+"added.host-a")
	if err := r.d.Reconfigure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := r.mustCall(r.exchange+"moved", "1.5", "echo", map[string]any{"value": 1}); got != int64(1) {
		t.Fatalf("moved module answered %v", got)
	}
	if got := r.mustCall(r.exchange+"added", "1.6", "echo", map[string]any{"value": 2}); got != int64(2) {
		t.Fatalf("added module answered %v", got)
	}
	if r.d.module("gone") != nil {
		t.Fatal("removed module still listed")
	}
	var list struct{ Modules []moduleStatus }
	r.admin("GET", "/v1/modules", &list)
	if len(list.Modules) != 2 || list.Modules[0].Name != "testkit" || list.Modules[1].Name != "added" {
		t.Fatalf("modules after reconfigure: %+v", list.Modules)
	}
	if !r.d.Ready() {
		t.Fatal("not ready after reconfigure")
	}
}

func TestMetricsLabelsAreBounded(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, swapConfig)
	topic := r.exchange + "tk"
	r.mustCall(topic, "1.5", "echo", map[string]any{"value": 1})
	r.call(topic, "1.5", "no_such_method_caller_chose", nil)
	r.call(topic, "1.5", "fail", map[string]any{"kind": "CallerChoseThisClass", "message": "m"})
	r.call(topic, "1.5", "fail", map[string]any{"kind": "ValueError", "message": "m"})
	resp, err := http.Get("http://" + r.d.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, want := range []string{
		`wasmrpcd_rpc_requests_total{method="echo",module="testkit",outcome="ok",tenant="default"} 1`,
		`wasmrpcd_rpc_requests_total{method="(unknown)",module="testkit",outcome="error",tenant="default"} 1`,
		`wasmrpcd_rpc_errors_total{class="(other)",module="testkit",tenant="default"} 1`,
		`wasmrpcd_rpc_errors_total{class="ValueError",module="testkit",tenant="default"} 1`,
		`wasmrpcd_rpc_errors_total{class="NoSuchMethod",module="testkit",tenant="default"} 1`,
		`wasmrpcd_module_instances{module="testkit",tenant="default"}`,
		`wasmrpcd_broker_connected 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, never := range []string{"no_such_method_caller_chose", "CallerChoseThisClass"} {
		if strings.Contains(text, never) {
			t.Errorf("a caller's string %q became a label", never)
		}
	}
}

// TestSwapOnCopyInPlace: a file written in place by a copy (created empty,
// then written) is loaded once complete, and nothing is refused on the way.
func TestSwapOnCopyInPlace(t *testing.T) {
	r := newRig(t, map[string]string{"tk.wasm": testkit15}, swapConfig)
	data, err := os.ReadFile(testkit16)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(r.dir, "tk.wasm")) // truncates: a Write event, then the writes
	if err != nil {
		t.Fatal(err)
	}
	for chunk := data; len(chunk) > 0; {
		n := min(len(chunk), 256<<10)
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatal(err)
		}
		chunk = chunk[n:]
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swap to 1.6", func() bool {
		st := r.status("testkit")
		return len(st.Versions) == 1 && st.Versions[0].Endpoints[0].Version == "1.6"
	})
	if got := r.mustCall(r.exchange+"tk", "1.6", "echo", map[string]any{"value": "copied"}); got != "copied" {
		t.Fatalf("echo = %v", got)
	}
	if st := r.status("testkit"); st.LastError != "" {
		t.Fatalf("last error after a complete copy: %s", st.LastError)
	}
}
