package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Modules whose tables could take more of the host's memory than any
// limit allows: the daemon refuses each at start, saying why. "count" is
// 15 bytes: a table section of one byte, whose count runs on past it to
// 2^32-1. wazero's decoder, given them, asks for 128 GiB of tables and the
// process dies; the daemon refuses them before wazero sees them.
var refusedTableModules = []struct{ wat, why string }{
	{"table_max", "its tables can take 96GiB"},
	{"table_big", "its tables can take 1GiB"},
	{"table_import", "imports a table"},
	{"count", "malformed binary: table count at byte 1: unexpected end"},
}

func TestHostileTablesRefused(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	for _, tc := range refusedTableModules {
		t.Run(tc.wat, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "count.wasm")
			if tc.wat == "count" {
				if err := os.WriteFile(file, []byte("\x00asm\x01\x00\x00\x00\x04\x01\xff\xff\xff\xff\x0f"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				file = watModule(t, tc.wat)
			}
			code, stderr := refusedStart(t, daemonConfig{
				Exchange: ex, Server: "s1", Tenant: hostileTenant,
				Modules: []moduleConfig{{Name: "hostile", Topic: n.prefix + "_never", Files: []string{file}}},
			}, time.Minute)
			msg := lastLine(stderr)
			if code == 0 || !strings.Contains(msg, "module hostile") || !strings.Contains(msg, tc.why) {
				t.Fatalf("exit code %d, last line %q; want a non-zero exit and a line naming module hostile and %q\n%s", code, msg, tc.why, stderr)
			}
			t.Logf("exit %d: %s", code, msg)
		})
	}
}

// Bounds of TestHostileMemory's tenant, and the per-instance constant of
// docs/RATIONALE.md ("Tables and stacks count against the tenant"): an
// instance holds at most its memory_limit (linear memory and tables) and
// 3 × stack_limit of stack (a stack the host counted at most stack_limit,
// doubled by wazero, and the copy it grows from), 2 × 1 MiB of stacks kept
// between calls, and 2 MiB of wazero's own structures.
const (
	hostileMemoryLimit  = 16 << 20
	hostileStackLimit   = 4 << 20
	hostileInstances    = 8
	perInstanceConstant = 3*hostileStackLimit + 2<<20 + 2<<20
)

// TestHostileMemory runs, on every instance of a module at once, the
// calls that took the daemon past 2 GiB before: table.grow without a
// maximum and past it, memory grown to the limit and written, and
// recursion without end. Each is refused or bounded with a clear answer,
// the daemon serves on, and its RSS stays within base + 2 × instances ×
// (memory_limit + the per-instance constant): the factor 2 is Go's
// collector, which lets the heap grow to twice what is live before it
// collects.
func TestHostileMemory(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("tables", "s1")
	d := startDaemon(t, daemonConfig{
		Exchange: ex, Server: "s1",
		Tenant:  map[string]any{"memory_limit": "16MiB", "call_timeout": "3s", "max_instances": hostileInstances},
		Modules: []moduleConfig{{Name: "tables", Topic: topic, Files: []string{watModule(t, "tables")}}},
	})
	c := startClient(t, n, ex, "")
	if err := c.call(t, Request{Topic: topic, Method: "echo", Args: `{"value": 1}`}).check(`ok {"value": 1}`); err != nil {
		t.Fatal(err)
	}
	base := d.rss(t)

	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			if rss, err := rssOf(d.cmd.Process.Pid); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	attacks := []struct{ method, want, why string }{
		{"recurse", "error MemoryError", "call stack passed its limit of 4MiB"},
		{"grow_huge", "ok -1", ""},
		{"grow_unbounded", "ok 1", ""},
		{"grow_bounded", "ok 16", ""},
		{"grow_memory", "ok 14", ""},
	}
	// attack makes calls calls at once, the i-th of method pick(i).
	attack := func(calls int, pick func(i int) int) {
		var wg sync.WaitGroup
		for i := range calls {
			a := attacks[pick(i)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := c.do(t.Context(), Request{Topic: topic, Method: a.method, Timeout: 120})
				switch {
				case err != nil:
					t.Errorf("%s: %v", a.method, err)
				case out.check(a.want) != nil:
					t.Errorf("%s: %v", a.method, out.check(a.want))
				case a.why != "" && !strings.Contains(out.Error.Message, a.why):
					t.Errorf("%s: message %q lacks %q", a.method, out.Error.Message, a.why)
				}
			}()
		}
		wg.Wait()
	}
	// Each attack alone on every instance at once, twice, then all of them
	// mixed, three times.
	for k, a := range attacks {
		attack(2*hostileInstances, func(int) int { return k })
		t.Logf("after %d × %s on %d instances: peak RSS %d MiB", 2*hostileInstances, a.method, hostileInstances, peak.Load()>>20)
	}
	const rounds = 3
	for round := range rounds {
		attack(hostileInstances*len(attacks)/2, func(i int) int { return (i + round) % len(attacks) })
	}
	close(stop)
	sampler.Wait()

	bound := base + 2*hostileInstances*(hostileMemoryLimit+perInstanceConstant)
	t.Logf("daemon RSS: %d MiB before, peak %d MiB (then %d rounds of %d mixed calls on %d instances; bound %d MiB), %d MiB after",
		base>>20, peak.Load()>>20, rounds, hostileInstances*len(attacks)/2, hostileInstances, bound>>20, d.rss(t)>>20)
	if peak.Load() > bound {
		t.Errorf("daemon RSS peaked at %d MiB, past the bound of %d MiB", peak.Load()>>20, bound>>20)
	}
	if !d.running() {
		t.Fatal("the daemon is down")
	}
	if err := c.call(t, Request{Topic: topic, Method: "echo", Args: `{"value": "after"}`}).check(`ok {"value": "after"}`); err != nil {
		t.Errorf("echo after the attacks: %v", err)
	}
	if st := d.moduleStatus(t, "tables"); st.State != "serving" || st.Swaps != 0 {
		t.Errorf("tables after the attacks: %+v", st)
	}
}

// rssOf returns the resident memory of process pid in bytes.
func rssOf(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmRSS %q: %v", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
