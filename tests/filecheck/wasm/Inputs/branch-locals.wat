(module
  ;; Both ways out of the block carry the result in local 1, so the br_if takes only its
  ;; condition, which stays on the stack.
  (global $g (mut i32) (i32.const 0))
  (func (export "f") (param i32) (result i32)
    (local i32)
    block
      local.get 0
      i32.const 1
      i32.add
      local.set 1
      local.get 1
      i32.const 10
      i32.gt_s
      br_if 0
      local.get 1
      i32.const 2
      i32.mul
      local.tee 1
      global.set $g
    end
    local.get 1
    local.get 1
    i32.mul))
