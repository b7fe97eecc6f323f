//! Parses a generated WebAssembly text module with `wat` and validates the binary with
//! `wasmparser`; prints the binary's size and how many functions it holds.

fn main() {
    let mut text = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))");
    for f in 0..40 {
        text.push_str(&format!("(func (export \"f{f}\") (param i32 i64) (result i32) local.get 0"));
        for i in 0..30 {
            text.push_str(&format!(" i32.const {i} i32.add global.get $g i32.xor"));
        }
        text.push_str(" local.get 1 i32.wrap_i64 i32.add i32.load offset=8 global.set $g global.get $g)");
    }
    text.push(')');
    let bytes = wat::parse_str(&text).expect("the generated text parses");
    let mut validator = wasmparser::Validator::new();
    validator.validate_all(&bytes).expect("the module validates");
    let functions = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .filter(|p| matches!(p, Ok(wasmparser::Payload::CodeSectionEntry(_))))
        .count();
    println!("{} bytes, {functions} functions", bytes.len());
}
