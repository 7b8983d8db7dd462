//go:build wasip1

package main

// The exports the manifest names: each passes its call to its handler.

//go:wasmexport rpc.echo
func echoExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return echo.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.add
func addExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return add.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.context
func contextExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return contextValue.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.fail
func failExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return fail.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.spin
func spinExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return spin.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.alloc
func allocExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return alloc.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.read_file
func readFileExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return readFile.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc._private
func privateExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return private.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport notify.info
func infoExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return onInfo.Serve(ctx, ctxLen, args, argsLen)
}
