package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

var buildWAT = sync.OnceValue(func() error {
	var targets []string
	for _, name := range []string{"echo", "abi_v2", "missing_export", "command", "garbage_manifest"} {
		targets = append(targets, "host/wasm/testdata/"+name+".wasm")
	}
	out, err := exec.Command("make", append([]string{"-C", "../..", "--no-print-directory"}, targets...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("make %s: %v\n%s", strings.Join(targets, " "), err, out)
	}
	return nil
})

// wat returns the path of a hand-written test module of host/wasm, built
// with the Makefile's rule.
func wat(t *testing.T, name string) string {
	t.Helper()
	if err := buildWAT(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join("..", "..", "host", "wasm", "testdata", name+".wasm")
}

func TestInspect(t *testing.T) {
	path := wat(t, "echo")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"inspect", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	var got struct {
		File   string `json:"file"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
		abi.Manifest
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got.File != path || got.Size != len(b) || got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("file %q, size %d, sha256 %s", got.File, got.Size, got.SHA256)
	}
	want := abi.Manifest{
		ABIVersion: 1,
		Module:     "echo",
		Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{
			{Name: "echo", Export: "rpc.echo"},
			{Name: "context", Export: "rpc.context"},
			{Name: "fail", Export: "rpc.fail"},
			{Name: "_private", Export: "rpc._private"},
		}}},
		Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}},
	}
	if !reflect.DeepEqual(got.Manifest, want) {
		t.Errorf("manifest %+v, want %+v", got.Manifest, want)
	}
}

func TestInspectErrors(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.wasm")
	if err := os.WriteFile(text, []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"no file", []string{"inspect"}, 2, "usage: wasmrpcd inspect FILE.wasm"},
		{"two files", []string{"inspect", "a.wasm", "b.wasm"}, 2, "usage"},
		{"missing file", []string{"inspect", filepath.Join(t.TempDir(), "gone.wasm")}, 1, "no such file"},
		{"not wasm", []string{"inspect", text}, 1, "not a WebAssembly binary"},
		{"other ABI", []string{"inspect", wat(t, "abi_v2")}, 1, "speaks wasmrpcd ABI version 2, this host speaks version 1"},
		{"missing export", []string{"inspect", wat(t, "missing_export")}, 1, "does not export rpc.gone"},
		{"command module", []string{"inspect", wat(t, "command")}, 1, "WASI command"},
		{"garbage manifest", []string{"inspect", wat(t, "garbage_manifest")}, 1, "manifest is not valid CBOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.message) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.message)
			}
		})
	}
}
