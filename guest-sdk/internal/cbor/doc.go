// Package cbor is the Go guest SDK's own CBOR codec for the data model of
// the wasmrpc ABI (abi/README.md): integers (with bignums, tags 2 and 3),
// floats of 16, 32 and 64 bits, text and byte strings, arrays, maps with
// text keys, true, false, null and undefined.
//
// It exists because a general CBOR library is large and allocates a lot,
// and in a wasm guest both cost: module size sets compile and load time,
// and every heap allocation of Go's wasm port costs about as much as a
// whole call of a C module. So it reads in place and writes into a
// caller's buffer:
//
//   - [Wellformed] checks one data item against the ABI's limits without
//     allocating, and [Skip] steps over a checked item;
//   - [DecodeAny] decodes into the values JSON's data model gives Go
//     (nil, bool, int64, *big.Int, float64, string, []byte, []any,
//     map[string]any) and [Unmarshal] into typed Go values by reflection;
//   - [Encoder] appends values to one reusable buffer: a type switch for
//     the common types, reflection for the rest.
//
// Its rules follow the host's codec (package abi/cborcodec, which uses
// github.com/fxamacker/cbor/v2 with abi's options) so that both sides
// agree on what is valid and how a value encodes: shortest integer and
// float forms, NaN and infinities as half-precision floats, map keys and
// struct fields sorted bytewise, nesting at most abi.MaxNesting levels,
// no duplicate map keys, valid UTF-8 text. The differential tests and
// fuzz targets of this package hold it to that. Error messages read like
// the host's ("cannot unmarshal positive integer into Go value of type
// string"), so that a guest reports a bad argument in the same words.
//
// Tags other than bignums have no Go value of their own here: decoding
// reads their content (as the host's CBOR to JSON conversion does), and
// a value that must pass unchanged (tags included) is kept as raw bytes
// by a type with an UnmarshalCBOR method (abi.RawMessage, sdk.Raw).
package cbor
