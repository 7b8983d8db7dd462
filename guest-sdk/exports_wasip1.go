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
// valid until the next call into the module, as the ABI asks.
var results resultWriter

// Serve serves one call of the handler's export: a module's
// //go:wasmexport function passes its four arguments through.
//
//	//go:wasmexport rpc.echo
//	func echoExport(ctx, ctxLen, args, argsLen uint32) uint64 {
//		return echo.Serve(ctx, ctxLen, args, argsLen)
//	}
func (h *Handler) Serve(ctxPtr, ctxLen, argsPtr, argsLen uint32) uint64 {
	out := h.serve(&results, guestBytes(ctxPtr, ctxLen), guestBytes(argsPtr, argsLen))
	return abi.Pack(addr(out), uint32(len(out)))
}

// guestBytes is the n bytes at linear-memory address ptr, which the host
// wrote into a buffer from wasmrpc.alloc. Decoding copies what it keeps.
func guestBytes(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(ptr))), n)
}

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
