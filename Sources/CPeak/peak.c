// The peak loops of CPeak.h. Each function is compiled for its own instruction set (target
// attributes), so the package needs no -march flag; callers check hrm_cpu_has_* first.
#include "CPeak.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int hrm_cpu_has_avx512f(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx512f"); }
int hrm_cpu_has_fma256(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
int hrm_cpu_has_avx512bf16(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx512bf16"); }

#define CHAINS 16

__attribute__((target("avx512f")))
double hrm_peak_fma512(int64_t iterations, float *sink) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));
    }
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iterations * CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma")))
double hrm_peak_fma256(int64_t iterations, float *sink) {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]));
    }
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    *sink = lanes[0] + lanes[7];
    return (double)iterations * 12 * 8 * 2;
}

__attribute__((target("avx512f,avx512bf16")))
double hrm_peak_bf16dot(int64_t iterations, float *sink) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3F80), b = (__m512bh)_mm512_set1_epi16(0x3380);  // 1.0, ~6e-8
    for (int64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));
    }
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    // Each vdpbf16ps: 16 fp32 lanes × 2 bf16 pairs × (multiply + add).
    return (double)iterations * CHAINS * 16 * 2 * 2;
}

#else
int hrm_cpu_has_avx512f(void) { return 0; }
int hrm_cpu_has_fma256(void) { return 0; }
int hrm_cpu_has_avx512bf16(void) { return 0; }
double hrm_peak_fma512(int64_t iterations, float *sink) { (void)iterations; *sink = 0; return 0; }
double hrm_peak_fma256(int64_t iterations, float *sink) { (void)iterations; *sink = 0; return 0; }
double hrm_peak_bf16dot(int64_t iterations, float *sink) { (void)iterations; *sink = 0; return 0; }
#endif
