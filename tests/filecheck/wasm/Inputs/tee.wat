(module
  (func (export "f") (param i32) (result i32)
    (local i32)
    local.get 0
    i32.const 1
    i32.add
    local.set 1
    local.get 1
    i32.const 3
    i32.mul
    local.get 1
    i32.add))
