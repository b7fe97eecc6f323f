//! SIMD lane semantics against wasmtime: every pure SIMD and relaxed-SIMD instruction, on
//! generated inputs (edge values of every lane shape mixed with random bits), computes in
//! `simd/semantics.rs` what wasmtime computes (relaxed SIMD in wasmtime's deterministic mode),
//! and, after `lower-simd`, runs on a wasmtime without SIMD to the same result.

mod common;

use common::Rng;
use wasmir_dialects::simd::semantics::{self, Operand, Program, Shape};
use wasmir_dialects::simd::{FAMILIES, Family, Sig};
use wasmtime::{Config, Engine, Instance, Module, Store, Val};

/// wasmtime first, then the native backends this build has (LLVM with the `llvm` feature,
/// which the test command enables).
const NATIVE: &[wasmir::run::Backend] = if cfg!(feature = "llvm") {
    &[wasmir::run::Backend::Wasmtime, wasmir::run::Backend::Cranelift, wasmir::run::Backend::Llvm]
} else {
    &[wasmir::run::Backend::Wasmtime, wasmir::run::Backend::Cranelift]
};

/// Lane values worth trying at `shape`, as bits.
fn edges(shape: Shape) -> Vec<u64> {
    match shape {
        Shape::F32x4 => [
            0.0f32,
            -0.0,
            1.0,
            -1.5,
            0.5,
            2.5,
            -2.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            2147483648.0,
            -2147483904.0,
            4294967296.0,
            1e-40,
            f32::MAX,
            16777217.0,
        ]
        .iter()
        .map(|f| u64::from(f.to_bits()))
        .collect(),
        Shape::F64x2 => [
            0.0f64,
            -0.0,
            1.0,
            -1.5,
            0.5,
            2.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            2147483647.5,
            -2147483648.9,
            4294967295.9,
            4294967296.0,
            1e300,
            f64::MIN_POSITIVE / 2.0,
            3.4028235677973366e38,
        ]
        .iter()
        .map(|f| f.to_bits())
        .collect(),
        _ => {
            let bits = shape.lane_bits();
            let m = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            let top = 1u64 << (bits - 1);
            vec![0, 1, 2, 7, m, m - 1, top, top - 1, top + 1, 0x40 & m, 0x4000 & m, 0x80 & m, 0x7f & m]
        }
    }
}

fn vector(rng: &mut Rng) -> [u8; 16] {
    let shape = rng.pick(&Shape::ALL);
    let mut out = [0u8; 16];
    let edges = edges(shape);
    for i in 0..shape.lanes() {
        let v = if rng.below(3) == 0 { rng.next() } else { rng.pick(&edges) };
        semantics::set_lane(&mut out, shape, i, v);
    }
    out
}

/// The instruction's operands, as the test module takes them: vectors and scalars.
fn operand_kinds(family: &Family, shape: Option<Shape>) -> Vec<&'static str> {
    let scalar = scalar_kind(shape);
    match family.sig {
        Sig::Unary | Sig::Test | Sig::ExtractLane => vec!["v128"],
        Sig::Binary | Sig::Shuffle => vec!["v128", "v128"],
        Sig::Ternary => vec!["v128", "v128", "v128"],
        Sig::Shift => vec!["v128", "i32"],
        Sig::Splat => vec![scalar],
        Sig::ReplaceLane => vec!["v128", scalar],
        _ => vec![],
    }
}

/// The Wasm type of a lane's scalar (`i32` for the whole-vector families).
fn scalar_kind(shape: Option<Shape>) -> &'static str {
    shape.map_or("i32", |s| match s.scalar() {
        wasmir_ir::Type::I64 => "i64",
        wasmir_ir::Type::F32 => "f32",
        wasmir_ir::Type::F64 => "f64",
        _ => "i32",
    })
}

/// One pure instruction with its immediates: the module text and the program computing it.
struct Case {
    name: String,
    /// The instruction with its immediates.
    instr: String,
    wat: String,
    program: Program,
    operands: Vec<&'static str>,
}

fn cases(rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for family in FAMILIES {
        if matches!(family.sig, Sig::Const | Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane) {
            continue;
        }
        for &shape_name in family.shapes {
            let shape = Shape::parse(shape_name);
            let lanes = shape.map_or(16, Shape::lanes) as u32;
            // Immediates: a few lanes, several shuffles (bytes, whole words, identity).
            let immediates: Vec<(Option<u32>, Option<[u8; 16]>)> = match family.sig {
                Sig::ExtractLane | Sig::ReplaceLane => {
                    vec![(Some(0), None), (Some(lanes - 1), None), (Some(lanes / 2), None)]
                }
                Sig::Shuffle => vec![
                    (None, Some(std::array::from_fn(|i| i as u8))),
                    (None, Some([4, 5, 6, 7, 0, 1, 2, 3, 28, 29, 30, 31, 16, 17, 18, 19])),
                    (None, Some([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23])),
                    (None, Some([2, 3, 0, 1, 18, 19, 6, 7, 8, 9, 30, 31, 12, 13, 14, 15])),
                    (None, Some(std::array::from_fn(|_| (rng.below(32)) as u8))),
                ],
                _ => vec![(None, None)],
            };
            for (lane, shuffle) in immediates {
                let program = semantics::op_program(family, shape.map(Shape::name), lane, shuffle.as_ref())
                    .unwrap_or_else(|| panic!("no program for {shape_name}.{}", family.name));
                let operands = operand_kinds(family, shape);
                let result = match (&program, family.sig) {
                    (Program::Vector(..), _) => "v128",
                    (Program::Scalar(_), Sig::ExtractLane) => scalar_kind(shape),
                    (Program::Scalar(_), _) => "i32",
                };
                let imm = match (lane, shuffle) {
                    (Some(l), _) => format!(" {l}"),
                    (_, Some(s)) => s.iter().map(|b| format!(" {b}")).collect(),
                    _ => String::new(),
                };
                let params: String = operands.iter().map(|k| format!(" {k}")).collect();
                let gets: String = (0..operands.len()).map(|i| format!(" local.get {i}")).collect();
                let name = format!("{shape_name}.{}", family.name);
                let wat = format!(
                    "(module (func (export \"f\") (param{params}) (result {result}){gets} {name}{imm}))"
                );
                out.push(Case {
                    name: format!("{name}{imm}"),
                    instr: format!("{name}{imm}"),
                    wat,
                    program,
                    operands,
                });
            }
        }
    }
    out
}

fn to_val(kind: &str, op: Operand) -> Val {
    match (kind, op) {
        ("v128", Operand::Vector(b)) => Val::V128(u128::from_le_bytes(b).into()),
        ("i32", Operand::Scalar(v)) => Val::I32(v as u32 as i32),
        ("i64", Operand::Scalar(v)) => Val::I64(v as i64),
        ("f32", Operand::Scalar(v)) => Val::F32(v as u32),
        ("f64", Operand::Scalar(v)) => Val::F64(v),
        _ => unreachable!("operand kinds match"),
    }
}

fn from_val(v: &Val) -> Operand {
    match v {
        Val::V128(x) => Operand::Vector(x.as_u128().to_le_bytes()),
        Val::I32(x) => Operand::Scalar(u64::from(*x as u32)),
        Val::I64(x) => Operand::Scalar(*x as u64),
        Val::F32(x) => Operand::Scalar(u64::from(*x)),
        Val::F64(x) => Operand::Scalar(*x),
        other => panic!("unexpected result {other:?}"),
    }
}

fn inputs(rng: &mut Rng, case: &Case) -> Vec<Operand> {
    case.operands
        .iter()
        .map(|k| match *k {
            "v128" => Operand::Vector(vector(rng)),
            "i32" => Operand::Scalar(if rng.below(2) == 0 {
                rng.next() & 0xFFFF_FFFF
            } else {
                rng.pick(&[0, 1, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 0xFFFF_FFFF])
            }),
            "i64" => Operand::Scalar(rng.next()),
            "f32" => Operand::Scalar(rng.pick(&edges(Shape::F32x4))),
            _ => Operand::Scalar(rng.pick(&edges(Shape::F64x2))),
        })
        .collect()
}

/// Whether `actual` is what the program computes: bit for bit, except that a NaN lane of a
/// float result may be any NaN (Wasm leaves arithmetic NaN payloads open).
fn agrees(program: &Program, expected: Operand, actual: Operand, sign_only: bool) -> bool {
    match (program, expected, actual) {
        (Program::Vector(shape, _), Operand::Vector(e), Operand::Vector(a))
            if shape.is_float() && !sign_only =>
        {
            (0..shape.lanes()).all(|i| {
                let (x, y) = (semantics::get_lane(&e, *shape, i), semantics::get_lane(&a, *shape, i));
                x == y || (is_nan(*shape, x) && is_nan(*shape, y))
            })
        }
        _ => expected == actual,
    }
}

fn is_nan(shape: Shape, bits: u64) -> bool {
    if shape == Shape::F32x4 { f32::from_bits(bits as u32).is_nan() } else { f64::from_bits(bits).is_nan() }
}

fn simd_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_relaxed_simd(true).relaxed_simd_deterministic(true);
    Engine::new(&config).expect("engine")
}

const INPUTS_PER_CASE: usize = 400;

#[test]
fn lane_semantics_agree_with_wasmtime() {
    let engine = simd_engine();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cases = cases(&mut rng);
    assert!(cases.len() > 250, "every pure instruction is covered ({} cases)", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let module = Module::new(&engine, &case.wat).unwrap_or_else(|e| panic!("{}: {e}", case.wat));
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance.get_func(&mut store, "f").expect("export");
        let sign_only = case.name.contains(".abs") || case.name.contains(".neg");
        for _ in 0..INPUTS_PER_CASE {
            let ops = inputs(&mut rng, case);
            let args: Vec<Val> = case.operands.iter().zip(&ops).map(|(k, &o)| to_val(k, o)).collect();
            let mut results = [Val::I32(0)];
            f.call(&mut store, &args, &mut results).expect("pure SIMD never traps");
            let actual = from_val(&results[0]);
            let expected = semantics::eval(&case.program, &ops).expect("evaluates").value;
            if !agrees(&case.program, expected, actual, sign_only) {
                failures.push(format!(
                    "{}({ops:02x?}):\n  semantics {expected:02x?}\n  wasmtime  {actual:02x?}",
                    case.name
                ));
                break;
            }
        }
    }
    no_failures(&failures, cases.len());
}

/// Fails with the cases that disagreed, if any.
fn no_failures(failures: &[String], cases: usize) {
    assert!(
        failures.is_empty(),
        "{} of {cases} instruction forms disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A wasmtime without SIMD: what a host the fallback serves can run.
fn scalar_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_relaxed_simd(false).wasm_simd(false);
    Engine::new(&config).expect("engine")
}

/// The module of `wat` lowered for a target without SIMD.
fn lowered(wat: &str) -> Vec<u8> {
    let ctx = wasmir::context();
    let module = wasmir::frontends::import_wat(&ctx, "case.wat", wat).expect("imports");
    let target = wasmir::lowering::Target::parse("wasmtime,-simd").expect("target");
    wasmir::compile_to_wasm(&ctx, &module, &target).unwrap_or_else(|d| panic!("{wat}: {d:?}"))
}

/// What the lowered function returned: four `i32`s are a vector, lane 0 first.
fn from_scalar_vals(results: &[Val], vector: bool) -> Operand {
    if !vector {
        return from_val(&results[0]);
    }
    let mut bytes = [0u8; 16];
    for (i, r) in results.iter().enumerate() {
        semantics::set_lane(&mut bytes, Shape::I32x4, i, u64::from(r.unwrap_i32() as u32));
    }
    Operand::Vector(bytes)
}

/// Wasm values for an operand: a vector is four `i32`s, lane 0 first.
fn scalar_vals(kind: &str, op: Operand) -> Vec<Val> {
    match op {
        Operand::Vector(b) => {
            (0..4).map(|i| Val::I32(semantics::get_lane(&b, Shape::I32x4, i) as u32 as i32)).collect()
        }
        scalar => vec![to_val(kind, scalar)],
    }
}

#[test]
fn the_scalar_fallback_computes_the_lane_semantics_without_simd() {
    let engine = scalar_engine();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let cases = cases(&mut rng);
    let mut failures = Vec::new();
    for case in &cases {
        let wasm = lowered(&case.wat);
        let module = Module::new(&engine, &wasm)
            .unwrap_or_else(|e| panic!("{}: the lowered module is invalid without SIMD: {e}", case.name));
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance.get_func(&mut store, "f").expect("export");
        let vector_result = matches!(case.program, Program::Vector(..));
        let sign_only = case.name.contains(".abs") || case.name.contains(".neg");
        // The fallback rounds a relaxed multiply-add twice, the other result relaxed SIMD allows.
        let unfused = case.name.contains("relaxed_madd") || case.name.contains("relaxed_nmadd");
        for _ in 0..INPUTS_PER_CASE / 4 {
            let ops = inputs(&mut rng, case);
            let args: Vec<Val> =
                case.operands.iter().zip(&ops).flat_map(|(k, &o)| scalar_vals(k, o)).collect();
            let mut results = vec![Val::I32(0); if vector_result { 4 } else { 1 }];
            f.call(&mut store, &args, &mut results).expect("pure SIMD never traps");
            let actual = from_scalar_vals(&results, vector_result);
            let expected = semantics::eval(&case.program, &ops).expect("evaluates").value;
            let ok = agrees(&case.program, expected, actual, sign_only)
                || (unfused && agrees(&case.program, unfused_madd(&case.name, &ops), actual, false));
            if !ok {
                failures.push(format!(
                    "{}({ops:02x?}):\n  semantics {expected:02x?}\n  fallback  {actual:02x?}",
                    case.name
                ));
                break;
            }
        }
    }
    no_failures(&failures, cases.len());
}

/// `relaxed_madd` and `relaxed_nmadd` rounded after the multiply and after the add.
fn unfused_madd(name: &str, ops: &[Operand]) -> Operand {
    let [Operand::Vector(a), Operand::Vector(b), Operand::Vector(c)] = ops else { panic!("three vectors") };
    let shape = if name.starts_with("f32x4") { Shape::F32x4 } else { Shape::F64x2 };
    let negate = name.contains("nmadd");
    let mut out = [0u8; 16];
    for i in 0..shape.lanes() {
        let (x, y, z) = (
            semantics::get_lane(a, shape, i),
            semantics::get_lane(b, shape, i),
            semantics::get_lane(c, shape, i),
        );
        let r = if shape == Shape::F32x4 {
            let f = |v: u64| f32::from_bits(v as u32);
            let x = if negate { -f(x) } else { f(x) };
            u64::from((x * f(y) + f(z)).to_bits())
        } else {
            let f = f64::from_bits;
            let x = if negate { -f(x) } else { f(x) };
            (x * f(y) + f(z)).to_bits()
        };
        semantics::set_lane(&mut out, shape, i, r);
    }
    Operand::Vector(out)
}

/// Two instructions chained, the first's vector the second's first operand, at different
/// shapes: the fallback's conversions between the shapes lanes are held in, its extension
/// tracking and its folding of constants (some chains start from a `v128.const`) against the
/// lane semantics, on a SIMD-less wasmtime.
#[test]
fn chains_through_the_fallback_agree_with_the_lane_semantics() {
    let engine = scalar_engine();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let cases = cases(&mut rng);
    let producers: Vec<&Case> = cases
        .iter()
        .filter(|c| matches!(c.program, Program::Vector(..)) && c.operands.first() == Some(&"v128"))
        .collect();
    let consumers: Vec<&Case> = cases.iter().filter(|c| c.operands.first() == Some(&"v128")).collect();
    let tests: Vec<&Case> =
        consumers.iter().copied().filter(|c| matches!(c.program, Program::Scalar(_))).collect();
    let mut failures = Vec::new();
    for round in 0..700 {
        let first = producers[(rng.below(producers.len() as u64)) as usize];
        if first.name.contains("madd") {
            continue; // fused in the semantics, rounded twice by the fallback
        }
        // A third of the chains end in a reduction or a lane read.
        let pool = if round % 3 == 0 { &tests } else { &consumers };
        let second = pool[(rng.below(pool.len() as u64)) as usize];
        // A quarter start from constants, which the fallback folds.
        let constant_start = round % 4 == 0;
        let first_inputs = inputs(&mut rng, first);
        let rest_inputs = inputs(&mut rng, second)[1..].to_vec();
        let mut params = String::new();
        let mut gets = String::new();
        let mut args = Vec::new();
        let mut n = 0;
        for (k, op) in first.operands.iter().zip(&first_inputs) {
            match (constant_start, op) {
                (true, Operand::Vector(b)) => gets.push_str(&format!(
                    " v128.const i8x16{}",
                    b.iter().map(|x| format!(" {x}")).collect::<String>()
                )),
                _ => {
                    params.push_str(&format!(" {k}"));
                    gets.push_str(&format!(" local.get {n}"));
                    args.extend(scalar_vals(k, *op));
                    n += 1;
                }
            }
        }
        gets.push_str(&format!(" {}", first.instr));
        for (k, op) in second.operands[1..].iter().zip(&rest_inputs) {
            params.push_str(&format!(" {k}"));
            gets.push_str(&format!(" local.get {n}"));
            args.extend(scalar_vals(k, *op));
            n += 1;
        }
        gets.push_str(&format!(" {}", second.instr));
        let result = match &second.program {
            Program::Vector(..) => "v128".to_string(),
            Program::Scalar(_) => second
                .wat
                .split("(result ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .unwrap_or("i32")
                .to_string(),
        };
        let wat = format!("(module (func (export \"f\") (param{params}) (result {result}){gets}))");
        let Operand::Vector(middle) =
            semantics::eval(&first.program, &first_inputs).expect("evaluates").value
        else {
            unreachable!("a vector producer")
        };
        // A NaN in the middle may be any NaN: such chains say nothing exact.
        let mut second_inputs = vec![Operand::Vector(middle)];
        second_inputs.extend(rest_inputs);
        let first_eval = semantics::eval(&first.program, &first_inputs).expect("evaluates");
        if first_eval.open_nan {
            continue;
        }
        let expected = semantics::eval(&second.program, &second_inputs).expect("evaluates").value;
        let module = Module::new(&engine, lowered(&wat)).unwrap_or_else(|e| panic!("{wat}: {e}"));
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance.get_func(&mut store, "f").expect("export");
        let vector_result = result == "v128";
        let mut results = vec![Val::I32(0); if vector_result { 4 } else { 1 }];
        f.call(&mut store, &args, &mut results).expect("pure SIMD never traps");
        let actual = from_scalar_vals(&results, vector_result);
        let sign_only = second.name.contains(".abs") || second.name.contains(".neg");
        let unfused = second.name.contains("relaxed_madd") || second.name.contains("relaxed_nmadd");
        let ok = agrees(&second.program, expected, actual, sign_only)
            || (unfused
                && agrees(&second.program, unfused_madd(&second.name, &second_inputs), actual, false));
        if !ok {
            failures.push(format!("{wat}\n  semantics {expected:02x?}\n  fallback  {actual:02x?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} chains disagree:\n{}",
        failures.len(),
        failures.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Random SIMD programs shaped to meet the `simd` patterns: lane reads of splats and replaced
/// lanes, shuffles of shuffles, shuffles repeating a lane or returning an operand, and bitwise
/// ops with themselves, zeros and ones; over two vector parameters and an i32.
fn rule_program(rng: &mut Rng) -> String {
    fn vector(rng: &mut Rng, depth: u32) -> String {
        let leaf = |rng: &mut Rng| match rng.below(5) {
            0 | 1 => format!("(local.get {})", rng.below(2)),
            2 => "(v128.const i32x4 0 0 0 0)".to_string(),
            3 => "(v128.const i32x4 -1 -1 -1 -1)".to_string(),
            _ => format!("(v128.const i32x4 {} {} 7 -9)", rng.next() as i32, rng.next() as i32),
        };
        if depth == 0 || rng.below(6) == 0 {
            return leaf(rng);
        }
        let d = depth - 1;
        let shapes = ["i8x16", "i16x8", "i32x4", "i64x2"];
        let shape = shapes[(rng.below(4)) as usize];
        let lanes: u64 = match shape {
            "i8x16" => 16,
            "i16x8" => 8,
            "i32x4" => 4,
            _ => 2,
        };
        let scalar = |rng: &mut Rng, shape: &str| {
            let x = if rng.below(2) == 0 {
                "(local.get 2)".to_string()
            } else {
                format!("(i32.const {})", rng.next() as i32)
            };
            if shape == "i64x2" { format!("(i64.extend_i32_s {x})") } else { x }
        };
        match rng.below(9) {
            0 => format!("({shape}.splat {})", scalar(rng, shape)),
            1 => {
                // A lane of a splat or of a replaced lane, splatted back.
                let k = rng.below(lanes);
                let source = if rng.below(2) == 0 {
                    format!("({shape}.splat {})", scalar(rng, shape))
                } else {
                    format!(
                        "({shape}.replace_lane {} {} {})",
                        rng.below(lanes),
                        vector(rng, d),
                        scalar(rng, shape)
                    )
                };
                let read = match (shape, rng.below(2)) {
                    ("i8x16" | "i16x8", 0) => "extract_lane_s",
                    ("i8x16" | "i16x8", _) => "extract_lane_u",
                    _ => "extract_lane",
                };
                format!("({shape}.splat ({shape}.{read} {k} {source}))")
            }
            2 | 3 => {
                // Shuffles: random, identities, lane repeats, and of a shuffle of the parameters.
                let m: Vec<u64> = match rng.below(4) {
                    0 => {
                        let half = 16 * (rng.below(2));
                        (0..16).map(|i| i + half).collect()
                    }
                    1 => {
                        let w = [1u64, 2, 4, 8][(rng.below(4)) as usize];
                        let first = (rng.below(32 / w)) * w;
                        (0..16).map(|i| first + i % w).collect()
                    }
                    _ => (0..16).map(|_| rng.below(32)).collect(),
                };
                let m: String = m.iter().map(|x| format!(" {x}")).collect();
                let inner: String = (0..16).map(|_| format!(" {}", rng.below(32))).collect();
                match rng.below(3) {
                    0 => format!(
                        "(i8x16.shuffle{m} (i8x16.shuffle{inner} (local.get 0) (local.get 1)) (local.get {}))",
                        rng.below(2)
                    ),
                    _ => format!("(i8x16.shuffle{m} {} {})", vector(rng, d), vector(rng, d)),
                }
            }
            4 | 5 => {
                let op = ["v128.and", "v128.or", "v128.xor", "v128.andnot"][(rng.below(4)) as usize];
                let a = vector(rng, d);
                let b = if rng.below(3) == 0 { a.clone() } else { vector(rng, d) };
                // `a` twice is the same value only for a parameter; either way the rule sees it.
                format!("({op} {a} {b})")
            }
            6 => format!("(v128.bitselect {} {} {})", vector(rng, d), vector(rng, d), vector(rng, d)),
            7 => format!("(v128.not {})", vector(rng, d)),
            _ => format!("({shape}.add {} {})", vector(rng, d), vector(rng, d)),
        }
    }
    let body = vector(rng, 4);
    format!("(module (func (export \"f\") (param v128 v128 i32) (result v128) {body}))")
}

/// Applies one pattern wherever it applies, to a fixpoint.
fn apply_only(
    ctx: &wasmir::ir::Context,
    module: &mut wasmir::ir::Module,
    pattern: &wasmir::ir::registry::Pattern,
) -> usize {
    let mut applied = 0;
    for (_, body) in module.body_mut().isolated_children_mut() {
        for _ in 0..20 {
            let mut changed = false;
            for op in body.preorder() {
                if !body.is_alive(op) || !ctx.op_def(body.op_kind(op)).name.starts_with("simd.") {
                    continue;
                }
                let mut rw = wasmir::ir::Rewriter::new(ctx, body);
                if (pattern.apply)(&mut rw, op) {
                    changed = true;
                    applied += 1;
                }
            }
            if !changed {
                break;
            }
        }
    }
    applied
}

fn run_vector_program(engine: &Engine, wasm: &[u8], inputs: &[(u128, u128, i32)]) -> Vec<u128> {
    let module = Module::new(engine, wasm).expect("compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let f = instance
        .get_typed_func::<(wasmtime::V128, wasmtime::V128, i32), wasmtime::V128>(&mut store, "f")
        .expect("f");
    inputs
        .iter()
        .map(|&(a, b, c)| f.call(&mut store, (a.into(), b.into(), c)).expect("runs").as_u128())
        .collect()
}

/// The contract verifier's semantic check for the `simd` patterns: each pattern alone, and the
/// canonicalizer as a whole (folder included), leaves every generated program computing the
/// same vectors; every pattern changes some program.
#[test]
fn every_simd_rule_preserves_behaviour() {
    let engine = simd_engine();
    let ctx = wasmir::context();
    let target = wasmir::lowering::Target::default();
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let programs: Vec<String> = (0..150).map(|_| rule_program(&mut rng)).collect();
    let inputs: Vec<(u128, u128, i32)> = (0..8)
        .map(|_| {
            let v = |rng: &mut Rng| u128::from_le_bytes(vector(rng));
            (v(&mut rng), v(&mut rng), rng.next() as i32)
        })
        .collect();
    let mut fired = vec![0usize; wasmir::dialects::simd::fold::PATTERNS.len()];
    for wat in &programs {
        let module =
            wasmir::frontends::import_wat(&ctx, "rule.wat", wat).unwrap_or_else(|e| panic!("{wat}: {e:?}"));
        let baseline = run_vector_program(
            &engine,
            &wasmir::compile_to_wasm(&ctx, &module, &target).expect("emits"),
            &inputs,
        );
        for (i, pattern) in wasmir::dialects::simd::fold::PATTERNS.iter().enumerate() {
            let mut rewritten = module.clone();
            let applied = apply_only(&ctx, &mut rewritten, pattern);
            if applied == 0 {
                continue;
            }
            fired[i] += 1;
            wasmir::verify(&ctx, &rewritten)
                .unwrap_or_else(|e| panic!("{}: invalid IR after it:\n{wat}\n{e:?}", pattern.name));
            let wasm = wasmir::compile_to_wasm(&ctx, &rewritten, &target).expect("emits");
            assert_eq!(
                run_vector_program(&engine, &wasm, &inputs),
                baseline,
                "simd.{} changes\n{wat}",
                pattern.name
            );
        }
        let mut canonical = module.clone();
        wasmir::run_pipeline(&ctx, &mut canonical, "canonicalize").expect("canonicalizes");
        let wasm = wasmir::compile_to_wasm(&ctx, &canonical, &target).expect("emits");
        assert_eq!(run_vector_program(&engine, &wasm, &inputs), baseline, "canonicalize changes\n{wat}");
    }
    for (pattern, count) in wasmir::dialects::simd::fold::PATTERNS.iter().zip(&fired) {
        assert!(
            *count > 0,
            "simd.{} never changed a generated program: the test proves nothing",
            pattern.name
        );
    }
    eprintln!(
        "programs each pattern changed: {:?}",
        wasmir::dialects::simd::fold::PATTERNS.iter().map(|p| p.name).zip(fired).collect::<Vec<_>>()
    );
}

/// A module computing `case`'s instruction with scalars at the boundary (the native backends'
/// hosts pass 8-byte values): each vector operand arrives as two i64 halves, a vector result
/// leaves as two.
fn scalar_boundary_module(case: &Case) -> String {
    let mut params = String::new();
    let mut body = String::new();
    let mut n = 0;
    for kind in &case.operands {
        if *kind == "v128" {
            params.push_str(" i64 i64");
            body.push_str(&format!(
                " (i64x2.replace_lane 1 (i64x2.splat (local.get {n})) (local.get {}))",
                n + 1
            ));
            n += 2;
        } else {
            params.push_str(&format!(" {kind}"));
            body.push_str(&format!(" (local.get {n})"));
            n += 1;
        }
    }
    let scalar_result = case.wat.split("(result ").nth(1).and_then(|r| r.split(')').next()).unwrap_or("i32");
    match case.program {
        Program::Vector(..) => format!(
            "(module (func (export \"f\") (param{params}) (result i64 i64) (local v128)\
             (local.set {n} ({}{body})) (i64x2.extract_lane 0 (local.get {n})) (i64x2.extract_lane 1 (local.get {n}))))",
            case.instr
        ),
        Program::Scalar(_) => {
            format!(
                "(module (func (export \"f\") (param{params}) (result {scalar_result}) ({}{body})))",
                case.instr
            )
        }
    }
}

/// The native backends compile SIMD: every pure instruction form, on generated inputs, gives
/// on the Cranelift JIT and (with the `llvm` feature) LLVM's JIT what it gives on wasmtime (bit
/// for bit, but NaN lanes, which may be any NaN).
#[test]
fn every_simd_instruction_runs_the_same_on_the_native_backends() {
    use wasmir::run::{Outcome, Session};
    let mut rng = Rng(0x5151_7EA7_0B5E_55ED);
    let cases = cases(&mut rng);
    let mut failures = Vec::new();
    for case in &cases {
        let wat = scalar_boundary_module(case);
        let ctx = wasmir::context();
        let mut module =
            wasmir::frontends::import_wat(&ctx, "case.wat", &wat).unwrap_or_else(|e| panic!("{wat}: {e:?}"));
        let target = wasmir::lowering::Target::default();
        wasmir::lowering::legalize(&ctx, &mut module, &target).expect("legalizes");
        let mut sessions: Vec<Session> = NATIVE
            .iter()
            .map(|&b| {
                Session::new(&ctx, &module, b).unwrap_or_else(|e| panic!("{}: {b:?}: {e:?}", case.name)).0
            })
            .collect();
        for _ in 0..40 {
            let ops = inputs(&mut rng, case);
            let args: Vec<u64> = ops
                .iter()
                .flat_map(|op| match op {
                    Operand::Vector(b) => {
                        vec![semantics::get_lane(b, Shape::I64x2, 0), semantics::get_lane(b, Shape::I64x2, 1)]
                    }
                    Operand::Scalar(v) => vec![*v],
                })
                .collect();
            let outcomes: Vec<Outcome> =
                sessions.iter_mut().map(|s| s.call("f", &args).expect("calls")).collect();
            let as_operand = |o: &Outcome| match (o, &case.program) {
                (Outcome::Returned(v), Program::Vector(..)) => {
                    let mut bytes = [0u8; 16];
                    semantics::set_lane(&mut bytes, Shape::I64x2, 0, v[0].bits);
                    semantics::set_lane(&mut bytes, Shape::I64x2, 1, v[1].bits);
                    Some(Operand::Vector(bytes))
                }
                // A 32-bit result's slot keeps whatever its upper half held.
                (Outcome::Returned(v), Program::Scalar(_)) => Some(Operand::Scalar(match v[0].kind {
                    wasmir::run::ValueKind::I32 | wasmir::run::ValueKind::F32 => v[0].bits & 0xFFFF_FFFF,
                    _ => v[0].bits,
                })),
                _ => None,
            };
            let expected = as_operand(&outcomes[0]);
            let differs =
                outcomes.iter().zip(NATIVE).skip(1).find(|(o, _)| match (expected, as_operand(o)) {
                    (Some(e), Some(a)) => !agrees(&case.program, e, a, false),
                    _ => true,
                });
            if let Some((o, backend)) = differs {
                failures.push(format!(
                    "{} ({ops:02x?}):\n  wasmtime {:?}\n  {backend:?} {o:?}",
                    case.name, outcomes[0]
                ));
                break;
            }
        }
    }
    no_failures(&failures, cases.len());
}

/// Every SIMD memory access, in and out of bounds, on the native backends as on wasmtime:
/// loads (plain, extending, splats, `_zero`, lane loads) return what they read, stores (plain
/// and lane) leave the same bytes, and an access reaching past the memory traps on all.
#[test]
fn every_simd_memory_access_runs_the_same_on_the_native_backends() {
    use wasmir::run::Session;
    let mut rng = Rng(0xACCE_55ED_0000_0001);
    let data: String = (0..256).map(|_| format!("\\{:02x}", rng.next() as u8)).collect();
    let mut failures = Vec::new();
    for family in FAMILIES.iter().filter(|f| f.accesses_memory()) {
        let name = format!("v128.{}", family.name);
        let lane_count = wasmir::dialects::simd::access_bytes(family).map_or(1, |b| 16 / b);
        let lanes: Vec<u32> = if matches!(family.sig, Sig::LoadLane | Sig::StoreLane) {
            vec![0, lane_count - 1]
        } else {
            vec![0]
        };
        for lane in lanes {
            let imm = if matches!(family.sig, Sig::LoadLane | Sig::StoreLane) {
                format!(" {lane}")
            } else {
                String::new()
            };
            let vector = "(i64x2.replace_lane 1 (i64x2.splat (local.get 1)) (local.get 2))";
            let (op, result) = match family.sig {
                Sig::Load => (format!("(local.set 3 ({name} offset=3 (local.get 0)))"), "(local.get 3)"),
                Sig::LoadLane => {
                    (format!("(local.set 3 ({name} offset=3{imm} (local.get 0) {vector}))"), "(local.get 3)")
                }
                _ => (
                    format!(
                        "({name} offset=3{imm} (local.get 0) {vector}) (local.set 3 (v128.load offset=3 (local.get 0)))"
                    ),
                    "(local.get 3)",
                ),
            };
            let wat = format!(
                "(module (memory 1) (data (i32.const 0) \"{data}\") (data (i32.const 65280) \"{data}\")\
                 (func (export \"f\") (param i32 i64 i64) (result i64 i64) (local v128) {op}\
                 (i64x2.extract_lane 0 {result}) (i64x2.extract_lane 1 {result})))"
            );
            let ctx = wasmir::context();
            let mut module = wasmir::frontends::import_wat(&ctx, "access.wat", &wat)
                .unwrap_or_else(|e| panic!("{wat}: {e:?}"));
            wasmir::lowering::legalize(&ctx, &mut module, &wasmir::lowering::Target::default())
                .expect("legalizes");
            let mut sessions: Vec<Session> = NATIVE
                .iter()
                .map(|&b| Session::new(&ctx, &module, b).unwrap_or_else(|e| panic!("{name}: {b:?}: {e:?}")).0)
                .collect();
            // Addresses inside, at the last fitting byte and past the end.
            for address in
                [0u64, 17, 200, 65_000, 65_517, 65_518, 65_524, 65_530, 65_533, 65_536, 0xFFFF_FFFF]
            {
                let args = [address, rng.next(), rng.next()];
                let outs: Vec<String> =
                    sessions.iter_mut().map(|s| s.call("f", &args).expect("calls").to_string()).collect();
                for (out, backend) in outs.iter().zip(NATIVE).skip(1) {
                    if *out != outs[0] {
                        failures.push(format!(
                            "{name}{imm} at {address}: wasmtime {} {backend:?} {out}",
                            outs[0]
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
