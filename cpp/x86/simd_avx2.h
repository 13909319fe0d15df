// AVX2+FMA vectors of float (8 lanes) and double (4 lanes), with the operations the generic kernels use.
// Include only from translation units compiled with -mavx2 -mfma (see CMakeLists.txt).
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "exp_constants.h"

namespace softlib::avx2 {

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr std::size_t W = 8;
  static constexpr const char* isa = "avx2";
  using C = ExpConstants<float>;

  static __m256i tail_mask(std::size_t k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  // vmaskmov does not touch (nor fault on) the masked-out lanes: no read past the buffer.
  static V load_tail(const T* p, std::size_t k, T fill) {
    const __m256i m = tail_mask(k);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_tail(T* p, std::size_t k, V v) { _mm256_maskstore_ps(p, tail_mask(k), v); }
  // Non-temporal store (p aligned to the vector): the line is written without being read first.
  static void stream(T* p, V v) { _mm256_stream_ps(p, v); }
  static void stream_fence() { _mm_sfence(); }
  static V tail_zero(V v, std::size_t k) { return _mm256_and_ps(v, _mm256_castsi256_ps(tail_mask(k))); }

  static V set(T a) { return _mm256_set1_ps(a); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V select_negative(V x, V a, V b) {  // x < 0 ? a : b
    return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }  // NaN in either -> b
  static V min(V a, V b) { return _mm256_min_ps(a, b); }  // NaN in either -> b
  static V round(V v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integer n in [-126, 127], from the bits of n + 0x1.8p23 + 127 shifted into the exponent field.
  static V exp2i(V n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(n, set(C::exp2_magic))), 23));
  }
  static V ldexp_normal(V v, V n) { return _mm256_mul_ps(v, exp2i(n)); }
  // v * 2^n for integer n <= 0 of any size: n is clamped at -252 (the result is then 0 anyway) and
  // applied in two normal steps.
  static V ldexp(V v, V n) {
    n = _mm256_max_ps(set(-252.0f), n);
    const V n1 = _mm256_max_ps(set(-126.0f), n);
    return _mm256_mul_ps(_mm256_mul_ps(v, exp2i(n1)), exp2i(_mm256_sub_ps(n, n1)));
  }
  static V zero_if_less(V v, V a, T b) { return _mm256_andnot_ps(_mm256_cmp_ps(a, set(b), _CMP_LT_OQ), v); }
  static bool any_greater(V a, V b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)) != 0; }
  static T reduce_max(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static void to_array(V v, T* out) { _mm256_storeu_ps(out, v); }
  static V from_array(const T* p) { return _mm256_loadu_ps(p); }

  // The normaliser is accumulated in double, so its error does not grow with the row length.
  struct Acc {
    __m256d lo, hi;
  };
  static Acc acc_zero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static void acc_add(Acc& a, V v) {
    a.lo = _mm256_add_pd(a.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    a.hi = _mm256_add_pd(a.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  static void acc_to_array(const Acc& a, double* hi, double* lo) {
    _mm256_storeu_pd(hi, a.lo);
    _mm256_storeu_pd(hi + 4, a.hi);
    for (std::size_t i = 0; i < W; ++i) lo[i] = 0.0;
  }
  static Acc acc_from_array(const double* hi, const double*) { return {_mm256_loadu_pd(hi), _mm256_loadu_pd(hi + 4)}; }
  static void acc_scale(Acc& a, double f) {
    a.lo = _mm256_mul_pd(a.lo, _mm256_set1_pd(f));
    a.hi = _mm256_mul_pd(a.hi, _mm256_set1_pd(f));
  }
  static double acc_total2(const Acc& a, const Acc& b) {
    const __m256d s = _mm256_add_pd(_mm256_add_pd(a.lo, a.hi), _mm256_add_pd(b.lo, b.hi));
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    t = _mm_add_sd(t, _mm_unpackhi_pd(t, t));
    return _mm_cvtsd_f64(t);
  }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr std::size_t W = 4;
  static constexpr const char* isa = "avx2";
  using C = ExpConstants<double>;

  static __m256i tail_mask(std::size_t k) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(k)), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V load_tail(const T* p, std::size_t k, T fill) {
    const __m256i m = tail_mask(k);
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
  }
  static void store_tail(T* p, std::size_t k, V v) { _mm256_maskstore_pd(p, tail_mask(k), v); }
  // Non-temporal store (p aligned to the vector): the line is written without being read first.
  static void stream(T* p, V v) { _mm256_stream_pd(p, v); }
  static void stream_fence() { _mm_sfence(); }
  static V tail_zero(V v, std::size_t k) { return _mm256_and_pd(v, _mm256_castsi256_pd(tail_mask(k))); }

  static V set(T a) { return _mm256_set1_pd(a); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V select_negative(V x, V a, V b) {
    return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LT_OQ));
  }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static V round(V v) { return _mm256_round_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integer n in [-1022, 1023], from the bits of n + 0x1.8p52 + 1023.
  static V exp2i(V n) {
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(n, set(C::exp2_magic))), 52));
  }
  static V ldexp_normal(V v, V n) { return _mm256_mul_pd(v, exp2i(n)); }
  static V ldexp(V v, V n) {
    n = _mm256_max_pd(set(-2044.0), n);
    const V n1 = _mm256_max_pd(set(-1022.0), n);
    return _mm256_mul_pd(_mm256_mul_pd(v, exp2i(n1)), exp2i(_mm256_sub_pd(n, n1)));
  }
  static V zero_if_less(V v, V a, T b) { return _mm256_andnot_pd(_mm256_cmp_pd(a, set(b), _CMP_LT_OQ), v); }
  static bool any_greater(V a, V b) { return _mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_GT_OQ)) != 0; }
  static T reduce_max(V v) {
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
  }
  static void to_array(V v, T* out) { _mm256_storeu_pd(out, v); }
  static V from_array(const T* p) { return _mm256_loadu_pd(p); }

  // Compensated (TwoSum) accumulation: hi + lo carries the sum to about twice double precision.
  struct Acc {
    __m256d hi, lo;
  };
  static Acc acc_zero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static void acc_add(Acc& a, V v) {
    const V s = _mm256_add_pd(a.hi, v);
    const V bp = _mm256_sub_pd(s, a.hi);
    const V err = _mm256_add_pd(_mm256_sub_pd(a.hi, _mm256_sub_pd(s, bp)), _mm256_sub_pd(v, bp));
    a.hi = s;
    a.lo = _mm256_add_pd(a.lo, err);
  }
  static void acc_to_array(const Acc& a, double* hi, double* lo) {
    _mm256_storeu_pd(hi, a.hi);
    _mm256_storeu_pd(lo, a.lo);
  }
  static Acc acc_from_array(const double* hi, const double* lo) { return {_mm256_loadu_pd(hi), _mm256_loadu_pd(lo)}; }
  static void acc_scale(Acc& a, double f) {
    a.hi = _mm256_mul_pd(a.hi, _mm256_set1_pd(f));
    a.lo = _mm256_mul_pd(a.lo, _mm256_set1_pd(f));
  }
};

}  // namespace softlib::avx2
