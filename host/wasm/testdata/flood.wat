;; flood.wat: a module of ABI version 1 whose methods flood the host with
;; what a guest decides on its own, for the tenant budgets
;; (host/budget). Memory starts at 2 pages.
;;
;;   log_flood     logs 20,000 lines of 8 KiB at level error through
;;                 wasmrpc.log (157 MiB), returns 20000
;;   log_small     logs 1,000 lines of 100 bytes at level info, returns null
;;   stdout_flood  writes 20,000 lines of 8 KiB (newline included) to stdout,
;;                 returns 20000
;;   stdout_small  writes 1,000 lines of 100 bytes to stdout, returns null
;;   notify_flood  passes its argument map to wasmrpc.notify 20,000 times; at
;;                 the first refusal it returns the host's error Result as its
;;                 own (the guest re-raises it), else the count
;;   cast_flood    the same with wasmrpc.cast
;;   echo          returns its argument map as the value
(module
  (import "wasmrpc" "log" (func $log (param i32 i32 i32)))
  (import "wasmrpc" "cast" (func $cast (param i32 i32) (result i32)))
  (import "wasmrpc" "notify" (func $notify (param i32 i32) (result i32)))
  (import "wasmrpc" "response" (func $response (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)

  (data (i32.const 0) "\a1evalue")                        ;; {"value": header, 7 bytes
  (data (i32.const 16) "\a1evalue\f6")                    ;; {"value": null}, 8 bytes
  (data (i32.const 64) "\00\40\00\00\00\20\00\00")        ;; iovec: 16384, 8192
  (data (i32.const 72) "\00\40\00\00\64\00\00\00")        ;; iovec: 16384, 100
  ;; 1024: the manifest
  (data (i32.const 1024) "\a3\66\6d\6f\64\75\6c\65\65\66\6c\6f\6f\64\69\65\6e\64\70\6f\69\6e\74\73\81\a2\67\6d\65\74\68\6f\64\73\87\a2\64\6e\61\6d\65\69\6c\6f\67\5f\66\6c\6f\6f\64\66\65\78\70\6f\72\74\6d\72\70\63\2e\6c\6f\67\5f\66\6c\6f\6f\64\a2\64\6e\61\6d\65\69\6c\6f\67\5f\73\6d\61\6c\6c\66\65\78\70\6f\72\74\6d\72\70\63\2e\6c\6f\67\5f\73\6d\61\6c\6c\a2\64\6e\61\6d\65\6c\73\74\64\6f\75\74\5f\66\6c\6f\6f\64\66\65\78\70\6f\72\74\70\72\70\63\2e\73\74\64\6f\75\74\5f\66\6c\6f\6f\64\a2\64\6e\61\6d\65\6c\73\74\64\6f\75\74\5f\73\6d\61\6c\6c\66\65\78\70\6f\72\74\70\72\70\63\2e\73\74\64\6f\75\74\5f\73\6d\61\6c\6c\a2\64\6e\61\6d\65\6c\6e\6f\74\69\66\79\5f\66\6c\6f\6f\64\66\65\78\70\6f\72\74\70\72\70\63\2e\6e\6f\74\69\66\79\5f\66\6c\6f\6f\64\a2\64\6e\61\6d\65\6a\63\61\73\74\5f\66\6c\6f\6f\64\66\65\78\70\6f\72\74\6e\72\70\63\2e\63\61\73\74\5f\66\6c\6f\6f\64\a2\64\6e\61\6d\65\64\65\63\68\6f\66\65\78\70\6f\72\74\68\72\70\63\2e\65\63\68\6f\67\76\65\72\73\69\6f\6e\63\31\2e\30\6b\61\62\69\5f\76\65\72\73\69\6f\6e\01")

  (global $heap (mut i32) (i32.const 65536))
  (global $rbuf (mut i32) (i32.const 0))
  (global $rcap (mut i32) (i32.const 0))

  (func (export "_initialize"))
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64)
    (call $pack (i32.const 1024) (i32.const 329)))

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

  (func $null_result (result i64) (call $pack (i32.const 16) (i32.const 8)))

  ;; count_result returns {"value": n} for n in 0..65535.
  (func $count_result (param $n i32) (result i64) (local $r i32)
    (local.set $r (call $result_buf (i32.const 10)))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (i32.store8 offset=7 (local.get $r) (i32.const 0x19))
    (i32.store8 offset=8 (local.get $r) (i32.shr_u (local.get $n) (i32.const 8)))
    (i32.store8 offset=9 (local.get $r) (i32.and (local.get $n) (i32.const 0xff)))
    (call $pack (local.get $r) (i32.const 10)))

  ;; line fills the line buffer at 16384 with n-1 letters and a newline.
  (func $line (param $n i32)
    (memory.fill (i32.const 16384) (i32.const 0x41) (local.get $n))
    (i32.store8 (i32.add (i32.const 16383) (local.get $n)) (i32.const 0x0a)))

  (func (export "rpc.log_flood") (param i32 i32 i32 i32) (result i64) (local $i i32)
    (call $line (i32.const 8192))
    (loop $more
      (call $log (i32.const 3) (i32.const 16384) (i32.const 8191))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 20000))))
    (call $count_result (local.get $i)))

  (func (export "rpc.log_small") (param i32 i32 i32 i32) (result i64) (local $i i32)
    (call $line (i32.const 100))
    (loop $more
      (call $log (i32.const 1) (i32.const 16384) (i32.const 99))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $null_result))

  (func (export "rpc.stdout_flood") (param i32 i32 i32 i32) (result i64) (local $i i32)
    (call $line (i32.const 8192))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 80)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 20000))))
    (call $count_result (local.get $i)))

  (func (export "rpc.stdout_small") (param i32 i32 i32 i32) (result i64) (local $i i32)
    (call $line (i32.const 100))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 72) (i32.const 1) (i32.const 80)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $null_result))

  ;; flood calls notify (cast when $cast_it) with the request at p, n up to
  ;; 20,000 times; at the first answer that is not {"value": null} it
  ;; returns that answer as its Result.
  (func $flood (param $p i32) (param $n i32) (param $cast_it i32) (result i64)
    (local $i i32) (local $m i32) (local $r i32)
    (loop $more
      (local.set $m
        (if (result i32) (local.get $cast_it)
          (then (call $cast (local.get $p) (local.get $n)))
          (else (call $notify (local.get $p) (local.get $n)))))
      (if (i32.lt_s (local.get $m) (i32.const 0)) (then unreachable))
      (if (i32.ne (local.get $m) (i32.const 8))
        (then
          (local.set $r (call $result_buf (local.get $m)))
          (if (i32.lt_s (call $response (local.get $r) (local.get $m)) (i32.const 0)) (then unreachable))
          (return (call $pack (local.get $r) (local.get $m)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 20000))))
    (call $count_result (local.get $i)))

  (func (export "rpc.notify_flood") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $flood (local.get $ap) (local.get $an) (i32.const 0)))

  (func (export "rpc.cast_flood") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $flood (local.get $ap) (local.get $an) (i32.const 1)))

  (func (export "rpc.echo") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (local $r i32)
    (local.set $r (call $result_buf (i32.add (local.get $an) (i32.const 7))))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (memory.copy (i32.add (local.get $r) (i32.const 7)) (local.get $ap) (local.get $an))
    (call $pack (local.get $r) (i32.add (local.get $an) (i32.const 7))))
)
