package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("\x00asm\x01\x00\x00\x00\xff\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	echo := wat(t, "echo")
	key := filepath.Join(t.TempDir(), "cache.key")
	tests := []struct {
		name   string
		args   func(dir string) []string
		code   int
		stderr string // in stderr
	}{
		{"compiles", func(dir string) []string { return []string{"--cache-dir", dir, "--key-file", key, echo} }, 0, ""},
		{"compiles on one CPU", func(dir string) []string { return []string{"--cache-dir", dir, "--key-file", key, "--cpus", "1", echo} }, 0, ""},
		{"invalid module", func(dir string) []string { return []string{"--cache-dir", dir, "--key-file", key, garbage} }, 1, "not a valid wasmrpcd module"},
		{"missing file", func(dir string) []string { return []string{"--cache-dir", dir, "--key-file", key, garbage + ".none"} }, 3, "no such file"},
		{"no cache dir", func(string) []string { return []string{echo} }, 2, "usage"},
		{"no file", func(dir string) []string { return []string{"--cache-dir", dir, "--key-file", key} }, 2, "usage"},
		{"cache dir others may write", func(dir string) []string {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return []string{"--cache-dir", dir, "--key-file", key, echo}
		}, 3, "has mode 0777: group or others may write it"},
		{"key file others may read", func(dir string) []string {
			k := dir + ".key"
			if err := os.WriteFile(k, []byte(strings.Repeat("ab", 32)), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--cache-dir", dir, "--key-file", k, echo}
		}, 3, "has mode 0644"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"compile"}, tt.args(dir)...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit code %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.stderr)
			}
			if code != 0 {
				return
			}
			// The cache holds the module's sealed entry, and nothing of
			// wazero's own.
			b, err := os.ReadFile(echo)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			entries, _ := filepath.Glob(filepath.Join(dir, "wasmrpcd-*", hex.EncodeToString(sum[:])))
			all, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			if len(entries) != 1 || len(all) != 1 {
				t.Errorf("cache holds %v, want the one entry of the module", all)
			}
			if st, err := os.Stat(entries[0]); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("entry: %v %v, want mode 0600", st.Mode(), err)
			}
		})
	}
}
