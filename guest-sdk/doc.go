// Package sdk is what a wasmrpcd module written in Go imports: it turns
// plain Go functions into oslo.messaging endpoint methods and notification
// handlers served through the wasmrpc ABI (abi/README.md), and gives them
// the host's services: logging, RPC calls and casts, notifications.
//
// A module is a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mod.wasm .
//
// It declares each method with [Method], exports it with a two-line
// //go:wasmexport wrapper that calls [Handler.Serve], and registers its
// endpoints once with [Register]:
//
//	var echo = sdk.Method("echo", func(c *sdk.Context, a struct{ Value any }) (any, error) {
//		return a.Value, nil
//	})
//
//	//go:wasmexport rpc.echo
//	func echoExport(ctx, ctxLen, args, argsLen uint32) uint64 {
//		return echo.Serve(ctx, ctxLen, args, argsLen)
//	}
//
//	func init() {
//		sdk.Register(sdk.Module{Name: "demo", Endpoints: []sdk.Endpoint{
//			{Version: "1.0", Methods: []*sdk.Handler{echo}},
//		}})
//	}
//
//	func main() {}
//
// The package itself exports the ABI's reserved functions
// (wasmrpc.abi_version, wasmrpc.manifest, wasmrpc.alloc, wasmrpc.free), so
// a module has nothing else to write.
//
// Arguments bind as they do for a Python method `def echo(self, ctxt,
// value)`: every field is a required keyword argument unless tagged
// optional or given a default, a missing or unknown one is a TypeError with
// Python's message. A returned *[Error] reaches the caller with its class
// name; any other error becomes a RuntimeError. A [Raw] argument or result
// passes a value through without decoding or encoding it. README.md in
// this folder has the details.
//
// The package has its own compact CBOR codec, and the export's path
// allocates nothing for numbers, bools and Raw values: in wasm every heap
// allocation and every function call counts.
//
// Everything except [Handler.Serve] and the reserved exports also builds on
// the host, so handlers can be unit-tested there with [Handler.Handle].
package sdk
