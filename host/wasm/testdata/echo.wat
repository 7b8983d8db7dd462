;; echo.wat: a well-behaved module of ABI version 1, used by the table tests
;; of the call path and by the benchmarks.
;;
;; Manifest: endpoint version 1.0, methods echo, context, fail, _private;
;; a notification handler for "info". Every method checks that the host
;; called _initialize first and traps otherwise.
;;
;;   echo(...)     returns its whole argument map as the value
;;   context()     returns the request context map as the value
;;   fail()        raises ValueError("boom")
;;   _private()    returns null (declared, never callable from RPC)
;;   notify.info   returns "handled"
;;
;; rpc.unlisted has a method's signature but is not in the manifest.
(module
  (memory (export "memory") 2)

  ;; 0..1023: constants; 1024: manifest; 65536..: bump heap.
  (data (i32.const 0) "\a1evalue")                        ;; {"value": ...header, 7 bytes
  (data (i32.const 16) "\a1eerror\a2eclassjValueErrorgmessagedboom") ;; 38 bytes
  (data (i32.const 64) "\a1evalue\f6")                    ;; {"value": null}, 8 bytes
  (data (i32.const 80) "\a1evalueghandled")               ;; {"value": "handled"}, 15 bytes
  (data (i32.const 1024) "\a4fmoduledechoiendpoints\81\a2gmethods\84\a2dnamedechofexporthrpc.echo\a2dnamegcontextfexportkrpc.context\a2dnamedfailfexporthrpc.fail\a2dnameh_privatefexportlrpc._privategversionc1.0kabi_version\01mnotifications\81\a2fexportknotify.infohprioritydinfo")

  (global $heap (mut i32) (i32.const 65536))
  (global $ready (mut i32) (i32.const 0))
  (global $rbuf (mut i32) (i32.const 0))
  (global $rcap (mut i32) (i32.const 0))

  (func (export "_initialize") (global.set $ready (i32.const 1)))

  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))

  (func (export "wasmrpc.manifest") (result i64)
    (call $pack (i32.const 1024) (i32.const 230)))

  ;; alloc is a bump allocator that grows memory as needed; free is a no-op.
  (func $alloc (export "wasmrpc.alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32) (local $size i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.set $size (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $size))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $size)) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func (export "wasmrpc.free") (param i32 i32))

  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))

  ;; result_buf returns a result buffer of at least n bytes, reused across calls.
  (func $result_buf (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (global.get $rcap))
      (then
        (global.set $rbuf (call $alloc (local.get $n)))
        (if (i32.eqz (global.get $rbuf)) (then unreachable))
        (global.set $rcap (local.get $n))))
    (global.get $rbuf))

  ;; value_result wraps the CBOR value at p..p+n as {"value": value}.
  (func $value_result (param $p i32) (param $n i32) (result i64) (local $r i32)
    (local.set $r (call $result_buf (i32.add (local.get $n) (i32.const 7))))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (memory.copy (i32.add (local.get $r) (i32.const 7)) (local.get $p) (local.get $n))
    (call $pack (local.get $r) (i32.add (local.get $n) (i32.const 7))))

  (func $check_ready
    (if (i32.eqz (global.get $ready)) (then unreachable)))

  (func (export "rpc.echo") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $check_ready)
    (call $value_result (local.get $ap) (local.get $an)))

  (func (export "rpc.context") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $check_ready)
    (call $value_result (local.get $cp) (local.get $cn)))

  (func (export "rpc.fail") (param i32 i32 i32 i32) (result i64)
    (call $check_ready)
    (call $pack (i32.const 16) (i32.const 38)))

  (func (export "rpc._private") (param i32 i32 i32 i32) (result i64)
    (call $check_ready)
    (call $pack (i32.const 64) (i32.const 8)))

  (func (export "rpc.unlisted") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.const 64) (i32.const 8)))

  (func (export "notify.info") (param i32 i32 i32 i32) (result i64)
    (call $check_ready)
    (call $pack (i32.const 80) (i32.const 15)))
)
