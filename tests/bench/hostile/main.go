// Command hostile measures what a hostile tenant costs a well-behaved one
// on the same daemon, for docs/BENCHMARKS.md ("Hostile tenants"):
//
//   - one wasmrpcd process serves testkit for tenant "good" (the default
//     limits) and the hand-written hostile modules of host/wasm/testdata
//     for tenant "hostile" (memory_limit 16MiB, call_timeout 2s,
//     max_instances 2: the settings the attacks were found with);
//   - -callers callers call good's echo (100 bytes) for -phase, each
//     pausing -pause between its calls;
//   - the phases: steady (good alone), then each attack in turn with
//     -attackers callers repeating it without pause, then steady again.
//
// For each phase it prints good's calls, failures, p50, p99 and p99 over
// the first steady phase's p99; the attack's calls by outcome; the
// daemon's largest resident set seen (sampled every 20 ms) and the bytes
// it wrote to its log. A good call that fails, or a daemon that exits,
// fails the run. The calls come from the project's Go oslo.messaging
// client (host/rpc) through RabbitMQ at AMQP_URL.
//
//	go run ./tests/bench/hostile -bin bin/wasmrpcd
//	go run ./tests/bench/hostile -attacks spin,grow
//	go run ./tests/bench/hostile -cpu-nice 10
//
// It runs from the checkout's top directory (after `make modules
// build`) and deletes the queues and exchanges it declared.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
	"github.com/wasmrpcd/wasmrpcd/tests/bench/internal/benchkit"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/wasmrpcd", "the wasmrpcd `binary`")
	flag.StringVar(&cfg.testkit, "testkit", "modules/testkit/testkit.wasm", "the well-behaved tenant's module")
	flag.StringVar(&cfg.cacheDir, "cache-dir", ".cache/wasmrpcd", "wasmrpcd's compilation cache")
	flag.IntVar(&cfg.callers, "callers", 4, "well-behaved callers, each with one call in flight")
	flag.DurationVar(&cfg.pause, "pause", 2*time.Millisecond, "each well-behaved caller's pause between calls")
	flag.IntVar(&cfg.attackers, "attackers", 2, "callers repeating the attack, each with one call in flight")
	flag.DurationVar(&cfg.phase, "phase", 10*time.Second, "the length of each phase")
	flag.IntVar(&cfg.cpuNice, "cpu-nice", 0, "the hostile tenant's cpu_nice")
	only := flag.String("attacks", "", "comma-separated attacks to run (default: all): "+strings.Join(attackNames(), ", "))
	flag.Parse()
	cfg.url = os.Getenv("AMQP_URL")
	if cfg.url == "" {
		cfg.url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	var err error
	if cfg.attacks, err = pick(*only); err != nil {
		fmt.Fprintln(os.Stderr, "bench hostile:", err)
		os.Exit(2)
	}
	if err := run(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench hostile:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, testkit, cacheDir, url string
	callers, attackers, cpuNice int
	pause, phase                time.Duration
	attacks                     []attack
}

const server = "bench"

func run(cfg *config) error {
	dir, err := os.MkdirTemp("", "wasmrpcd-bench-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var nonce [5]byte
	_, _ = rand.Read(nonce[:])
	prefix := "bench_hostile_" + hex.EncodeToString(nonce[:])
	exchange := prefix + "_x"
	rabbitURL := "rabbit" + strings.TrimPrefix(strings.TrimPrefix(cfg.url, "amqps"), "amqp")

	daemonCfg, topics, err := daemonConfig(cfg, rabbitURL, exchange, prefix)
	if err != nil {
		return err
	}
	var queues, exchanges []string
	for _, t := range topics {
		queues = append(queues, t, t+"."+server)
		exchanges = append(exchanges, t+"_fanout")
	}
	exchanges = append(exchanges, exchange)
	defer func() {
		if err := benchkit.DeleteTopology(cfg.url, queues, exchanges); err != nil {
			fmt.Fprintln(os.Stderr, "bench hostile: cleanup:", err)
		}
	}()

	d, err := benchkit.StartDaemon(cfg.bin, dir, daemonCfg, true, nil)
	if err != nil {
		return err
	}
	defer d.Stop()

	ctx := context.Background()
	tr, err := transport.Open(ctx, rabbitURL, transport.Options{ControlExchange: exchange, ConnectionName: "wasmrpcd-bench-hostile"})
	if err != nil {
		return err
	}
	defer tr.Close()
	good := rpc.NewClient(tr, rpc.Target{Topic: prefix + "_good"}, rpc.WithTimeout(30*time.Second))
	defer func() {
		if q := good.ReplyQueue(); q != "" {
			queues = append(queues, q)
		}
		good.Close()
	}()
	fmt.Printf("good: %d callers pausing %v; attacks: %d callers each, cpu_nice %d; phases of %v\n", cfg.callers, cfg.pause, cfg.attackers, cfg.cpuNice, cfg.phase)

	m := &meter{cfg: cfg, d: d, good: good, tr: tr, exchange: exchange, prefix: prefix}
	steady, err := m.phase(nil)
	if err != nil {
		return fmt.Errorf("steady: %w", err)
	}
	steady.print("steady", steady.p99)
	for _, a := range cfg.attacks {
		r, err := m.phase(&a)
		if err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
		r.print(a.name, steady.p99)
	}
	again, err := m.phase(nil)
	if err != nil {
		return fmt.Errorf("steady again: %w", err)
	}
	again.print("steady again", steady.p99)
	return nil
}

// daemonConfig returns the daemon's config and the topics it serves.
func daemonConfig(cfg *config, rabbitURL, exchange, prefix string) (map[string]any, []string, error) {
	testkit, err := filepath.Abs(cfg.testkit)
	if err != nil {
		return nil, nil, err
	}
	cache, err := filepath.Abs(cfg.cacheDir)
	if err != nil {
		return nil, nil, err
	}
	modules := []map[string]any{{"name": "good", "path": testkit, "topic": prefix + "_good", "tenant": "good"}}
	topics := []string{prefix + "_good"}
	seen := map[string]bool{}
	for _, a := range cfg.attacks {
		if seen[a.module] {
			continue
		}
		seen[a.module] = true
		path, err := filepath.Abs(filepath.Join("host/wasm/testdata", a.module+".wasm"))
		if err != nil {
			return nil, nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("%w (run make modules)", err)
		}
		topic := prefix + "_" + a.module
		modules = append(modules, map[string]any{"name": a.module, "path": path, "topic": topic, "tenant": "hostile"})
		topics = append(topics, topic)
	}
	return map[string]any{
		"transport_url":    rabbitURL,
		"control_exchange": exchange,
		"server":           server,
		"admin_listen":     "127.0.0.1:0",
		"cache_dir":        cache,
		"log":              map[string]string{"level": "info", "format": "json"},
		"tenants": map[string]any{
			"good":    map[string]any{},
			"hostile": withKey(hostileTenant, "cpu_nice", cfg.cpuNice),
		},
		"modules": modules,
	}, topics, nil
}

// withKey returns a copy of m with key set to v.
func withKey(m map[string]any, key string, v any) map[string]any {
	out := maps.Clone(m)
	out[key] = v
	return out
}
