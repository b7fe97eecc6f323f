//! The contract verifier's semantic half: for every rewrite rule, generated programs are
//! compiled without the rule and with only that rule, run in wasmtime on generated inputs, and
//! must give the same results and trap at the same calls. Arithmetic rules get random
//! expression trees over two parameters and interesting constants; bounds-check rules get
//! random memory accesses (in and out of bounds) under explicit checks; function-merging rules
//! get helpers with exact copies and copies differing in a constant. The canonicalizer
//! (the dialects' folders and patterns) is checked as a whole the same way.
//!
//! The programs are drawn by proptest (a deterministic runner, so every run checks the same
//! ones; a failure shrinks to a smaller seed). `WASMIR_RULE_CASES` sets the programs per rule
//! (default 40).

mod common;

use common::Rng;
use wasmtime::{Engine, Instance, Module, Store, Trap};

const CONSTANTS: &[i64] = &[0, 1, -1, 2, 3, 8, 32, 255, 1 << 31, 0x1_0000_0000, 65_535, 7];

/// Builds random expressions as WasmIR text lines.
struct Gen<'a> {
    rng: &'a mut Rng,
    lines: Vec<String>,
    next: usize,
}

impl Gen<'_> {
    fn fresh(&mut self, line: String) -> String {
        let name = format!("%v{}", self.next);
        self.next += 1;
        self.lines.push(format!("  {name} = {line}"));
        name
    }

    fn constant(&mut self, ty: &str) -> String {
        // Identities live at 0, 1, -1 and powers of two: favour them.
        let c = if self.rng.below(2) == 0 {
            self.rng.pick(&[0, 1, -1, 2, 8, 32])
        } else {
            self.rng.pick(CONSTANTS)
        };
        let c = if ty == "i32" { i64::from(c as i32) } else { c };
        self.fresh(format!("arith.constant {c} : {ty}"))
    }

    /// A packed pair `extend_u(p) | extend_u(n) << 32`, the shape lowered regions take.
    fn packed(&mut self, depth: u32) -> String {
        let p = self.expr("i32", depth);
        let n = self.expr("i32", depth);
        let p64 = self.fresh(format!("arith.extend_u {p} : i32 to i64"));
        let n64 = self.fresh(format!("arith.extend_u {n} : i32 to i64"));
        let k = self.fresh("arith.constant 32 : i64".into());
        let high = self.fresh(format!("arith.shli {n64}, {k} : i64"));
        self.fresh(format!("arith.ori {p64}, {high} : i64"))
    }

    /// An expression of type `ty` (i32 or i64) of depth at most `depth`.
    fn expr(&mut self, ty: &str, depth: u32) -> String {
        let leaf = |g: &mut Self| match (ty, g.rng.below(3)) {
            ("i32", 0) => "%arg0".to_string(),
            ("i64", 0) => "%arg1".to_string(),
            _ => g.constant(ty),
        };
        if depth == 0 || self.rng.below(5) == 0 {
            return leaf(self);
        }
        match self.rng.below(10) {
            0..=4 => {
                let op = self.rng.pick(&[
                    "addi", "subi", "muli", "andi", "ori", "xori", "shli", "shrui", "shrsi", "rotli",
                ]);
                let a = self.expr(ty, depth - 1);
                let b = match self.rng.below(3) {
                    0 => a.clone(),
                    1 => self.constant(ty),
                    _ => self.expr(ty, depth - 1),
                };
                self.fresh(format!("arith.{op} {a}, {b} : {ty}"))
            }
            5 if ty == "i32" => {
                let a =
                    if self.rng.below(2) == 0 { self.packed(depth - 1) } else { self.expr("i64", depth - 1) };
                self.fresh(format!("arith.wrap {a} : i64 to i32"))
            }
            5 => {
                let ext = self.rng.pick(&["extend_u", "extend_s"]);
                let a = self.expr("i32", depth - 1);
                self.fresh(format!("arith.{ext} {a} : i32 to i64"))
            }
            6 if ty == "i64" => {
                let packed = self.packed(depth - 1);
                if self.rng.below(2) == 0 {
                    packed
                } else {
                    let k = self.fresh("arith.constant 32 : i64".into());
                    self.fresh(format!("arith.shrui {packed}, {k} : i64"))
                }
            }
            7 if ty == "i32" => {
                let pred = self.rng.pick(&["eq", "ne", "ult", "slt", "uge"]);
                let inner = self.rng.pick(&["i32", "i64"]);
                let a = self.expr(inner, depth - 1);
                let b = self.expr(inner, depth - 1);
                self.fresh(format!("arith.cmpi {pred}, {a}, {b} : {inner}"))
            }
            8 => {
                let c = self.expr("i32", depth - 1);
                let a = self.expr(ty, depth - 1);
                let b = self.expr(ty, depth - 1);
                self.fresh(format!("arith.select {c}, {a}, {b} : {ty}"))
            }
            _ => {
                // (x + c1) + c2
                let x = self.expr(ty, depth - 1);
                let c1 = self.constant(ty);
                let c2 = self.constant(ty);
                let s = self.fresh(format!("arith.addi {x}, {c1} : {ty}"));
                self.fresh(format!("arith.addi {s}, {c2} : {ty}"))
            }
        }
    }
}

fn arithmetic_program(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut g = Gen { rng: &mut rng, lines: Vec::new(), next: 0 };
    let a = g.expr("i32", 4);
    let b = g.expr("i64", 4);
    format!(
        "func.func @f(%arg0: i32, %arg1: i64) -> (i32, i64) {{\n{}\n  func.return {a}, {b} : i32, i64\n}}\nwasm.export \"f\" @f\n",
        g.lines.join("\n")
    )
}

/// Loads and stores at addresses near the end of a one-page memory, some through regions.
/// A failing check calls the memory's panic handler, which counts failures at address 0, so a
/// check removed where it would have failed shows in the memory even though the access
/// itself then traps.
fn memory_program(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut lines = Vec::new();
    let bases = ["%arg0", "%b1", "%b2", "%b3", "%b4"];
    lines.push("  %k1 = arith.constant 4 : i32".to_string());
    lines.push("  %b1 = arith.addi %arg0, %k1 : i32".to_string());
    lines.push("  %k2 = arith.constant 65520 : i32".to_string());
    lines.push("  %b2 = arith.addi %arg0, %k2 : i32".to_string());
    lines.push("  %b3 = arith.constant 1024 : i32".to_string());
    // Go's address shape: wrap(extend_u(x) + c).
    lines.push("  %w0 = arith.extend_u %arg0 : i32 to i64".to_string());
    lines.push("  %w1 = arith.constant 8 : i64".to_string());
    lines.push("  %w2 = arith.addi %w0, %w1 : i64".to_string());
    lines.push("  %b4 = arith.wrap %w2 : i64 to i32".to_string());
    lines.push("  %n = arith.constant 4 : i32".to_string());
    lines.push("  %s = memory.make_slice %arg1, %n : !memory.slice<i32, @mem>".to_string());
    let mut acc = "%arg0".to_string();
    for i in 0..rng.below(6) + 2 {
        let base = rng.pick(&bases);
        let offset = rng.pick(&[0u64, 4, 8, 12, 65_532]);
        let width = rng.pick(&["", " width = 8 : u32,"]);
        let sign = if width.is_empty() { "" } else { " sign = \"u\"," };
        match rng.below(16) {
            0 => lines.push(format!("  memory.store @mem, {base}, {acc} {{offset = {offset} : u64}} : i32")),
            // A call of the private helper, whose own check goes when every call site passes a
            // pointer checked far enough (checked-by-callers).
            // Or of one that checks its pointer on one of its two returns only, after which a
            // caller's check of that pointer must stay (checked-in-callee).
            5 if rng.below(2) == 0 => {
                lines.push(format!("  func.call @maybe({base}, %arg1) : (i32, i32) -> ()"));
                lines.push(format!("  %x{i} = memory.load @mem, {base} {{offset = 4 : u64}} : i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %x{i} : i32"));
                acc = format!("%a{i}");
            }
            5 => {
                lines.push(format!("  %a{i} = func.call @helper({base}, {acc}) : (i32, i32) -> i32"));
                acc = format!("%a{i}");
            }
            // An address bounded by its computation: (x & mask) << 2 plus a base, in or out of
            // the page depending on the constants (bounded-address).
            6 => {
                let mask = rng.pick(&[3u64, 255, 1023, 16383, 65535]);
                let start = rng.pick(&[0u64, 1024, 60000, 64508, 65532]);
                lines.push(format!("  %m{i} = arith.constant {mask} : i32"));
                lines.push(format!("  %n{i} = arith.andi {base}, %m{i} : i32"));
                lines.push(format!("  %sh{i} = arith.constant 2 : i32"));
                lines.push(format!("  %s{i} = arith.shli %n{i}, %sh{i} : i32"));
                lines.push(format!("  %o{i} = arith.constant {start} : i32"));
                lines.push(format!("  %p{i} = arith.addi %s{i}, %o{i} : i32"));
                lines.push(format!("  %x{i} = memory.load @mem, %p{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %x{i} : i32"));
                acc = format!("%a{i}");
            }
            // An access under a comparison of its index: in an `if`, or after a `br_if` that
            // leaves a block when the index is too large (bounded-address, joins).
            7 => {
                let limit = rng.pick(&[4u64, 100, 16383, 16384, 20000]);
                let start = rng.pick(&[0u64, 1024, 65532]);
                let predicate = rng.pick(&["ult", "ule", "uge", "ugt"]);
                lines.push(format!("  %l{i} = arith.constant {limit} : i32"));
                lines.push(format!("  %c{i} = arith.cmpi {predicate}, %arg1, %l{i} : i32"));
                lines.push(format!("  %sh{i} = arith.constant 2 : i32"));
                lines.push(format!("  %s{i} = arith.shli %arg1, %sh{i} : i32"));
                lines.push(format!("  %o{i} = arith.constant {start} : i32"));
                lines.push(format!("  %p{i} = arith.addi %s{i}, %o{i} : i32"));
                if rng.below(2) == 0 {
                    lines.push(format!("  %a{i} = control.if %c{i} -> i32 {{"));
                    lines.push(format!("    %x{i} = memory.load @mem, %p{i} : i32"));
                    lines.push(format!("    control.yield %x{i} : i32"));
                    lines.push("  } else {".to_string());
                    lines.push(format!("    %y{i} = memory.load @mem, %p{i} {{offset = 4 : u64}} : i32"));
                    lines.push(format!("    control.yield %y{i} : i32"));
                    lines.push("  }".to_string());
                } else {
                    lines.push(format!("  %a{i} = control.block -> i32 {{"));
                    lines.push(format!("    control.br_if %c{i}, 0 ({acc} : i32)"));
                    lines.push(format!("    %x{i} = memory.load @mem, %p{i} : i32"));
                    lines.push(format!("    memory.store @mem, {base}, %x{i} {{offset = 8 : u64}} : i32"));
                    lines.push(format!("    control.yield %x{i} : i32"));
                    lines.push("  }".to_string());
                    lines.push(format!("  %z{i} = memory.load @mem, {base} {{offset = 4 : u64}} : i32"));
                    lines.push(format!("  %q{i} = arith.addi %a{i}, %z{i} : i32"));
                    acc = format!("%q{i}");
                    continue;
                }
                acc = format!("%a{i}");
            }
            // Reads of the stack-pointer global around a call that moves it (epochs).
            8 => {
                lines.push(format!("  %g{i} = global.get @sp : i32"));
                lines.push(format!("  %x{i} = memory.load @mem, %g{i} {{offset = 4 : u64}} : i32"));
                lines.push(format!("  func.call @move({base}) : (i32) -> ()"));
                lines.push(format!("  %h{i} = global.get @sp : i32"));
                lines.push(format!("  %y{i} = memory.load @mem, %h{i} : i32"));
                lines.push(format!("  %r{i} = memory.load @mem, %g{i} : i32"));
                lines.push(format!("  %v{i} = arith.addi %x{i}, %y{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi %v{i}, %r{i} : i32"));
                acc = format!("%a{i}");
            }
            // A loop walking a pointer: checked before the loop, and continued either with a
            // pointer it checked in the iteration or with one it did not (loop arguments).
            9 => {
                let step = rng.pick(&[4u64, 8, 65_536]);
                let checked = rng.below(2) == 0;
                lines.push(format!("  %z{i} = arith.constant 0 : i32"));
                lines.push(format!("  %pre{i} = memory.load @mem, {base} : i32"));
                lines.push(format!(
                    "  %a{i} = control.loop (%ptr{i}: i32 = {base}, %cnt{i}: i32 = %z{i}) -> i32 {{"
                ));
                lines.push(format!("    %x{i} = memory.load @mem, %ptr{i} : i32"));
                lines.push(format!("    %st{i} = arith.constant {step} : i32"));
                lines.push(format!("    %np{i} = arith.addi %ptr{i}, %st{i} : i32"));
                if checked {
                    lines.push(format!("    %y{i} = memory.load @mem, %np{i} : i32"));
                }
                lines.push(format!("    %one{i} = arith.constant 1 : i32"));
                lines.push(format!("    %nc{i} = arith.addi %cnt{i}, %one{i} : i32"));
                lines.push(format!("    %lim{i} = arith.constant 3 : i32"));
                lines.push(format!("    %more{i} = arith.cmpi ult, %nc{i}, %lim{i} : i32"));
                lines.push(format!("    control.br_if %more{i}, 0 (%np{i}, %nc{i} : i32, i32)"));
                lines.push(format!("    %sum{i} = arith.addi %x{i}, %pre{i} : i32"));
                lines.push(format!("    control.yield %sum{i} : i32"));
                lines.push("  }".to_string());
                acc = format!("%a{i}");
            }
            // A branch out of a nested `if` after a check, and a way out without it (joins).
            10 => {
                lines.push(format!("  %a{i} = control.block -> i32 {{"));
                lines.push("    control.if %arg1 {".to_string());
                lines.push(format!("      %x{i} = memory.load @mem, {base} {{offset = 16 : u64}} : i32"));
                lines.push(format!("      control.br 1 (%x{i} : i32)"));
                lines.push("    }".to_string());
                lines.push(format!("    control.yield {acc} : i32"));
                lines.push("  }".to_string());
                lines.push(format!("  %y{i} = memory.load @mem, {base} {{offset = 16 : u64}} : i32"));
                lines.push(format!("  %jn{i} = arith.addi %a{i}, %y{i} : i32"));
                acc = format!("%jn{i}");
            }
            // A pointer checked only where it is not zero, then used again where it is not zero
            // (C's `if (p) p->x`, twice; dominated through a null-or fact); or guarded by
            // another value, after which its check must stay.
            11 => {
                let guard = rng.pick(&["%arg1", "%arg0"]);
                let (first, second) = (rng.pick(&[0u64, 8, 65_532]), rng.pick(&[0u64, 8, 65_532]));
                lines.push(format!("  %a{i} = control.block -> i32 {{"));
                lines.push(format!("    %z{i} = arith.eqz {guard} : i32"));
                lines.push(format!("    control.br_if %z{i}, 0 ({acc} : i32)"));
                lines.push(format!("    %x{i} = memory.load @mem, %arg1 {{offset = {first} : u64}} : i32"));
                lines.push(format!("    control.yield %x{i} : i32"));
                lines.push("  }".to_string());
                lines.push(format!("  %nb{i} = control.block -> i32 {{"));
                lines.push(format!("    %zero{i} = arith.constant 0 : i32"));
                lines.push(format!("    %ne{i} = arith.cmpi ne, %arg1, %zero{i} : i32"));
                lines.push(format!("    %e{i} = arith.eqz %ne{i} : i32"));
                lines.push(format!("    control.br_if %e{i}, 0 (%a{i} : i32)"));
                lines.push(format!("    %y{i} = memory.load @mem, %arg1 {{offset = {second} : u64}} : i32"));
                lines.push(format!("    %s{i} = arith.addi %a{i}, %y{i} : i32"));
                lines.push(format!("    control.yield %s{i} : i32"));
                lines.push("  }".to_string());
                acc = format!("%nb{i}");
            }
            // A select of two pointers, each checked before, or one of them not (dominated
            // through both values of a select).
            12 => {
                let (first, second) = (rng.pick(&[0u64, 8, 65_532]), rng.pick(&[0u64, 4, 65_532]));
                lines.push(format!("  %x{i} = memory.load @mem, {base} {{offset = {first} : u64}} : i32"));
                if rng.below(3) != 0 {
                    lines.push(format!("  %y{i} = memory.load @mem, %arg1 {{offset = {first} : u64}} : i32"));
                } else {
                    lines.push(format!("  %y{i} = arith.constant 7 : i32"));
                }
                lines.push(format!("  %one{i} = arith.constant 1 : i32"));
                lines.push(format!("  %c{i} = arith.andi %arg0, %one{i} : i32"));
                lines.push(format!("  %p{i} = arith.select %c{i}, {base}, %arg1 : i32"));
                lines.push(format!("  %z{i} = memory.load @mem, %p{i} {{offset = {second} : u64}} : i32"));
                lines.push(format!("  %v{i} = arith.addi %x{i}, %y{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi %v{i}, %z{i} : i32"));
                acc = format!("%a{i}");
            }
            // A bulk copy or fill of a constant length, then accesses inside or past its
            // ranges (dominated: a bulk op that returned checked its ranges).
            13 => {
                let length = rng.pick(&[4u64, 16, 65_536]);
                let offset = rng.pick(&[0u64, 8, 12, 65_532]);
                lines.push(format!("  %n{i} = arith.constant {length} : i32"));
                if rng.below(2) == 0 {
                    lines.push(format!(
                        "  memory.copy @mem, @mem, {base}, %arg1, %n{i} : (i32, i32, i32) -> ()"
                    ));
                } else {
                    lines.push(format!("  memory.fill @mem, %arg1, {acc}, %n{i} : i32"));
                }
                lines.push(format!("  %x{i} = memory.load @mem, {base} {{offset = {offset} : u64}} : i32"));
                lines.push(format!("  %y{i} = memory.load @mem, %arg1 {{offset = {offset} : u64}} : i32"));
                lines.push(format!("  %v{i} = arith.addi %x{i}, %y{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %v{i} : i32"));
                acc = format!("%a{i}");
            }
            // An index reduced modulo a constant as compilers compute it (`x - (x / d) * d` or
            // `x + (x / d) * -d`), or divided by one, scaled and used (bounded-address).
            14 => {
                let divisor = rng.pick(&[100i64, 16_384, 20_000]);
                lines.push(format!("  %d{i} = arith.constant {divisor} : i32"));
                lines.push(format!("  %q{i} = arith.divui %arg1, %d{i} : i32"));
                let index = match rng.below(3) {
                    0 => {
                        lines.push(format!("  %m{i} = arith.muli %q{i}, %d{i} : i32"));
                        lines.push(format!("  %r{i} = arith.subi %arg1, %m{i} : i32"));
                        format!("%r{i}")
                    }
                    1 => {
                        lines.push(format!("  %nd{i} = arith.constant {} : i32", -divisor));
                        lines.push(format!("  %m{i} = arith.muli %nd{i}, %q{i} : i32"));
                        lines.push(format!("  %r{i} = arith.addi %m{i}, %arg1 : i32"));
                        format!("%r{i}")
                    }
                    _ => format!("%q{i}"),
                };
                lines.push(format!("  %sh{i} = arith.constant 2 : i32"));
                lines.push(format!("  %s{i} = arith.shli {index}, %sh{i} : i32"));
                lines.push(format!("  %x{i} = memory.load @mem, %s{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %x{i} : i32"));
                acc = format!("%a{i}");
            }
            // A pointer loaded, used, and loaded again: with no write between, or a store to
            // other bytes of its base, it is the same pointer; a store over it (full width: the
            // stored value; narrow: neither), or through another base, changes it (dominated,
            // INV-MEM-010).
            15 => {
                let (first, second) = (rng.pick(&[0u64, 8, 65_532]), rng.pick(&[0u64, 4, 65_532]));
                lines.push(format!("  %p{i} = memory.load @mem, {base} {{offset = 8 : u64}} : i32"));
                lines.push(format!("  %x{i} = memory.load @mem, %p{i} {{offset = {first} : u64}} : i32"));
                lines.push(format!("  %t{i} = memory.load @mem, %arg1 : i32"));
                match rng.below(5) {
                    0 => {}
                    1 => {
                        lines.push(format!("  memory.store @mem, {base}, {acc} {{offset = 16 : u64}} : i32"))
                    }
                    2 => lines.push(format!("  memory.store @mem, {base}, %arg1 {{offset = 8 : u64}} : i32")),
                    3 => lines.push(format!(
                        "  memory.store @mem, {base}, {acc} {{offset = 9 : u64, width = 8 : u32}} : i32"
                    )),
                    _ => lines.push(format!("  memory.store @mem, %arg0, {acc} {{offset = 8 : u64}} : i32")),
                }
                lines.push(format!("  %q{i} = memory.load @mem, {base} {{offset = 8 : u64}} : i32"));
                lines.push(format!("  %y{i} = memory.load @mem, %q{i} {{offset = {second} : u64}} : i32"));
                lines.push(format!("  %v{i} = arith.addi %x{i}, %y{i} : i32"));
                lines.push(format!("  %vt{i} = arith.addi %v{i}, %t{i} : i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %vt{i} : i32"));
                acc = format!("%a{i}");
            }
            1 => {
                let c = rng.pick(&["0", "3", "4", "%arg0"]);
                let idx = if c.starts_with('%') {
                    c.to_string()
                } else {
                    lines.push(format!("  %c{i} = arith.constant {c} : i32"));
                    format!("%c{i}")
                };
                lines.push(format!("  %x{i} = memory.elem_load %s[{idx}] : !memory.slice<i32, @mem> -> i32"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %x{i} : i32"));
                acc = format!("%a{i}");
            }
            _ => {
                lines.push(format!(
                    "  %x{i} = memory.load @mem, {base} {{{width}{sign} offset = {offset} : u64}} : i32"
                ));
                lines.push(format!("  %a{i} = arith.addi {acc}, %x{i} : i32"));
                acc = format!("%a{i}");
            }
        }
    }
    let helper_offset = rng.pick(&[0u64, 4, 8, 12]);
    format!(
        r#"memory.memory @mem : i32 {{max = 1 : u64, min = 1 : u64, panic_handler = @failed}}
func.func private @failed() {{
  %0 = arith.constant 0 : i32
  %1 = memory.load @mem, %0 : i32
  %2 = arith.constant 1 : i32
  %3 = arith.addi %1, %2 : i32
  memory.store @mem, %0, %3 : i32
  func.return
}}
global.global private @sp mut : i32 {{
  %0 = arith.constant 1024 : i32
  control.yield %0 : i32
}}
func.func @f(%arg0: i32, %arg1: i32) -> i32 {{
{}
  func.return {acc} : i32
}}
func.func private @helper(%p: i32, %v: i32) -> i32 {{
  %x = memory.load @mem, %p {{offset = {helper_offset} : u64}} : i32
  memory.store @mem, %p, %v {{offset = 8 : u64}} : i32
  %y = arith.addi %x, %v : i32
  func.return %y : i32
}}
func.func private @maybe(%p: i32, %c: i32) {{
  control.if %c {{
    memory.store @mem, %p, %c {{offset = 4 : u64}} : i32
    func.return
  }}
  func.return
}}
func.func private @move(%to: i32) {{
  global.set @sp, %to : i32
  func.return
}}
wasm.export "f" @f
wasm.export "mem" @mem
"#,
        lines.join("\n")
    )
}

/// Indirect calls at constant and variable indices through a private table (slots of two
/// types, a null, past the end), and table sets followed by gets.
fn table_program(seed: u64) -> String {
    let mut rng = Rng(seed);
    let k = rng.pick(&[0i64, 1, 7, -3]);
    let mut lines = Vec::new();
    let mut acc = "%arg0".to_string();
    for i in 0..rng.below(5) + 2 {
        match rng.below(3) {
            0 | 1 => {
                let index = if rng.below(4) == 0 {
                    "%arg1".to_string()
                } else {
                    lines.push(format!("  %sh{i} = arith.constant {} : i32", rng.below(7)));
                    format!("%sh{i}")
                };
                lines.push(format!("  %c{i} = refs.call_indirect @t, {index} ({acc}) : (i32) -> i32"));
                acc = format!("%c{i}");
            }
            _ => {
                lines.push(format!("  %r{i} = refs.func @f2 : !refs.ref<(i32) -> i32>"));
                lines.push(format!("  refs.table_set @u, %arg1, %r{i} : !refs.ref<(i32) -> i32>"));
                lines.push(format!("  %g{i} = refs.table_get @u, %arg1 : !refs.ref<null, func>"));
                lines.push(format!("  %n{i} = refs.is_null %g{i} : !refs.ref<null, func>"));
                lines.push(format!("  %a{i} = arith.addi {acc}, %n{i} : i32"));
                acc = format!("%a{i}");
            }
        }
    }
    format!(
        r#"refs.table @t : i32, !refs.ref<null, func> {{min = 5 : u64}}
refs.table @u : i32, !refs.ref<null, func> {{min = 4 : u64}}
func.func @f1(%x: i32) -> i32 {{
  %c = arith.constant {k} : i32
  %y = arith.addi %x, %c : i32
  func.return %y : i32
}}
func.func @f2(%x: i32) -> i32 {{
  %y = arith.muli %x, %x : i32
  func.return %y : i32
}}
func.func @g(%x: i64) -> i64 {{
  func.return %x : i64
}}
refs.elem @e : !refs.ref<null, func> attributes {{table = @t}} {{
  %0 = refs.func @f1 : !refs.ref<(i32) -> i32>
  %1 = refs.func @g : !refs.ref<(i64) -> i64>
  %2 = refs.null : !refs.ref<null, func>
  %3 = refs.func @f2 : !refs.ref<(i32) -> i32>
  control.yield %0, %1, %2, %3 : !refs.ref<(i32) -> i32>, !refs.ref<(i64) -> i64>, !refs.ref<null, func>, !refs.ref<(i32) -> i32>
}} offset {{
  %0 = arith.constant 1 : i32
  control.yield %0 : i32
}}
func.func @f(%arg0: i32, %arg1: i32) -> i32 {{
{}
  func.return {acc} : i32
}}
wasm.export "f" @f
"#,
        lines.join("\n")
    )
}

/// Helper functions and copies of them, as monomorphization leaves them: exact copies, copies
/// that call other copies of the same callees, and copies that differ in one constant; `@f`
/// calls every one and mixes the results, so a merge that picks the wrong body shows.
fn copies_program(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut funcs: Vec<String> = Vec::new();
    let mut names: Vec<Vec<String>> = Vec::new();
    for i in 0..3 {
        let mut g = Gen { rng: &mut rng, lines: Vec::new(), next: 0 };
        let value = g.expr("i32", 4);
        let lines = g.lines;
        // Which copy of each earlier helper this one calls: chosen per copy below.
        let callee = (i > 0).then(|| rng.below(i as u64) as usize);
        let variants = 2 + rng.below(2) as usize;
        let mut mine = Vec::new();
        for copy in 0..variants {
            let name = format!("h{i}_{copy}");
            let mut body = lines.clone();
            let mut result = value.clone();
            if let Some(j) = callee {
                let target = &names[j][rng.below(names[j].len() as u64) as usize];
                body.push(format!("  %call = func.call @{target}({value}, %arg1) : (i32, i64) -> i32"));
                body.push(format!("  %mixed = arith.xori %call, {value} : i32"));
                result = "%mixed".to_string();
            }
            // The last copy differs in one constant, when there is one.
            if copy == variants - 1 && copy > 0 {
                let constants: Vec<usize> = (0..body.len())
                    .filter(|&k| body[k].contains("arith.constant") && body[k].ends_with(": i32"))
                    .collect();
                if !constants.is_empty() {
                    let k = constants[rng.below(constants.len() as u64) as usize];
                    let (head, _) = body[k].split_once("arith.constant").expect("a constant");
                    body[k] = format!("{head}arith.constant {} : i32", rng.below(1000) as i64 - 500);
                }
            }
            let visibility = if rng.below(4) == 0 { "" } else { "private " };
            funcs.push(format!(
                "func.func {visibility}@{name}(%arg0: i32, %arg1: i64) -> i32 {{\n{}\n  func.return {result} : i32\n}}",
                body.join("\n")
            ));
            mine.push(name);
        }
        names.push(mine);
    }
    let mut calls = vec!["  %wide = arith.extend_s %arg1 : i32 to i64".to_string()];
    let mut acc = "%arg0".to_string();
    for (n, name) in names.iter().flatten().enumerate() {
        calls.push(format!("  %r{n} = func.call @{name}({acc}, %wide) : (i32, i64) -> i32"));
        calls.push(format!("  %k{n} = arith.constant {} : i32", n + 1));
        calls.push(format!("  %s{n} = arith.rotli {acc}, %k{n} : i32"));
        calls.push(format!("  %a{n} = arith.addi %s{n}, %r{n} : i32"));
        acc = format!("%a{n}");
    }
    format!(
        "{}\nfunc.func @f(%arg0: i32, %arg1: i32) -> i32 {{\n{}\n  func.return {acc} : i32\n}}\nwasm.export \"f\" @f\nwasm.export \"h\" @{}\n",
        funcs.join("\n"),
        calls.join("\n"),
        names[0][1]
    )
}

fn compile(text: &str, pipeline: &str) -> Vec<u8> {
    let ctx = wasmir::context();
    let mut module = wasmir::parse(&ctx, "generated.wir", text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    if !pipeline.is_empty() {
        wasmir::run_pipeline(&ctx, &mut module, pipeline)
            .unwrap_or_else(|e| panic!("{pipeline}: {}\n{text}", wasmir::ir::diagnostics::render(&ctx, &e)));
    }
    wasmir::compile_to_wasm(&ctx, &module, &wasmir::lowering::Target::default())
        .unwrap_or_else(|e| panic!("{}\n{text}", wasmir::ir::diagnostics::render(&ctx, &e)))
}

/// Results of calling `f` on each argument pair, and the memory's bytes when exported.
fn run(engine: &Engine, wasm: &[u8], inputs: &[(i64, i64)], i64_second: bool) -> Vec<String> {
    let module = Module::new(engine, wasm).expect("compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let mut out = Vec::new();
    for &(a, b) in inputs {
        let result = if i64_second {
            let f = instance.get_typed_func::<(i32, i64), (i32, i64)>(&mut store, "f").expect("f");
            f.call(&mut store, (a as i32, b)).map(|r| format!("{r:?}"))
        } else {
            let f = instance.get_typed_func::<(i32, i32), i32>(&mut store, "f").expect("f");
            f.call(&mut store, (a as i32, b as i32)).map(|r| format!("{r:?}"))
        };
        out.push(match result {
            Ok(r) => r,
            // An explicit check traps with `unreachable` where the access would trap as out of
            // bounds: the same call fails either way.
            Err(e) => {
                let trap = e.downcast_ref::<Trap>().copied();
                assert!(trap.is_some(), "only traps: {e:?}");
                "trap".to_string()
            }
        });
    }
    if let Some(memory) = instance.get_memory(&mut store, "mem") {
        let data = memory.data(&store);
        out.push(format!("{:?}", &data[data.len() - 64..]));
        out.push(format!("{:?}", &data[..64]));
    }
    out
}

fn cases() -> u64 {
    std::env::var("WASMIR_RULE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40)
}

fn inputs(seed: u64) -> Vec<(i64, i64)> {
    let mut rng = Rng(seed ^ 0xABCD);
    let special = [0i64, 1, -1, 4, 65_532, 65_536, i64::from(i32::MIN), 0x1_0000_0000];
    (0..6).map(|_| (rng.pick(&special) ^ (rng.below(3) as i64), rng.pick(&special))).collect()
}

/// Inputs for the memory programs: the edge values, and small pointers and indices (around the
/// comparison limits the programs use) so that the accesses after the first can run.
fn memory_inputs(seed: u64) -> Vec<(i64, i64)> {
    let mut rng = Rng(seed ^ 0x5EED);
    let mut out = inputs(seed);
    let indices = [0i64, 3, 4, 99, 100, 101, 16_383, 16_384, 19_999, 20_000];
    out.extend((0..10).map(|_| (rng.below(64) as i64, rng.pick(&indices))));
    // Pointers a few bytes below the end of the page, and zero beside them: where a check that
    // should fail passes only if a rule removed it wrongly.
    let near_end = [65_520i64, 65_524, 65_528, 65_532];
    out.extend((0..6).map(|_| {
        let (a, b) = (rng.pick(&near_end), rng.pick(&[0, 3, 65_528]));
        if rng.below(2) == 0 { (a, b) } else { (b, a) }
    }));
    out
}

/// What a rule set is checked on: programs and inputs by seed, and how pipelines are spelled.
struct RuleCheck {
    /// The pass whose rules are checked, as in a pipeline.
    pass: &'static str,
    rules: &'static [wasmir::rewrites::PassRule],
    /// Passes before (in both pipelines) and after (with the rule only) the rule's pass.
    before: &'static str,
    after: &'static str,
    programs: u64,
    program: fn(u64) -> String,
    inputs: fn(u64) -> Vec<(i64, i64)>,
    /// Whether `f` takes `(i32, i64)` and returns `(i32, i64)` rather than `(i32, i32) -> i32`.
    i64_second: bool,
}

impl RuleCheck {
    /// For each rule: every program, compiled without the rule and with only it, gives the same
    /// results on every input. Returns how many programs each rule changed.
    fn run(&self) -> Vec<(&'static str, usize)> {
        use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
        let engine = Engine::default();
        let join =
            |parts: &[&str]| parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(",");
        self.rules
            .iter()
            .map(|rule| {
                // Seeds 0.. first, as every run before checked them; then as many drawn by
                // proptest from a wide range (deterministically, so CI sees the same programs),
                // a failing one shrunk towards a smaller seed.
                let fired = std::cell::Cell::new(0usize);
                let pass = format!("{}{{rules={}}}", self.pass, rule.name);
                let check = |seed: u64| {
                    let text = (self.program)(seed);
                    let without = compile(&text, self.before);
                    let with = compile(&text, &join(&[self.before, &pass, self.after]));
                    fired.set(fired.get() + usize::from(with != without));
                    let inputs = (self.inputs)(seed);
                    let (a, b) = (
                        run(&engine, &without, &inputs, self.i64_second),
                        run(&engine, &with, &inputs, self.i64_second),
                    );
                    if a == b {
                        Ok(())
                    } else {
                        Err(TestCaseError::fail(format!(
                            "seed {seed}:\nwithout: {a:?}\nwith:    {b:?}\n{text}"
                        )))
                    }
                };
                for seed in 0..self.programs {
                    if let Err(e) = check(seed) {
                        panic!("rule `{}.{}` changes behaviour: {e}", self.pass, rule.name);
                    }
                }
                let config =
                    Config { cases: self.programs as u32, failure_persistence: None, ..Config::default() };
                let mut runner =
                    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
                let result = runner.run(&(self.programs..u64::from(u32::MAX)), check);
                if let Err(e) = result {
                    panic!("rule `{}.{}` changes behaviour: {e}", self.pass, rule.name);
                }
                (rule.name, fired.get())
            })
            .collect()
    }

    /// [`RuleCheck::run`], and every rule (but those in `exempt`) changed some program.
    fn run_and_require_firing(&self, exempt: &[&str]) {
        for (name, fired) in self.run() {
            if !exempt.contains(&name) {
                assert!(
                    fired > 0,
                    "rule `{}.{name}` never changed a generated program: the test proves nothing",
                    self.pass
                );
            }
        }
    }
}

#[test]
fn every_egraph_rule_preserves_behaviour() {
    RuleCheck {
        pass: "egraph-simplify",
        rules: wasmir::rewrites::egraph::RULES,
        before: "",
        after: "dce",
        programs: cases(),
        program: |seed| arithmetic_program(seed * 7919 + 17),
        inputs,
        i64_second: true,
    }
    .run_and_require_firing(&[]);
}

#[test]
fn the_canonicalizer_and_all_egraph_rules_together_preserve_behaviour() {
    let engine = Engine::default();
    for seed in 0..cases() {
        let text = arithmetic_program(seed * 104_729 + 3);
        let without = compile(&text, "");
        let inputs = inputs(seed);
        for pipeline in ["canonicalize", "canonicalize,egraph-simplify,cse,dce"] {
            let with = compile(&text, pipeline);
            assert_eq!(
                run(&engine, &without, &inputs, true),
                run(&engine, &with, &inputs, true),
                "{pipeline}:\n{text}"
            );
        }
    }
}

#[test]
fn every_bce_rule_preserves_behaviour_traps_included() {
    // loop-induction needs loops over regions, which these straight-line programs lack;
    // tests/filecheck/passes/bce.wir and tests/regions_and_refs.rs exercise it.
    RuleCheck {
        pass: "bce",
        rules: wasmir::rewrites::BCE_RULES,
        before: "bounds-checks-explicit",
        after: "",
        programs: cases() * 5,
        program: |seed| memory_program(seed * 31 + 5),
        inputs: memory_inputs,
        i64_second: false,
    }
    .run_and_require_firing(&["loop-induction"]);
}

#[test]
fn every_directize_rule_preserves_behaviour_traps_included() {
    RuleCheck {
        pass: "directize",
        rules: wasmir::rewrites::DIRECTIZE_RULES,
        before: "",
        after: "",
        programs: cases(),
        program: |seed| table_program(seed * 131 + 7),
        inputs: |seed| {
            let mut inputs = inputs(seed);
            inputs.extend([(3, 1), (5, 3), (2, 9)]);
            inputs
        },
        i64_second: false,
    }
    .run_and_require_firing(&[]);
}

#[test]
fn every_mono_merge_rule_preserves_behaviour() {
    RuleCheck {
        pass: "mono-merge",
        rules: wasmir::rewrites::MONO_RULES,
        before: "",
        after: "",
        programs: cases(),
        program: |seed| copies_program(seed * 613 + 11),
        inputs,
        i64_second: false,
    }
    .run_and_require_firing(&[]);
}
