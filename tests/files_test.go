package tests

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The files the daemon reads are attack surface too: its compilation
// cache holds machine code it runs, and a module's path may be made to
// name something other than a module.

// sealHeaderSize is the size of the header of a sealed entry of the
// compilation cache (host/wasm/cacheentry.go): magic, MAC, wazero's key.
const sealHeaderSize = 8 + 32 + 32

// cacheEntry returns the path of the sealed entry of the module file
// module in the cache dir.
func cacheEntry(t *testing.T, dir string, module []byte) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "wasmrpcd-*", sha256Hex(module)))
	if len(paths) != 1 {
		all, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
		t.Fatalf("the cache holds %v, not one entry of the module", all)
	}
	return paths[0]
}

// patchMachineCode changes one byte of the machine code of a sealed
// entry and fixes the CRC32C wazero checks, as an attacker who can write
// the cache would.
func patchMachineCode(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := b[sealHeaderSize:] // wazero's form: "WAZEVO", version, functions, code, CRC
	if !bytes.HasPrefix(p, []byte("WAZEVO")) {
		t.Fatalf("%s: no wazero magic after the header", path)
	}
	off := 6 + 1 + int(p[6])
	off += 4 + 8*int(binary.LittleEndian.Uint32(p[off:]))
	n := int(binary.LittleEndian.Uint64(p[off:]))
	off += 8
	code := p[off : off+n]
	code[n/2] ^= 0xff
	binary.LittleEndian.PutUint32(p[off+n:], crc32.Checksum(code, crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCacheTamperedEntry: a cached module whose machine code was changed
// (its CRC fixed) is refused when the daemon starts, logged once, and
// compiled again; the calls are answered by the module's own code.
func TestCacheTamperedEntry(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("tamper", "s1")
	cache := t.TempDir()
	cfg := daemonConfig{
		Exchange: ex, Server: "s1",
		Modules: []moduleConfig{{Name: "testkit", Topic: topic, Files: []string{modules.testkit}}},
		Extra:   map[string]any{"cache_dir": cache},
	}
	d := startDaemon(t, cfg)
	d.stop()
	entry := cacheEntry(t, cache, readModule(t, modules.testkit))
	patchMachineCode(t, entry)

	d = startDaemon(t, cfg)
	refused := d.records(func(r logRecord) bool { return r.Msg == "compiled module in the cache refused; compiling it again" })
	compiled := d.records(func(r logRecord) bool { return r.Msg == "module compiled out of process" })
	if len(refused) != 1 || len(compiled) != 1 {
		t.Fatalf("%d refusals and %d compiles logged, want one each", len(refused), len(compiled))
	}
	if msg := refused[0].attr("err"); !strings.Contains(msg, "fails its authentication check") {
		t.Errorf("refusal says %q", msg)
	}
	c := startClient(t, n, ex, "")
	for _, tc := range []struct{ method, args, want string }{
		{"add", `{"a": 2, "b": 3}`, "ok 5"},
		{"echo", `{"value": "after the tamper"}`, `ok "after the tamper"`},
	} {
		out := c.call(t, Request{Method: tc.method, Args: tc.args, Topic: topic, Timeout: 30})
		if err := out.check(tc.want); err != nil {
			t.Errorf("%s: %v", tc.method, err)
		}
	}
	// The entry was written anew: the next start loads it as it is.
	d.stop()
	d = startDaemon(t, cfg)
	if n := len(d.records(func(r logRecord) bool { return strings.Contains(r.Msg, "compile") })); n != 0 {
		t.Errorf("%d compile lines logged at a start on the mended cache, want 0", n)
	}
}

// TestCacheDirRefused: a cache_dir that group or others may write, or
// that another user owns, stops `run` and `check` with a message that
// says so and how to fix it.
func TestCacheDirRefused(t *testing.T) {
	n := newNames(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"mode 0777", func(t *testing.T, dir string) {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "has mode 0777: group or others may write it"},
		{"owned by nobody", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "is owned by uid 65534"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			if err := os.Mkdir(cache, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, cache)
			cfg := daemonConfig{
				Exchange: n.exchange(), Server: "s1",
				Modules: []moduleConfig{{Name: "testkit", Topic: n.topic("never"), Files: []string{modules.testkit}}},
				Extra:   map[string]any{"cache_dir": cache},
			}
			code, stderr := refusedStart(t, cfg, time.Minute)
			if msg := lastLine(stderr); code == 0 || !strings.Contains(msg, cache) || !strings.Contains(msg, tc.want) {
				t.Fatalf("run: exit %d, last line %q; want a non-zero exit naming %s and %q", code, msg, cache, tc.want)
			}
			out, code := runCheck(t, cfg)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("check: exit %d, output:\n%s\nwant a non-zero exit and %q", code, out, tc.want)
			}
			entries, _ := os.ReadDir(cache)
			if len(entries) != 0 {
				t.Errorf("the refused cache dir was written to: %v", entries)
			}
		})
	}
}

// runCheck runs `wasmrpcd check` on cfg and returns its output and exit
// code; it fails the test unless check exits within a minute.
func runCheck(t *testing.T, cfg daemonConfig) (string, int) {
	t.Helper()
	text, err := cfg.yaml()
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, string(text))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, daemonBin, "check", "--config", path).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("wasmrpcd check did not exit within a minute; output:\n%s", out)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	code := 0
	if err != nil {
		code = err.(*exec.ExitError).ExitCode()
	}
	return string(out), code
}

// reloadAnswer is what POST /v1/modules/NAME/reload answers.
type reloadAnswer struct {
	Reloaded bool         `json:"reloaded"`
	Module   moduleStatus `json:"module"`
	Error    string       `json:"error"`
}

// reload posts a reload of testkit and fails the test unless the daemon
// answers within a minute.
func reload(t *testing.T, d *daemon) (int, reloadAnswer) {
	t.Helper()
	var answer reloadAnswer
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := d.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", &answer)
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("reload: %v", r.err)
		}
		return r.code, answer
	case <-time.After(time.Minute):
		t.Fatal("reload did not answer within a minute")
	}
	panic("unreachable")
}

// TestModuleFileFIFO: a FIFO renamed over a serving module's file is
// refused without blocking, by the file watcher, by an admin reload and
// at SIGHUP, and the version before serves on; a module file put back
// afterwards swaps in (the reload lock was not held). `wasmrpcd check`
// refuses a FIFO at once too.
func TestModuleFileFIFO(t *testing.T) {
	e := newSwapEnv(t, modules.testkit, nil)
	fifo := filepath.Join(filepath.Dir(e.file), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fifo, e.file); err != nil {
		t.Fatal(err)
	}
	st := e.daemon.waitModule(t, "testkit", "refusal", func(st moduleStatus) bool { return st.LastError != "" })
	if !strings.Contains(st.LastError, "is not a regular file (it is a FIFO)") || st.Swaps != 0 {
		t.Errorf("status after a FIFO replaced the file: %+v", st)
	}
	code, answer := reload(t, e.daemon)
	if code != http.StatusUnprocessableEntity || !strings.Contains(answer.Error, "FIFO") {
		t.Errorf("reload of a FIFO: %d %+v", code, answer)
	}
	if err := e.probe(t, "1.5").check(`ok "probe"`); err != nil {
		t.Errorf("a call once the FIFO was refused: %v", err)
	}

	// SIGHUP with the module moved to another FIFO: refused, 1.5 serves.
	path := e.daemon.cmd.Args[len(e.daemon.cmd.Args)-1]
	other := filepath.Join(filepath.Dir(e.file), "other.wasm")
	if err := syscall.Mkfifo(other, 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(text, []byte(e.file), []byte(other)), 0o644); err != nil {
		t.Fatal(err)
	}
	from := e.daemon.logLen()
	if err := e.daemon.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := e.daemon.waitLog(ctx, from, func(r logRecord) bool { return strings.HasPrefix(r.Msg, "SIGHUP: ") })
	if err != nil {
		t.Fatalf("no SIGHUP outcome logged: %v", err)
	}
	if rec.Msg != "SIGHUP: config applied with errors" || !strings.Contains(rec.attr("err"), "FIFO") {
		t.Errorf("SIGHUP: %s (%s), want the FIFO refused", rec.Msg, rec.attr("err"))
	}
	if err := e.probe(t, "1.5").check(`ok "probe"`); err != nil {
		t.Errorf("a call after SIGHUP: %v", err)
	}
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}

	placeFile(t, readModule(t, modules.testkit16), e.file)
	code, answer = reload(t, e.daemon)
	if code != http.StatusOK || fmt.Sprint(answer.Module.endpointVersions()) != "[1.6]" {
		t.Fatalf("reload of a module file after the FIFO: %d %+v", code, answer)
	}
	if err := e.probe(t, "1.6").check(`ok "probe"`); err != nil {
		t.Errorf("a call for 1.6: %v", err)
	}

	t.Run("check", func(t *testing.T) {
		out, code := runCheck(t, daemonConfig{
			Exchange: e.names.exchange(), Server: "s1",
			Modules: []moduleConfig{{Name: "testkit", Topic: e.names.topic("never"), Files: []string{other}}},
		})
		if code == 0 || !strings.Contains(out, "is not a regular file (it is a FIFO)") {
			t.Errorf("check of a FIFO: exit %d, output:\n%s", code, out)
		}
	})
}

// TestModuleFileOversize: a 2 GiB sparse file renamed over a module is
// refused by its size, before it is read: the daemon's peak RSS stays far
// below the file's size, and the version before serves on.
func TestModuleFileOversize(t *testing.T) {
	const huge = 2 << 30
	e := newSwapEnv(t, modules.testkit, nil)
	before := e.daemon.peakRSS(t)
	sparse := filepath.Join(filepath.Dir(e.file), ".sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	start := readModule(t, modules.testkit16) // a module's start, then zeros
	if _, err := f.Write(start); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(huge); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(sparse, e.file); err != nil {
		t.Fatal(err)
	}
	st := e.daemon.waitModule(t, "testkit", "refusal", func(st moduleStatus) bool { return st.LastError != "" })
	if !strings.Contains(st.LastError, "is 2GiB, more than max_module_size 256MiB") || st.Swaps != 0 {
		t.Errorf("status after a 2 GiB file: %+v", st)
	}
	code, answer := reload(t, e.daemon)
	if code != http.StatusUnprocessableEntity || !strings.Contains(answer.Error, "max_module_size") {
		t.Errorf("reload of a 2 GiB file: %d %+v", code, answer)
	}
	if err := e.probe(t, "1.5").check(`ok "probe"`); err != nil {
		t.Errorf("a call once the file was refused: %v", err)
	}
	after := e.daemon.peakRSS(t)
	t.Logf("peak RSS %d MiB before, %d MiB after (the file: %d MiB)", before>>20, after>>20, huge>>20)
	if after > huge/8 || after-before > 64<<20 {
		t.Errorf("peak RSS went from %d to %d MiB for a refused %d MiB file", before>>20, after>>20, huge>>20)
	}
}
