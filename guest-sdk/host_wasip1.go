//go:build wasip1

package sdk

import (
	"runtime"
	"unsafe"
)

//go:wasmimport wasmrpc log
func wasmLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport wasmrpc call
func wasmCall(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmrpc cast
func wasmCast(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmrpc notify
func wasmNotify(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmrpc response
func wasmResponse(ptr unsafe.Pointer, n uint32) int32

// hostLog writes a line through the host's log import.
func hostLog(level Level, msg string) {
	wasmLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}

// Each exchange goes through its own import function, so that only the
// imports a module's code reaches end up in its import section: a module
// that never calls Call imports no "call".
func exchangeCall(req []byte) ([]byte, error)   { return exchange(importCall, wasmCall, req) }
func exchangeCast(req []byte) ([]byte, error)   { return exchange(importCast, wasmCast, req) }
func exchangeNotify(req []byte) ([]byte, error) { return exchange(importNotify, wasmNotify, req) }

// exchange passes req to the host import fn and fetches the response the
// host then holds.
func exchange(imp hostImport, fn func(unsafe.Pointer, uint32) int32, req []byte) ([]byte, error) {
	size := fn(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	runtime.KeepAlive(req)
	if size < 0 {
		return nil, errnoError(imp, size)
	}
	buf := make([]byte, size+1) // +1: a non-empty buffer has an address
	got := wasmResponse(unsafe.Pointer(unsafe.SliceData(buf)), uint32(size))
	if got < 0 {
		return nil, errnoError(imp, got)
	}
	return buf[:got], nil
}
