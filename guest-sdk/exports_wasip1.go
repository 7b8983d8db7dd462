//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// The ABI's reserved exports. Every module that imports this package
// exports them; the module's own code exports only its handlers.

//go:wasmexport wasmrpc.abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport wasmrpc.manifest
func exportManifest() uint64 {
	b := manifestBytes()
	return abi.Pack(addr(b), uint32(len(b)))
}

// maxAlloc bounds one wasmrpc.alloc: a larger request gets 0 instead of a
// fatal out-of-memory error of the Go runtime.
const maxAlloc = 1 << 30

// pinned holds every buffer handed to the host by wasmrpc.alloc until
// wasmrpc.free releases it, so that the garbage collector (which never
// moves objects) does not reclaim memory the host writes into.
var pinned = map[uint32][]byte{}

//go:wasmexport wasmrpc.alloc
func exportAlloc(size int32) uint32 {
	if size < 0 || size > maxAlloc {
		return 0
	}
	b := make([]byte, max(size, 1))
	p := addr(b)
	pinned[p] = b
	return p
}

//go:wasmexport wasmrpc.free
func exportFree(ptr, size uint32) {
	delete(pinned, ptr)
}

// results is the one result buffer: the bytes of a handler's result stay
// valid until the next call into the module, as the ABI asks. current is
// the one request context. A module serves one call at a time, so both
// are reused from call to call, as is each handler's argument storage.
var (
	results resultWriter
	current Context
)

// Serve serves one call of the handler's export: a module's
// //go:wasmexport function passes its four arguments through.
//
//	//go:wasmexport rpc.echo
//	func echoExport(ctx, ctxLen, args, argsLen uint32) uint64 {
//		return echo.Serve(ctx, ctxLen, args, argsLen)
//	}
func (h *Handler) Serve(ctxPtr, ctxLen, argsPtr, argsLen uint32) uint64 {
	out := h.serve(&results, &current, guestBytes(ctxPtr, ctxLen), guestBytes(argsPtr, argsLen), true)
	return abi.Pack(addr(out), uint32(len(out)))
}

// guestBytes is the n bytes at linear-memory address ptr, which the host
// wrote into a buffer from wasmrpc.alloc and may overwrite after the call:
// decoding copies what it keeps; Raw arguments and the Context refer to
// them during the call only.
func guestBytes(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	// An array pointer's slice, rather than unsafe.Slice, which checks
	// for overflow with a function call: each call costs in wasm.
	return (*[1 << 31]byte)(unsafe.Add(nil, uintptr(ptr)))[:n:n]
}

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
