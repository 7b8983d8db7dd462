package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
// of at most max_module_size whose content matches its sha256 pin, and returns an *Error listing
// each file that is not, or nil. Load does not run it, so that a config
// can be checked before its modules are built; `wasmrpcd check` and the
// daemon do.
func (c *Config) CheckFiles() error {
	v := &validator{c: c}
	for i := range c.Modules {
		for j, f := range c.Modules[i].Versions {
			if err := checkFile(f, c.MaxModuleSize); err != nil {
				v.add(v.filePath(i, j)+".path", "%v", err)
			}
		}
	}
	return newError(c.file, v.problems)
}

// checkFile reads f as the daemon does (see ModuleFile.Read), hashing
// it only.
func checkFile(f ModuleFile, limit Size) error {
	fh, _, err := f.open(limit)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(fh, int64(limit)+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.Path, err)
	}
	if n > int64(limit) {
		return tooLarge(f.Path, 0, limit)
	}
	return f.VerifyDigest(hex.EncodeToString(h.Sum(nil)))
}
