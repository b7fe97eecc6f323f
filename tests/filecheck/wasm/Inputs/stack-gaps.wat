(module
  (type $bin (func (param i32 i32) (result i32)))
  (memory 1)
  ;; 16: an object whose field 4 points at 24; 24 + 8 holds the callee's table index (0).
  (data (i32.const 16) "\03\00\00\00\18\00\00\00\00\00\00\00\00\00\00\00")
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
      (i32.load offset=8 (local.get $o)))))
