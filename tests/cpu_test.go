package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNicedTenant serves a spinning guest under a tenant with cpu_nice:
// its guest runs on a thread 10 nicer than the daemon while a
// well-behaved tenant's calls are answered, and the daemon raises
// GOMAXPROCS by the niced tenant's threads (unless the environment sets
// it). What it buys the well-behaved tenant is measured by make
// bench-hostile (docs/BENCHMARKS.md, "Hostile tenants").
func TestNicedTenant(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topicH, topicG := n.topic("niced", "s1"), n.topic("good", "s1")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Extra: map[string]any{"tenants": map[string]any{
			"hostile": map[string]any{"cpu_nice": 10, "max_instances": 2, "call_timeout": "4s", "memory_limit": "16MiB"},
		}},
		Modules: []moduleConfig{
			{Name: "hostile", Topic: topicH, Files: []string{watModule(t, "misbehave")}, Extra: map[string]any{"tenant": "hostile"}},
			{Name: "good", Topic: topicG, Files: []string{modules.testkit}},
		},
	})
	base := daemonNice(t, d)
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := d.waitLog(ctx, 0, func(r logRecord) bool {
			return r.Msg == "GOMAXPROCS set for the threads of niced tenants"
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.attr("niced_threads"), "2"; got != want {
			t.Errorf("niced_threads = %s, want %s (the tenant's max_concurrency)", got, want)
		}
		cpus, _ := strconv.Atoi(r.attr("cpus"))
		if got := r.attr("gomaxprocs"); got != strconv.Itoa(cpus+2) || cpus < 1 {
			t.Errorf("gomaxprocs = %s with cpus %d, want cpus + 2", got, cpus)
		}
	}

	c := startClient(t, n, ex, "")
	spun := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := c.do(ctx, Request{Topic: topicH, Method: "spin", Timeout: 60})
		if err == nil {
			err = out.check("error TimeoutError")
		}
		spun <- err
	}()
	// The spinning guest's thread: running, 10 nicer than the daemon.
	want := min(base+10, 19)
	var seen bool
	for deadline := time.Now().Add(time.Minute); !seen && time.Now().Before(deadline); {
		for _, th := range daemonThreads(t, d) {
			if th.state == "R" && th.nice == want {
				seen = true
			}
		}
		select {
		case err := <-spun:
			spun <- err
			deadline = time.Time{} // the spin is over
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !seen && runtime.GOOS == "linux" {
		t.Errorf("no thread of the daemon ran at nice %d during the spin", want)
	}
	if err := c.call(t, Request{Topic: topicG, Method: "echo", Args: `{"value": "g"}`}).check(`ok "g"`); err != nil {
		t.Errorf("the well-behaved tenant: %v", err)
	}
	if err := <-spun; err != nil {
		t.Errorf("spin: %v", err)
	}
	for _, th := range daemonThreads(t, d) {
		if th.nice != base && th.nice != want {
			t.Errorf("thread %d at nice %d, want %d or %d", th.tid, th.nice, base, want)
		}
	}
}

// thread is one of a process's threads, from /proc/PID/task/TID/stat.
type thread struct {
	tid   int
	state string
	nice  int
}

// daemonThreads returns the daemon's threads (those that end while they
// are read are left out).
func daemonThreads(t *testing.T, d *daemon) []thread {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", d.cmd.Process.Pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []thread
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // ended
		}
		// pid (comm) state ppid … : after the comm, field 3 is the state
		// and field 19 the nice value.
		i := strings.LastIndexByte(string(data), ')')
		fields := strings.Fields(string(data[i+1:]))
		if i < 0 || len(fields) < 17 {
			t.Fatalf("%s/stat: %q", e.Name(), data)
		}
		tid, _ := strconv.Atoi(e.Name())
		nice, err := strconv.Atoi(fields[16])
		if err != nil {
			t.Fatalf("%s/stat: nice %q", e.Name(), fields[16])
		}
		out = append(out, thread{tid: tid, state: fields[0], nice: nice})
	}
	return out
}

// daemonNice returns the nice value of the daemon's main thread.
func daemonNice(t *testing.T, d *daemon) int {
	t.Helper()
	for _, th := range daemonThreads(t, d) {
		if th.tid == d.cmd.Process.Pid {
			return th.nice
		}
	}
	t.Fatal("the daemon's main thread is not in /proc")
	return 0
}
