package config

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		err  string
	}{
		{"0", 0, ""},
		{"1048576", MiB, ""},
		{"100B", 100, ""},
		{"512KiB", 512 * KiB, ""},
		{"64MiB", 64 * MiB, ""},
		{"64 MiB", 64 * MiB, ""},
		{" 1GiB ", GiB, ""},
		{"2TiB", 2 * TiB, ""},
		{"8388607TiB", 8388607 * TiB, ""},
		{"8388608TiB", 0, `size "8388608TiB" is too large`},
		{"9223372036854775808", 0, `size "9223372036854775808" is too large`},
		{"", 0, "empty size"},
		{"MiB", 0, `size "MiB" does not start with a number of bytes`},
		{"-1MiB", 0, `size "-1MiB" is negative`},
		{"1.5MiB", 0, `size "1.5MiB" is not a whole number (use a smaller unit)`},
		{"64MB", 0, `size "64MB" has unknown unit "MB" (use B, KiB, MiB, GiB or TiB)`},
		{"64mib", 0, `size "64mib" has unknown unit "mib" (use B, KiB, MiB, GiB or TiB)`},
		{"64 MiB x", 0, `size "64 MiB x" has unknown unit "MiB x" (use B, KiB, MiB, GiB or TiB)`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("ParseSize(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			back, err := ParseSize(got.String())
			if err != nil || back != got {
				t.Errorf("ParseSize(%q.String() = %q) = %v, %v", tc.in, got.String(), back, err)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	for _, tc := range []struct {
		s    Size
		want string
	}{
		{0, "0"}, {1, "1B"}, {1023, "1023B"}, {KiB, "1KiB"}, {1536 * KiB, "1536KiB"},
		{64 * MiB, "64MiB"}, {4 * GiB, "4GiB"}, {3 * TiB, "3TiB"}, {-KiB, "-1KiB"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tc.s), got, tc.want)
		}
	}
}

func TestSizePages(t *testing.T) {
	for _, tc := range []struct {
		s    Size
		want uint32
	}{{0, 0}, {-1, 0}, {WasmPage - 1, 0}, {WasmPage, 1}, {64 * MiB, 1024}, {4 * GiB, 65536}, {TiB << 20, 1<<32 - 1}} {
		if got := tc.s.Pages(); got != tc.want {
			t.Errorf("Size(%d).Pages() = %d, want %d", int64(tc.s), got, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30s", 30 * time.Second, ""},
		{"1m", time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"-1s", -time.Second, ""},
		{"0", 0, ""},
		{"0.0", 0, ""},
		{"60", 0, `duration "60" needs a unit, such as "60s"`},
		{"1.5", 0, `duration "1.5" needs a unit, such as "1.5s"`},
		{"", 0, "empty duration"},
		{"soon", 0, `duration "soon" is not valid (want a number and a unit, such as 30s, 1m or 250ms)`},
		{"1d", 0, `duration "1d" is not valid (want a number and a unit, such as 30s, 1m or 250ms)`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got.Std() != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestUnmarshalYAML checks that Size and Duration also decode through
// yaml.Unmarshal, for packages that embed them in their own YAML.
func TestUnmarshalYAML(t *testing.T) {
	var v struct {
		S Size     `yaml:"s"`
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("s: 2MiB\nd: 1m\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.S != 2*MiB || v.D.Std() != time.Minute {
		t.Errorf("got %v, %v", v.S, v.D)
	}
	out, err := yaml.Marshal(v)
	if err != nil || string(out) != "s: 2MiB\nd: 1m0s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
	for _, bad := range []string{"s: [1]\n", "s: 1.5\n", "d: {a: 1}\n", "d: true\n", "s: 1XB\n"} {
		if err := yaml.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%q) accepted", bad)
		}
	}
}
