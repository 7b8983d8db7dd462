package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadResolvesAgainstTheFilesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "w.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data := "transport_url: rabbit://\ncache_dir: ../cache\nmodules:\n  - {name: a, path: mods/a.wasm, topic: a}\n  - {name: b, path: /abs/b.wasm, topic: b}\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "cache"); c.CacheDir != want {
		t.Errorf("CacheDir = %q, want %q", c.CacheDir, want)
	}
	if want := filepath.Join(dir, "etc", "mods", "a.wasm"); c.Module("a").Versions[0].Path != want {
		t.Errorf("module a path = %q, want %q", c.Module("a").Versions[0].Path, want)
	}
	if got := c.Module("b").Versions[0].Path; got != "/abs/b.wasm" {
		t.Errorf("module b path = %q", got)
	}
	if c.File() != path || c.Dir() != filepath.Join(dir, "etc") {
		t.Errorf("File() = %q, Dir() = %q", c.File(), c.Dir())
	}
	if c.Line("modules[1].topic") != 5 || c.Line("cache_dir") != 2 || c.Line("nope") != 0 {
		t.Errorf("Line: %d %d %d", c.Line("modules[1].topic"), c.Line("cache_dir"), c.Line("nope"))
	}
}

func TestParseWithoutDirectory(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "w.yaml"} {
		c, err := Parse([]byte("transport_url: rabbit://\nmodules: [{name: a, path: a.wasm, topic: a}]\n"), name)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(wd, "a.wasm"); c.Modules[0].Versions[0].Path != want {
			t.Errorf("Parse(%q): path = %q, want %q", name, c.Modules[0].Versions[0].Path, want)
		}
	}
	_, err = Parse([]byte("transport_url: rabbit://\nservr: x\n"), "")
	if err == nil || err.Error() != `line 2: servr: unknown key (did you mean "server"?)` {
		t.Errorf("error without a file name: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("transport_url: rabbit://\nexecutor_threads: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != bad || len(ce.Problems) != 1 ||
		ce.Problems[0] != (Problem{Line: 2, Path: "executor_threads", Message: "must be at least 1, got 0"}) {
		t.Errorf("bad file: %#v", err)
	}
}

// TestAliasBomb checks that nested aliases cannot make Parse work for
// long: the decoder gives up after maxNodes values.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("transport_url: rabbit://\ntenants:\n  t0: &t0 {memory_limit: 1MiB}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  t%d: &t%d {<<: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*t%d", i-1)
		}
		b.WriteString("]}\n")
	}
	_, err := Parse([]byte(b.String()), "bomb.yaml")
	want := "bomb.yaml:8: tenants.t5: document too large (more than 100000 values once aliases are expanded)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	content := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(content)
	pin := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, "m.wasm"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.wasm"), 0o755); err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", 64)
	data := `transport_url: rabbit://
modules:
  - {name: good, topic: a, path: m.wasm, sha256: ` + strings.ToUpper(pin) + `}
  - {name: unpinned, topic: b, path: m.wasm}
  - {name: missing, topic: c, path: nope.wasm}
  - {name: dir, topic: d, path: d.wasm}
  - name: versions
    topic: e
    versions:
      - {path: m.wasm, sha256: ` + pin + `}
      - {path: m.wasm, sha256: ` + wrong + `}
`
	path := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two versions naming one file are refused by Validate, so build the
	// last module's versions from two names of the same file.
	c, err := Load(path)
	if err == nil {
		t.Fatal("Load accepted the same file twice")
	}
	data = strings.Replace(data, "- {path: m.wasm, sha256: "+wrong, "- {path: ./sub/../m.wasm2, sha256: "+wrong, 1)
	if err := os.WriteFile(filepath.Join(dir, "m.wasm2"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(path); err != nil {
		t.Fatal(err)
	}
	err = c.CheckFiles()
	want := path + ":5: modules[2].path: open " + filepath.Join(dir, "nope.wasm") + ": no such file or directory\n" +
		path + ":6: modules[3].path: " + filepath.Join(dir, "d.wasm") + " is not a regular file (it is a directory); a module must be a regular file\n" +
		path + ":11: modules[4].versions[1].path: " + filepath.Join(dir, "m.wasm2") + ": sha256 is " + pin + ", the config pins " + wrong
	if err == nil || err.Error() != want {
		t.Errorf("CheckFiles:\n%v\nwant:\n%s", err, want)
	}
	digest := func(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }
	if err := c.Module("good").Versions[0].VerifyDigest(digest(content)); err != nil {
		t.Errorf("VerifyDigest of the pinned content: %v", err)
	}
	if err := c.Module("good").Versions[0].VerifyDigest(digest(append(content, 0))); err == nil {
		t.Error("VerifyDigest accepted other content")
	}
	if err := c.Module("unpinned").Versions[0].VerifyDigest(digest([]byte("anything"))); err != nil {
		t.Errorf("VerifyDigest without a pin: %v", err)
	}
}
