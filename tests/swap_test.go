package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// swapEnv is a daemon serving testkit from a file of its own directory,
// which the test replaces, and a Python client.
type swapEnv struct {
	names  *names
	topic  string
	file   string // the module file the daemon watches
	daemon *daemon
	client *pyClient
}

// newSwapEnv starts a daemon serving the module file initial (a checkout
// path) copied to a directory of the test's, with module keys extra
// (sha256…).
func newSwapEnv(t *testing.T, initial string, extra map[string]any) *swapEnv {
	t.Helper()
	n := newNames(t)
	ex := n.exchange()
	e := &swapEnv{names: n, topic: n.topic("swap", "s1"), file: filepath.Join(t.TempDir(), "testkit.wasm")}
	placeFile(t, readModule(t, initial), e.file)
	e.daemon = startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Modules: []moduleConfig{{Name: "testkit", Topic: e.topic, Files: []string{e.file}, Extra: extra}},
	})
	e.client = startClient(t, n, ex, "")
	return e
}

// probe calls echo asking for version; the outcome tells which versions
// serve: ok when one is compatible, UnsupportedVersion when none is.
func (e *swapEnv) probe(t *testing.T, version string) Outcome {
	return e.client.call(t, Request{Method: "echo", Args: `{"value": "probe"}`, Topic: e.topic, Version: version, Timeout: 30})
}

// waitServed probes with calls asking for version until the outcome is
// want (see Outcome.check), and returns how long that took from since.
// It fails the test after a minute.
func (e *swapEnv) waitServed(t *testing.T, version, want string, since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out := e.probe(t, version)
		if out.check(want) == nil {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a call for %s still gets %v a minute after the swap, want %s; module %+v",
				version, out, want, e.daemon.moduleStatus(t, "testkit"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// load is steady load on a topic: callers each making one echo call after
// the other, each call checked.
type load struct {
	calls, failures atomic.Int64
	stop            chan struct{}
	wg              sync.WaitGroup
	finished        sync.Once

	mu   sync.Mutex
	errs []string // the first failures
}

// startLoad starts callers that call echo on topic asking for version
// until stopped.
func startLoad(c *pyClient, topic, version string, callers int) *load {
	l := &load{stop: make(chan struct{})}
	for g := range callers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				value := fmt.Sprintf(`"load-%d-%d"`, g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				out, err := c.do(ctx, Request{Method: "echo", Args: `{"value": ` + value + `}`, Topic: topic, Version: version, Timeout: 60})
				cancel()
				l.calls.Add(1)
				if err == nil && !out.resultIs(value) {
					err = fmt.Errorf("echo %s: %v", value, out)
				}
				if err != nil {
					l.failures.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// finish stops the callers, waits for their last calls and fails t when
// a call failed or none was made. It runs once; later calls do nothing.
func (l *load) finish(t *testing.T) {
	t.Helper()
	l.finished.Do(func() { l.check(t) })
}

func (l *load) check(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d of %d calls under load failed; first: %s", n, l.calls.Load(), strings.Join(l.errs, "; "))
	}
	if l.calls.Load() == 0 {
		t.Error("no call was made under load")
	}
}

// TestHotSwapUnderLoad replaces the module file of a serving daemon with
// testkit 1.6, 1.5 and a corrupt file, by atomic renames, while a Python
// oslo.messaging client calls it without pause: no call fails, each new
// version is served soon after its swap (a call for 1.6 succeeds after a
// swap to 1.6 and gets UnsupportedVersion after a swap back to 1.5), and
// the corrupt file is refused while the version before it serves on.
func TestHotSwapUnderLoad(t *testing.T) {
	e := newSwapEnv(t, modules.testkit, nil)
	v15, v16 := readModule(t, modules.testkit), readModule(t, modules.testkit16)
	corrupt := v16[:len(v16)/2] // a copy cut short

	if err := e.probe(t, "1.6").check("remote UnsupportedVersion"); err != nil {
		t.Fatalf("before any swap, a call for 1.6: %v", err)
	}
	l := startLoad(e.client, e.topic, "1.5", 4)
	defer l.finish(t)

	steps := []struct {
		name string
		data []byte
		// served is the outcome of a call for 1.6 once the swap is done.
		served string
	}{
		{"to 1.6", v16, `ok "probe"`},
		{"back to 1.5", v15, "remote UnsupportedVersion"},
		{"to 1.6 again", v16, `ok "probe"`},
		{"corrupt", corrupt, ""},
		{"back to 1.5 after the corrupt file", v15, "remote UnsupportedVersion"},
		{"to 1.6 a third time", v16, `ok "probe"`},
		{"back to 1.5 at last", v15, "remote UnsupportedVersion"},
	}
	swaps, refused := 0, 0
	for _, s := range steps {
		before := l.calls.Load()
		start := time.Now()
		placeFile(t, s.data, e.file)
		if s.served == "" {
			refused++
			st := e.daemon.waitModule(t, "testkit", "refusal", func(st moduleStatus) bool { return st.LastError != "" })
			if st.Swaps != swaps || st.State != "serving" || !strings.Contains(st.LastError, "module testkit") ||
				!strings.Contains(st.LastError, "not a valid wasmrpcd module") {
				t.Errorf("%s: status after the refusal %+v", s.name, st)
			}
			t.Logf("%s: refused after %v: %s", s.name, time.Since(start).Round(time.Millisecond), st.LastError)
			// The version before it serves on.
			if err := e.probe(t, "1.6").check(`ok "probe"`); err != nil {
				t.Errorf("%s: a call for 1.6 after the refusal: %v", s.name, err)
			}
			continue
		}
		swaps++
		took := e.waitServed(t, "1.6", s.served, start)
		st := e.daemon.waitModule(t, "testkit", "swap", func(st moduleStatus) bool { return st.Swaps == swaps })
		if st.LastError != "" || st.State != "serving" || st.Versions[0].Digest != sha256Hex(s.data) {
			t.Errorf("%s: status after the swap %+v", s.name, st)
		}
		t.Logf("%s: a call for 1.6 got %s %v after the rename (%d calls under load meanwhile)",
			s.name, s.served, took.Round(time.Millisecond), l.calls.Load()-before)
	}
	l.finish(t)

	m := e.daemon.metrics(t)
	for key, want := range map[string]float64{
		`wasmrpcd_module_swaps_total{module="testkit",result="ok",tenant="default"}`:      float64(swaps),
		`wasmrpcd_module_swaps_total{module="testkit",result="refused",tenant="default"}`: float64(refused),
	} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v", key, m[key], want)
		}
	}
	refusals := e.daemon.records(func(r logRecord) bool { return r.Msg == "module swap refused; the old version goes on serving" })
	if len(refusals) != refused {
		t.Errorf("%d refusals logged, want %d", len(refusals), refused)
	}
}

// TestSwapOnAdminReload swaps through the admin API instead of the file
// watcher: POST /v1/modules/testkit/reload after the file changed serves
// the new version at once (the watcher may have been first: then the
// request finds the files unchanged), and a request on an unknown module
// is a 404.
func TestSwapOnAdminReload(t *testing.T) {
	e := newSwapEnv(t, modules.testkit, nil)
	placeFile(t, readModule(t, modules.testkit16), e.file)
	var answer struct {
		Reloaded bool         `json:"reloaded"`
		Module   moduleStatus `json:"module"`
		Error    string       `json:"error"`
	}
	code, err := e.daemon.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", &answer)
	if err != nil || code != http.StatusOK {
		t.Fatalf("reload: %d %v %+v", code, err, answer)
	}
	if got := answer.Module.endpointVersions(); len(got) != 1 || got[0] != "1.6" || answer.Module.Swaps != 1 {
		t.Fatalf("reload answered %+v", answer)
	}
	if err := e.probe(t, "1.6").check(`ok "probe"`); err != nil {
		t.Fatalf("a call for 1.6 once the reload answered: %v", err)
	}
	code, err = e.daemon.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", &answer)
	if err != nil || code != http.StatusOK || answer.Reloaded || answer.Module.Swaps != 1 {
		t.Fatalf("reload of unchanged files: %d %v %+v", code, err, answer)
	}
	code, err = e.daemon.adminRequest(http.MethodPost, "/v1/modules/nosuchmodule/reload", &answer)
	if err != nil || code != http.StatusNotFound {
		t.Fatalf("reload of an unknown module: %d %v %+v", code, err, answer)
	}
}

// TestIntegrityPinAtStart: a module file whose content is not the one its
// sha256 pins stops the daemon before it serves anything, with a message
// naming the file and both digests.
func TestIntegrityPinAtStart(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	v15, v16 := readModule(t, modules.testkit), readModule(t, modules.testkit16)
	tests := []struct {
		name   string
		module moduleConfig
		want   string // the digest the daemon must say it found
	}{
		{"path", moduleConfig{Files: []string{modules.testkit}, Extra: map[string]any{"sha256": sha256Hex(v16)}}, sha256Hex(v15)},
		{"second of versions", moduleConfig{Extra: map[string]any{"versions": []map[string]string{
			{"path": checkoutPath(modules.testkit), "sha256": sha256Hex(v15)},
			{"path": checkoutPath(modules.testkit16), "sha256": sha256Hex(v15)},
		}}}, sha256Hex(v16)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.module.Name, tc.module.Topic = "testkit", n.topic("pinned")
			code, stderr := refusedStart(t, daemonConfig{Exchange: ex, Server: "s1", Modules: []moduleConfig{tc.module}}, time.Minute)
			msg := lastLine(stderr)
			if code == 0 || !strings.Contains(msg, "sha256 is "+tc.want) || !strings.Contains(msg, "the config pins") || !strings.Contains(msg, ".wasm") {
				t.Fatalf("exit code %d, last line %q; want a non-zero exit and a message naming the file and the digests; stderr:\n%s", code, msg, stderr)
			}
			t.Logf("exit %d: %s", code, msg)
		})
	}
}

// TestIntegrityPinAtSwap: a file that replaces a pinned module with other
// content is refused, the pinned version serves on and the module's last
// error says why; putting the pinned content back is no swap at all.
func TestIntegrityPinAtSwap(t *testing.T) {
	v15 := readModule(t, modules.testkit)
	e := newSwapEnv(t, modules.testkit, map[string]any{"sha256": sha256Hex(v15)})
	l := startLoad(e.client, e.topic, "1.5", 2)
	defer l.finish(t)

	placeFile(t, readModule(t, modules.testkit16), e.file)
	st := e.daemon.waitModule(t, "testkit", "refusal", func(st moduleStatus) bool { return st.LastError != "" })
	if st.Swaps != 0 || !strings.Contains(st.LastError, "the config pins "+sha256Hex(v15)) {
		t.Fatalf("status after a file with another digest: %+v", st)
	}
	if err := e.probe(t, "1.6").check("remote UnsupportedVersion"); err != nil {
		t.Errorf("a call for 1.6 after the refused swap: %v", err)
	}
	var answer struct {
		Error string `json:"error"`
	}
	code, err := e.daemon.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", &answer)
	if err != nil || code != http.StatusUnprocessableEntity || !strings.Contains(answer.Error, "sha256") {
		t.Errorf("admin reload of the unpinned file: %d %v %+v", code, err, answer)
	}

	placeFile(t, v15, e.file)
	code, err = e.daemon.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", nil)
	if err != nil || code != http.StatusOK {
		t.Errorf("admin reload of the pinned file: %d %v", code, err)
	}
	if st := e.daemon.moduleStatus(t, "testkit"); st.Swaps != 0 || st.Versions[0].Digest != sha256Hex(v15) {
		t.Errorf("status with the pinned file back: %+v", st)
	}
	if err := e.probe(t, "1.5").check(`ok "probe"`); err != nil {
		t.Errorf("a call for 1.5: %v", err)
	}
}

// TestVersionsSideBySide serves testkit 1.5 and 2.0 as one module
// (`versions:`) on one topic: each call goes to the version compatible
// with the one it asks for, as oslo's dispatcher decides (same major, the
// endpoint's minor at least the requested one; no version is 1.0), and a
// call no version is compatible with gets UnsupportedVersion.
func TestVersionsSideBySide(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("versions", "s1")
	needModule(t, moreModules.testkit20)
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Modules: []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{modules.testkit, moreModules.testkit20}}},
	})
	if got := d.moduleStatus(t, "testkit").endpointVersions(); fmt.Sprint(got) != "[1.5 2.0]" {
		t.Fatalf("endpoint versions %v, want [1.5 2.0]", got)
	}
	c := startClient(t, n, ex, "")
	tests := []struct{ version, want string }{
		{"", `ok "v"`},
		{"1.0", `ok "v"`},
		{"1.5", `ok "v"`},
		{"1.6", "remote UnsupportedVersion"},
		{"2.0", `ok "v"`},
		{"2.0.0", `ok "v"`},
		{"2.1", "remote UnsupportedVersion"},
		{"3.0", "remote UnsupportedVersion"},
		{"0.9", "remote UnsupportedVersion"},
	}
	for _, tc := range tests {
		t.Run("version "+tc.version, func(t *testing.T) {
			out := c.call(t, Request{Method: "echo", Args: `{"value": "v"}`, Topic: topic, Version: tc.version})
			if err := out.check(tc.want); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReconfigureOnSIGHUP changes the config file of a running daemon and
// sends SIGHUP: a module moves to another file (1.5 to 1.6 and 2.0 side by
// side) and a module is added; a config that does not load is refused and
// nothing changes; a config whose new module file is hostile is applied
// but for that module, whose old version serves on.
func TestReconfigureOnSIGHUP(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic, added := n.topic("main", "s1"), n.topic("added", "s1")
	needModule(t, moreModules.testkit20)
	cfg := daemonConfig{Exchange: ex, Server: "s1", Modules: []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{modules.testkit}}}}
	d := startDaemon(t, cfg)
	c := startClient(t, n, ex, "")
	path := d.cmd.Args[len(d.cmd.Args)-1] // run --config PATH
	hup := func(t *testing.T, text []byte, want string) {
		t.Helper()
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		from := d.logLen()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rec, err := d.waitLog(ctx, from, func(r logRecord) bool { return strings.HasPrefix(r.Msg, "SIGHUP: ") })
		if err != nil {
			t.Fatalf("no SIGHUP outcome logged: %v", err)
		}
		if rec.Msg != want {
			t.Fatalf("SIGHUP: %s (%s), want %q", rec.Msg, rec.attr("err"), want)
		}
	}
	yamlOf := func(cfg daemonConfig) []byte {
		text, err := cfg.yaml()
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	call := func(t *testing.T, topic, version, want string) {
		t.Helper()
		out := c.call(t, Request{Method: "echo", Args: `{"value": "v"}`, Topic: topic, Version: version})
		if err := out.check(want); err != nil {
			t.Errorf("call for %s on %s: %v", version, topic, err)
		}
	}

	next := cfg
	next.Modules = []moduleConfig{
		{Name: "testkit", Topic: topic, Files: []string{modules.testkit16, moreModules.testkit20}},
		{Name: "added", Topic: added, Files: []string{modules.testkit}},
	}
	hup(t, yamlOf(next), "SIGHUP: config applied")
	call(t, topic, "1.6", `ok "v"`)
	call(t, topic, "2.0", `ok "v"`)
	call(t, added, "1.5", `ok "v"`)
	if st := d.moduleStatus(t, "testkit"); fmt.Sprint(st.endpointVersions()) != "[1.6 2.0]" || st.Swaps != 1 {
		t.Errorf("testkit after the reconfigure: %+v", st)
	}

	hup(t, append(yamlOf(next), "no_such_key: 1\n"...), "SIGHUP: config refused; nothing changed")
	call(t, topic, "2.0", `ok "v"`)
	call(t, added, "1.5", `ok "v"`)

	hostile := next
	hostile.Modules = []moduleConfig{next.Modules[0], {Name: "added", Topic: added, Files: []string{watModule(t, "init_trap")}}}
	hup(t, yamlOf(hostile), "SIGHUP: config applied with errors")
	call(t, added, "1.5", `ok "v"`)
	if st := d.moduleStatus(t, "added"); !strings.Contains(st.LastError, "module initialization failed") || st.Swaps != 0 {
		t.Errorf("added after a hostile file: %+v", st)
	}
}

// TestCompilesOutOfProcess: a daemon with a cache_dir compiles each
// module its cache does not hold in a process of its own (`wasmrpcd
// compile`), at start and at a swap, and then loads it from the cache;
// a module the cache holds is not compiled again.
func TestCompilesOutOfProcess(t *testing.T) {
	n := newNames(t)
	topic := n.topic("compile", "s1")
	file := filepath.Join(t.TempDir(), "testkit.wasm")
	placeFile(t, readModule(t, modules.testkit), file)
	d := startDaemon(t, daemonConfig{
		Exchange: n.exchange(), Server: "s1",
		Modules: []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{file}}},
		Extra:   map[string]any{"cache_dir": t.TempDir()},
	})
	compiled := func() int {
		return len(d.records(func(r logRecord) bool {
			return r.Msg == "module compiled out of process" && r.attr("module") == "testkit"
		}))
	}
	if got := compiled(); got != 1 {
		t.Fatalf("%d out-of-process compiles logged at start, want 1", got)
	}
	for i, data := range [][]byte{readModule(t, modules.testkit16), readModule(t, modules.testkit)} {
		placeFile(t, data, file)
		d.waitModule(t, "testkit", "swap", func(st moduleStatus) bool { return st.Swaps == i+1 })
	}
	// 1.6 is new to the cache; 1.5 is back from it.
	if got := compiled(); got != 2 {
		t.Errorf("%d out-of-process compiles logged after two swaps, want 2", got)
	}
}
