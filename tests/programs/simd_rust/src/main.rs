//! SIMD kernels with `core::arch::wasm32`: a checksum of byte lanes, a float reduction, a
//! lane-wise clamp, an ASCII case flip with bit selects, and a shuffle-based transpose.
//! Prints a line per kernel; tests/programs.rs compares the runs.

use core::arch::wasm32::*;

const N: usize = 4096;

#[target_feature(enable = "simd128")]
fn byte_sum(data: &[u8]) -> u32 {
    let mut acc = u32x4_splat(0);
    for chunk in data.chunks_exact(16) {
        let v = unsafe { v128_load(chunk.as_ptr() as *const v128) };
        let wide = u16x8_extadd_pairwise_u8x16(v);
        acc = i32x4_add(acc, u32x4_extadd_pairwise_u16x8(wide));
    }
    u32x4_extract_lane::<0>(acc) + u32x4_extract_lane::<1>(acc) + u32x4_extract_lane::<2>(acc) + u32x4_extract_lane::<3>(acc)
}

#[target_feature(enable = "simd128")]
fn float_stats(xs: &[f32]) -> (f32, f32, f32) {
    let (mut lo, mut hi, mut sum) = (f32x4_splat(f32::MAX), f32x4_splat(f32::MIN), f32x4_splat(0.0));
    for chunk in xs.chunks_exact(4) {
        let v = f32x4(chunk[0], chunk[1], chunk[2], chunk[3]);
        lo = f32x4_pmin(lo, v);
        hi = f32x4_pmax(hi, v);
        sum = f32x4_add(sum, f32x4_mul(v, v));
    }
    let lanes = |v: v128| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
    let min = lanes(lo).into_iter().fold(f32::MAX, f32::min);
    let max = lanes(hi).into_iter().fold(f32::MIN, f32::max);
    (min, max, lanes(sum).iter().sum())
}

#[target_feature(enable = "simd128")]
fn clamp_all(values: &mut [i32], lo: i32, hi: i32) {
    let (l, h) = (i32x4_splat(lo), i32x4_splat(hi));
    for chunk in values.chunks_exact_mut(4) {
        let p = chunk.as_mut_ptr() as *mut v128;
        unsafe { v128_store(p, i32x4_max(i32x4_min(v128_load(p), h), l)) };
    }
}

/// Flips the case of ASCII letters: a mask of letters, then a bit select of x ^ 0x20.
#[target_feature(enable = "simd128")]
fn flip_case(text: &mut [u8]) {
    for chunk in text.chunks_exact_mut(16) {
        let p = chunk.as_mut_ptr() as *mut v128;
        let v = unsafe { v128_load(p) };
        let lower = u8x16_sub(v128_or(v, u8x16_splat(0x20)), u8x16_splat(b'a'));
        let letter = u8x16_lt(lower, u8x16_splat(26));
        let flipped = v128_xor(v, u8x16_splat(0x20));
        unsafe { v128_store(p, v128_bitselect(flipped, v, letter)) };
    }
}

/// Transposes 4x4 blocks of i32 with shuffles.
#[target_feature(enable = "simd128")]
fn transpose(m: &mut [i32; 16]) {
    let p = m.as_mut_ptr() as *mut v128;
    let (r0, r1, r2, r3) = unsafe { (v128_load(p), v128_load(p.add(1)), v128_load(p.add(2)), v128_load(p.add(3))) };
    let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
    let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
    let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
    let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
    unsafe {
        v128_store(p, i64x2_shuffle::<0, 2>(t0, t2));
        v128_store(p.add(1), i64x2_shuffle::<1, 3>(t0, t2));
        v128_store(p.add(2), i64x2_shuffle::<0, 2>(t1, t3));
        v128_store(p.add(3), i64x2_shuffle::<1, 3>(t1, t3));
    }
}

/// A loop LLVM vectorizes on its own inside a simd128 function.
#[target_feature(enable = "simd128")]
fn weighted(a: &[u16], b: &[u16]) -> u64 {
    a.iter().zip(b).map(|(&x, &y)| u64::from(x) * u64::from(y)).sum()
}

fn main() {
    let mut seed = 7u32;
    let mut next = || {
        seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
        seed
    };
    let bytes: Vec<u8> = (0..N).map(|_| (next() >> 24) as u8).collect();
    let floats: Vec<f32> = (0..N).map(|_| (next() as i32 as f32) / 1e9).collect();
    let mut ints: Vec<i32> = (0..N).map(|_| next() as i32 >> 8).collect();
    let mut text: Vec<u8> = (0..N).map(|i| b"Hello, SIMD World! 0123456789 abcXYZ"[i % 36]).collect();
    let halves: Vec<u16> = (0..N).map(|_| (next() >> 16) as u16).collect();
    let mut m: [i32; 16] = core::array::from_fn(|i| i as i32 * 3 - 7);
    unsafe {
        println!("byte_sum {}", byte_sum(&bytes));
        let (lo, hi, sq) = float_stats(&floats);
        println!("floats {lo:.4} {hi:.4} {sq:.2}");
        clamp_all(&mut ints, -1000, 1000);
        println!("clamped {}", ints.iter().map(|&x| x as i64).sum::<i64>());
        flip_case(&mut text);
        println!("text {}", std::str::from_utf8(&text[..36]).unwrap_or("?"));
        transpose(&mut m);
        println!("transposed {m:?}");
        println!("weighted {}", weighted(&halves, &halves[1..]));
    }
}
