package wasm

import "testing"

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		64 << 20: "64MiB", 1 << 30: "1GiB", 512 << 10: "512KiB", 1000: "1000 bytes", (1 << 20) + 1: "1048577 bytes",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	for _, tc := range []struct {
		in   Limits
		ok   bool
		want uint64
	}{
		{Limits{}, true, DefaultMemoryLimit},
		{Limits{MemoryLimit: 1<<20 + 100}, true, 1 << 20},
		{Limits{MemoryLimit: 100}, false, 0},
		{Limits{MemoryLimit: 1 << 32}, true, 1<<32 - 1<<16},
		{Limits{MemoryLimit: 1<<32 + 1}, false, 0},
		{Limits{CallTimeout: -1}, false, 0},
		{Limits{MaxInstances: -1}, false, 0},
		{Limits{MaxResultSize: -1}, false, 0},
	} {
		got, err := tc.in.withDefaults()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: error %v", tc.in, err)
			continue
		}
		if tc.ok && got.MemoryLimit != tc.want {
			t.Errorf("%+v: memory limit %d, want %d", tc.in, got.MemoryLimit, tc.want)
		}
	}
}
