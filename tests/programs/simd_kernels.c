// SIMD kernels written with wasm_simd128.h intrinsics, next to loops clang vectorizes on its
// own at -O3 -msimd128: image blending with saturation, a byte search through bitmasks, a
// float dot product and a matrix product, a Q15 filter, a byte shuffle (RGBA to BGRA), a
// histogram of popcounts and conversions. Prints checksums of each. Built only with
// -msimd128 (tests/programs.rs).
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasm_simd128.h>

#define N 4096

static uint8_t image_a[N], image_b[N], blended[N];
static float xs[N], ys[N];
static int16_t samples[N], filtered[N];
static uint32_t pixels[N / 4];
static char text[N + 1];

static uint32_t checksum(const void *data, size_t bytes) {
    const uint8_t *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

// Saturating average-and-add blend: (a + b) saturated, then averaged with a.
static void blend(void) {
    for (int i = 0; i < N; i += 16) {
        v128_t a = wasm_v128_load(image_a + i);
        v128_t b = wasm_v128_load(image_b + i);
        v128_t sum = wasm_u8x16_add_sat(a, b);
        v128_t avg = wasm_u8x16_avgr(sum, a);
        v128_t diff = wasm_i8x16_sub_sat(a, b);
        v128_t pick = wasm_i8x16_gt(a, b);
        wasm_v128_store(blended + i, wasm_v128_bitselect(avg, diff, pick));
    }
}

// The index of the first byte equal to c, through any_true and bitmask.
static int find_byte(const char *s, int len, char c) {
    v128_t needle = wasm_i8x16_splat(c);
    for (int i = 0; i + 16 <= len; i += 16) {
        v128_t eq = wasm_i8x16_eq(wasm_v128_load(s + i), needle);
        if (wasm_v128_any_true(eq)) return i + __builtin_ctz(wasm_i8x16_bitmask(eq));
    }
    return -1;
}

static float dot(const float *a, const float *b, int n) {
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < n; i += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    return wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) +
           wasm_f32x4_extract_lane(acc, 3);
}

// A 4x4 matrix product on f32x4 rows, with shuffles broadcasting each element.
static void matmul4(const float *a, const float *b, float *out) {
    v128_t rows[4];
    for (int r = 0; r < 4; r++) rows[r] = wasm_v128_load(b + 4 * r);
    for (int r = 0; r < 4; r++) {
        v128_t row = wasm_v128_load(a + 4 * r);
        v128_t acc = wasm_f32x4_mul(wasm_i32x4_shuffle(row, row, 0, 0, 0, 0), rows[0]);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_i32x4_shuffle(row, row, 1, 1, 1, 1), rows[1]));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_i32x4_shuffle(row, row, 2, 2, 2, 2), rows[2]));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_i32x4_shuffle(row, row, 3, 3, 3, 3), rows[3]));
        wasm_v128_store(out + 4 * r, acc);
    }
}

// A Q15 gain followed by a clamp to a range, on i16x8.
static void q15_filter(void) {
    v128_t gain = wasm_i16x8_splat(23170); // 1/sqrt(2) in Q15
    v128_t lo = wasm_i16x8_splat(-20000), hi = wasm_i16x8_splat(20000);
    for (int i = 0; i < N; i += 8) {
        v128_t x = wasm_v128_load(samples + i);
        v128_t y = wasm_i16x8_q15mulr_sat(x, gain);
        y = wasm_i16x8_add_sat(y, wasm_i16x8_shr(x, 3));
        y = wasm_i16x8_max(wasm_i16x8_min(y, hi), lo);
        wasm_v128_store(filtered + i, y);
    }
}

// RGBA to BGRA: a byte shuffle, and a swizzle with a table in a vector.
static void swap_channels(void) {
    v128_t table = wasm_i8x16_const(2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15);
    for (int i = 0; i < N / 4; i += 8) {
        v128_t p = wasm_v128_load(pixels + i);
        v128_t q = wasm_v128_load(pixels + i + 4);
        wasm_v128_store(pixels + i, wasm_i8x16_shuffle(p, p, 2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15));
        wasm_v128_store(pixels + i + 4, wasm_i8x16_swizzle(q, table));
    }
}

// Per-lane popcounts summed with widening pairwise adds.
static uint32_t bit_count(const uint8_t *data, int n) {
    v128_t total = wasm_i32x4_splat(0);
    for (int i = 0; i < n; i += 16) {
        v128_t counts = wasm_i8x16_popcnt(wasm_v128_load(data + i));
        v128_t wide = wasm_u16x8_extadd_pairwise_u8x16(counts);
        total = wasm_i32x4_add(total, wasm_u32x4_extadd_pairwise_u16x8(wide));
    }
    return wasm_i32x4_extract_lane(total, 0) + wasm_i32x4_extract_lane(total, 1) + wasm_i32x4_extract_lane(total, 2) +
           wasm_i32x4_extract_lane(total, 3);
}

// Conversions: floats to saturated ints and back, narrowing, widening, 64-bit lanes.
static uint32_t conversions(void) {
    uint32_t h = 0;
    for (int i = 0; i < N; i += 4) {
        v128_t f = wasm_v128_load(xs + i);
        v128_t n = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_mul(f, wasm_f32x4_splat(1e9f)));
        v128_t back = wasm_f32x4_convert_i32x4(n);
        v128_t narrowed = wasm_i16x8_narrow_i32x4(n, wasm_i32x4_shr(n, 20));
        v128_t wide = wasm_i64x2_extend_high_i32x4(n);
        v128_t d = wasm_f64x2_promote_low_f32x4(back);
        v128_t rounded = wasm_f64x2_nearest(wasm_f64x2_sqrt(wasm_f64x2_abs(d)));
        h = h * 31 + (uint32_t)wasm_i64x2_extract_lane(wasm_i64x2_add(wide, wasm_i64x2_shl(wide, 3)), 1);
        h = h * 31 + (uint32_t)wasm_i16x8_extract_lane(narrowed, 5);
        h = h * 31 + (uint32_t)wasm_i32x4_bitmask(wasm_f32x4_lt(back, f));
        h = h * 31 + (uint32_t)(int64_t)wasm_f64x2_extract_lane(rounded, 1);
    }
    return h;
}

// Loops clang vectorizes by itself.
static void saxpy(float a, float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
static int64_t sum_squares(const int16_t *v, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)v[i] * v[i];
    return s;
}
static void to_upper(char *s, int n) {
    for (int i = 0; i < n; i++) s[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i];
}

int main(void) {
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        image_a[i] = seed >> 24;
        image_b[i] = seed >> 16;
        xs[i] = (float)(int32_t)(seed >> 8) / 16777216.0f;
        ys[i] = (float)(i % 97) * 0.25f;
        samples[i] = (int16_t)(seed >> 12);
        text[i] = "abcdefghijklmnopqrstuvwxyz ,.-"[seed % 30];
        if (i < N / 4) pixels[i] = seed;
    }
    text[N] = 0;
    text[3001] = '#';
    blend();
    printf("blend %08x\n", checksum(blended, sizeof blended));
    printf("find %d %d\n", find_byte(text, N, '#'), find_byte(text, N, '@'));
    printf("dot %.3f\n", dot(xs, ys, N));
    float m[16], out[16];
    for (int i = 0; i < 16; i++) m[i] = (float)(i * i % 7) - 2.5f;
    matmul4(m, m, out);
    printf("matmul %.2f %.2f %.2f %.2f\n", out[0], out[5], out[10], out[15]);
    q15_filter();
    printf("q15 %08x\n", checksum(filtered, sizeof filtered));
    swap_channels();
    printf("pixels %08x\n", checksum(pixels, sizeof pixels));
    printf("bits %u\n", bit_count(image_a, N));
    printf("conversions %08x\n", conversions());
    saxpy(1.5f, ys, xs, N);
    printf("saxpy %08x\n", checksum(ys, sizeof ys));
    printf("squares %lld\n", (long long)sum_squares(samples, N));
    to_upper(text, N);
    printf("upper %08x\n", checksum(text, N));
    return 0;
}
