package abi

import (
	"strings"
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

func TestDecodeManifest(t *testing.T) {
	good := Manifest{
		ABIVersion: Version,
		Module:     "m",
		Endpoints: []Endpoint{{Version: "1.5", Methods: []Method{
			{Name: "echo", Export: "rpc.echo"}, {Name: "add", Export: "rpc.add"},
		}}},
		Notifications: []NotificationHandler{{Priority: "info", Export: "notify.info"}},
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Manifest)
		errHas string
	}{
		{"valid", func(*Manifest) {}, ""},
		{"other ABI", func(m *Manifest) { m.ABIVersion = 2 }, "ABI version 2"},
		{"empty", func(m *Manifest) { m.Endpoints = nil; m.Notifications = nil }, "no endpoint"},
		{"bad version", func(m *Manifest) { m.Endpoints[0].Version = "x" }, "not major.minor"},
		{"method twice", func(m *Manifest) {
			m.Endpoints[0].Methods = append(m.Endpoints[0].Methods, Method{Name: "echo", Export: "rpc.echo2"})
		}, "declared twice"},
		{"no export", func(m *Manifest) { m.Endpoints[0].Methods[0].Export = "" }, "without name or export"},
		{"bad priority", func(m *Manifest) { m.Notifications[0].Priority = "loud" }, "unknown priority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.Endpoints = []Endpoint{good.Endpoints[0]}
			m.Endpoints[0].Methods = append([]Method(nil), good.Endpoints[0].Methods...)
			m.Notifications = append([]NotificationHandler(nil), good.Notifications...)
			tc.mutate(&m)
			data, err := Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeManifest(data)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(got.Exports()) != 3 {
					t.Errorf("Exports() = %v", got.Exports())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.errHas)
			}
		})
	}
}

func TestDecodeManifestRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, {0xff}, {0xa1, 0x61}, make([]byte, MaxManifestSize+1)} {
		if _, err := DecodeManifest(data); err == nil {
			t.Errorf("DecodeManifest(% x...) accepted", data[:min(len(data), 4)])
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	m := Manifest{ABIVersion: Version, Endpoints: []Endpoint{{Version: "1.0", Methods: []Method{{Name: "a", Export: "rpc.a"}}}}}
	data, _ := Marshal(&m)
	f.Add(data)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeManifest(data)
		if err == nil && m.Validate() != nil {
			t.Fatal("DecodeManifest returned a manifest that does not validate")
		}
	})
}

func FuzzUnmarshalResult(f *testing.F) {
	ok, _ := Marshal(&Result{Value: []byte{0x01}})
	bad, _ := Marshal(&Result{Error: &Error{Class: "ValueError", Message: "x"}})
	f.Add(ok)
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Result
		_ = Unmarshal(data, &r)
	})
}
