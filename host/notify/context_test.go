package notify

import (
	"bytes"
	"errors"
	"testing"
)

func TestSanitizeContext(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte // nil: same as an empty context
		err  bool
	}{
		{"empty", nil, nil, false},
		{"empty map", hx(t, "a0"), hx(t, "a0"), false},
		// {"auth_token": "x", "user_id": "u", "roles": ["r"], "tenant": "t"}
		// keeps user_id and roles, in their order.
		{
			"drops unsafe keys in order",
			hx(t, "a4"+"6a617574685f746f6b656e"+"6178"+"67757365725f6964"+"6175"+"65726f6c6573"+"816172"+"6674656e616e74"+"6174"),
			hx(t, "a2"+"67757365725f6964"+"6175"+"65726f6c6573"+"816172"),
			false,
		},
		{
			"indefinite map",
			hx(t, "bf"+"6869735f61646d696e"+"f5"+"66736563726574"+"01"+"ff"),
			hx(t, "a1"+"6869735f61646d696e"+"f5"),
			false,
		},
		{"one-byte count", oneByteCount(t), hx(t, "a0"), false},
		{"not a map", hx(t, "80"), nil, true},
		{"integer key", hx(t, "a10100"), nil, true},
		{"truncated", hx(t, "a2"+"67757365725f6964"), nil, true},
		{"trailing bytes", hx(t, "a000"), nil, true},
		{"count beyond the data", hx(t, "ba7fffffff"), nil, true},
		{"reserved head", hx(t, "bc"), nil, true},
		{"unterminated indefinite", hx(t, "bf"), nil, true},
		{"invalid UTF-8 key", hx(t, "a161ff00"), nil, true},
		{"invalid UTF-8 value", hx(t, "a167757365725f6964618e"), nil, true},
		{"invalid UTF-8 in a dropped value", hx(t, "a1617862ffff"), nil, true},
		{"repeated key", hx(t, "a2617801617802"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SanitizeContext(tt.in)
			if tt.err {
				if !errors.Is(err, errContext) {
					t.Fatalf("SanitizeContext(%x) = %x, %v; want an error about the context", tt.in, got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("SanitizeContext(%x) = %x, %v; want %x", tt.in, got, err, tt.want)
			}
		})
	}
}

// oneByteCount is a map of 24 unsafe keys, whose count takes a byte
// after the head.
func oneByteCount(t *testing.T) []byte {
	b := hx(t, "b818")
	for k := byte('a'); k < 'a'+24; k++ {
		b = append(b, 0x61, k, 0x00)
	}
	return b
}

func TestSanitizeContextKeepsEverySafeKey(t *testing.T) {
	m := map[string]any{"auth_token": "secret", "password": "p"}
	for _, k := range SafeContextKeys {
		m[k] = k
	}
	got, err := SanitizeContext(cb(t, m))
	if err != nil {
		t.Fatal(err)
	}
	out := decoded(t, got).(map[string]any)
	if len(out) != len(SafeContextKeys) || out["auth_token"] != nil || out["user_id"] != "user_id" {
		t.Fatalf("sanitized to %v", out)
	}
}
