(module
  (memory 1)
  (data (i32.const 0) "\05\00\00\00\03\00\00\00")
  (func $use (param i32))
  ;; swap: the second branch carries the two values swapped. The old $a is read at that
  ;; branch for the last time, so $b can be copied into its local there.
  (func $swap (export "swap") (param $a i32) (param $b i32) (param $c i32) (result i32)
    (local $t i32)
    (block $done
      (br_if $done (local.get $c))
      (local.set $t (local.get $a))
      (local.set $a (local.get $b))
      (local.set $b (local.get $t))
      (br_if $done (i32.load (local.get $a)))
      (local.set $a (i32.add (local.get $a) (i32.const 100)))
      (local.set $b (i32.const 9)))
    (i32.sub (i32.mul (local.get $a) (i32.const 10)) (local.get $b)))
  ;; count: the new index is computed before the old one's last use, so the two cannot share
  ;; a local; it goes back to the loop from two `br_if`s, and one copy before the first
  ;; serves both.
  (func $count (export "count") (param $p i32) (result i32)
    (local $i i32) (local $n i32)
    (loop $next
      (local.set $n (i32.add (local.get $i) (i32.const 1)))
      (i32.store8 offset=16 (local.get $i) (local.get $n))
      (call $use (local.get $i))
      (local.set $i (local.get $n))
      (br_if $next (i32.lt_u (local.get $i) (local.get $p)))
      (br_if $next (i32.eq (i32.load8_u offset=15 (local.get $i)) (i32.const 7))))
    (local.get $i)))
