(module
  (tag $e (param i32))
  (func (export "raise") (param i32)
    (throw $e (local.get 0))))
