// Package cborcodec is the host's CBOR codec for the types of package abi:
// the decoding and encoding options both sides of the ABI keep, Marshal
// and Unmarshal with them, and DecodeManifest.
//
// It is built on github.com/fxamacker/cbor/v2 and meant for the host and
// for tests. Package abi itself has no dependency, so that a guest module
// importing it (through the Go guest SDK, which has its own compact codec)
// does not link a CBOR library it does not use.
package cborcodec

import (
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// DecOptions are the CBOR decoding options both sides use for bytes from the
// other side: bounded nesting and sizes, no duplicate map keys, maps decoded
// into map[string]any as JSON objects are.
func DecOptions() cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  abi.MaxNesting,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		IndefLength:      cbor.IndefLengthAllowed,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		UTF8:             cbor.UTF8RejectInvalid,
	}
}

// EncOptions are the CBOR encoding options both sides use: shortest float
// and integer forms, sorted map keys so that equal values encode equally.
func EncOptions() cbor.EncOptions {
	return cbor.EncOptions{
		Sort:          cbor.SortBytewiseLexical,
		ShortestFloat: cbor.ShortestFloat16,
		NaNConvert:    cbor.NaNConvert7e00,
		InfConvert:    cbor.InfConvertFloat16,
		Time:          cbor.TimeRFC3339Nano,
	}
}

var (
	decMode = mustDecMode()
	encMode = mustEncMode()
)

func mustDecMode() cbor.DecMode {
	m, err := DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("cborcodec: decoding options: %v", err))
	}
	return m
}

func mustEncMode() cbor.EncMode {
	m, err := EncOptions().EncMode()
	if err != nil {
		panic(fmt.Sprintf("cborcodec: encoding options: %v", err))
	}
	return m
}

// Marshal encodes v with [EncOptions].
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// Unmarshal decodes data into v with [DecOptions]. Trailing bytes after
// the first CBOR item are an error.
func Unmarshal(data []byte, v any) error { return decMode.Unmarshal(data, v) }

// DecodeManifest decodes and checks a manifest: the ABI version, at least
// one endpoint or notification handler, every method and handler naming an
// export, no method name twice in one endpoint (see [abi.Manifest.Validate]).
func DecodeManifest(data []byte) (*abi.Manifest, error) {
	if len(data) > abi.MaxManifestSize {
		return nil, fmt.Errorf("abi: manifest of %d bytes exceeds %d", len(data), abi.MaxManifestSize)
	}
	var m abi.Manifest
	if err := Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("abi: manifest is not valid CBOR: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}
