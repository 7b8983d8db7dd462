package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"time"
)

// withNonce returns module bytes with a custom section of random bytes
// appended: the same module to the runtime, a new file to any cache.
func withNonce(module []byte) []byte {
	const name = "wasmrpcd.bench.nonce"
	payload := make([]byte, 16)
	_, _ = rand.Read(payload)
	body := append(appendULEB(nil, len(name)), name...)
	body = append(body, payload...)
	out := append([]byte(nil), module...)
	out = append(out, 0) // custom section
	out = appendULEB(out, len(body))
	return append(out, body...)
}

func appendULEB(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// place replaces dst with data as a deployment does: a temporary file in
// the same directory renamed over dst.
func place(data []byte, dst string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".deploy-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func minOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
