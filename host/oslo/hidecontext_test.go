package oslo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestHideContextKeys(t *testing.T) {
	hidden := map[string]bool{"auth_token": true, "service_token": true}
	for _, tc := range []struct {
		name, ctx, want string // JSON; want "" is the same as ctx
	}{
		{"none there", `{"user": "u", "roles": ["r"]}`, ``},
		{"empty", `{}`, ``},
		{"first", `{"auth_token": "secret", "user": "u"}`, `{"user": "u"}`},
		{"last", `{"user": "u", "auth_token": "secret"}`, `{"user": "u"}`},
		{"two, apart", `{"service_token": {"a": [1, 2]}, "user": "u", "auth_token": null, "n": 1.5}`, `{"user": "u", "n": 1.5}`},
		{"all", `{"auth_token": "a", "service_token": "b"}`, `{}`},
		{"prefix is not the key", `{"auth_token_x": 1, "auth_tokenauth_token": 2}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := JSONToCBOR(nil, []byte(tc.ctx))
			if err != nil {
				t.Fatal(err)
			}
			got, err := HideContextKeys(ctx, hidden)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if &got[0] != &ctx[0] || len(got) != len(ctx) {
					t.Fatalf("a context without hidden keys was copied or changed: %x", got)
				}
				return
			}
			want, _ := JSONToCBOR(nil, []byte(tc.want))
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x (%s)", got, want, tc.want)
			}
		})
	}
	// A map of 24 entries or more has a longer head; an indefinite map
	// and a head longer than needed are read too.
	big := []byte(`{"auth_token": 0`)
	for i := range 30 {
		big = append(big, `, "k`...)
		big = append(big, byte('a'+i%26), byte('a'+i/26))
		big = append(big, `": 1`...)
	}
	big = append(big, '}')
	ctx, _ := JSONToCBOR(nil, big)
	got, err := HideContextKeys(ctx, hidden)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := cbor.Unmarshal(got, &m); err != nil || len(m) != 30 || m["auth_token"] != nil {
		t.Fatalf("30 of 31 entries: %v, %v", m, err)
	}
	for _, tc := range []struct {
		name string
		ctx  []byte
		want string // CBOR, hex-free: as JSON
	}{
		{"indefinite", []byte{0xbf, 0x61, 'a', 0x01, 0x6a, 'a', 'u', 't', 'h', '_', 't', 'o', 'k', 'e', 'n', 0x02, 0xff}, `{"a": 1}`},
		{"long head", []byte{0xb8, 0x02, 0x61, 'a', 0x01, 0x6a, 'a', 'u', 't', 'h', '_', 't', 'o', 'k', 'e', 'n', 0x02}, `{"a": 1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HideContextKeys(tc.ctx, hidden)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := JSONToCBOR(nil, []byte(tc.want))
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		ctx  []byte
	}{
		{"not a map", []byte{0x80}},
		{"integer key", []byte{0xa1, 0x01, 0x01}},
		{"truncated", []byte{0xa2, 0x61, 'a', 0x01}},
		{"trailing bytes", []byte{0xa0, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := HideContextKeys(tc.ctx, hidden); !errors.Is(err, ErrCBOR) {
				t.Fatalf("err = %v, want ErrCBOR", err)
			}
		})
	}
}

// FuzzHideContextKeys checks that hiding never panics, and that what it
// returns is a well-formed map with exactly the entries not hidden.
func FuzzHideContextKeys(f *testing.F) {
	for _, s := range []string{`{"auth_token": "s", "user": "u"}`, `{}`, `{"a": {"auth_token": 1}, "auth_token": [1]}`} {
		c, _ := JSONToCBOR(nil, []byte(s))
		f.Add(c)
	}
	f.Add([]byte{0xbf, 0x61, 'a', 0x01, 0xff})
	hidden := map[string]bool{"auth_token": true, "a": true}
	f.Fuzz(func(t *testing.T, ctx []byte) {
		got, err := HideContextKeys(ctx, hidden)
		if err != nil || len(ctx) == 0 {
			return
		}
		var in, out map[string]cbor.RawMessage
		if cbor.Unmarshal(ctx, &in) != nil {
			return // duplicate keys or what the library refuses
		}
		if err := cbor.Unmarshal(got, &out); err != nil {
			t.Fatalf("%x: hid to %x, which does not read: %v", ctx, got, err)
		}
		for k, v := range in {
			if hidden[k] {
				if _, ok := out[k]; ok {
					t.Fatalf("%x: %q kept", ctx, k)
				}
			} else if !bytes.Equal(out[k], v) {
				t.Fatalf("%x: %q is %x, was %x", ctx, k, out[k], v)
			}
		}
		if len(out) > len(in) {
			t.Fatalf("%x: %d entries from %d", ctx, len(out), len(in))
		}
	})
}
