//go:build wasip1

package main

//go:wasmexport rpc.create_volume
func createVolumeExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return createVolume.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.get_volume
func getVolumeExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return getVolume.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.list_volumes
func listVolumesExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return listVolumes.Serve(ctx, ctxLen, args, argsLen)
}

//go:wasmexport rpc.delete_volume
func deleteVolumeExport(ctx, ctxLen, args, argsLen uint32) uint64 {
	return deleteVolume.Serve(ctx, ctxLen, args, argsLen)
}
