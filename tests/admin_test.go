package tests

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The helpers of the live-operation tests (swaps, tenants, hostile
// modules): the daemon's module admin API and metrics, module files
// replaced as a deployment replaces them, and daemons that must refuse to
// start.

// moreModules are the modules those tests serve besides testkit 1.5 and
// 1.6; `make modules` builds them.
var moreModules = struct{ testkit20, wat string }{
	testkit20: "modules/testkit/testkit-v2.0.wasm",
	wat:       "host/wasm/testdata",
}

// needModule fails the test when a module file the test serves is missing.
func needModule(t *testing.T, path string) string {
	t.Helper()
	abs := checkoutPath(path)
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("module %s is missing: run `make modules`", path)
	}
	return abs
}

// watModule returns the path of host/wasm/testdata/NAME.wasm, built from
// its .wat by `make modules`.
func watModule(t *testing.T, name string) string {
	t.Helper()
	return needModule(t, filepath.Join(moreModules.wat, name+".wasm"))
}

// moduleStatus is a module as GET /v1/modules/{name} shows it.
type moduleStatus struct {
	Name      string `json:"name"`
	Tenant    string `json:"tenant"`
	State     string `json:"state"`
	Swaps     int    `json:"swaps"`
	LastError string `json:"last_error"`
	InFlight  int    `json:"in_flight"`
	Versions  []struct {
		Path      string `json:"path"`
		Digest    string `json:"digest"`
		Instances int    `json:"instances"`
		Endpoints []struct {
			Namespace string   `json:"namespace"`
			Version   string   `json:"version"`
			Methods   []string `json:"methods"`
		} `json:"endpoints"`
	} `json:"versions"`
}

// endpointVersions returns the versions of the endpoints the module
// serves, in order.
func (s moduleStatus) endpointVersions() []string {
	var out []string
	for _, v := range s.Versions {
		for _, ep := range v.Endpoints {
			out = append(out, ep.Version)
		}
	}
	return out
}

// adminRequest sends a request to the daemon's admin server and decodes
// the JSON answer into v (when not nil); it returns the status code.
func (d *daemon) adminRequest(method, path string, v any) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.adminURL(path), nil)
	if err != nil {
		return 0, err
	}
	if method != http.MethodGet {
		// What the admin API wants of a state change (cross-site
		// requests cannot send it).
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.adminClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s answered %q: %w", method, path, body, err)
		}
	}
	return resp.StatusCode, nil
}

// adminURL returns the URL of path on the daemon's admin server.
func (d *daemon) adminURL(path string) string {
	if strings.HasPrefix(d.admin, "unix:") {
		return "http://localhost" + path // adminClient dials the socket
	}
	return "http://" + d.admin + path
}

// adminClient returns the HTTP client of the daemon's admin server: the
// default one, or one that dials its unix socket.
func (d *daemon) adminClient() *http.Client {
	sock, ok := strings.CutPrefix(d.admin, "unix:")
	if !ok {
		return http.DefaultClient
	}
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

// moduleStatus returns the admin API's view of module name.
func (d *daemon) moduleStatus(t *testing.T, name string) moduleStatus {
	t.Helper()
	var st moduleStatus
	code, err := d.adminRequest(http.MethodGet, "/v1/modules/"+name, &st)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /v1/modules/%s: %d %v", name, code, err)
	}
	return st
}

// waitModule polls module name's status until cond holds; it fails the
// test when that takes more than a minute (a liveness bound, not a
// measure: the benchmarks measure).
func (d *daemon) waitModule(t *testing.T, name, what string, cond func(moduleStatus) bool) moduleStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := d.moduleStatus(t, name)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("module %s: no %s within a minute; status %+v", name, what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metrics returns the daemon's /metrics samples: each line "name{labels}
// value" as the key "name{labels}" and its value. Labels appear as the
// Prometheus text format writes them, sorted by name.
func (d *daemon) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.adminURL("/metrics"), nil)
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.adminClient().Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("/metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading /metrics: %v", err)
	}
	return out
}

// placeFile replaces dst with data as a deployment does: written to a
// temporary file in the same directory, then renamed over dst.
func placeFile(t *testing.T, data []byte, dst string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".deploy-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		t.Fatalf("placing %s: %v", dst, err)
	}
}

// readModule returns the bytes of a module file of the checkout.
func readModule(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(needModule(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sha256Hex returns the hex SHA-256 of data, as a config pins it.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// refusedStart runs `wasmrpcd run` on cfg, which must not start: it
// returns the exit code and stderr once the process has ended. It fails
// the test when the daemon gets ready (it says "wasmrpcd ready") or has
// not exited within timeout.
func refusedStart(t *testing.T, cfg daemonConfig, timeout time.Duration) (int, string) {
	t.Helper()
	text, err := cfg.yaml()
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, string(text))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, daemonBin, "run", "--config", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wasmrpcd did not exit within %v; stderr:\n%s", timeout, stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("wasmrpcd: %v", err)
	}
	if strings.Contains(stderr.String(), `"msg":"wasmrpcd ready"`) {
		t.Fatalf("wasmrpcd started serving; stderr:\n%s", stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// lastLine returns the last non-empty line of s: the error the daemon
// prints when it exits.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
