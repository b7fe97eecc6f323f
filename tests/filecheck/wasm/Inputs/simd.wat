(module
  (func (export "splat") (param i32) (result v128)
    (i32x4.splat (local.get 0))))
