;; chain.wat: a hostile module of ABI version 1 that calls and casts to
;; itself without end, for the bounds on call chains (tests/chain_test.go).
;;
;; Each method takes a call request as its arguments, a map of fewer than
;; 23 entries without "args" such as {"target": {"topic": T}, "method":
;; "recurse"}, and sends that request with itself as the arguments:
;; {"target": …, "method": …, "args": ARGS}. The method it names gets the
;; same arguments, and so on, until the host refuses.
;;
;;   recurse     calls the request, returns what the call returned (the
;;               held response, value or exception, as its own result)
;;   cast_self   casts it once, returns what the cast returned
;;   fork        casts it three times, returns what the third cast returned
;;
;; Its handler of info notifications emits an info notification, event
;; type chain.loop, to the topic wasmrpcd_e2e_chain_loop, and returns what
;; the host answered: a module listening to that topic notifies itself.
(module
  (import "wasmrpc" "call" (func $call (param i32 i32) (result i32)))
  (import "wasmrpc" "cast" (func $cast (param i32 i32) (result i32)))
  (import "wasmrpc" "notify" (func $notify (param i32 i32) (result i32)))
  (import "wasmrpc" "response" (func $response (param i32 i32) (result i32)))

  (memory (export "memory") 2)

  (data (i32.const 0) "\a1evalue")                        ;; {"value": header, 7 bytes
  (data (i32.const 16) "\a1evalue\f6")                    ;; {"value": null}, 8 bytes
  (data (i32.const 32) "\64args")                         ;; the key "args", 5 bytes
  (data (i32.const 1024) "\a4fmoduleechainiendpoints\81\a2gmethods\83\a2dnamegrecursefexportkrpc.recurse\a2dnameicast_selffexportmrpc.cast_self\a2dnamedforkfexporthrpc.forkgversionc1.0kabi_version\01mnotifications\81\a2hprioritydinfofexportknotify.info")
  ;; 2048: the notification notify.info emits
  (data (i32.const 2048) "\a4etopicwwasmrpcd_e2e_chain_loophprioritydinfolpublisher_idechainjevent_typejchain.loop")

  (global $heap (mut i32) (i32.const 65536))

  (func (export "_initialize"))
  (func (export "wasmrpc.abi_version") (result i32) (i32.const 1))
  (func (export "wasmrpc.manifest") (result i64)
    (call $pack (i32.const 1024) (i32.const 206)))

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

  ;; request builds {ARGS' entries…, "args": ARGS} from the arguments at
  ;; ap..ap+an and returns where; its length is 2*an+5. It traps when the
  ;; arguments are not a small map.
  (func $request (param $ap i32) (param $an i32) (result i32) (local $r i32) (local $h i32)
    (local.set $h (i32.load8_u (local.get $ap)))
    (if (i32.or (i32.ne (i32.and (local.get $h) (i32.const 0xe0)) (i32.const 0xa0))
                (i32.ge_u (i32.and (local.get $h) (i32.const 0x1f)) (i32.const 23)))
      (then unreachable))
    (local.set $r (call $alloc (i32.add (i32.shl (local.get $an) (i32.const 1)) (i32.const 5))))
    (if (i32.eqz (local.get $r)) (then unreachable))
    (i32.store8 (local.get $r) (i32.add (local.get $h) (i32.const 1)))
    (memory.copy (i32.add (local.get $r) (i32.const 1)) (i32.add (local.get $ap) (i32.const 1)) (i32.sub (local.get $an) (i32.const 1)))
    (memory.copy (i32.add (local.get $r) (local.get $an)) (i32.const 32) (i32.const 5))
    (memory.copy (i32.add (i32.add (local.get $r) (local.get $an)) (i32.const 5)) (local.get $ap) (local.get $an))
    (local.get $r))

  ;; forward returns the response held after an import returned n (n < 0:
  ;; an errno, which traps).
  (func $forward (param $n i32) (result i64) (local $r i32) (local $m i32)
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then unreachable))
    (local.set $r (call $alloc (local.get $n)))
    (if (i32.eqz (local.get $r)) (then unreachable))
    (local.set $m (call $response (local.get $r) (local.get $n)))
    (if (i32.lt_s (local.get $m) (i32.const 0)) (then unreachable))
    (call $pack (local.get $r) (local.get $m)))

  (func (export "rpc.recurse") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $call (call $request (local.get $ap) (local.get $an))
                               (i32.add (i32.shl (local.get $an) (i32.const 1)) (i32.const 5)))))

  (func (export "rpc.cast_self") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $cast (call $request (local.get $ap) (local.get $an))
                               (i32.add (i32.shl (local.get $an) (i32.const 1)) (i32.const 5)))))

  (func (export "rpc.fork") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (local $r i32) (local $n i32)
    (local.set $r (call $request (local.get $ap) (local.get $an)))
    (local.set $n (i32.add (i32.shl (local.get $an) (i32.const 1)) (i32.const 5)))
    (drop (call $cast (local.get $r) (local.get $n)))
    (drop (call $cast (local.get $r) (local.get $n)))
    (call $forward (call $cast (local.get $r) (local.get $n))))

  (func (export "notify.info") (param $cp i32) (param $cn i32) (param $ap i32) (param $an i32) (result i64)
    (call $forward (call $notify (i32.const 2048) (i32.const 86))))
)
