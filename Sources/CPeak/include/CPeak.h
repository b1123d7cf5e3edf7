// Loops that run a CPU's widest multiply-add instructions back to back, to measure its peak
// (`hrm bench peak`). Each returns the floating-point operations it did (and stores a value
// that depends on every one of them in *sink, so nothing is optimised away), or 0 where this
// CPU or build has no such instruction.
#ifndef HRM_CPEAK_H
#define HRM_CPEAK_H
#include <stdint.h>

/// fp32 FMA, 512-bit (AVX-512F): 16 independent zmm chains.
double hrm_peak_fma512(int64_t iterations, float *sink);
/// fp32 FMA, 256-bit (AVX2 + FMA): 12 independent ymm chains.
double hrm_peak_fma256(int64_t iterations, float *sink);
/// bf16 dot products into fp32 (AVX512_BF16 vdpbf16ps): 16 independent zmm chains.
double hrm_peak_bf16dot(int64_t iterations, float *sink);
/// Whether the running CPU has the instruction set of each loop.
int hrm_cpu_has_avx512f(void);
int hrm_cpu_has_fma256(void);
int hrm_cpu_has_avx512bf16(void);

#endif
