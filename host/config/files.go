package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// VerifyDigest checks the SHA-256 (lowercase hex) of a module file's
// content against its pin; it returns nil when f has no pin. The daemon
// verifies the very bytes it compiles, so that a file replaced after
// CheckFiles is still caught.
func (f ModuleFile) VerifyDigest(digest string) error {
	if f.SHA256 != "" && digest != f.SHA256 {
		return fmt.Errorf("%s: sha256 is %s, the config pins %s", f.Path, digest, f.SHA256)
	}
	return nil
}

// CheckFiles checks that every module file is a readable regular file
// whose content matches its sha256 pin, and returns an *Error listing
// each file that is not, or nil. Load does not run it, so that a config
// can be checked before its modules are built; `wasmrpcd check` and the
// daemon do.
func (c *Config) CheckFiles() error {
	v := &validator{c: c}
	for i := range c.Modules {
		for j, f := range c.Modules[i].Versions {
			if err := checkFile(f); err != nil {
				v.add(v.filePath(i, j)+".path", "%v", err)
			}
		}
	}
	return newError(c.file, v.problems)
}

func checkFile(f ModuleFile) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Path)
	}
	if f.SHA256 == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("reading %s: %w", f.Path, err)
	}
	return f.VerifyDigest(hex.EncodeToString(h.Sum(nil)))
}
