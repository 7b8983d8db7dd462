package abi

import (
	"bytes"
	"testing"
)

func TestPackUnpack(t *testing.T) {
	for _, tc := range []struct{ ptr, length uint32 }{
		{0, 0}, {1, 2}, {0xffffffff, 0xffffffff}, {65536, 100},
	} {
		p, l := Unpack(Pack(tc.ptr, tc.length))
		if p != tc.ptr || l != tc.length {
			t.Errorf("Unpack(Pack(%d, %d)) = %d, %d", tc.ptr, tc.length, p, l)
		}
	}
}

func TestVersionServes(t *testing.T) {
	for _, tc := range []struct {
		impl, req string
		want      bool
	}{
		{"1.5", "1.0", true},
		{"1.5", "1.5", true},
		{"1.5", "1.6", false},
		{"1.5", "2.0", false},
		{"2.0", "1.9", false},
		{"1.5.2", "1.5.1", true},
		{"1.5.2", "1.5.3", false},
		{"1.6", "1.5.9", true},
		{"1.5", "1.5.1", false},
	} {
		impl, err := ParseVersion(tc.impl)
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseVersion(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		if got := impl.Serves(req); got != tc.want {
			t.Errorf("%s serves %s = %v, want %v", tc.impl, tc.req, got, tc.want)
		}
	}
}

func TestParseVersionErrors(t *testing.T) {
	for _, s := range []string{"", "1", "1.", ".1", "a.b", "1.2.3.4", "-1.0", "+1.0", "1.0x"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
}

func TestRawMessage(t *testing.T) {
	var m RawMessage
	if !m.IsZero() || !(RawMessage{}).IsZero() || (RawMessage{0xf6}).IsZero() {
		t.Fatal("IsZero")
	}
	if b, err := m.MarshalCBOR(); err != nil || !bytes.Equal(b, []byte{0xf6}) {
		t.Fatalf("empty MarshalCBOR = % x, %v", b, err)
	}
	src := []byte{0x61, 'x'}
	if err := m.UnmarshalCBOR(src); err != nil || !bytes.Equal(m, src) {
		t.Fatalf("UnmarshalCBOR: % x, %v", m, err)
	}
	src[1] = 'y'
	if m[1] != 'x' {
		t.Fatal("UnmarshalCBOR kept the caller's bytes")
	}
	if b, err := m.MarshalCBOR(); err != nil || !bytes.Equal(b, []byte{0x61, 'x'}) {
		t.Fatalf("MarshalCBOR = % x, %v", b, err)
	}
	if err := (*RawMessage)(nil).UnmarshalCBOR(src); err == nil {
		t.Fatal("UnmarshalCBOR on nil accepted")
	}
}
