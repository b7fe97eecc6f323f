(module
  (type $bin (func (param i32 i32) (result i32)))
  (memory 1)
  ;; 16: an object whose field 4 points at 24; 24 + 8 holds the callee's table index (0).
  ;; 40: the i64 -10. 48: a reference count of 1.
  (data (i32.const 16) "\03\00\00\00\18\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 40) "\f6\ff\ff\ff\ff\ff\ff\ff\01\00\00\00")
  (table 1 funcref)
  (elem (i32.const 0) $times)
  (func $combine (param i32 i32 i32 i32) (result i32)
    (i32.add (i32.add (i32.add (i32.mul (local.get 0) (i32.const 1000)) (local.get 1))
      (local.get 2)) (local.get 3)))
  (func $times (type $bin) (i32.mul (local.get 0) (local.get 1)))
  ;; The load goes first, the computed address last, two parameters between them.
  (func $direct (export "direct") (param $p i32) (param $b i32) (param $c i32) (result i32)
    (call $combine (i32.load offset=12 (local.get $p)) (local.get $b) (local.get $c)
      (i32.add (local.get $p) (i32.const 20))))
  ;; The object goes first, the parameter, then the callee loaded from the object.
  (func $indirect (export "indirect") (param $p i32) (param $b i32) (result i32)
    (local $o i32)
    (call_indirect (type $bin) (local.tee $o (i32.load offset=4 (local.get $p))) (local.get $b)
      (i32.load offset=8 (local.get $o))))
  ;; |x| as Rust writes it: the sign mask is used twice, teed on the stack for the xor.
  (func $abs (export "abs") (param $p i32) (result i64)
    (local $x i64) (local $s i64)
    (local.set $x (i64.load (local.get $p)))
    (local.set $s (i64.shr_s (local.get $x) (i64.const 63)))
    (i64.sub (i64.xor (local.get $x) (local.get $s)) (local.get $s)))
  ;; A reference count decremented in place: the address stays on the stack for the store
  ;; while the load reads it again, and the new count is teed for the test after it.
  (func $release (export "release") (param $p i32) (result i32)
    (local $a i32) (local $n i32)
    (local.set $a (i32.add (local.get $p) (i32.const 4)))
    (local.set $n (i32.sub (i32.load (local.get $a)) (i32.const 1)))
    (i32.store (local.get $a) (local.get $n))
    (i32.eqz (local.get $n))))
