(module
  (memory 1)
  (data (i32.const 0) "\02\00\00\00")
  (data (i32.const 104) "\05\00\00\00\07\00\00\00")
  ;; $x is live in the else path only, once the then arm has read it: the loop index fits in
  ;; that hole of its local.
  (func $sum (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $x i32) (local $i i32) (local $acc i32)
    (local.set $x (i32.load (local.get $p)))
    (if (i32.le_u (local.get $x) (local.get $n))
      (then
        (local.set $i (i32.mul (local.get $x) (i32.const 4)))
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (i32.load offset=100 (local.get $i))))
          (local.set $i (i32.sub (local.get $i) (i32.const 4)))
          (br_if $l (local.get $i)))
        (return (local.get $acc))))
    (i32.add (local.get $x) (local.get $n))))
