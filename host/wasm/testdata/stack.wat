;; stack.wat: functions that leave in every way a function can (return
;; at depth, branches to the function's label, br_if, br_table, multiple
;; results, recursion, calls through a table) and use instructions of
;; every prefix, for the tests of the host's stack instrumentation, which
;; compare what each returns with and without it. Not an ABI module.
(module
  (type $ii (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (table 2 2 funcref)
  (elem (i32.const 0) $ret_nested $br_func)
  (global $g (mut i32) (i32.const 5))

  (func $ret_nested (export "ret_nested") (param $x i32) (result i32)
    (block $a
      (loop $l
        (if (i32.gt_s (local.get $x) (i32.const 10))
          (then
            (block $b (return (i32.mul (local.get $x) (i32.const 2))))))
        (local.set $x (i32.add (local.get $x) (i32.const 3)))
        (br_if $l (i32.lt_s (local.get $x) (i32.const 100)))))
    (i32.const -1))

  (func $br_func (export "br_func") (param $x i32) (result i32)
    (drop (br_if 0 (i32.const 7) (local.get $x)))
    (drop (br_if 0 (i32.const 8) (i32.eq (local.get $x) (i32.const 0))))
    (i32.const 9))

  (func (export "br_table") (param $x i32) (result i32)
    (i32.add (i32.const 1000)
      (block $zero (result i32)
        (drop (block $one (result i32)
          (br_table $zero $one 2 (i32.const 40) (local.get $x))))
        (i32.const 41))))

  (func $multi (param $x i32) (result i32 i64 f64)
    (if (local.get $x)
      (then (return (i32.const 1) (i64.const 2) (f64.const 3.5))))
    (i32.const 4) (i64.const 5) (f64.const 6.5))
  (func (export "multi") (param $x i32) (result i32)
    (local $a i32) (local $b i64) (local $c f64)
    (call $multi (local.get $x))
    (local.set $c) (local.set $b) (local.set $a)
    (i32.add (local.get $a)
      (i32.add (i32.wrap_i64 (local.get $b)) (i32.trunc_f64_s (local.get $c)))))

  (func $fact (param $n i64) (result i64)
    (if (result i64) (i64.le_s (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1)))))))
  (func (export "fact") (param $x i32) (result i32)
    (i32.wrap_i64 (call $fact (i64.extend_i32_u (local.get $x)))))

  (func (export "indirect") (param $x i32) (result i32)
    (call_indirect (type $ii) (local.get $x) (i32.and (local.get $x) (i32.const 1))))

  (func (export "simd") (param $x i32) (result i32)
    (i32x4.extract_lane 2
      (i32x4.add
        (i32x4.splat (local.get $x))
        (v128.const i32x4 1 2 3 4))))

  (func (export "bulk") (param $x i32) (result i32)
    (memory.fill (i32.const 100) (local.get $x) (i32.const 8))
    (memory.copy (i32.const 200) (i32.const 100) (i32.const 8))
    (i32.add (i32.load8_u (i32.const 207))
      (i32.add (table.size 0) (global.get $g))))

  (func (export "select") (param $x i32) (result i32)
    (select (result i32) (i32.const 10) (i32.const 20) (local.get $x)))

  (func (export "unreachable_after_return") (param $x i32) (result i32)
    (return (local.get $x))
    (i32.const 1)
    (br 0))

  (func $deep (export "deep") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get $n) (i32.const 1))))))))
