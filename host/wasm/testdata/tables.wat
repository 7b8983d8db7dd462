;; tables.wat: a valid module of ABI version 1 whose methods grow its
;; tables and its call stack as far as the host lets them. Memory starts
;; at 1 page.
;;
;;   grow_unbounded  grows $free (1 entry, no declared maximum) by 2^20
;;                   entries at a time until refused; returns its size
;;                   (the host bounds such a table at its initial size: 1)
;;   grow_bounded    grows $capped (0 entries, maximum 65536) by 4096 at a
;;                   time until refused; returns its size / 4096 (16)
;;   grow_huge       grows $free by 2^31-1 entries once; returns the
;;                   result of table.grow (-1)
;;   grow_memory     grows memory by 1 MiB at a time until refused, writes
;;                   to every byte of it; returns its size in whole MiB
;;                   (with a limit of 16 MiB, of which the tables take
;;                   1.5 MiB and a page: 14)
;;   Instances keep what they grew: the same call on the same instance
;;   answers the same.
;;   recurse         calls itself without end
;;   deep            recurses 4000 calls deep and back; returns 10
;;   echo            returns its argument map as the value
(module
  (memory (export "memory") 1)
  (table $free 1 funcref)
  (table $capped 0 65536 funcref)

  (data (i32.const 0) "\a1evalue")                        ;; {"value": header, 7 bytes
  (data (i32.const 1024) "\a3fmoduleftablesiendpoints\81\a2gmethods\87\a2dnamengrow_unboundedfexportrrpc.grow_unbounded\a2dnamelgrow_boundedfexportprpc.grow_bounded\a2dnameigrow_hugefexportmrpc.grow_huge\a2dnamekgrow_memoryfexportorpc.grow_memory\a2dnamegrecursefexportkrpc.recurse\a2dnameddeepfexporthrpc.deep\a2dnamedechofexporthrpc.echogversionc1.0kabi_version\01")

  (global $heap (mut i32) (i32.const 4096))

  (func (export "_initialize"))
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64)
    (call $pack (i32.const 1024) (i32.const 316)))

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

  ;; int_result returns {"value": n} for n in -24..23, built at 16.
  (func $int_result (param $n i32) (result i64)
    (memory.copy (i32.const 16) (i32.const 0) (i32.const 7))
    (i32.store8 offset=23 (i32.const 0)
      (if (result i32) (i32.lt_s (local.get $n) (i32.const 0))
        (then (i32.sub (i32.const 0x1f) (local.get $n)))
        (else (local.get $n))))
    (call $pack (i32.const 16) (i32.const 8)))

  (func (export "rpc.grow_unbounded") (param i32 i32 i32 i32) (result i64) (local $n i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (table.grow $free (ref.null func) (i32.const 0x100000)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $n) (i32.const 23)))))
    (call $int_result (table.size $free)))

  (func (export "rpc.grow_bounded") (param i32 i32 i32 i32) (result i64) (local $n i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (table.grow $capped (ref.null func) (i32.const 4096)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $n) (i32.const 23)))))
    (call $int_result (i32.shr_u (table.size $capped) (i32.const 12))))

  (func (export "rpc.grow_huge") (param i32 i32 i32 i32) (result i64)
    (call $int_result (table.grow $free (ref.null func) (i32.const 0x7fffffff))))

  (func (export "rpc.grow_memory") (param i32 i32 i32 i32) (result i64) (local $n i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (memory.fill (i32.const 8192) (i32.const 0x55)
      (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 8192)))
    (call $int_result (i32.shr_u (memory.size) (i32.const 4))))

  (func $down (param $depth i64) (result i64)
    (i64.add (call $down (i64.add (local.get $depth) (i64.const 1))) (local.get $depth)))

  (func $count (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $count (i32.sub (local.get $n) (i32.const 1)))))))

  (func (export "rpc.deep") (param i32 i32 i32 i32) (result i64)
    (call $int_result (i32.sub (call $count (i32.const 4000)) (i32.const 3990))))

  (func (export "rpc.recurse") (param i32 i32 i32 i32) (result i64)
    (call $down (i64.const 0)))

  (func (export "rpc.echo") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (local $r i32)
    (local.set $r (call $alloc (i32.add (local.get $an) (i32.const 7))))
    (if (i32.eqz (local.get $r)) (then unreachable))
    (memory.copy (local.get $r) (i32.const 0) (i32.const 7))
    (memory.copy (i32.add (local.get $r) (i32.const 7)) (local.get $ap) (local.get $an))
    (call $pack (local.get $r) (i32.add (local.get $an) (i32.const 7)))))
