package sdk

import (
	"errors"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Raw is one encoded CBOR value, passed through without decoding.
//
// As an argument (a field of type Raw, or Raw values of a map[string]Raw),
// it is the argument exactly as the caller sent it, whatever its type:
// nothing is decoded, copied or allocated. Its bytes are the host's and
// are valid during the call only: clone them (bytes.Clone) to keep them.
// [Raw.Decode] decodes it when the handler wants a Go value after all.
//
// As a result, or inside one, it is written as it is; it must be one
// well-formed CBOR data item (an empty Raw is null). A method that
// returns one of its arguments unchanged, as an echo does, costs no
// decoding and no encoding at all:
//
//	var echo = sdk.Method("echo", func(_ *sdk.Context, a struct{ Value sdk.Raw }) (sdk.Raw, error) {
//		return a.Value, nil
//	})
type Raw []byte

// Decode decodes r into the value v points to, as arguments are decoded
// (see README.md): int64, float64, string, []any, map[string]any and so
// on for an interface, the field's type for a struct.
func (r Raw) Decode(v any) error {
	if len(r) == 0 {
		return errors.New("sdk: Raw.Decode of an empty Raw")
	}
	return cbor.Unmarshal(r, v)
}

// MarshalCBOR returns r, or null when r is empty.
func (r Raw) MarshalCBOR() ([]byte, error) {
	if len(r) == 0 {
		return []byte{cbor.Null}, nil
	}
	return r, nil
}

// UnmarshalCBOR sets *r to a copy of data.
func (r *Raw) UnmarshalCBOR(data []byte) error {
	*r = append((*r)[:0], data...)
	return nil
}

// BigInt is an integer beyond the 64 bits of int64 and uint64, as an
// argument or value decoded into an interface gets it (Python's 2**100):
// its sign and absolute value, big-endian. It encodes back unchanged.
// new(big.Int).SetBytes(b.Abs), negated when b.Neg, makes it a
// math/big.Int; fields of type *big.Int also take such integers.
type BigInt = cbor.BigInt

// Encode encodes v as CBOR the way results are encoded (see README.md).
func Encode(v any) (Raw, error) {
	return cbor.Marshal(v)
}
