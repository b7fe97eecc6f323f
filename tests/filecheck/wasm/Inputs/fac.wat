(module
  (memory 1)
  (global $g (mut i32) (i32.const 10))
  (func $fac (export "fac") (param $n i64) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (block $done
      (loop $top
        (br_if $done (i64.le_s (local.get $n) (i64.const 1)))
        (local.set $acc (i64.mul (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $top)))
    (local.get $acc))
  (func (export "mem") (param i32) (result i32)
    (i32.store8 offset=3 (local.get 0) (i32.const 255))
    (i32.load16_u offset=2 (local.get 0)))
  (data (i32.const 16) "hi\ff"))
