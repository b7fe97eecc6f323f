(module
  (global $state (mut i32) (i32.const 0))
  (global $buf (mut i32) (i32.const 64))
  (memory 1)
  (func $work (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  ;; classify: the constant a local holds flows into the block's result from several branches.
  (func $classify (export "classify") (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (i32.const 7))
    (block $done
      (br_if $done (i32.eqz (local.get $x)))
      (br_if $done (i32.lt_s (local.get $x) (i32.const 0)))
      (local.set $r (i32.const 1))
      (br_if $done (i32.lt_s (local.get $x) (i32.const 10)))
      (local.set $r (i32.const 2)))
    (local.get $r))
  ;; pick: both arms compute the if's value; it is used after a call.
  (func $pick (export "pick") (param $c i32) (param $a i32) (result i32)
    (local $t i32)
    (if (local.get $c)
      (then (local.set $t (i32.mul (local.get $a) (i32.const 3))))
      (else (local.set $t (i32.const -1))))
    (drop (call $work (local.get $a)))
    (i32.add (local.get $t) (local.get $a)))
  ;; dispatch: a block whose value a branch out of an inner if and its own end compute, each
  ;; for it alone (as C's `r = f ? g(x) : x * 7` often compiles).
  (func $dispatch (export "dispatch") (param $f i32) (param $x i32) (result i32)
    (local $r i32)
    (block $done
      (if (local.get $f)
        (then
          (local.set $r (call $work (local.get $x)))
          (br $done)))
      (local.set $r (i32.mul (local.get $x) (i32.const 7))))
    (i32.store (i32.const 0) (local.get $x))
    (i32.add (local.get $r) (i32.load (local.get $r))))
  ;; unwind: the shape `wasm-opt --asyncify` gives a function with calls that may unwind.
  (func $unwind (export "unwind") (param $p i32) (param $n i32) (result i32)
    (local $x i32) (local $y i32) (local $idx i32)
    (if (i32.eq (global.get $state) (i32.const 2))
      (then
        (local.set $p (i32.load (global.get $buf)))
        (local.set $x (i32.load offset=4 (global.get $buf)))
        (local.set $y (i32.load offset=8 (global.get $buf)))
        (local.set $idx (i32.load offset=12 (global.get $buf)))))
    (local.set $idx
      (block $unwind (result i32)
        (if (i32.eqz (select (local.get $idx) (i32.const 0) (global.get $state)))
          (then
            (local.set $x (call $work (local.get $p)))
            (drop (br_if $unwind (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))))
        (if (i32.eqz (global.get $state))
          (then (local.set $y (i32.add (local.get $x) (local.get $n)))))
        (if (select (i32.eq (local.get $idx) (i32.const 1)) (i32.const 1) (global.get $state))
          (then
            (local.set $x (call $work (local.get $y)))
            (drop (br_if $unwind (i32.const 1) (i32.eq (global.get $state) (i32.const 1))))))
        (if (i32.eqz (global.get $state))
          (then (local.set $y (i32.sub (local.get $y) (local.get $x)))))
        (if (select (i32.eq (local.get $idx) (i32.const 2)) (i32.const 1) (global.get $state))
          (then
            (local.set $x (call $work (local.get $y)))
            (drop (br_if $unwind (i32.const 2) (i32.eq (global.get $state) (i32.const 1))))))
        (return (i32.add (local.get $x) (local.get $y)))))
    (i32.store (global.get $buf) (local.get $p))
    (i32.store offset=4 (global.get $buf) (local.get $x))
    (i32.store offset=8 (global.get $buf) (local.get $y))
    (i32.store offset=12 (global.get $buf) (local.get $idx))
    (i32.const 0))
  ;; scan: the loop's value is its carried pointer, passed on by the else arm of the if.
  (data (i32.const 0) "abc\00")
  (data (i32.const 16) "abd\00")
  (data (i32.const 32) "abc\00")
  (func $scan (export "scan") (param $p i32) (param $q i32) (result i32)
    (loop $l
      (if (i32.load8_u (local.get $p))
        (then
          (if (i32.ne (i32.load8_u (local.get $q)) (i32.load8_u (local.get $p)))
            (then (return (i32.const -1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $l))))
    (local.get $q)))
