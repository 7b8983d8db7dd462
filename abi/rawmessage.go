package abi

import "errors"

// RawMessage is one encoded CBOR data item, kept as it is: the value of a
// [Result], the arguments and context of a [CallRequest], the payload and
// context of a [Notification]. Empty means absent.
//
// Its methods make CBOR libraries copy it in and out unchanged: the
// host's codec (package abi/cborcodec) and the Go guest SDK's own encoder
// both use them. Fields of this type are tagged `omitzero`, which omits
// an empty RawMessage when encoding.
type RawMessage []byte

// MarshalCBOR returns m, or CBOR null when m is empty.
func (m RawMessage) MarshalCBOR() ([]byte, error) {
	if len(m) == 0 {
		return []byte{0xf6}, nil
	}
	return m, nil
}

// UnmarshalCBOR sets *m to a copy of data, one CBOR data item the decoder
// has checked to be well formed.
func (m *RawMessage) UnmarshalCBOR(data []byte) error {
	if m == nil {
		return errors.New("abi.RawMessage: UnmarshalCBOR on nil pointer")
	}
	*m = append((*m)[:0], data...)
	return nil
}

// IsZero reports whether m is empty, for `omitzero`.
func (m RawMessage) IsZero() bool { return len(m) == 0 }
