;; reserved_export.wat: its manifest maps a method to wasmrpc.alloc, a reserved export.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\a1evalue\f6")
  (data (i32.const 1024) "\a2iendpoints\81\a2gmethods\81\a2dnameeallocfexportmwasmrpc.allocgversionc1.0kabi_version\01")
  (func (export "_initialize") )
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 80)))
  (func (export "wasmrpc.alloc") (param i32) (result i32) (i32.const 2048))
  (func (export "wasmrpc.free") (param i32 i32))
  (func (export "rpc.echo") (param i32 i32 i32 i32) (result i64) (i64.const 8))
)
