package benchkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Daemon is a running wasmrpcd process.
type Daemon struct {
	Admin string // the admin server's host:port

	cmd       *exec.Cmd
	exited    chan struct{}
	logBytes  atomic.Int64
	onLog     func(rec map[string]any, line []byte) (shown bool)
	startedAt time.Time
}

// StartDaemon writes cfg (which must ask for a JSON log and an admin
// server) into dir as the daemon's config, starts bin on it and returns
// once /readyz answers 200. onLog, when not nil, sees every JSON record
// of the daemon's log, and returns false for a record it wants kept off
// stderr; other errors and warnings are copied to stderr unless quiet.
func StartDaemon(bin, dir string, cfg map[string]any, quiet bool, onLog func(rec map[string]any, line []byte) (shown bool)) (*Daemon, error) {
	text, err := json.Marshal(cfg) // JSON is YAML
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "wasmrpcd.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &Daemon{cmd: cmd, exited: make(chan struct{}), onLog: onLog, startedAt: time.Now()}
	addr := make(chan string, 1)
	go func() {
		defer close(d.exited)
		d.readLog(stderr, addr, quiet)
		cmd.Wait()
	}()
	select {
	case d.Admin = <-addr:
	case <-d.exited:
		return nil, fmt.Errorf("wasmrpcd exited before it listened")
	case <-time.After(time.Minute):
		d.Stop()
		return nil, fmt.Errorf("wasmrpcd did not listen within a minute")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + d.Admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("wasmrpcd not ready within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readLog reads the daemon's JSON log until it ends, counting its bytes:
// it sends the admin address and hands each record to onLog.
func (d *Daemon) readLog(r io.Reader, addr chan<- string, quiet bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		d.logBytes.Add(int64(len(sc.Bytes())) + 1)
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			if !quiet {
				fmt.Fprintln(os.Stderr, "wasmrpcd:", sc.Text())
			}
			continue
		}
		if rec["msg"] == "admin listening" {
			a, _ := rec["addr"].(string)
			select {
			case addr <- a:
			default:
			}
		}
		if d.onLog != nil && !d.onLog(rec, sc.Bytes()) {
			continue
		}
		if lvl, _ := rec["level"].(string); !quiet && (lvl == "ERROR" || lvl == "WARN") {
			fmt.Fprintln(os.Stderr, "wasmrpcd:", sc.Text())
		}
	}
}

// LogBytes returns how many bytes the daemon has written to its log.
func (d *Daemon) LogBytes() int64 { return d.logBytes.Load() }

// Exited is closed when the daemon's process has ended.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// RSS returns the daemon's resident set size now and its peak (VmRSS and
// VmHWM of /proc/PID/status), in bytes.
func (d *Daemon) RSS() (now, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", key, err)
		}
		if key == "VmRSS" {
			now = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return now, peak, nil
}

// Stop ends the daemon with SIGTERM and waits for it (a minute, then
// SIGKILL).
func (d *Daemon) Stop() {
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
