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
	tests := []struct {
		name   string
		args   func(dir string) []string
		code   int
		stderr string // in stderr
	}{
		{"compiles", func(dir string) []string { return []string{"--cache-dir", dir, echo} }, 0, ""},
		{"compiles on one CPU", func(dir string) []string { return []string{"--cache-dir", dir, "--cpus", "1", echo} }, 0, ""},
		{"invalid module", func(dir string) []string { return []string{"--cache-dir", dir, garbage} }, 1, "not a valid wasmrpcd module"},
		{"missing file", func(dir string) []string { return []string{"--cache-dir", dir, garbage + ".none"} }, 3, "no such file"},
		{"no cache dir", func(string) []string { return []string{echo} }, 2, "usage"},
		{"no file", func(dir string) []string { return []string{"--cache-dir", dir} }, 2, "usage"},
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
			// The cache holds wazero's compiled form and the record of it.
			b, err := os.ReadFile(echo)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			markers, _ := filepath.Glob(filepath.Join(dir, "wasmrpcd-*", hex.EncodeToString(sum[:])))
			compiled, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
			if len(markers) != 1 || len(compiled) != 1 {
				t.Errorf("cache holds markers %v and compiled modules %v, want one each", markers, compiled)
			}
		})
	}
}
