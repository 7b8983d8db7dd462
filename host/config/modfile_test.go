package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestModuleFileRead(t *testing.T) {
	content := []byte("\x00asm\x01\x00\x00\x00 a module")
	sum := sha256.Sum256(content)
	pin := hex.EncodeToString(sum[:])
	const limit = 1 * KiB
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		pin     string
		limit   Size
		wantErr string // "" reads content
	}{
		{"regular file", write(content), "", limit, ""},
		{"pinned", write(content), pin, limit, ""},
		{"pin of other content", write(append(content, 0)), pin, limit, "sha256 is "},
		{"exactly the limit", write(bytes.Repeat([]byte{1}, int(limit))), "", limit, ""},
		{"one byte over the limit", write(bytes.Repeat([]byte{1}, int(limit)+1)), "", limit, "is 1025B, more than max_module_size 1KiB"},
		{"sparse and huge", func(t *testing.T, path string) {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(2 << 30); err != nil {
				t.Fatal(err)
			}
		}, "", limit, "is 2GiB, more than max_module_size 1KiB"},
		{"missing", func(*testing.T, string) {}, "", limit, "no such file or directory"},
		{"a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "", limit, "is not a regular file (it is a directory)"},
		{"a FIFO without a writer", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", limit, "is not a regular file (it is a FIFO)"},
		{"a character device", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, "", limit, "is not a regular file (it is a character device)"},
		{"a symbolic link to a regular file", func(t *testing.T, path string) {
			write(content)(t, path+".real")
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, pin, limit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.wasm")
			tt.make(t, path)
			f := ModuleFile{Path: path, SHA256: tt.pin}
			data, digest, err := f.Read(tt.limit)
			checkErr := func(what string, err error) {
				t.Helper()
				if tt.wantErr == "" {
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%s: %v, want an error with %q", what, err, tt.wantErr)
				}
			}
			checkErr("Read", err)
			if tt.wantErr == "" {
				want, _ := os.ReadFile(path)
				if s := sha256.Sum256(want); !bytes.Equal(data, want) || digest != hex.EncodeToString(s[:]) {
					t.Errorf("Read: %d bytes, digest %s; want the file's %d bytes and their digest", len(data), digest, len(want))
				}
			}
			checkErr("checkFile", checkFile(f, tt.limit))
		})
	}
}

func write(b []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
