//! Wasm's exact numeric semantics on bit patterns: the single source of truth used by the
//! folders now and by the e-graph's constant analysis later. Integers are `u64` bit patterns
//! of width 32 or 64 (upper bits zero); floats are IEEE bits (an f32 in the low 32 bits).
//! `None` means the operation traps.

/// Bits of the given width.
pub fn mask(width: u8) -> u64 {
    if width >= 64 { u64::MAX } else { (1u64 << width) - 1 }
}

fn signed(width: u8, v: u64) -> i64 {
    if width >= 64 { v as i64 } else { ((v << (64 - width)) as i64) >> (64 - width) }
}

/// Binary integer operations. `None`: the operation traps (division by zero, or signed
/// division overflow).
pub fn int_binary(op: &str, width: u8, a: u64, b: u64) -> Option<u64> {
    let m = mask(width);
    let (a, b) = (a & m, b & m);
    let (sa, sb) = (signed(width, a), signed(width, b));
    let shift = (b % u64::from(width)) as u32;
    let min = 1u64 << (width - 1);
    let r = match op {
        "addi" => a.wrapping_add(b),
        "subi" => a.wrapping_sub(b),
        "muli" => a.wrapping_mul(b),
        "andi" => a & b,
        "ori" => a | b,
        "xori" => a ^ b,
        "shli" => a << shift,
        "shrui" => a >> shift,
        "shrsi" => (sa >> shift) as u64,
        "rotli" => rotl(width, a, shift),
        "rotri" => rotl(width, a, (u32::from(width) - shift) % u32::from(width)),
        "divui" => a.checked_div(b)?,
        "remui" => a.checked_rem(b)?,
        "divsi" => {
            if b == 0 || (a == min && sb == -1) {
                return None;
            }
            (sa / sb) as u64
        }
        "remsi" => {
            if b == 0 {
                return None;
            }
            // MIN % -1 is 0 in Wasm (no trap), which wrapping_rem gives.
            sa.wrapping_rem(sb) as u64
        }
        _ => return None,
    };
    Some(r & m)
}

fn rotl(width: u8, a: u64, s: u32) -> u64 {
    if s == 0 {
        return a;
    }
    ((a << s) | (a >> (u32::from(width) - s))) & mask(width)
}

/// Unary integer operations (never trap).
pub fn int_unary(op: &str, width: u8, a: u64) -> Option<u64> {
    let m = mask(width);
    let a = a & m;
    let unused = 64 - u32::from(width);
    let r = match op {
        "clz" => u64::from(a.leading_zeros() - unused),
        "ctz" => u64::from(if a == 0 { u32::from(width) } else { a.trailing_zeros() }),
        "popcnt" => u64::from(a.count_ones()),
        "eqz" => u64::from(a == 0),
        "extend8_s" => (a as i8) as i64 as u64,
        "extend16_s" => (a as i16) as i64 as u64,
        "extend32_s" => (a as i32) as i64 as u64,
        _ => return None,
    };
    Some(r & m)
}

/// The largest unsigned value an integer op of result width `width` can produce, given its
/// operands' largest values (`mask` of their width when nothing is known) and, for shift
/// amounts and divisors, their constants. `op` is the name without `arith.`; `None` means no
/// bound below `mask(width)` follows. Sums and products are bounded only when they cannot wrap.
pub fn int_upper_bound(op: &str, width: u8, max: &[u64], constants: &[Option<u64>]) -> Option<u64> {
    let m = mask(width);
    let arg = |i: usize| max.get(i).copied().unwrap_or(m).min(m);
    let constant = |i: usize| constants.get(i).copied().flatten();
    // The smallest all-ones value at least `v`: what `|` and `^` of values up to `v` reach.
    let ones = |v: u64| if v == 0 { 0 } else { u64::MAX >> v.leading_zeros() };
    let bound = match op {
        "andi" => arg(0).min(arg(1)),
        "ori" | "xori" => ones(arg(0).max(arg(1))),
        "addi" => arg(0).checked_add(arg(1)).filter(|&s| s <= m)?,
        "muli" => arg(0).checked_mul(arg(1)).filter(|&p| p <= m)?,
        "shli" => {
            let k = u32::try_from(constant(1)? % u64::from(width)).ok()?;
            let a = arg(0);
            if a.leading_zeros() < k + (64 - u32::from(width)) {
                return None;
            }
            a << k
        }
        "shrui" => match constant(1) {
            Some(k) => arg(0) >> (k % u64::from(width)),
            None => arg(0),
        },
        "divui" => match constant(1) {
            Some(d) if d & m != 0 => arg(0) / (d & m),
            _ => arg(0),
        },
        "remui" => arg(0).min(arg(1).saturating_sub(1)),
        "clz" | "ctz" | "popcnt" => u64::from(width),
        "eqz" | "cmpi" | "cmpf" => 1,
        "extend_u" => arg(0).min(0xFFFF_FFFF),
        "wrap" => arg(0).min(0xFFFF_FFFF),
        "select" => arg(1).max(arg(2)),
        _ => return None,
    };
    Some(bound.min(m))
}

/// Integer comparison predicates.
pub fn int_compare(pred: &str, width: u8, a: u64, b: u64) -> Option<bool> {
    let m = mask(width);
    let (a, b) = (a & m, b & m);
    let (sa, sb) = (signed(width, a), signed(width, b));
    Some(match pred {
        "eq" => a == b,
        "ne" => a != b,
        "slt" => sa < sb,
        "sle" => sa <= sb,
        "sgt" => sa > sb,
        "sge" => sa >= sb,
        "ult" => a < b,
        "ule" => a <= b,
        "ugt" => a > b,
        "uge" => a >= b,
        _ => return None,
    })
}

/// A float value of either width, for computing in the right precision.
#[derive(Copy, Clone, Debug)]
pub enum Float {
    F32(f32),
    F64(f64),
}

impl Float {
    /// Reads bits of an f32 (`is_f32`) or f64.
    pub fn from_bits(is_f32: bool, bits: u64) -> Self {
        if is_f32 { Float::F32(f32::from_bits(bits as u32)) } else { Float::F64(f64::from_bits(bits)) }
    }
    /// The IEEE bits.
    pub fn bits(self) -> u64 {
        match self {
            Float::F32(v) => u64::from(v.to_bits()),
            Float::F64(v) => v.to_bits(),
        }
    }
    /// Whether it is a NaN.
    pub fn is_nan(self) -> bool {
        match self {
            Float::F32(v) => v.is_nan(),
            Float::F64(v) => v.is_nan(),
        }
    }
}

macro_rules! float_dispatch {
    ($x:expr, |$v:ident| $body:expr) => {
        match $x {
            Float::F32($v) => Float::F32($body),
            Float::F64($v) => Float::F64($body),
        }
    };
}

/// Wasm `fmin`: NaN if either is NaN; -0 is less than +0.
fn wasm_min<T: PartialOrd + Copy>(a: T, b: T, a_neg: bool) -> T {
    if a < b || (a == b && a_neg) { a } else { b }
}

/// Binary float operations. Results may be NaN; callers that need deterministic bits must
/// not fold a NaN produced by an arithmetic operation (Wasm leaves its payload open).
pub fn float_binary(op: &str, is_f32: bool, a: u64, b: u64) -> Option<u64> {
    let (x, y) = (Float::from_bits(is_f32, a), Float::from_bits(is_f32, b));
    let r = match (x, y) {
        (Float::F32(a), Float::F32(b)) => Float::F32(match op {
            "addf" => a + b,
            "subf" => a - b,
            "mulf" => a * b,
            "divf" => a / b,
            "minf" if a.is_nan() || b.is_nan() => f32::NAN,
            "minf" => wasm_min(a, b, a.is_sign_negative()),
            "maxf" if a.is_nan() || b.is_nan() => f32::NAN,
            "maxf" => {
                if a > b || (a == b && b.is_sign_negative()) {
                    a
                } else {
                    b
                }
            }
            "copysign" => a.copysign(b),
            _ => return None,
        }),
        (Float::F64(a), Float::F64(b)) => Float::F64(match op {
            "addf" => a + b,
            "subf" => a - b,
            "mulf" => a * b,
            "divf" => a / b,
            "minf" if a.is_nan() || b.is_nan() => f64::NAN,
            "minf" => wasm_min(a, b, a.is_sign_negative()),
            "maxf" if a.is_nan() || b.is_nan() => f64::NAN,
            "maxf" => {
                if a > b || (a == b && b.is_sign_negative()) {
                    a
                } else {
                    b
                }
            }
            "copysign" => a.copysign(b),
            _ => return None,
        }),
        _ => return None,
    };
    Some(r.bits())
}

/// Unary float operations.
pub fn float_unary(op: &str, is_f32: bool, a: u64) -> Option<u64> {
    let x = Float::from_bits(is_f32, a);
    let r = match op {
        "absf" => float_dispatch!(x, |v| v.abs()),
        "negf" => float_dispatch!(x, |v| -v),
        "sqrtf" => float_dispatch!(x, |v| v.sqrt()),
        "ceilf" => float_dispatch!(x, |v| v.ceil()),
        "floorf" => float_dispatch!(x, |v| v.floor()),
        "truncf" => float_dispatch!(x, |v| v.trunc()),
        "nearestf" => float_dispatch!(x, |v| v.round_ties_even()),
        _ => return None,
    };
    Some(r.bits())
}

/// Whether an op's result bits are fully determined even for NaN inputs (sign-bit
/// operations and reinterpretation); for all others a NaN result must not be folded.
pub fn is_bit_exact(op: &str) -> bool {
    matches!(op, "absf" | "negf" | "copysign" | "reinterpret")
}

/// Float comparison predicates (ordered, except `ne` which is true for NaN).
pub fn float_compare(pred: &str, is_f32: bool, a: u64, b: u64) -> Option<bool> {
    let (x, y) = match (Float::from_bits(is_f32, a), Float::from_bits(is_f32, b)) {
        (Float::F32(x), Float::F32(y)) => (f64::from(x), f64::from(y)),
        (Float::F64(x), Float::F64(y)) => (x, y),
        _ => return None,
    };
    Some(match pred {
        "eq" => x == y,
        "ne" => x != y,
        "lt" => x < y,
        "le" => x <= y,
        "gt" => x > y,
        "ge" => x >= y,
        _ => return None,
    })
}

/// The kind of a numeric value for conversions.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Num {
    I32,
    I64,
    F32,
    F64,
}

/// Conversions between numeric types. `None`: traps (or unknown op/type pair).
pub fn convert(op: &str, from: Num, to: Num, bits: u64) -> Option<u64> {
    use Num::*;
    let r = match (op, from, to) {
        ("wrap", I64, I32) => bits & 0xFFFF_FFFF,
        ("extend_s", I32, I64) => (bits as u32 as i32) as i64 as u64,
        ("extend_u", I32, I64) => u64::from(bits as u32),
        ("trunc_s" | "trunc_u" | "trunc_sat_s" | "trunc_sat_u", F32 | F64, I32 | I64) => {
            let v = match from {
                F32 => f64::from(f32::from_bits(bits as u32)),
                _ => f64::from_bits(bits),
            };
            return truncate(op, v, to);
        }
        ("convert_s" | "convert_u", I32 | I64, F32 | F64) => {
            let unsigned = op == "convert_u";
            match (from, to, unsigned) {
                (I32, F32, false) => u64::from(((bits as u32 as i32) as f32).to_bits()),
                (I32, F32, true) => u64::from(((bits as u32) as f32).to_bits()),
                (I32, F64, false) => ((bits as u32 as i32) as f64).to_bits(),
                (I32, F64, true) => ((bits as u32) as f64).to_bits(),
                (I64, F32, false) => u64::from(((bits as i64) as f32).to_bits()),
                (I64, F32, true) => u64::from((bits as f32).to_bits()),
                (I64, F64, false) => ((bits as i64) as f64).to_bits(),
                (I64, F64, true) => (bits as f64).to_bits(),
                _ => return None,
            }
        }
        ("demote", F64, F32) => u64::from((f64::from_bits(bits) as f32).to_bits()),
        ("promote", F32, F64) => f64::from(f32::from_bits(bits as u32)).to_bits(),
        ("reinterpret", I32, F32) | ("reinterpret", F32, I32) => bits & 0xFFFF_FFFF,
        ("reinterpret", I64, F64) | ("reinterpret", F64, I64) => bits,
        _ => return None,
    };
    Some(r)
}

fn truncate(op: &str, v: f64, to: Num) -> Option<u64> {
    let signed = op.ends_with("_s");
    let saturating = op.starts_with("trunc_sat");
    let t = v.trunc();
    // Exact bounds: the result must satisfy lo <= t < hi_exclusive.
    let (lo, hi_exclusive) = match (to, signed) {
        (Num::I32, true) => (-2147483648.0, 2147483648.0),
        (Num::I32, false) => (0.0, 4294967296.0),
        (Num::I64, true) => (-9223372036854775808.0, 9223372036854775808.0),
        (Num::I64, false) => (0.0, 18446744073709551616.0),
        _ => return None,
    };
    let in_range = !v.is_nan() && t >= lo && t < hi_exclusive;
    if !in_range && !saturating {
        return None;
    }
    // `as` saturates and maps NaN to 0, exactly Wasm's trunc_sat.
    Some(match (to, signed) {
        (Num::I32, true) => u64::from(v as i32 as u32),
        (Num::I32, false) => u64::from(v as u32),
        (Num::I64, true) => v as i64 as u64,
        (Num::I64, false) => v as u64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_edge_cases_follow_wasm() {
        assert_eq!(int_binary("divsi", 32, 0x8000_0000, 0xFFFF_FFFF), None, "MIN / -1 traps");
        assert_eq!(int_binary("remsi", 32, 0x8000_0000, 0xFFFF_FFFF), Some(0), "MIN % -1 is 0");
        assert_eq!(int_binary("divui", 64, 7, 0), None);
        assert_eq!(int_binary("shli", 32, 1, 33), Some(2), "shift counts are taken mod 32");
        assert_eq!(int_binary("shrsi", 32, 0x8000_0000, 31), Some(0xFFFF_FFFF));
        assert_eq!(int_binary("rotli", 32, 0x8000_0001, 1), Some(3));
        assert_eq!(int_binary("rotri", 64, 1, 1), Some(1 << 63));
        assert_eq!(int_binary("addi", 32, 0xFFFF_FFFF, 1), Some(0), "wrapping");
        assert_eq!(int_unary("clz", 32, 1), Some(31));
        assert_eq!(int_unary("ctz", 64, 0), Some(64));
        assert_eq!(int_unary("extend8_s", 32, 0x80), Some(0xFFFF_FF80));
        assert_eq!(int_compare("slt", 32, 0xFFFF_FFFF, 0), Some(true));
        assert_eq!(int_compare("ult", 32, 0xFFFF_FFFF, 0), Some(false));
    }

    #[test]
    fn upper_bounds_hold_for_every_sampled_operand() {
        // SplitMix64, so the samples are the same on every run.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let ops = ["andi", "ori", "xori", "addi", "muli", "shli", "shrui", "divui", "remui"];
        let mut bounded = 0;
        for _ in 0..20_000 {
            let op = ops[(next() % ops.len() as u64) as usize];
            let width = if next() % 2 == 0 { 32 } else { 64 };
            let m = mask(width);
            // Small maxima are where bounds exist; draw them from a few bit lengths.
            let small = |v: u64, bits: u64| v & (u64::MAX >> (64 - bits.clamp(1, 64)));
            let (ma, mb) = (small(next(), next() % 40 + 1) & m, small(next(), next() % 40 + 1) & m);
            let (a, b) =
                (if ma == 0 { 0 } else { next() % (ma + 1) }, if mb == 0 { 0 } else { next() % (mb + 1) });
            let Some(bound) = int_upper_bound(op, width, &[ma, mb], &[None, Some(b)]) else { continue };
            let Some(result) = int_binary(op, width, a, b) else { continue };
            bounded += 1;
            assert!(
                result <= bound,
                "{op} i{width}: {a} (<= {ma}), {b} (<= {mb}) gave {result} > bound {bound}"
            );
        }
        assert!(bounded > 10_000, "too few bounded samples: {bounded}");
        assert_eq!(int_upper_bound("andi", 32, &[u64::from(u32::MAX), 255], &[None, Some(255)]), Some(255));
        assert_eq!(int_upper_bound("shli", 32, &[255, 31], &[None, Some(2)]), Some(1020));
        assert_eq!(
            int_upper_bound("shli", 32, &[u64::from(u32::MAX), 31], &[None, Some(2)]),
            None,
            "may wrap"
        );
        assert_eq!(int_upper_bound("addi", 32, &[1020, 3824], &[None, Some(3824)]), Some(4844));
        assert_eq!(
            int_upper_bound("addi", 32, &[u64::from(u32::MAX), 1], &[None, Some(1)]),
            None,
            "may wrap"
        );
        assert_eq!(int_upper_bound("select", 32, &[1, 7, 9], &[None, None, None]), Some(9));
        assert_eq!(int_upper_bound("divui", 32, &[9999, 100], &[None, Some(100)]), Some(99));
        assert_eq!(int_upper_bound("divui", 32, &[9999, 0], &[None, Some(0)]), Some(9999));
    }

    #[test]
    fn float_edge_cases_follow_wasm() {
        let neg0 = (-0.0f32).to_bits() as u64;
        let pos0 = 0.0f32.to_bits() as u64;
        assert_eq!(float_binary("minf", true, pos0, neg0), Some(neg0));
        assert_eq!(float_binary("maxf", true, neg0, pos0), Some(pos0));
        let nan = f64::NAN.to_bits();
        assert!(f64::from_bits(float_binary("minf", false, nan, 1f64.to_bits()).unwrap()).is_nan());
        assert_eq!(float_unary("nearestf", false, 2.5f64.to_bits()), Some(2.0f64.to_bits()));
        assert_eq!(float_unary("nearestf", false, (-0.5f64).to_bits()), Some((-0.0f64).to_bits()));
        assert_eq!(float_compare("ne", false, nan, nan), Some(true));
        assert_eq!(float_compare("eq", false, nan, nan), Some(false));
    }

    #[test]
    fn conversions_trap_exactly_where_wasm_does() {
        let f = |v: f64| v.to_bits();
        assert_eq!(convert("trunc_s", Num::F64, Num::I32, f(-2147483648.9)), Some(0x8000_0000));
        assert_eq!(convert("trunc_s", Num::F64, Num::I32, f(2147483648.0)), None);
        assert_eq!(convert("trunc_u", Num::F64, Num::I32, f(-0.9)), Some(0));
        assert_eq!(convert("trunc_u", Num::F64, Num::I32, f(-1.0)), None);
        assert_eq!(convert("trunc_s", Num::F64, Num::I64, f(f64::NAN)), None);
        assert_eq!(convert("trunc_sat_s", Num::F64, Num::I32, f(f64::NAN)), Some(0));
        assert_eq!(convert("trunc_sat_u", Num::F64, Num::I64, f(1e30)), Some(u64::MAX));
        assert_eq!(
            convert("convert_u", Num::I64, Num::F32, u64::MAX),
            Some(u64::from(18446744073709551616f32.to_bits()))
        );
        assert_eq!(convert("wrap", Num::I64, Num::I32, 0x1_0000_0005), Some(5));
    }
}
