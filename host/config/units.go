package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Size is a number of bytes. In the config file it is a plain integer of
// bytes or an integer followed by a binary unit:
//
//	memory_limit: 64MiB      # also 512KiB, 1GiB, 1048576, 100B
//
// Decimal units (KB, MB, GB) are refused rather than guessed at.
type Size int64

// Binary size units.
const (
	Byte Size = 1
	KiB       = 1024 * Byte
	MiB       = 1024 * KiB
	GiB       = 1024 * MiB
	TiB       = 1024 * GiB
)

// WasmPage is the size of one WebAssembly memory page.
const WasmPage = 64 * KiB

var sizeUnits = []struct {
	name string
	size Size
}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", Byte}}

// ParseSize parses "64MiB", "512 KiB", "1GiB", "100B" or "1048576".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size")
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	digits, unit := t[:i], strings.TrimSpace(t[i:])
	if digits == "" {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("size %q is negative", s)
		}
		return 0, fmt.Errorf("size %q does not start with a number of bytes", s)
	}
	if strings.HasPrefix(unit, ".") {
		return 0, fmt.Errorf("size %q is not a whole number (use a smaller unit)", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	mult := Size(0)
	if unit == "" {
		mult = Byte
	}
	for _, u := range sizeUnits {
		if unit == u.name {
			mult = u.size
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("size %q has unknown unit %q (use B, KiB, MiB, GiB or TiB)", s, unit)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n) * mult, nil
}

// String returns the size with the largest unit that divides it exactly:
// "64MiB", "1536KiB", "100B".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if s%u.size == 0 && u.size > Byte {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// Bytes returns the size as a number of bytes.
func (s Size) Bytes() int64 { return int64(s) }

// Pages returns the number of whole 64KiB WebAssembly pages in s.
func (s Size) Pages() uint32 {
	if s <= 0 {
		return 0
	}
	p := s / WasmPage
	if p > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(p)
}

// UnmarshalYAML decodes a YAML integer (bytes) or a string with a unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		return fmt.Errorf("want a size such as 64MiB, got %s", describe(n))
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML encodes the size as String does.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// Duration is a length of time, written as Go durations are: "30s", "1m",
// "1h30m", "250ms". A number without a unit is refused, except 0.
type Duration time.Duration

// ParseDuration parses a Go duration, refusing a number without a unit
// (other than 0) with a hint instead of Go's terse message.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty duration")
	}
	if strings.Trim(t, "0123456789.+-") == "" {
		if f, err := strconv.ParseFloat(t, 64); err == nil && f == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("duration %q needs a unit, such as %q", s, t+"s")
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("duration %q is not valid (want a number and a unit, such as 30s, 1m or 250ms)", s)
	}
	return Duration(d), nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("30s", "1m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML decodes a duration string such as "30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		return fmt.Errorf("want a duration such as 30s, got %s", describe(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML encodes the duration as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		if n.Alias != nil {
			return describe(n.Alias)
		}
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return strconv.Quote(clip(n.Value))
		case "!!binary":
			return "binary data"
		}
		return clip(n.Value)
	}
	return "nothing"
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
