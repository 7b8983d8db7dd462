// Command faults counts every call of Python oslo.messaging clients to an
// RPC server while the broker fails under them, for docs/BENCHMARKS.md
// ("Broker faults") and the fault test of tests/ (TestFault):
//
//   - -drops times, every -drop-every, the broker closes every client
//     connection (rabbitmqctl close_all_connections);
//   - then -restarts times the broker's application stops and starts
//     again (rabbitmqctl stop_app, start_app), which deletes every
//     non-durable queue: the server's topic queues are gone until it
//     declares them again.
//
// -callers callers (spread over -clients Python client processes,
// tests/python/rpc_client.py) call echo without pause, each call with
// -timeout. The server is the wasmrpcd binary serving testkit or the
// Python oslo.messaging server (tests/python/rpc_server.py), on a topic
// of its own. Every call is counted by what it overlapped: no fault, a
// connection drop or a restart, each from the rabbitmqctl command until a
// call started after it is answered. For each restart it reports how long after the broker accepted
// connections again the server consumed from its topic queue again.
//
//	go run ./tests/bench/faults -server wasmrpcd -bin bin/wasmrpcd
//	go run ./tests/bench/faults -server python
//
// It runs from the checkout's top directory, prints one line per figure
// (or, with -json, the report as JSON) and deletes what it declared. It
// disturbs every user of the broker: run it alone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.server, "server", "wasmrpcd", "the server: wasmrpcd or python")
	flag.StringVar(&cfg.bin, "bin", "bin/wasmrpcd", "the wasmrpcd `binary`")
	flag.StringVar(&cfg.module, "module", "modules/testkit/testkit.wasm", "the module wasmrpcd serves")
	flag.StringVar(&cfg.cacheDir, "cache-dir", ".cache/wasmrpcd", "wasmrpcd's compilation cache")
	flag.IntVar(&cfg.callers, "callers", 16, "callers, each with one call in flight")
	flag.IntVar(&cfg.clients, "clients", 4, "Python client processes the callers share")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "each call's timeout (whole seconds)")
	flag.IntVar(&cfg.drops, "drops", 10, "times every connection is closed")
	flag.DurationVar(&cfg.dropEvery, "drop-every", 4*time.Second, "the pause between drops")
	flag.IntVar(&cfg.restarts, "restarts", 2, "times the broker's application is restarted")
	flag.DurationVar(&cfg.steady, "steady", 5*time.Second, "load without fault before the first drop and after each restart")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	cfg.url = os.Getenv("AMQP_URL")
	if cfg.url == "" {
		cfg.url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, &cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	if *asJSON {
		out, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Println(string(out))
		return
	}
	rep.print(os.Stdout)
}

// config is one run's settings.
type config struct {
	server, bin, module, cacheDir, url string
	callers, clients                   int
	timeout, dropEvery, steady         time.Duration
	drops, restarts                    int
}

func (c *config) check() error {
	switch {
	case c.server != "wasmrpcd" && c.server != "python":
		return fmt.Errorf("-server %q: want wasmrpcd or python", c.server)
	case c.callers < 1 || c.clients < 1:
		return fmt.Errorf("-callers and -clients must be at least 1")
	case c.timeout < time.Second || c.timeout%time.Second != 0:
		return fmt.Errorf("-timeout %v: want whole seconds", c.timeout)
	case c.drops < 0 || c.restarts < 0:
		return fmt.Errorf("-drops and -restarts cannot be negative")
	}
	c.clients = min(c.clients, c.callers)
	return nil
}

// run starts the server and the callers, breaks the broker as configured
// and returns what every call became.
func run(ctx context.Context, cfg *config) (*report, error) {
	names := newNames()
	b, err := newBroker(cfg.url)
	if err != nil {
		return nil, err
	}
	defer b.cleanup(names)
	srv, err := startServer(ctx, cfg, names)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := b.waitConsumer(ctx, names.topic, time.Minute); err != nil {
		return nil, fmt.Errorf("%s server: %w", cfg.server, err)
	}
	l, err := startLoad(ctx, cfg, names)
	if err != nil {
		return nil, err
	}
	defer l.close()
	b.addReplyQueues(l.replyQueues)

	rep := &report{Server: cfg.server, Callers: cfg.callers, Timeout: cfg.timeout.Seconds()}
	pause := func(d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case err := <-srv.exited():
			return fmt.Errorf("the %s server exited: %v", cfg.server, err)
		}
	}
	if err := pause(cfg.steady); err != nil {
		return nil, err
	}
	for range cfg.drops {
		l.fault(faultDrop, func() error { return rabbitmqctl("close_all_connections", "wasmrpcd fault bench") })
		if err := pause(cfg.dropEvery); err != nil {
			return nil, err
		}
	}
	for range cfg.restarts {
		var r restart
		var ferr error
		l.fault(faultRestart, func() error {
			r, ferr = b.restart(ctx, names.topic)
			return ferr
		})
		if ferr != nil {
			return nil, ferr
		}
		rep.Restarts = append(rep.Restarts, r)
		if err := pause(cfg.steady); err != nil {
			return nil, err
		}
	}
	if err := l.stop(); err != nil {
		return nil, err
	}
	rep.Calls = l.tally()
	select {
	case err := <-srv.exited():
		return nil, fmt.Errorf("the %s server exited: %v", cfg.server, err)
	default:
	}
	return rep, nil
}

// report is what a run saw.
type report struct {
	Server   string    `json:"server"`
	Callers  int       `json:"callers"`
	Timeout  float64   `json:"timeout_s"`
	Calls    tally     `json:"calls"`
	Restarts []restart `json:"restarts"`
}

// restart is one stop_app and start_app.
type restart struct {
	// ServerBack is from the broker's first accepted AMQP connection
	// (probed every 20 ms from stop_app's return) to the server
	// consuming from its topic queue again.
	ServerBack float64 `json:"server_back_s"`
}

func (r *report) print(w *os.File) {
	fmt.Fprintf(w, "server=%s callers=%d timeout=%gs\n", r.Server, r.Callers, r.Timeout)
	for _, k := range []string{faultNone, faultDrop, faultRestart} {
		c := r.Calls[k]
		var failed []string
		for class, n := range c.Failed {
			failed = append(failed, fmt.Sprintf("%s=%d", class, n))
		}
		fmt.Fprintf(w, "calls %-22s %7d answered %7d failed %d %s\n", k+":", c.Total, c.OK, c.Total-c.OK, strings.Join(failed, " "))
	}
	for i, rs := range r.Restarts {
		fmt.Fprintf(w, "restart %d: the server consumes again %.2fs after the broker accepts connections\n", i+1, rs.ServerBack)
	}
}
