package abi

import (
	"fmt"
	"strconv"
	"strings"
)

// APIVersion is an oslo.messaging endpoint or target version,
// "major.minor" with an optional ".revision".
type APIVersion struct {
	Major, Minor, Revision int
}

// ParseVersion parses "major.minor" or "major.minor.revision", each part
// a non-negative decimal integer.
func ParseVersion(s string) (APIVersion, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return APIVersion{}, fmt.Errorf("version %q is not major.minor[.revision]", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return APIVersion{}, fmt.Errorf("version %q: part %q is not a non-negative integer", s, p)
		}
		nums[i] = n
	}
	return APIVersion{Major: nums[0], Minor: nums[1], Revision: nums[2]}, nil
}

// Serves reports whether an endpoint of version v serves a request for
// version requested, by oslo.messaging's rule: the same major version, and
// a minor (then revision) at least the requested one.
func (v APIVersion) Serves(requested APIVersion) bool {
	switch {
	case v.Major != requested.Major:
		return false
	case v.Minor != requested.Minor:
		return v.Minor > requested.Minor
	default:
		return v.Revision >= requested.Revision
	}
}

func (v APIVersion) String() string {
	if v.Revision != 0 {
		return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}
