;; misbehave.wat: a valid module of ABI version 1 whose methods misbehave in
;; every way the host must survive, plus methods that exercise the host
;; imports. Memory starts at 96 pages (6 MiB).
;;
;;   trap         executes unreachable
;;   oob_ptr      returns a result pointer outside memory
;;   oob_len      returns a result that runs past the end of memory
;;   huge         returns a 4 MiB + 1 byte result (inside memory)
;;   grow         grows memory 1 MiB at a time until refused, then traps
;;   spin         loops forever
;;   sleep        asks WASI poll_oneoff for a one-hour sleep
;;   bad_cbor     returns bytes that are not CBOR
;;   not_result   returns CBOR that is not a Result map (the integer 1)
;;   log          logs two lines through wasmrpc.log, returns the arguments
;;   log_oob      logs with a pointer outside memory, returns null
;;   call         passes its argument map to wasmrpc.call as the request and
;;                returns the held response as its result (cast, notify alike)
;;   errnos       returns [call with a bad pointer, response with nothing
;;                held, response into a 1-byte buffer] (the arguments are a
;;                valid call request)
;;   stdout       writes a line to stdout and one to stderr, returns null
;;   exit         calls proc_exit(3)
;;   echo         returns its argument map as the value
;;   raw          returns its argument bytes, whatever they are, as its
;;                Result (for fuzzing the host's result decoding)
(module
  (import "wasmrpc" "log" (func $log (param i32 i32 i32)))
  (import "wasmrpc" "call" (func $call (param i32 i32) (result i32)))
  (import "wasmrpc" "cast" (func $cast (param i32 i32) (result i32)))
  (import "wasmrpc" "notify" (func $notify (param i32 i32) (result i32)))
  (import "wasmrpc" "response" (func $response (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 96)

  (data (i32.const 0) "\a1evalue")                        ;; {"value": header, 7 bytes
  (data (i32.const 16) "\a1evalue\f6")                    ;; {"value": null}, 8 bytes
  (data (i32.const 32) "\ff\ff")                          ;; not CBOR
  (data (i32.const 48) "\01")                             ;; CBOR, not a Result
  (data (i32.const 64) "\60\00\00\00\0d\00\00\00")        ;; iovec: 96, 13
  (data (i32.const 72) "\80\00\00\00\0f\00\00\00")        ;; iovec: 128, 15
  (data (i32.const 96) "hello stdout\n")
  (data (i32.const 128) "oops on stderr\n")
  (data (i32.const 160) "a line from the guest")          ;; 21 bytes
  (data (i32.const 192) "an error from the guest")        ;; 23 bytes
  ;; 256: a poll_oneoff clock subscription (monotonic, relative, 1 hour)
  (data (i32.const 256) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 272) "\01\00\00\00\00\00\00\00\00\a0\b8\30\46\03\00\00")
  (data (i32.const 288) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 1024) "\a3fmoduleimisbehaveiendpoints\81\a2gmethods\93\a2dnamedtrapfexporthrpc.trap\a2dnamegoob_ptrfexportkrpc.oob_ptr\a2dnamegoob_lenfexportkrpc.oob_len\a2dnamedhugefexporthrpc.huge\a2dnamedgrowfexporthrpc.grow\a2dnamedspinfexporthrpc.spin\a2dnameesleepfexportirpc.sleep\a2dnamehbad_cborfexportlrpc.bad_cbor\a2dnamejnot_resultfexportnrpc.not_result\a2dnameclogfexportgrpc.log\a2dnameglog_oobfexportkrpc.log_oob\a2dnamedcallfexporthrpc.call\a2dnamedcastfexporthrpc.cast\a2dnamefnotifyfexportjrpc.notify\a2dnameferrnosfexportjrpc.errnos\a2dnamefstdoutfexportjrpc.stdout\a2dnamedexitfexporthrpc.exit\a2dnamedechofexporthrpc.echo\a2dnamecrawfexportgrpc.rawgversionc1.0kabi_version\01")

  (global $heap (mut i32) (i32.const 65536))
  (global $rbuf (mut i32) (i32.const 0))
  (global $rcap (mut i32) (i32.const 0))

  (func (export "_initialize"))
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64)
    (call $pack (i32.const 1024) (i32.const 625)))

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

  (func $result_buf (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (global.get $rcap))
      (then
        (global.set $rbuf (call $alloc (local.get $n)))
        (if (i32.eqz (global.get $rbuf)) (then unreachable))
        (global.set $rcap (local.get $n))))
    (global.get $rbuf))

  (func $value_result (param $p i32) (param $n i32) (result i64) (local $r i32)
    (local.set $r (call $result_buf (i32.add (local.get $n) (i32.const 7))))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (memory.copy (i32.add (local.get $r) (i32.const 7)) (local.get $p) (local.get $n))
    (call $pack (local.get $r) (i32.add (local.get $n) (i32.const 7))))

  ;; small_int returns the one-byte CBOR encoding of n in -24..23.
  (func $small_int (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 0))
      (then (i32.sub (i32.const 0x1f) (local.get $n)))
      (else (local.get $n))))

  ;; int_result returns {"value": n} for n in -24..23.
  (func $int_result (param $n i32) (result i64) (local $r i32)
    (local.set $r (call $result_buf (i32.const 8)))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (i32.store8 offset=7 (local.get $r) (call $small_int (local.get $n)))
    (call $pack (local.get $r) (i32.const 8)))

  (func $null_result (result i64) (call $pack (i32.const 16) (i32.const 8)))

  ;; forward returns the response held after an import returned n.
  (func $forward (param $n i32) (result i64) (local $r i32) (local $m i32)
    (if (i32.lt_s (local.get $n) (i32.const 0))
      (then (return (call $int_result (local.get $n)))))
    (local.set $r (call $result_buf (local.get $n)))
    (local.set $m (call $response (local.get $r) (local.get $n)))
    (if (i32.lt_s (local.get $m) (i32.const 0))
      (then (return (call $int_result (local.get $m)))))
    (call $pack (local.get $r) (local.get $m)))

  (func (export "rpc.trap") (param i32 i32 i32 i32) (result i64)
    unreachable)

  (func (export "rpc.oob_ptr") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.const 0xffff0000) (i32.const 10)))

  (func (export "rpc.oob_len") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 5)) (i32.const 100)))

  (func (export "rpc.huge") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const 4194305)))

  (func (export "rpc.grow") (param i32 i32 i32 i32) (result i64)
    (loop $more
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
        (then unreachable))
      (br $more))
    unreachable)

  (func (export "rpc.spin") (param i32 i32 i32 i32) (result i64)
    (loop $forever (br $forever))
    unreachable)

  (func (export "rpc.sleep") (param i32 i32 i32 i32) (result i64)
    (drop (call $poll_oneoff (i32.const 256) (i32.const 320) (i32.const 1) (i32.const 360)))
    (call $null_result))

  (func (export "rpc.bad_cbor") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.const 32) (i32.const 2)))

  (func (export "rpc.not_result") (param i32 i32 i32 i32) (result i64)
    (call $pack (i32.const 48) (i32.const 1)))

  (func (export "rpc.log") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $log (i32.const 1) (i32.const 160) (i32.const 21))
    (call $log (i32.const 3) (i32.const 192) (i32.const 23))
    (call $value_result (local.get $ap) (local.get $an)))

  (func (export "rpc.log_oob") (param i32 i32 i32 i32) (result i64)
    (call $log (i32.const 1) (i32.const 0xffffff00) (i32.const 100))
    (call $null_result))

  (func (export "rpc.call") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $call (local.get $ap) (local.get $an))))

  (func (export "rpc.cast") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $cast (local.get $ap) (local.get $an))))

  (func (export "rpc.notify") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $notify (local.get $ap) (local.get $an))))

  (func (export "rpc.errnos") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (local $e1 i32) (local $e2 i32) (local $e3 i32) (local $n i32) (local $r i32)
    (local.set $e1 (call $call (i32.const 0xffffff00) (i32.const 100)))
    (local.set $e2 (call $response (i32.const 400) (i32.const 16)))
    (local.set $n (call $call (local.get $ap) (local.get $an)))
    (if (i32.le_s (local.get $n) (i32.const 1)) (then unreachable))
    (local.set $e3 (call $response (i32.const 400) (i32.const 1)))
    (local.set $r (call $result_buf (i32.const 11)))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (i32.store8 offset=7 (local.get $r) (i32.const 0x83))
    (i32.store8 offset=8 (local.get $r) (call $small_int (local.get $e1)))
    (i32.store8 offset=9 (local.get $r) (call $small_int (local.get $e2)))
    (i32.store8 offset=10 (local.get $r) (call $small_int (local.get $e3)))
    (call $pack (local.get $r) (i32.const 11)))

  (func (export "rpc.stdout") (param i32 i32 i32 i32) (result i64)
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 80)))
    (drop (call $fd_write (i32.const 2) (i32.const 72) (i32.const 1) (i32.const 80)))
    (call $null_result))

  (func (export "rpc.exit") (param i32 i32 i32 i32) (result i64)
    (call $proc_exit (i32.const 3))
    unreachable)

  (func (export "rpc.echo") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $value_result (local.get $ap) (local.get $an)))

  (func (export "rpc.raw") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (local $r i32)
    (local.set $r (call $result_buf (local.get $an)))
    (memory.copy (local.get $r) (local.get $ap) (local.get $an))
    (call $pack (local.get $r) (local.get $an)))
)
