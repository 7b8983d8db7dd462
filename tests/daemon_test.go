package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// daemonConfig is what one test daemon serves; startDaemon writes it as
// the daemon's YAML config.
type daemonConfig struct {
	Exchange string // control_exchange
	Server   string
	Modules  []moduleConfig
	// Rabbit holds options of the rabbit section (oslo's names).
	Rabbit map[string]any
	// Tenant holds keys of the default tenant (memory_limit, call_timeout…).
	Tenant map[string]any
	// Extra holds more top-level keys (tenants, executor_threads…), set
	// over those above.
	Extra map[string]any
}

// moduleConfig is one module of a daemonConfig.
type moduleConfig struct {
	Name  string
	Topic string
	// Files are paths relative to the checkout: one is `path`, several
	// are `versions`.
	Files  []string
	Server string // "" is the daemon's
	// Extra holds more keys of the module (tenant, sha256…), set over
	// those above.
	Extra map[string]any
}

// checkoutPath returns a path relative to the checkout as an absolute
// one; an absolute path stays as it is.
func checkoutPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(repoRoot, path)
}

// yaml returns the config file's text.
func (c daemonConfig) yaml() ([]byte, error) {
	mods := make([]map[string]any, 0, len(c.Modules))
	for _, m := range c.Modules {
		mod := map[string]any{"name": m.Name, "topic": m.Topic}
		if len(m.Files) == 1 {
			mod["path"] = checkoutPath(m.Files[0])
		} else {
			var versions []map[string]string
			for _, f := range m.Files {
				versions = append(versions, map[string]string{"path": checkoutPath(f)})
			}
			mod["versions"] = versions
		}
		if m.Server != "" {
			mod["server"] = m.Server
		}
		for k, v := range m.Extra {
			mod[k] = v
		}
		mods = append(mods, mod)
	}
	doc := map[string]any{
		"transport_url":    rabbitURL(""),
		"control_exchange": c.Exchange,
		"server":           c.Server,
		"admin_listen":     "127.0.0.1:0",
		"cache_dir":        cacheDir,
		"cache_key_file":   cacheKeyFile,
		"shutdown_timeout": "20s",
		"log":              map[string]string{"level": "debug", "format": "json"},
		"modules":          mods,
	}
	if len(c.Rabbit) > 0 {
		doc["rabbit"] = c.Rabbit
	}
	if len(c.Tenant) > 0 {
		doc["tenants"] = map[string]any{"default": c.Tenant}
	}
	for k, v := range c.Extra {
		doc[k] = v
	}
	return yaml.Marshal(doc)
}

// testkitConfig is a daemon on exchange serving modules/testkit (1.5) on
// topic as server.
func testkitConfig(exchange, topic, server string) daemonConfig {
	return daemonConfig{
		Exchange: exchange,
		Server:   server,
		Modules:  []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{modules.testkit}}},
	}
}

// daemon is a running wasmrpcd binary.
type daemon struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	log   *output // stderr: one JSON record a line
	admin string  // the admin server's host:port, or unix:/path
	// token is the admin API's bearer token, "" for none.
	token string
	// exited is closed when the process has ended; err is then its exit.
	exited chan struct{}
	err    error

	stopOnce sync.Once
}

// startDaemon writes cfg to a temporary directory, starts wasmrpcd run on
// it and waits until /readyz says ready. At the end of the test it stops
// the daemon with SIGTERM and fails the test unless it exits with status 0
// and without a panic.
func startDaemon(t *testing.T, cfg daemonConfig) *daemon {
	t.Helper()
	text, err := cfg.yaml()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wasmrpcd.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemonBin, "run", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("wasmrpcd: %v", err)
	}
	d := &daemon{t: t, name: cfg.Server, cmd: cmd, log: newOutput(), exited: make(chan struct{})}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		d.log.read(stderr)
	}()
	go func() {
		<-logDone // Wait closes the pipe: read it all first
		d.err = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("wasmrpcd %s log (last lines):\n%s", d.name, d.log.tail(15))
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := d.waitLog(ctx, 0, func(r logRecord) bool { return r.Msg == "admin listening" })
	if err != nil {
		t.Fatalf("wasmrpcd %s did not start its admin server: %v\n%s", d.name, err, d.log.tail(20))
	}
	d.admin, _ = rec.Attrs["addr"].(string)
	if err := d.waitReady(ctx); err != nil {
		t.Fatalf("wasmrpcd %s: %v\n%s", d.name, err, d.log.tail(20))
	}
	return d
}

// readyz returns the /readyz status code and body.
func (d *daemon) readyz(ctx context.Context) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.adminURL("/readyz"), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := d.adminClient().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitReady polls /readyz until it answers 200, the daemon exits or ctx
// ends.
func (d *daemon) waitReady(ctx context.Context) error {
	var last string
	for {
		code, body, err := d.readyz(ctx)
		if err == nil && code == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("%d %s %v", code, strings.TrimSpace(body), err)
		select {
		case <-d.exited:
			return fmt.Errorf("exited (%v) before it was ready", d.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready (last /readyz: %s): %w", last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// running reports whether the process is still there.
func (d *daemon) running() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits for the exit and checks it was clean: status
// 0, no panic or fatal error in the log. It runs once; later calls do
// nothing.
func (d *daemon) stop() {
	d.stopOnce.Do(func() {
		t := d.t
		if d.running() {
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
		} else {
			t.Errorf("wasmrpcd %s exited by itself: %v", d.name, d.err)
		}
		select {
		case <-d.exited:
		case <-time.After(time.Minute):
			_ = d.cmd.Process.Kill()
			<-d.exited
			t.Errorf("wasmrpcd %s did not stop within a minute of SIGTERM", d.name)
		}
		if d.err != nil {
			t.Errorf("wasmrpcd %s exit: %v", d.name, d.err)
		}
		for _, l := range d.log.snapshot() {
			if _, ok := parseRecord(l); ok {
				continue // a log record (a guest's stderr among them), not the daemon's crash
			}
			if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") || strings.Contains(l, "goroutine ") && strings.Contains(l, "[running]") {
				t.Errorf("wasmrpcd %s log: %s", d.name, l)
			}
		}
	})
}

// logRecord is one line of the daemon's JSON log.
type logRecord struct {
	Level string
	Msg   string
	Attrs map[string]any // every key, level and msg included
}

// parseRecord reads a log line; ok is false for a line that is not a
// JSON record (a panic's stack, say).
func parseRecord(line string) (r logRecord, ok bool) {
	if err := json.Unmarshal([]byte(line), &r.Attrs); err != nil {
		return r, false
	}
	r.Level, _ = r.Attrs["level"].(string)
	r.Msg, _ = r.Attrs["msg"].(string)
	return r, true
}

// attr returns attribute key as text ("" when absent).
func (r logRecord) attr(key string) string {
	switch v := r.Attrs[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// records returns the log records that match.
func (d *daemon) records(match func(logRecord) bool) []logRecord {
	var out []logRecord
	for _, l := range d.log.snapshot() {
		if r, ok := parseRecord(l); ok && match(r) {
			out = append(out, r)
		}
	}
	return out
}

// waitLog waits for a record from line index from on that matches.
func (d *daemon) waitLog(ctx context.Context, from int, match func(logRecord) bool) (logRecord, error) {
	line, _, err := d.log.waitFor(ctx, from, func(l string) bool {
		r, ok := parseRecord(l)
		return ok && match(r)
	})
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("wasmrpcd %s exited (%v) without such a log line", d.name, d.err)
		}
		return logRecord{}, err
	}
	r, _ := parseRecord(line)
	return r, nil
}

// logLen returns how many lines the daemon has written, to wait for the
// lines after it.
func (d *daemon) logLen() int { return len(d.log.snapshot()) }

// failures returns how many requests the daemon has logged as ending in an
// exception whose message contains marker: a way to see that a call or
// cast of testkit's fail reached this daemon.
func (d *daemon) failures(marker string) int {
	return len(d.records(func(r logRecord) bool {
		return (r.Msg == "rpc: exception during message handling" || r.Msg == "rpc: expected exception") &&
			strings.Contains(r.attr("message"), marker)
	}))
}

// rss returns the daemon process's resident memory in bytes.
func (d *daemon) rss(t *testing.T) int64 { return d.memory(t, "VmRSS") }

// peakRSS returns the daemon process's peak resident memory in bytes.
func (d *daemon) peakRSS(t *testing.T) int64 { return d.memory(t, "VmHWM") }

// memory returns a size in bytes of the daemon's /proc/PID/status, such
// as VmRSS.
func (d *daemon) memory(t *testing.T, key string) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				t.Fatalf("%s %q: %v", key, v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/PID/status", key)
	return 0
}
