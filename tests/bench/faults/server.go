package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// python is Debian's interpreter, the one with python3-oslo.messaging.
const python = "/usr/bin/python3"

// server is a running RPC server process: wasmrpcd or Python.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // the Python server runs until it closes
	dir   string         // its config and log
	done  chan error
}

// startServer starts cfg.server on the run's topic and returns once the
// process runs; the caller waits for it to consume.
func startServer(ctx context.Context, cfg *config, n names) (*server, error) {
	dir, err := os.MkdirTemp("", "wasmrpcd-faults-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, done: make(chan error, 1)}
	rabbitURL := "rabbit" + strings.TrimPrefix(strings.TrimPrefix(cfg.url, "amqps"), "amqp")
	switch cfg.server {
	case "wasmrpcd":
		module, err := filepath.Abs(cfg.module)
		if err != nil {
			return nil, err
		}
		cache, err := filepath.Abs(cfg.cacheDir)
		if err != nil {
			return nil, err
		}
		// JSON is YAML.
		conf, err := json.Marshal(map[string]any{
			"transport_url":    rabbitURL,
			"control_exchange": n.exchange,
			"server":           n.server,
			"admin_listen":     "",
			"cache_dir":        cache,
			"cache_key_file":   cache + ".key",
			"log":              map[string]string{"level": "info", "format": "json"},
			"modules":          []map[string]any{{"name": "testkit", "path": module, "topic": n.topic}},
		})
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "wasmrpcd.yaml")
		if err := os.WriteFile(path, conf, 0o644); err != nil {
			return nil, err
		}
		s.cmd = exec.Command(cfg.bin, "run", "--config", path)
	case "python":
		s.cmd = exec.Command(python, "tests/python/rpc_server.py", rabbitURL, n.exchange, n.topic, n.server)
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s server: %w", cfg.server, err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdout))
		err := s.cmd.Wait()
		logFile.Close()
		s.done <- err
	}()
	return s, nil
}

// exited yields the process's exit once it has exited.
func (s *server) exited() <-chan error { return s.done }

// stop ends the server (SIGTERM, then SIGKILL after 30 s) and removes
// its files; on an unexpected exit its log's tail goes to stderr.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil && !strings.Contains(err.Error(), "signal: terminated") {
			s.printLog()
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func (s *server) printLog() {
	data, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	fmt.Fprintf(os.Stderr, "faults: the server's log ends with:\n%s\n", data)
}
