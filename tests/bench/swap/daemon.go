package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wasmrpcd/wasmrpcd/tests/bench/internal/benchkit"
)

// daemon is a running wasmrpcd serving testkit from one file.
type daemon struct {
	*benchkit.Daemon

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
	d := &daemon{}
	var err error
	d.Daemon, err = benchkit.StartDaemon(b.bin, b.dir, cfg, false, d.record)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// record keeps the duration of each swap the daemon logs, and keeps the
// probes' UnsupportedVersion off stderr.
func (d *daemon) record(rec map[string]any, _ []byte) bool {
	switch rec["msg"] {
	case "rpc: exception during message handling":
		return false
	case "module swapped":
	default:
		return true
	}
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
	return true
}

// stop ends the daemon and waits for it.
func (d *daemon) stop() { d.Stop() }

// swapCount returns how many swaps the module has had.
func (d *daemon) swapCount() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Admin+"/v1/modules/testkit", nil)
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
