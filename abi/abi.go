// Package abi is the contract between the wasmrpcd host and a guest module:
// the names of the exports a module provides and of the imports the host
// provides, the memory protocol between them, and the CBOR types that cross
// it. It holds no host or guest logic and builds for GOOS=wasip1 GOARCH=wasm
// as well as for the host.
//
// README.md in this folder describes the same contract for authors who write
// modules in C, Rust, AssemblyScript or anything else that targets wasm32.
package abi

// Version is the ABI version this package describes. A module reports the
// version it was built for through [ExportABIVersion]; the host refuses a
// module whose version it does not speak before it reads anything else.
const Version = 1

// Exports every module provides. All pointers and lengths are i32 offsets
// into the module's exported memory.
const (
	// ExportMemory is the module's linear memory.
	ExportMemory = "memory"
	// ExportABIVersion is `() -> i32`: the ABI version the module speaks.
	ExportABIVersion = "wasmrpc.abi_version"
	// ExportManifest is `() -> i64`: a packed pointer and length (see
	// [Pack]) of the CBOR [Manifest]. The bytes belong to the module and
	// stay valid until the next call into it.
	ExportManifest = "wasmrpc.manifest"
	// ExportAlloc is `(size i32) -> i32`: a buffer of size bytes the host
	// writes a request into, or 0 when the module cannot allocate it. The
	// buffer belongs to the host until it passes it to [ExportFree]; the
	// host may reuse it for many calls.
	ExportAlloc = "wasmrpc.alloc"
	// ExportFree is `(ptr i32, size i32)`: releases a buffer from
	// [ExportAlloc].
	ExportFree = "wasmrpc.free"
	// ExportInitialize is the WASI reactor initializer. The host calls it
	// once per instance, before anything else, when the module exports it.
	ExportInitialize = "_initialize"
	// ExportStart marks a WASI command module, which the host refuses:
	// modules must be built as reactors.
	ExportStart = "_start"
)

// Export name conventions for methods and notification handlers. The
// manifest names each export explicitly; these prefixes are what the SDKs
// use and what keeps method exports apart from the reserved ones.
const (
	// MethodExportPrefix starts the export of an RPC method: "rpc.echo",
	// or "rpc.<namespace>.<method>" when a module serves more than one
	// namespace.
	MethodExportPrefix = "rpc."
	// NotifyExportPrefix starts the export of a notification handler:
	// "notify.info".
	NotifyExportPrefix = "notify."
)

// A method or notification export has the signature
//
//	(ctx_ptr i32, ctx_len i32, args_ptr i32, args_len i32) -> i64
//
// ctx is the CBOR map of the request context and args the CBOR map of the
// keyword arguments; both lie in buffers from [ExportAlloc] and must not be
// kept after the export returns. The result is a packed pointer and length
// of a CBOR [Result] that belongs to the module and stays valid until the
// next call into it.

// Host imports, all in module [ImportModule]. A module imports only those
// it uses.
const (
	ImportModule = "wasmrpc"
	// ImportLog is `(level i32, ptr i32, len i32)`: writes a UTF-8 line to
	// the host log under the module's name. Levels are the Log* constants.
	ImportLog = "log"
	// ImportCall is `(req_ptr i32, req_len i32) -> i32`: makes an RPC call
	// described by a CBOR [CallRequest] and returns the length of the CBOR
	// [Result] the host then holds for [ImportResponse], or a negative
	// [Errno].
	ImportCall = "call"
	// ImportCast is `(req_ptr i32, req_len i32) -> i32`: like [ImportCall]
	// for a [CallRequest] that expects no reply. The held [Result] carries
	// a null value or the reason the cast was refused.
	ImportCast = "cast"
	// ImportNotify is `(req_ptr i32, req_len i32) -> i32`: emits the CBOR
	// [Notification]; answers like [ImportCast].
	ImportNotify = "notify"
	// ImportResponse is `(ptr i32, len i32) -> i32`: copies the [Result]
	// held by the last call, cast or notify into the guest buffer, returns
	// the number of bytes copied and forgets it.
	ImportResponse = "response"
)

// Log levels for [ImportLog].
const (
	LogDebug int32 = 0
	LogInfo  int32 = 1
	LogWarn  int32 = 2
	LogError int32 = 3
)

// Errno values returned, negated, by the host imports.
const (
	// ErrnoBadRequest: the request bytes were out of range or not valid CBOR.
	ErrnoBadRequest int32 = 1
	// ErrnoNoResponse: [ImportResponse] was called with nothing held.
	ErrnoNoResponse int32 = 2
	// ErrnoTooSmall: the buffer given to [ImportResponse] is smaller than
	// the held response.
	ErrnoTooSmall int32 = 3
)

// Size limits both sides keep.
const (
	// MaxManifestSize bounds the CBOR manifest.
	MaxManifestSize = 1 << 20
	// DefaultMaxResultSize is the result cap when the host config sets none.
	DefaultMaxResultSize = 4 << 20
	// MaxNesting bounds the depth of CBOR arrays and maps.
	MaxNesting = 64
)

// Pack joins a pointer and a length into the i64 that exports return:
// the pointer in the high 32 bits, the length in the low 32 bits.
func Pack(ptr, length uint32) uint64 {
	return uint64(ptr)<<32 | uint64(length)
}

// Unpack splits an i64 from [Pack] into pointer and length.
func Unpack(v uint64) (ptr, length uint32) {
	return uint32(v >> 32), uint32(v)
}
