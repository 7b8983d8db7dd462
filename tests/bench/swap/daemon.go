package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// daemon is a running wasmrpcd serving testkit from one file.
type daemon struct {
	cmd    *exec.Cmd
	admin  string // host:port
	exited chan struct{}

	mu   sync.Mutex
	took []time.Duration // of each swap, as the daemon logs it
}

// swapTook returns the durations of the swaps so far, as the daemon
// logged them.
func (d *daemon) swapTook() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Duration(nil), d.took...)
}

// start writes a config serving modFile on the bench's topic with cache
// as cache_dir, starts the daemon and waits until it is ready.
func (b *bench) start(cache, modFile string) (*daemon, error) {
	cfg := map[string]any{
		"transport_url":    b.url,
		"control_exchange": b.exchange,
		"server":           server,
		"admin_listen":     "127.0.0.1:0",
		"cache_dir":        cache,
		"cache_key_file":   cache + ".key",
		"log":              map[string]string{"level": "info", "format": "json"},
		"modules":          []map[string]any{{"name": "testkit", "path": modFile, "topic": b.topic}},
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(b.dir, "wasmrpcd.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(b.bin, "run", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(d.exited)
		d.readLog(stderr, addr)
		cmd.Wait()
	}()
	select {
	case d.admin = <-addr:
	case <-d.exited:
		return nil, fmt.Errorf("wasmrpcd exited before it listened")
	case <-time.After(time.Minute):
		d.stop()
		return nil, fmt.Errorf("wasmrpcd did not listen within a minute")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + d.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("wasmrpcd not ready within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readLog reads the daemon's JSON log until it ends: it sends the admin
// address, and copies errors and warnings to stderr.
func (d *daemon) readLog(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			fmt.Fprintln(os.Stderr, "wasmrpcd:", sc.Text())
			continue
		}
		switch rec["msg"] {
		case "admin listening":
			a, _ := rec["addr"].(string)
			addr <- a
		case "module swapped":
			var took time.Duration
			switch v := rec["took"].(type) {
			case float64:
				took = time.Duration(v)
			case string:
				took, _ = time.ParseDuration(v)
			}
			d.mu.Lock()
			d.took = append(d.took, took)
			d.mu.Unlock()
		case "rpc: exception during message handling":
			continue // the probes' UnsupportedVersion
		}
		if lvl, _ := rec["level"].(string); lvl == "ERROR" || lvl == "WARN" {
			fmt.Fprintln(os.Stderr, "wasmrpcd:", sc.Text())
		}
	}
}

// stop ends the daemon with SIGTERM and waits for it.
func (d *daemon) stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// swapCount returns how many swaps the module has had.
func (d *daemon) swapCount() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.admin+"/v1/modules/testkit", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Swaps     int    `json:"swaps"`
		LastError string `json:"last_error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	if st.LastError != "" {
		return 0, fmt.Errorf("swap refused: %s", strings.TrimSpace(st.LastError))
	}
	return st.Swaps, nil
}

// waitSwaps waits until the module has had n swaps.
func (d *daemon) waitSwaps(n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := d.swapCount()
		if err != nil || got >= n {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d swaps after a minute, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
