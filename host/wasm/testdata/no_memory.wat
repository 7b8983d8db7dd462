;; no_memory.wat: exports the wasmrpc functions but no memory.
(module
  (func (export "_initialize"))
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64) (i64.const 0))
  (func (export "wasmrpc.alloc") (param i32) (result i32) (i32.const 0))
  (func (export "wasmrpc.free") (param i32 i32))
)
