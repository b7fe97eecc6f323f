// Kernels for benches/simd.rs, each with a SIMD form (wasm_simd128.h intrinsics, or a loop
// clang vectorizes at -O3 -msimd128) and its scalar twin (the same source without
// -msimd128). Each export runs its kernel `reps` times and returns a checksum.
#include <stdint.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define EXPORT(name) __attribute__((export_name(name)))
#define N 65536

static float xs[N], ys[N];
static uint8_t a8[N], b8[N], out8[N];
static int16_t s16[N], g16[N], out16[N];
static int32_t i32s[N];

static uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 16777619u; }

EXPORT("init") void init(void) {
    uint32_t seed = 1;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        xs[i] = (float)(seed >> 8) / 16777216.0f;
        ys[i] = (float)(i % 13);
        a8[i] = seed >> 24;
        if (a8[i] == 0xEE) a8[i] = 0xED; // find() scans to the one 0xEE near the end
        b8[i] = seed >> 16;
        s16[i] = (int16_t)(seed >> 10);
        g16[i] = (int16_t)(seed >> 3);
        i32s[i] = (int32_t)seed >> 4;
    }
    a8[N - 7] = 0xEE;
}

// y = a * x + y (auto-vectorized).
EXPORT("saxpy") uint32_t saxpy(int reps) {
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i++) ys[i] = 0.5f * xs[i] + ys[i] * 0.25f;
    uint32_t h = 0;
    for (int i = 0; i < N; i += 97) h = mix(h, (uint32_t)(ys[i] * 1000.0f));
    return h;
}

// Saturating add of two images (auto-vectorized to add_sat_u).
EXPORT("blend") uint32_t blend(int reps) {
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i++) {
            unsigned s = (unsigned)a8[i] + b8[(i + r) & (N - 1)];
            out8[i] = s > 255 ? 255 : s;
        }
    uint32_t h = 0;
    for (int i = 0; i < N; i += 61) h = mix(h, out8[i]);
    return h;
}

// Sum of an i32 array (auto-vectorized reduction).
EXPORT("sum") uint32_t sum(int reps) {
    uint32_t total = 0;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i++) total += (uint32_t)i32s[i] ^ (uint32_t)r;
    return total;
}

// Q15 gain with rounding and saturation.
EXPORT("q15") uint32_t q15(int reps) {
    for (int r = 0; r < reps; r++) {
#ifdef __wasm_simd128__
        for (int i = 0; i < N; i += 8)
            wasm_v128_store(out16 + i, wasm_i16x8_q15mulr_sat(wasm_v128_load(s16 + i), wasm_v128_load(g16 + i)));
#else
        for (int i = 0; i < N; i++) {
            int32_t p = ((int32_t)s16[i] * g16[i] + 0x4000) >> 15;
            out16[i] = p > 32767 ? 32767 : p;
        }
#endif
    }
    uint32_t h = 0;
    for (int i = 0; i < N; i += 53) h = mix(h, (uint16_t)out16[i]);
    return h;
}

// The index of the first byte 0xEE (a memchr).
EXPORT("find") uint32_t find(int reps) {
    uint32_t h = 0;
    for (int r = 0; r < reps; r++) {
        int at = -1;
#ifdef __wasm_simd128__
        v128_t needle = wasm_i8x16_splat((char)0xEE);
        for (int i = 0; i < N; i += 16) {
            v128_t eq = wasm_i8x16_eq(wasm_v128_load(a8 + i), needle);
            if (wasm_v128_any_true(eq)) {
                at = i + __builtin_ctz(wasm_i8x16_bitmask(eq));
                break;
            }
        }
#else
        for (int i = 0; i < N; i++)
            if (a8[i] == 0xEE) {
                at = i;
                break;
            }
#endif
        h = mix(h, (uint32_t)at);
    }
    return h;
}

// RGBA to BGRA, a byte shuffle.
EXPORT("swizzle") uint32_t swizzle(int reps) {
    for (int r = 0; r < reps; r++) {
#ifdef __wasm_simd128__
        for (int i = 0; i < N; i += 16) {
            v128_t p = wasm_v128_load(a8 + i);
            wasm_v128_store(out8 + i, wasm_i8x16_shuffle(p, p, 2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15));
        }
#else
        for (int i = 0; i < N; i += 4) {
            out8[i] = a8[i + 2];
            out8[i + 1] = a8[i + 1];
            out8[i + 2] = a8[i];
            out8[i + 3] = a8[i + 3];
        }
#endif
    }
    uint32_t h = 0;
    for (int i = 0; i < N; i += 59) h = mix(h, out8[i]);
    return h;
}

// 4x4 f32 matrix products over the array.
EXPORT("matmul") uint32_t matmul(int reps) {
    float acc = 0;
    for (int r = 0; r < reps; r++)
        for (int m = 0; m + 32 <= N; m += 32) {
            const float *a = xs + m, *b = xs + m + 16;
            float out[16];
#ifdef __wasm_simd128__
            for (int row = 0; row < 4; row++) {
                v128_t x = wasm_v128_load(a + 4 * row);
                v128_t s = wasm_f32x4_mul(wasm_i32x4_shuffle(x, x, 0, 0, 0, 0), wasm_v128_load(b));
                s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_i32x4_shuffle(x, x, 1, 1, 1, 1), wasm_v128_load(b + 4)));
                s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_i32x4_shuffle(x, x, 2, 2, 2, 2), wasm_v128_load(b + 8)));
                s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_i32x4_shuffle(x, x, 3, 3, 3, 3), wasm_v128_load(b + 12)));
                wasm_v128_store(out + 4 * row, s);
            }
#else
            for (int row = 0; row < 4; row++)
                for (int col = 0; col < 4; col++)
                    out[4 * row + col] = a[4 * row] * b[col] + a[4 * row + 1] * b[4 + col] + a[4 * row + 2] * b[8 + col] +
                                         a[4 * row + 3] * b[12 + col];
#endif
            acc += out[0] + out[5] + out[10] + out[15];
        }
    return (uint32_t)(acc * 16.0f);
}
