package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testConcurrent makes many calls at once on both sides: every one must
// return its own argument.
func (e *diffEnv) testConcurrent(t *testing.T) {
	const callers, calls = 32, 200
	for side, topic := range map[string]string{"python": e.py[""], "wasmrpcd": e.wasm[""]} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < calls; i += callers {
						value := fmt.Sprintf(`{"caller": %d, "call": %d, "pad": "%0*d"}`, c, i, i%97, 0)
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
						out, err := e.client.do(ctx, Request{Method: "echo", Args: `{"value": ` + value + `}`, Topic: topic, Timeout: 60})
						cancel()
						if err == nil && !out.resultIs(value) {
							err = fmt.Errorf("echo %s: %v", value, out)
						}
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				if n++; n <= 5 {
					t.Error(err)
				}
			}
			if n > 0 {
				t.Errorf("%d of %d concurrent calls failed", n, calls)
			}
		})
	}
}

// side is one side of the differential test as the targeting checks see
// it: how many calls of fail with a marker each of its servers ran.
type side struct {
	name  string
	topic string
	// ran returns, per server name, how many times fail ran with marker.
	ran func(marker string) map[string]int
}

func (e *diffEnv) sides() []side {
	return []side{
		{"python", e.py[""], func(marker string) map[string]int {
			m := map[string]int{}
			for i, s := range diffServers {
				m[s] = e.pyServers[i].calls("fail", marker)
			}
			return m
		}},
		{"wasmrpcd", e.wasm[""], func(marker string) map[string]int {
			m := map[string]int{}
			for i, s := range diffServers {
				m[s] = e.daemons[i].failures(marker)
			}
			return m
		}},
	}
}

// testTargets checks where requests go: a server-targeted call reaches
// that server only, a cast to the topic one server, a fanout cast every
// server. Each request runs testkit's fail with a marker of its own,
// which the servers record.
func (e *diffEnv) testTargets(t *testing.T) {
	type check struct {
		name string
		req  Request
		want map[string]int // runs per server; nil: one run on any one server
	}
	checks := []check{
		{"call to s1", Request{Server: "s1"}, map[string]int{"s1": 1, "s2": 0}},
		{"call to s2", Request{Server: "s2"}, map[string]int{"s1": 0, "s2": 1}},
		{"cast to s2", Request{Op: "cast", Server: "s2"}, map[string]int{"s1": 0, "s2": 1}},
		{"cast to the topic", Request{Op: "cast"}, nil},
		{"fanout cast", Request{Op: "cast", Fanout: true}, map[string]int{"s1": 1, "s2": 1}},
		{"call to the topic", Request{}, nil},
	}
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]map[string]int{}
			for _, s := range e.sides() {
				marker := fmt.Sprintf("target-%d-%s", i, s.name)
				req := c.req
				req.Method, req.Topic = "fail", s.topic
				req.Args = fmt.Sprintf(`{"kind": "ValueError", "message": %q}`, marker)
				out := e.client.call(t, req)
				want := "error ValueError"
				if req.Op == "cast" {
					want = "ok null"
				}
				if err := out.check(want); err != nil {
					t.Errorf("%s: %v", s.name, err)
				}
				got[s.name] = waitRuns(s, marker, c.want)
			}
			for name, runs := range got {
				total := 0
				for _, n := range runs {
					total += n
				}
				if c.want == nil && total != 1 || c.want != nil && !sameRuns(runs, c.want) {
					want := any(c.want)
					if c.want == nil {
						want = "one run on one server"
					}
					t.Errorf("%s: runs per server %v, want %v", name, runs, want)
				}
			}
			if fmt.Sprint(got["python"]) != fmt.Sprint(got["wasmrpcd"]) && c.want != nil {
				t.Errorf("runs differ: python %v, wasmrpcd %v", got["python"], got["wasmrpcd"])
			}
		})
	}
}

// waitRuns waits until the runs of marker on side s reach want (nil: one
// run in all), and returns them: a cast returns before it runs, and a
// server's record of a call may come after its answer.
func waitRuns(s side, marker string, want map[string]int) map[string]int {
	wantTotal := 1
	if want != nil {
		wantTotal = 0
		for _, n := range want {
			wantTotal += n
		}
	}
	var runs map[string]int
	waitUntil(func() bool {
		runs = s.ran(marker)
		total := 0
		for _, n := range runs {
			total += n
		}
		return total >= wantTotal
	})
	return runs
}

func sameRuns(a, b map[string]int) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
