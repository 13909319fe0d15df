// AVX-512F vectors of float (16 lanes) and double (8 lanes), with the operations the generic kernels use.
// Include only from translation units compiled with -mavx512f -mfma (see CMakeLists.txt).
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "exp_constants.h"

namespace softlib::avx512 {

struct F64;

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr std::size_t W = 16;
  static constexpr const char* isa = "avx512";
  // ldexp is one instruction (scalef) whatever the exponent: the kernels' wide-range variants cost
  // no more than their narrow ones, so they need not look for the row's min.
  static constexpr bool ldexp_is_one_instruction = true;
  // 32 vector registers: a short row's terms and the next row's max fit together (row_kernels.h,
  // softmax_three_pass_rows; AVX2's 16 spill them).
  static constexpr std::size_t registers = 32;
  // Double vectors beside the float ones: the short rows' log-normalisers, a block of rows at a time
  // (row_kernels.h, LogShort).
  using Double = F64;

  static __mmask16 tail_mask(std::size_t k) { return static_cast<__mmask16>((1u << k) - 1u); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  // Lanes k..W-1 are not read (masked load: no fault past the buffer) and hold `fill`.
  static V load_tail(const T* p, std::size_t k, T fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(k), p);
  }
  static void store_tail(T* p, std::size_t k, V v) { _mm512_mask_storeu_ps(p, tail_mask(k), v); }
  // Non-temporal store (p aligned to the vector): the line is written without being read first.
  static void stream(T* p, V v) { _mm512_stream_ps(p, v); }
  static void stream_fence() { _mm_sfence(); }
  static V tail_zero(V v, std::size_t k) { return _mm512_maskz_mov_ps(tail_mask(k), v); }

  static V set(T a) { return _mm512_set1_ps(a); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V select_negative(V x, V a, V b) {  // x < 0 ? a : b
    return _mm512_mask_mov_ps(b, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), a);
  }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }  // NaN in either -> b
  static V min(V a, V b) { return _mm512_min_ps(a, b); }  // NaN in either -> b
  static V round(V v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // v * 2^n for integer-valued n: scalef handles every n (underflow to 0, overflow to inf).
  static V ldexp_normal(V v, V n) { return _mm512_scalef_ps(v, n); }
  static V ldexp(V v, V n) { return _mm512_scalef_ps(v, n); }
  static V zero_if_less(V v, V a, T b) {
    return _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(a, set(b), _CMP_LT_OQ), _mm512_setzero_ps());
  }
  static bool any_greater(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) != 0; }
  static T reduce_max(V v) { return _mm512_reduce_max_ps(v); }
  static void to_array(V v, T* out) { _mm512_storeu_ps(out, v); }
  static V from_array(const T* p) { return _mm512_loadu_ps(p); }

  // The normaliser is accumulated in double, so its error does not grow with the row length.
  struct Acc {
    __m512d lo, hi;
  };
  static Acc acc_zero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static void acc_add(Acc& a, V v) {
    a.lo = _mm512_add_pd(a.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    a.hi = _mm512_add_pd(a.hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  // Lane i of the accumulator as hi[i] + lo[i] (lo is 0 here: plain double sums).
  static void acc_to_array(const Acc& a, double* hi, double* lo) {
    _mm512_storeu_pd(hi, a.lo);
    _mm512_storeu_pd(hi + 8, a.hi);
    for (std::size_t i = 0; i < W; ++i) lo[i] = 0.0;
  }
  static Acc acc_from_array(const double* hi, const double*) { return {_mm512_loadu_pd(hi), _mm512_loadu_pd(hi + 8)}; }
  static void acc_scale(Acc& a, double f) {
    a.lo = _mm512_mul_pd(a.lo, _mm512_set1_pd(f));
    a.hi = _mm512_mul_pd(a.hi, _mm512_set1_pd(f));
  }
  // The total of two accumulators (plain double lanes: a double sum of 32 lanes is exact enough).
  static double acc_total2(const Acc& a, const Acc& b) {
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a.lo, a.hi), _mm512_add_pd(b.lo, b.hi)));
  }
};

struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr std::size_t W = 8;
  static constexpr const char* isa = "avx512";

  static __mmask8 tail_mask(std::size_t k) { return static_cast<__mmask8>((1u << k) - 1u); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V load_tail(const T* p, std::size_t k, T fill) {
    return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), tail_mask(k), p);
  }
  static void store_tail(T* p, std::size_t k, V v) { _mm512_mask_storeu_pd(p, tail_mask(k), v); }
  // Non-temporal store (p aligned to the vector): the line is written without being read first.
  static void stream(T* p, V v) { _mm512_stream_pd(p, v); }
  static void stream_fence() { _mm_sfence(); }
  static V tail_zero(V v, std::size_t k) { return _mm512_maskz_mov_pd(tail_mask(k), v); }

  static V set(T a) { return _mm512_set1_pd(a); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V select_negative(V x, V a, V b) {
    return _mm512_mask_mov_pd(b, _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LT_OQ), a);
  }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static V round(V v) { return _mm512_roundscale_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V ldexp_normal(V v, V n) { return _mm512_scalef_pd(v, n); }
  static V ldexp(V v, V n) { return _mm512_scalef_pd(v, n); }
  // v = 2^k m, m in [1, 2), for positive normal v.
  static void split_exponent(V v, V& m, V& k) {
    m = _mm512_getmant_pd(v, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
    k = _mm512_getexp_pd(v);
  }
  static V zero_if_less(V v, V a, T b) {
    return _mm512_mask_mov_pd(v, _mm512_cmp_pd_mask(a, set(b), _CMP_LT_OQ), _mm512_setzero_pd());
  }
  static bool any_greater(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ) != 0; }
  static T reduce_max(V v) { return _mm512_reduce_max_pd(v); }
  static void to_array(V v, T* out) { _mm512_storeu_pd(out, v); }
  static V from_array(const T* p) { return _mm512_loadu_pd(p); }

  // Compensated (TwoSum) accumulation: hi + lo carries the sum to about twice double precision.
  struct Acc {
    __m512d hi, lo;
  };
  static Acc acc_zero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static void acc_add(Acc& a, V v) {
    const V s = _mm512_add_pd(a.hi, v);
    const V bp = _mm512_sub_pd(s, a.hi);
    const V err = _mm512_add_pd(_mm512_sub_pd(a.hi, _mm512_sub_pd(s, bp)), _mm512_sub_pd(v, bp));
    a.hi = s;
    a.lo = _mm512_add_pd(a.lo, err);
  }
  static void acc_to_array(const Acc& a, double* hi, double* lo) {
    _mm512_storeu_pd(hi, a.hi);
    _mm512_storeu_pd(lo, a.lo);
  }
  static Acc acc_from_array(const double* hi, const double* lo) { return {_mm512_loadu_pd(hi), _mm512_loadu_pd(lo)}; }
  static void acc_scale(Acc& a, double f) {
    a.hi = _mm512_mul_pd(a.hi, _mm512_set1_pd(f));
    a.lo = _mm512_mul_pd(a.lo, _mm512_set1_pd(f));
  }
};

}  // namespace softlib::avx512
