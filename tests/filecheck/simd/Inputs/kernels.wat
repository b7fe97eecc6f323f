(module
  (memory 1)
  (global $bias (mut v128) (v128.const i32x4 1 2 3 4))
  ;; a dot product of four i32 lanes, from memory, with a v128 local carried by a loop
  (func (export "dot") (param $p i32) (param $q i32) (param $n i32) (result i32)
    (local $acc v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc
          (i32x4.add (local.get $acc)
            (i32x4.mul (v128.load (local.get $p)) (v128.load offset=16 align=4 (local.get $q)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
  ;; shapes, lanes, shuffles, selects and relaxed SIMD
  (func (export "mix") (param $a v128) (param $b v128) (param $c i32) (result v128)
    (select
      (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
        (f32x4.replace_lane 2 (local.get $a) (f32.const 1.5))
        (i16x8.extend_low_i8x16_u (local.get $b)))
      (f64x2.relaxed_madd (local.get $a) (local.get $b) (global.get $bias))
      (local.get $c)))
  (func (export "lanes") (param $p i32) (param $v v128) (result v128)
    (v128.store16_lane 3 (local.get $p) (local.get $v))
    (v128.load32_lane offset=8 1 (local.get $p)
      (i64x2.shl (v128.load32_zero (local.get $p)) (i32x4.bitmask (local.get $v)))))
)
