(module
  ;; fib: the accumulator's implicit zero needs no write, and n - 2 becomes the next n in
  ;; the same local as n (the comparison n < 4 is computed before it).
  (func $fib (export "fib") (param i32) (result i64) (local i64 i32)
    local.get 0
    i32.const 2
    i32.ge_s
    if
      loop
        local.get 0
        i32.const 1
        i32.sub
        call $fib
        local.get 1
        i64.add
        local.set 1
        local.get 0
        i32.const 4
        i32.lt_u
        local.set 2
        local.get 0
        i32.const 2
        i32.sub
        local.set 0
        local.get 2
        i32.eqz
        br_if 0
      end
    end
    local.get 1
    local.get 0
    i64.extend_i32_s
    i64.add)
  ;; An if without else that advances two pointers: the old and new values share locals
  ;; (the else arm's use leaves a hole in the then arm), so the if has no results and no else.
  (func (export "advance") (param i32 i32 i32) (result i32)
    local.get 2
    i32.const 16
    i32.and
    if
      local.get 0
      i32.const 16
      i32.add
      local.set 0
      local.get 1
      i32.const 16
      i32.add
      local.set 1
    end
    local.get 0
    local.get 1
    i32.sub))
