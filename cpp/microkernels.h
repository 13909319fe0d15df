// The microkernels of softlib: flat loops over a pointer and a count, written once over a vector type S
// (S::V holds S::W lanes of S::T) and compiled once per code path: cpp/kernels_portable.cpp,
// cpp/x86/kernels_avx2.cpp, cpp/x86/kernels_avx512.cpp. Names follow XNNPACK's: r = reduction,
// v = elementwise, "add...exp...minusmax" = sum of exp(x - max). Each has an unrolled main loop over
// U vectors, then single vectors, then one masked tail that never reads or writes past x[n-1] / y[n-1].
//
// Accuracy devices, shared by all of them (issue 3's two traps):
// - x - m is formed with TwoSum: hi = fl(x - m) and lo = (x - m) - hi exactly; lo joins the reduced
//   argument, so the rounding of x - m (up to |x - m| * 2^-24) never reaches the exponential.
//   (The float32 three-pass kernel avoids x - m altogether: it reduces x itself, raddstoreextexp.)
// - the normaliser is accumulated in double lanes (float data) or in compensated hi + lo double lanes
//   (double data), so its error does not grow with the row length.
//   (Or in float lanes whose every addition's error is carried exactly: SeededSum.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "exp_constants.h"
#include "kernels.h"

// Unnamed namespace: each translation unit (each instruction set) keeps its own copies, so the linker
// never merges an AVX-512 instantiation into the portable path.
// The helpers that take arrays of vectors (the interleaved exponentials' steps) are inlined by force:
// out of line, their arrays live in memory, and a row of 128 floats took 50 ns instead of 38.
#if defined(_MSC_VER)
#define SOFTLIB_INLINE __forceinline
#else
#define SOFTLIB_INLINE inline __attribute__((always_inline))
#endif

namespace softlib::mk {
namespace {

constexpr std::size_t U = 2;  // vectors per iteration of the main loops (independent accumulators)

// Plain<S> (testing/plain_variant.h, built into softlib._core_testing only, for measuring the accuracy devices' cost) sets S::plain.
template <class S, class = void>
struct is_plain : std::false_type {};
template <class S>
struct is_plain<S, std::void_t<decltype(S::plain)>> : std::bool_constant<S::plain> {};

// S::ldexp_is_one_instruction (AVX-512's scalef): the wide-range exponential costs nothing extra.
template <class S, class = void>
struct wide_is_free : std::false_type {};
template <class S>
struct wide_is_free<S, std::void_t<decltype(S::ldexp_is_one_instruction)>>
    : std::bool_constant<S::ldexp_is_one_instruction> {};

// ---------------------------------------------------------------------------------------------- exp
template <class S>
struct Exp {
  using T = typename S::T;
  using V = typename S::V;
  using C = ExpConstants<T>;

  // t = hi + lo = n ln2 + r, |r| <= ln(2)/2 (two-constant Cody-Waite reduction).
  static void reduce(V hi, V lo, V& n, V& r) {
    n = S::round(S::mul(hi, S::set(C::log2e)));
    r = reduce_given(hi, n);
    if constexpr (!is_plain<S>::value) r = S::add(r, lo);
  }
  // r = t - n ln2 for a given n.
  static V reduce_given(V t, V n) {
    const V r = S::fma(n, S::set(-C::ln2_hi), t);
    return S::fma(n, S::set(-C::ln2_lo), r);
  }
  // p(r) = 1 + r q(r), so that e^r = 1 + r p(r).
  static V poly(V r) {
    V p;
    poly_steps(&r, &p, 1);
    return p;
  }
  // p(r_u) for k vectors, Horner's steps taken across them: each step's k FMAs are independent, so
  // k polynomials cost about the latency of one (the kernels that interleave their exponentials).
  SOFTLIB_INLINE static void poly_steps(const V* r, V* q, std::size_t k) {
    const auto step = [&](T c) {
      for (std::size_t u = 0; u < k; ++u) q[u] = S::fma(q[u], r[u], S::set(c));
    };
    if constexpr (sizeof(T) == 4) {
      for (std::size_t u = 0; u < k; ++u) q[u] = S::fma(S::set(C::c6), r[u], S::set(C::c5));
    } else {
      for (std::size_t u = 0; u < k; ++u) q[u] = S::fma(S::set(C::c11), r[u], S::set(C::c10));
      for (T c : {C::c9, C::c8, C::c7, C::c6, C::c5}) step(c);
    }
    for (T c : {C::c4, C::c3, C::c2, T(1)}) step(c);
  }
  // c * e^r = c + (r c) p(r): the scale rides in the last FMA, saving a rounding.
  static V scaled_expr(V r, V c) { return S::fma(S::mul(r, c), poly(r), c); }
  // c * exp(hi + lo) for hi <= 88 (float) / 709 (double), subnormal results included (gradual
  // underflow, as libm's exp and SciPy give them); 0 below ln(smallest subnormal / 2) and for -inf.
  // A vector with a lane below ln(smallest normal) is rare: only it pays for the two-step scaling.
  static V exp_scaled(V hi, V lo, V c) {
    V n, r;
    reduce(hi, lo, n, r);
    const V v = scaled_expr(r, c);
    if (!S::any_greater(S::set(C::underflow), hi)) return S::ldexp_normal(v, n);
    return S::zero_if_less(S::select_negative(S::sub(hi, S::set(C::underflow)), S::ldexp(v, n), S::ldexp_normal(v, n)),
                           hi, C::zero_below);
  }
};

// ---------------------------------------------------------------------------------------------- log
// log v for positive normal double lanes (S::split_exponent: v = 2^k m, m in [1, 2)). m is brought
// into [sqrt 1/2, sqrt 2) and log m = log1p(f), f = m - 1, taken as 2 atanh(s) with s = f / (2 + f):
// 2 s + s R(s^2), R(z) = sum_j 2 z^j / (2 j + 1). |s| <= 0.172, so ten terms leave out less than
// 2^-58 of log m. Written f - (f^2/2 - s (f^2/2 + R)) (fdlibm's e_log.c arrangement), so that f,
// exact, carries the leading bits and the rounding of s reaches only the small terms; k ln 2 in two
// parts (k ln2_hi exact). Within an ULP (tests/test_kernels.py, test_vector_log_within_one_ulp).
template <class D>
struct Log {
  using V = typename D::V;
  using C = ExpConstants<double>;
  static V of(V v) {
    V m, k;
    D::split_exponent(v, m, k);
    const V above = D::sub(D::set(0x1.6A09E667F3BCDp+0), m);  // negative where m > sqrt 2
    m = D::select_negative(above, D::mul(m, D::set(0.5)), m);
    k = D::select_negative(above, D::add(k, D::set(1.0)), k);
    const V f = D::sub(m, D::set(1.0));
    const V s = D::div(f, D::add(D::set(2.0), f));
    const V z = D::mul(s, s);
    V r = D::set(2.0 / 21);
    for (double c : {2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13, 2.0 / 11, 2.0 / 9, 2.0 / 7, 2.0 / 5, 2.0 / 3}) {
      r = D::fma(r, z, D::set(c));
    }
    r = D::mul(r, z);
    const V half_f2 = D::mul(D::set(0.5), D::mul(f, f));
    const V small = D::sub(half_f2, D::fma(s, D::add(half_f2, r), D::mul(k, D::set(C::ln2_lo))));
    return D::fma(k, D::set(C::ln2_hi), D::sub(f, small));
  }
};

// S::Double: double vectors beside S's (AVX-512), for work done a block of rows at a time.
template <class S, class = void>
struct has_double : std::false_type {};
template <class S>
struct has_double<S, std::void_t<typename S::Double>> : std::true_type {};

// hi + lo = a - b exactly (Knuth's TwoSum of a and -b).
template <class S>
inline void two_diff(typename S::V a, typename S::V b, typename S::V& hi, typename S::V& lo) {
  hi = S::sub(a, b);
  if constexpr (is_plain<S>::value) {
    lo = S::set(0);
    return;
  }
  const auto ap = S::add(hi, b);
  const auto bpp = S::sub(hi, ap);
  lo = S::sub(S::sub(a, ap), S::add(b, bpp));
}

// S::acc_total2(a, b): a code path's own total of two accumulators of plain double lanes.
template <class S, class = void>
struct has_total2 : std::false_type {};
template <class S>
struct has_total2<S, std::void_t<decltype(S::acc_total2(std::declval<const typename S::Acc&>(),
                                                        std::declval<const typename S::Acc&>()))>> : std::true_type {};

// The total of the accumulators as an unevaluated sum hi + lo (lanes summed with TwoSum): for float64
// data, whose lanes are compensated, hi + lo carries the sum to about 2^-100 relative, so that d - 1
// of a row dominated by its max is known beyond double precision (row_kernels.h, log_d_of).
struct DD {
  double hi, lo;
};
template <class S>
DD acc_total_dd(const typename S::Acc (&a)[U]) {
  double s = 0.0, c = 0.0;
  for (std::size_t u = 0; u < U; ++u) {
    double hi[S::W], lo[S::W];
    S::acc_to_array(a[u], hi, lo);
    for (std::size_t i = 0; i < S::W; ++i) {
      const double t = s + hi[i];
      const double bp = t - s;
      c += (s - (t - bp)) + (hi[i] - bp) + lo[i];
      s = t;
    }
  }
  const double h = s + c;
  return {h, c - (h - s)};
}

// The accumulators' total as one double: float lanes' plain double sums by the vector unit; compensated
// lanes (double data) all summed in one TwoSum chain and rounded once. (Rounding each accumulator's total
// and adding the two cost up to 1.5 ULP of the normaliser: 3.04 ULP in an AVX2 float64 softmax.)
template <class S>
double acc_total(const typename S::Acc (&a)[U]) {
  static_assert(U == 2, "acc_total2 sums two accumulators");
  if constexpr (has_total2<S>::value && (sizeof(typename S::T) == 4 || S::W == 1)) {
    return S::acc_total2(a[0], a[1]);
  } else {
    return acc_total_dd<S>(a).hi;
  }
}

// Largest lane. With NaN lanes the result may be NaN or not: callers detect NaN through the sums
// (a NaN reference or maximum makes the row unusable, and the careful path gives the NaN row).
template <class S>
typename S::T hmax(typename S::V v) {
  return S::reduce_max(v);
}

// -------------------------------------------------------------------------------------------- rmax
// max_i x_i. A NaN in x may or may not show; callers detect NaN through the exponential sums.
template <class S>
typename S::T rmax(const typename S::T* x, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  const T ninf = -std::numeric_limits<T>::infinity();
  V m0 = S::set(ninf), m1 = m0, m2 = m0, m3 = m0;
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    m0 = S::max(m0, S::load(x + i));
    m1 = S::max(m1, S::load(x + i + W));
    m2 = S::max(m2, S::load(x + i + 2 * W));
    m3 = S::max(m3, S::load(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) m0 = S::max(m0, S::load(x + i));
  if (i < n) m1 = S::max(m1, S::load_tail(x + i, n - i, ninf));
  return hmax<S>(S::max(S::max(m0, m1), S::max(m2, m3)));
}

// ------------------------------------------------------------------------- raddstoreexpminusmax
// y_i = exp(x_i - m); returns sum_i y_i (before y is rounded to T) in double.
template <class S>
double raddstoreexpminusmax(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T m) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  const V vm = S::set(m), one = S::set(T(1));
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) {
      V hi, lo;
      two_diff<S>(S::load(x + i + u * W), vm, hi, lo);
      const V e = E::exp_scaled(hi, lo, one);
      S::store(y + i + u * W, e);
      S::acc_add(acc[u], e);
    }
  }
  for (; i + W <= n; i += W) {
    V hi, lo;
    two_diff<S>(S::load(x + i), vm, hi, lo);
    const V e = E::exp_scaled(hi, lo, one);
    S::store(y + i, e);
    S::acc_add(acc[0], e);
  }
  if (i < n) {
    V hi, lo;
    two_diff<S>(S::load_tail(x + i, n - i, m), vm, hi, lo);
    const V e = S::tail_zero(E::exp_scaled(hi, lo, one), n - i);
    S::store_tail(y + i, n - i, e);
    S::acc_add(acc[1], e);
  }
  return acc_total<S>(acc);
}

// ------------------------------------------------------------------------------ raddexpminusmax
// sum_i exp(x_i - m) in double, nothing stored; as hi + lo with the _dd variant.
template <class S>
void raddexpminusmax_acc(const typename S::T* x, std::size_t n, typename S::T m, typename S::Acc (&acc)[U]);
template <class S>
double raddexpminusmax(const typename S::T* x, std::size_t n, typename S::T m) {
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  raddexpminusmax_acc<S>(x, n, m, acc);
  return acc_total<S>(acc);
}
template <class S>
DD raddexpminusmax_dd(const typename S::T* x, std::size_t n, typename S::T m) {
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  raddexpminusmax_acc<S>(x, n, m, acc);
  return acc_total_dd<S>(acc);
}
template <class S>
void raddexpminusmax_acc(const typename S::T* x, std::size_t n, typename S::T m, typename S::Acc (&acc)[U]) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  const V vm = S::set(m), one = S::set(T(1));
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) {
      V hi, lo;
      two_diff<S>(S::load(x + i + u * W), vm, hi, lo);
      S::acc_add(acc[u], E::exp_scaled(hi, lo, one));
    }
  }
  for (; i + W <= n; i += W) {
    V hi, lo;
    two_diff<S>(S::load(x + i), vm, hi, lo);
    S::acc_add(acc[0], E::exp_scaled(hi, lo, one));
  }
  if (i < n) {
    V hi, lo;
    two_diff<S>(S::load_tail(x + i, n - i, m), vm, hi, lo);
    S::acc_add(acc[1], S::tail_zero(E::exp_scaled(hi, lo, one), n - i));
  }
}

// -------------------------------------------------------------------------------------- vscale
// y_i *= c
template <class S>
void vscale(typename S::T* y, std::size_t n, typename S::T c) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  const V vc = S::set(c);
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) S::store(y + i + u * W, S::mul(S::load(y + i + u * W), vc));
  }
  for (; i + W <= n; i += W) S::store(y + i, S::mul(S::load(y + i), vc));
  if (i < n) S::store_tail(y + i, n - i, S::mul(S::load_tail(y + i, n - i, 0), vc));
}

// -------------------------------------------------------------------------------------- vdivide
// y_i /= s: the float64 three-pass kernel divides (one correctly rounded operation) where float32
// multiplies by 1/s, keeping float64's reload variant clear of its 4-ULP bound (3.55 ULP measured
// with the multiply on AVX2).
template <class S>
void vdivide(typename S::T* y, std::size_t n, typename S::T s) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  const V vs = S::set(s);
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) S::store(y + i + u * W, S::div(S::load(y + i + u * W), vs));
  }
  for (; i + W <= n; i += W) S::store(y + i, S::div(S::load(y + i), vs));
  if (i < n) S::store_tail(y + i, n - i, S::div(S::load_tail(y + i, n - i, 1), vs));
}

// ---------------------------------------------------------------------------- vscaleexpminusmax
// y_i = c * exp(x_i - m)
template <class S>
void vscaleexpminusmax(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T m, typename S::T c) {
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  const V vm = S::set(m), vc = S::set(c);
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) {
      V hi, lo;
      two_diff<S>(S::load(x + i + u * W), vm, hi, lo);
      S::store(y + i + u * W, E::exp_scaled(hi, lo, vc));
    }
  }
  for (; i + W <= n; i += W) {
    V hi, lo;
    two_diff<S>(S::load(x + i), vm, hi, lo);
    S::store(y + i, E::exp_scaled(hi, lo, vc));
  }
  if (i < n) {
    V hi, lo;
    two_diff<S>(S::load_tail(x + i, n - i, m), vm, hi, lo);
    S::store_tail(y + i, n - i, E::exp_scaled(hi, lo, vc));
  }
}

// The k vectors at x + 1 KiB, fetched while these compute: a pass that reads a long row and computes
// leaves the hardware prefetcher behind (a 2^26-float row's Two-Pass first pass: 0.61 -> 0.45-0.54 ns
// an element, against 0.33 for its max alone; 4 and 16 KiB ahead did no better). Never faults.
template <class S, std::size_t k>
SOFTLIB_INLINE void prefetch_ahead(const typename S::T* x) {
  using T = typename S::T;
  constexpr std::size_t ahead = 1024 / sizeof(T);
  for (std::size_t off = 0; off < k * S::W; off += 64 / sizeof(T)) __builtin_prefetch(x + ahead + off, 0);
}

// ----------------------------------------------------------------------------------- raddextexp
// The Two-Pass algorithm's first pass (Dukhan & Ablavatski 2020): every exp(x_i) as a pair (p_i, n_i)
// with exp(x_i) = p_i 2^n_i, summed as s * 2^e without ever forming exp(x_i). The running exponent e is
// shared by all lanes and raised only when a term would exceed 2^64 (then s is rescaled by an exact
// power of two), which bounds the rescalings by the range of x / 44; the paper raises it at every new
// maximum. Inputs below `clamp` (-inf included) are raised to it: their terms are 0 unless the whole row
// lies that low, a case the caller sends to the three-pass kernel (see ExtExpSum::usable).
template <typename T>
struct ExtExpLimits;
template <>
struct ExtExpLimits<float> {
  static constexpr float clamp = -0x1p11f;  // n * ln2_hi stays exact without FMA (|n| < 2^12)
  static constexpr double usable = 2800.0;  // |max n| above this: fall back
  static constexpr float headroom = 64.0f;  // terms up to 2^64 before e is raised
  // raddstoreextexp: rows with |max| <= direct (|n| < 2^12 even with the clamp), and entries at most
  // `narrow` below the max for its narrow variant (n - e >= -124: 2^(n - e) is normal).
  static constexpr float direct = 1024.0f;
  static constexpr float narrow = 85.0f;
};
template <>
struct ExtExpLimits<double> {
  static constexpr double clamp = -0x1p18;
  static constexpr double usable = 360000.0;
  static constexpr double headroom = 512.0;
};

template <class S>
ExtExpSum raddextexp(const typename S::T* x, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  using L = ExtExpLimits<T>;
  using C = ExpConstants<T>;
  constexpr std::size_t W = S::W;
  const V clamp = S::set(L::clamp), log2e = S::set(C::log2e);
  const T x0 = std::isfinite(x[0]) ? x[0] : T(0);
  T e = std::nearbyint((x0 > L::clamp ? x0 : L::clamp) * C::log2e);
  V ve = S::set(e), vlimit = S::set(e + L::headroom);
  V nmax = S::set(-std::numeric_limits<T>::infinity());
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};

  // k <= K vectors at a time, their steps interleaved (as extexp_terms): their n, the rare raise of e
  // to their largest n, then their terms p 2^(n - e), summed.
  constexpr std::size_t K = 2 * U;
  auto block = [&](V(&v)[K], std::size_t k) {
    V nv[K], r[K], q[K];
    V nk = S::set(-std::numeric_limits<T>::infinity());
    for (std::size_t u = 0; u < k; ++u) {
      v[u] = S::max(clamp, v[u]);  // NaN kept (max returns its second operand on NaN)
      nv[u] = S::round(S::mul(v[u], log2e));
      nk = S::max(nk, nv[u]);
    }
    if (S::any_greater(nk, vlimit)) {  // rare: raise e to these vectors' largest n
      const T e_new = hmax<S>(nk);
      const double f = std::ldexp(1.0, static_cast<int>(std::fmax(double(e) - double(e_new), -2000.0)));
      for (std::size_t u = 0; u < U; ++u) S::acc_scale(acc[u], f);
      e = e_new;
      ve = S::set(e);
      vlimit = S::set(e + L::headroom);
    }
    nmax = S::max(nmax, nk);
    for (std::size_t u = 0; u < k; ++u) r[u] = E::reduce_given(v[u], nv[u]);
    E::poly_steps(r, q, k);
    for (std::size_t u = 0; u < k; ++u) v[u] = S::ldexp(S::fma(r[u], q[u], S::set(T(1))), S::sub(nv[u], ve));
  };

  std::size_t i = 0;
  for (; i + K * W <= n; i += K * W) {
    prefetch_ahead<S, K>(x + i);  // 2^26 floats: 0.61 -> 0.45-0.54 ns an element
    V v[K];
    for (std::size_t u = 0; u < K; ++u) v[u] = S::load(x + i + u * W);
    block(v, K);
    for (std::size_t u = 0; u < K; ++u) S::acc_add(acc[u % U], v[u]);
  }
  const std::size_t whole = (n - i) / W, tail = (n - i) % W, k = whole + (tail ? 1 : 0);
  if (k > 0) {
    V v[K];
    for (std::size_t u = 0; u < whole; ++u) v[u] = S::load(x + i + u * W);
    if (tail) v[whole] = S::load_tail(x + i + whole * W, tail, x[0]);
    block(v, k);
    if (tail) v[whole] = S::tail_zero(v[whole], tail);
    for (std::size_t u = 0; u < k; ++u) S::acc_add(acc[u % U], v[u]);
  }

  // Renormalise to the largest exponent, so that s is in [1/sqrt(2), n sqrt(2)].
  const double s = acc_total<S>(acc);
  const double emax = hmax<S>(nmax);
  const double s_top = std::ldexp(s, static_cast<int>(std::fmax(double(e) - emax, -2000.0)));
  const bool usable = std::isfinite(s_top) && s_top > 0.0 && std::fabs(emax) <= L::usable;
  return {s_top, emax, usable};
}

// --------------------------------------------------------------------------------- vscaleextexp
// The Two-Pass algorithm's second pass: y_i = c * p_i * 2^(n_i - e), (p_i, n_i) recomputed from x_i.
// `stream`: y is written around the caches (S::stream, where the code path has it) once aligned,
// for outputs far larger than them: each line of y is then not read before it is written.
template <class S, class = void>
struct has_stream : std::false_type {};
template <class S>
struct has_stream<S, std::void_t<decltype(&S::stream)>> : std::true_type {};

// The elements of y before its first vector-aligned one (at most n), for y aligned to its elements:
// the part a streamed pass writes with a masked store.
template <class S>
std::size_t vector_head(const typename S::T* y, std::size_t n) {
  constexpr std::size_t bytes = sizeof(typename S::V);
  const auto addr = reinterpret_cast<std::uintptr_t>(y);
  return std::min(n, (bytes - addr % bytes) % bytes / sizeof(typename S::T));
}

template <class S, bool stream = false>
void vscaleextexp(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T c, typename S::T e) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  using C = ExpConstants<T>;
  constexpr std::size_t W = S::W;
  constexpr std::size_t K = 2 * U;  // vectors in flight, their steps interleaved (as extexp_terms)
  // Streamed, one vector at a time: 2 or 4 in flight made the pass slower there (2^26 floats: 0.53
  // -> 0.60-0.66 ns an element), though faster in cache (0.16 -> 0.135).
  constexpr std::size_t K_streamed = 1;
  const V clamp = S::set(ExtExpLimits<T>::clamp), log2e = S::set(C::log2e), vc = S::set(c), ve = S::set(e);
  // c p 2^(n - e) for k <= K vectors, with c p = c + (r c) p(r) rounded once (Exp::scaled_expr).
  auto block = [&](V(&v)[K], std::size_t k) {
    V nv[K], r[K], q[K];
    for (std::size_t u = 0; u < k; ++u) {
      v[u] = S::max(clamp, v[u]);
      nv[u] = S::round(S::mul(v[u], log2e));
    }
    for (std::size_t u = 0; u < k; ++u) r[u] = E::reduce_given(v[u], nv[u]);
    E::poly_steps(r, q, k);
    for (std::size_t u = 0; u < k; ++u) v[u] = S::ldexp(S::fma(S::mul(r[u], vc), q[u], vc), S::sub(nv[u], ve));
  };
  auto whole_blocks = [&](std::size_t i, std::size_t k, auto&& put) {
    for (; i + k * W <= n; i += k * W) {
      V v[K];
      for (std::size_t u = 0; u < k; ++u) {
        prefetch_ahead<S, 1>(x + i + u * W);  // 2^26 floats, streamed: 0.54 -> 0.48 ns an element
        v[u] = S::load(x + i + u * W);
      }
      block(v, k);
      for (std::size_t u = 0; u < k; ++u) put(y + i + u * W, v[u]);
    }
    return i;
  };
  std::size_t i = 0;
  if constexpr (stream && has_stream<S>::value) {
    if (reinterpret_cast<std::uintptr_t>(y) % sizeof(T) == 0) {
      // Up to the first aligned vector with a masked store, then whole blocks streamed.
      const std::size_t head = vector_head<S>(y, n);
      if (head) {
        V v[K] = {S::load_tail(x, head, 0)};
        block(v, 1);
        S::store_tail(y, head, v[0]);
      }
      i = whole_blocks(head, K_streamed, [](T* p, V v) { S::stream(p, v); });
      S::stream_fence();
    }
  }
  i = whole_blocks(i, K, [](T* p, V v) { S::store(p, v); });
  const std::size_t whole = (n - i) / W, tail = (n - i) % W, k = whole + (tail ? 1 : 0);
  if (k > 0) {
    V v[K];
    for (std::size_t u = 0; u < whole; ++u) v[u] = S::load(x + i + u * W);
    if (tail) v[whole] = S::load_tail(x + i + whole * W, tail, 0);
    block(v, k);
    for (std::size_t u = 0; u < whole; ++u) S::store(y + i + u * W, v[u]);
    if (tail) S::store_tail(y + i + whole * W, tail, v[whole]);
  }
}

// -------------------------------------------------------------------------------------- raddonline
// The online normaliser (Milakov & Gimelshein 2018) in one pass: d = sum_i exp(x_i - m) while m moves.
// All lanes share one reference m, raised only when some x_i exceeds m + headroom (then d is rescaled
// by exp(m_old - m_new), computed in double); the true maximum is tracked alongside and d is
// renormalised to it at the end, so the result is the exact pair (max, sum exp(x - max)).
// exp(a - b) for scalars, a - b carried exactly (TwoSum) and, for double data, the exponential taken
// in long double, so that a rescaling adds no more than the final rounding to double. Float data
// (a and b floats, a - b exact in double) need only double's exp.
template <typename T>
inline double exp_diff(double a, double b) {
  if (a == b) return 1.0;
  const double hi = a - b;
  if constexpr (sizeof(T) == 4) return std::exp(hi);
  if (!std::isfinite(hi)) return std::exp(hi);
  const double ap = hi + b, bpp = hi - ap;
  const double lo = (a - ap) - (b + bpp);
  return static_cast<double>(std::exp(static_cast<long double>(hi)) * (1.0L + static_cast<long double>(lo)));
}

template <class S>
OnlineSum raddonline(const typename S::T* x, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  const T headroom = ExtExpLimits<T>::headroom;
  T m = std::isfinite(x[0]) ? x[0] : T(0);
  V vm = S::set(m), vlimit = S::set(m + headroom), one = S::set(T(1));
  V xmax = S::set(-std::numeric_limits<T>::infinity());
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};

  auto step = [&](V xv) {
    if (S::any_greater(xv, vlimit)) {  // rare: raise the reference to this vector's max
      const T m_new = hmax<S>(xv);
      const double f = exp_diff<T>(m, m_new);
      for (std::size_t u = 0; u < U; ++u) S::acc_scale(acc[u], f);
      m = m_new;
      vm = S::set(m);
      vlimit = S::set(m + headroom);
    }
    xmax = S::max(xmax, xv);
    V hi, lo;
    two_diff<S>(xv, vm, hi, lo);
    return E::exp_scaled(hi, lo, one);
  };

  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    prefetch_ahead<S, U>(x + i);  // 2^26 floats: 0.80 -> 0.45 ns an element
    for (std::size_t u = 0; u < U; ++u) S::acc_add(acc[u], step(S::load(x + i + u * W)));
  }
  for (; i + W <= n; i += W) S::acc_add(acc[0], step(S::load(x + i)));
  if (i < n) S::acc_add(acc[1], S::tail_zero(step(S::load_tail(x + i, n - i, x[0])), n - i));

  const double d = acc_total<S>(acc);
  const double top = hmax<S>(xmax);
  const double d_top = d * exp_diff<T>(m, top);
  const bool usable = std::isfinite(top) && std::isfinite(d_top) && d_top > 0.0 && std::isfinite(d);
  return {top, d_top, usable, double(m), d};
}

// --------------------------------------------------------------------------------------- rminmax
// (min_i x_i, max_i x_i): the three-pass kernel's first pass, whose min tells the second pass whether
// the row needs the wide-range exponential. NaN may or may not show (the sums detect it).
template <class S>
struct MinMax {
  typename S::T min, max;
};
template <class S>
MinMax<S> rminmax(const typename S::T* x, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  const T inf = std::numeric_limits<T>::infinity();
  V lo0 = S::set(inf), lo1 = lo0, hi0 = S::set(-inf), hi1 = hi0;
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V a = S::load(x + i), b = S::load(x + i + W);
    hi0 = S::max(hi0, a);
    lo0 = S::min(lo0, a);
    hi1 = S::max(hi1, b);
    lo1 = S::min(lo1, b);
  }
  for (; i + W <= n; i += W) {
    const V a = S::load(x + i);
    hi0 = S::max(hi0, a);
    lo0 = S::min(lo0, a);
  }
  if (i < n) {
    hi1 = S::max(hi1, S::load_tail(x + i, n - i, -inf));
    lo1 = S::min(lo1, S::load_tail(x + i, n - i, inf));
  }
  return {-hmax<S>(S::sub(S::set(T(0)), S::min(lo0, lo1))), hmax<S>(S::max(hi0, hi1))};
}

// A float sum whose every addition is exact up to a carried error: each lane starts at `seed`, at
// least every term, so a + t is a Fast2Sum (|a| >= |t|) and its rounding error t - ((a + t) - a) is
// kept in c. Four vector additions a term, against seven for widening to double on AVX-512; the
// error of c itself stays below 2^-26 of the sum for up to 2^10 terms a lane (callers flush sooner).
template <class S>
struct SeededSum {
  using V = typename S::V;
  V a, c;
  explicit SeededSum(typename S::T seed) : a(S::set(seed)), c(S::set(0)) {}
  void add(V t) {
    const V s = S::add(a, t);
    c = S::add(c, S::sub(t, S::sub(s, a)));
    a = s;
  }
  // The sum over the lanes of two accumulators of (a - seed) + c, in double: a - seed is exact in T,
  // and the lanes are widened and added by the vector unit (a scalar loop here cost as much as the
  // exponentials of a 128-element row).
  static double total2(const SeededSum& x, const SeededSum& y, typename S::T seed) {
    typename S::Acc t[U] = {S::acc_zero(), S::acc_zero()};
    S::acc_add(t[0], S::sub(x.a, S::set(seed)));
    S::acc_add(t[0], x.c);
    S::acc_add(t[1], S::sub(y.a, S::set(seed)));
    S::acc_add(t[1], y.c);
    return acc_total<S>(t);
  }
};

// ------------------------------------------------------------------------------- raddstoreextexp
// y_i = exp(x_i) 2^-e, stored; returns sum_i y_i in double. The three-pass kernel's second pass for
// float data, with the Two-Pass algorithm's pairs exp(x_i) = p_i 2^n_i (Dukhan & Ablavatski)
// normalised by one power of two: the exponential is reduced from x_i itself, so x_i - max is never
// formed (no TwoSum), and with e the n of the max every term is below 2: nothing is rescaled. Rows
// with entries more than ExtExpLimits::narrow below the max (-inf included) take the `wide` variant:
// x clamped, the general ldexp. Only for |max| <= ExtExpLimits::direct (row_kernels.h checks).
template <class S>
typename S::V extexp_n(typename S::V x) {  // round(x log2 e) with one rounding (magic-number trick)
  using C = ExpConstants<typename S::T>;
  return S::sub(S::fma(x, S::set(C::log2e), S::set(C::round_magic)), S::set(C::round_magic));
}
// The k vectors at this offset of a row `ahead` elements on (rows are usually back to back): its x
// for a later first pass, its y for the writes, fetched while this row computes. Prefetches never
// fault, past the array included; a code path whose vectors are shorter than a cache line skips them.
// A null x or y is skipped.
template <class S, std::size_t k>
void prefetch_row_ahead(const typename S::T* x, typename S::T* y, std::size_t ahead) {
  using T = typename S::T;
  if constexpr (k * S::W * sizeof(T) >= 64) {
    for (std::size_t off = 0; off < k * S::W; off += 64 / sizeof(T)) {
      if (x) __builtin_prefetch(x + ahead + off, 0);
      if (y) __builtin_prefetch(y + ahead + off, 1);
    }
  }
}

// exp(v_u) 2^-e for the k <= K vectors at v, in place, step by step across them: each step's k
// operations are independent, so the ~50-cycle chain of one exponential (reduction, polynomial,
// scaling) overlaps the others'. `wide`: v clamped and the general ldexp (see raddstoreextexp).
template <class S, bool wide, std::size_t K>
SOFTLIB_INLINE void extexp_terms(typename S::V* v, std::size_t k, typename S::V ve) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  V nv[K], r[K], q[K];
  for (std::size_t u = 0; u < k; ++u) {
    if constexpr (wide) v[u] = S::max(S::set(ExtExpLimits<T>::clamp), v[u]);  // NaN kept (2nd operand)
    nv[u] = extexp_n<S>(v[u]);
  }
  for (std::size_t u = 0; u < k; ++u) r[u] = E::reduce_given(v[u], nv[u]);
  E::poly_steps(r, q, k);
  for (std::size_t u = 0; u < k; ++u) q[u] = S::fma(q[u], r[u], S::set(T(1)));  // e^r = 1 + r p(r)
  for (std::size_t u = 0; u < k; ++u) {
    if constexpr (wide) {
      v[u] = S::ldexp(q[u], S::sub(nv[u], ve));
    } else {
      v[u] = S::ldexp_normal(q[u], S::sub(nv[u], ve));
    }
  }
}

template <class S, bool wide>
double raddstoreextexp(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T e) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  constexpr std::size_t K = 2 * U;  // vectors in flight, their steps interleaved
  constexpr std::size_t block = 256 * K * W;  // 256 terms a lane between flushes to double
  const V ve = S::set(e);
  auto terms = [&](V(&v)[K], std::size_t k) { extexp_terms<S, wide, K>(v, k, ve); };
  double total = 0.0;
  for (std::size_t b = 0; b < n; b += block) {
    const std::size_t end = std::min(n, b + block);
    SeededSum<S> acc[2] = {SeededSum<S>(T(2)), SeededSum<S>(T(2))};
    std::size_t i = b;
    for (; i + K * W <= end; i += K * W) {
      // The next row (rows are usually back to back): its x for the next first pass, its y for the
      // writes, fetched while this row computes (prefetches never fault, past the array included).
      prefetch_row_ahead<S, K>(x + i, y + i, n);
      V v[K];
      for (std::size_t u = 0; u < K; ++u) v[u] = S::load(x + i + u * W);
      terms(v, K);
      for (std::size_t u = 0; u < K; ++u) S::store(y + i + u * W, v[u]);
      for (std::size_t u = 0; u < K; ++u) acc[u % 2].add(v[u]);
    }
    // The rest: whole vectors, then a masked tail (its lanes past the row read as x[b], then zeroed).
    const std::size_t whole = (end - i) / W, tail = (end - i) % W;
    if (whole + (tail ? 1 : 0) > 0) {
      V v[K];
      for (std::size_t u = 0; u < whole; ++u) v[u] = S::load(x + i + u * W);
      if (tail) v[whole] = S::load_tail(x + i + whole * W, tail, x[b]);
      terms(v, whole + (tail ? 1 : 0));
      for (std::size_t u = 0; u < whole; ++u) {
        S::store(y + i + u * W, v[u]);
        acc[u % 2].add(v[u]);
      }
      if (tail) {
        v[whole] = S::tail_zero(v[whole], tail);
        S::store_tail(y + i + whole * W, tail, v[whole]);
        acc[whole % 2].add(v[whole]);
      }
    }
    total += SeededSum<S>::total2(acc[0], acc[1], T(2));
  }
  return total;
}

// sum_i exp(x_i) 2^-e: raddstoreextexp's terms (the same values, bit for bit), not stored, for the
// float32 log-normaliser (row_kernels.h, log_z_three_pass_extexp). The sum is kept in double lanes,
// not SeededSum's float ones: log d needs the sum of the terms other than the max's to 2^-30 of
// itself, and SeededSum's carried errors, as large as terms below an ULP of the lane, are added in
// float (9 ULP of a log-probability, measured). The next row's x is prefetched, and its y when y is
// not null. `store_diff`: y_i = x_i - m is written as well, log_softmax's first subtraction, so that
// the writes' cache misses overlap the exponentials, as the softmax's stored terms do.
template <class S, bool wide, bool store_diff = false>
double raddextexp2e(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T e, typename S::T m = 0) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  constexpr std::size_t K = 2 * U;
  const V ve = S::set(e), vm = S::set(m);
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  std::size_t i = 0;
  for (; i + K * W <= n; i += K * W) {
    prefetch_row_ahead<S, K>(x + i, y ? y + i : nullptr, n);
    V v[K];
    for (std::size_t u = 0; u < K; ++u) v[u] = S::load(x + i + u * W);
    if constexpr (store_diff) {
      for (std::size_t u = 0; u < K; ++u) S::store(y + i + u * W, S::sub(v[u], vm));
    }
    extexp_terms<S, wide, K>(v, K, ve);
    for (std::size_t u = 0; u < K; ++u) S::acc_add(acc[u % 2], v[u]);
  }
  const std::size_t whole = (n - i) / W, tail = (n - i) % W, k = whole + (tail ? 1 : 0);
  if (k > 0) {
    V v[K];
    for (std::size_t u = 0; u < whole; ++u) v[u] = S::load(x + i + u * W);
    if (tail) v[whole] = S::load_tail(x + i + whole * W, tail, x[0]);
    if constexpr (store_diff) {
      for (std::size_t u = 0; u < whole; ++u) S::store(y + i + u * W, S::sub(v[u], vm));
      if (tail) S::store_tail(y + i + whole * W, tail, S::sub(v[whole], vm));
    }
    extexp_terms<S, wide, K>(v, k, ve);
    if (tail) v[whole] = S::tail_zero(v[whole], tail);
    for (std::size_t u = 0; u < k; ++u) S::acc_add(acc[u % 2], v[u]);
  }
  return acc_total<S>(acc);
}

// --------------------------------------------------------------------------------------- vscale2
// y_i = y_i c_hi + y_i c_lo: y times c = c_hi + c_lo (1/s to about 48 bits) rounded once, so that no
// probability exceeds 1 and a row's lone entry gives exactly 1.
// v (c_hi + c_lo), rounded once.
template <class S>
typename S::V times2(typename S::V v, typename S::V c_hi, typename S::V c_lo) {
  return S::fma(v, c_hi, S::mul(v, c_lo));
}
template <class S>
void vscale2(typename S::T* y, std::size_t n, typename S::T c_hi, typename S::T c_lo) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  const V vh = S::set(c_hi), vl = S::set(c_lo);
  auto f = [&](V v) { return times2<S>(v, vh, vl); };
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) S::store(y + i + u * W, f(S::load(y + i + u * W)));
  }
  for (; i + W <= n; i += W) S::store(y + i, f(S::load(y + i)));
  if (i < n) S::store_tail(y + i, n - i, f(S::load_tail(y + i, n - i, 0)));
}

// e^(m - e ln 2) in double: the exact value of the max's term exp(m) 2^-e (|m - e ln 2| <= ln 2 / 2;
// e ln 2 = e ln2_hi, exact, + e ln2_lo).
inline double max_term_exact(double m, double e) {
  using C = ExpConstants<double>;
  return std::exp((m - e * C::ln2_hi) - e * C::ln2_lo);
}

// extexp_terms on K vectors of a row whose max is m and min mn, the narrow variant where the row
// allows it and the wide one costs more (see raddstoreextexp).
template <class S, std::size_t K>
SOFTLIB_INLINE void extexp_terms_for(typename S::V (&v)[K], typename S::V ve, typename S::T m, typename S::T mn) {
  if (wide_is_free<S>::value || !(mn >= m - ExtExpLimits<typename S::T>::narrow)) {
    extexp_terms<S, true, K>(v, K, ve);
  } else {
    extexp_terms<S, false, K>(v, K, ve);
  }
}

// The row's (min, max) from lane-wise min and max vectors; the min only where it picks the
// exponentials' variant (wide_is_free: the max stands in).
template <class S>
SOFTLIB_INLINE MinMax<S> min_max_of(typename S::V hi, typename S::V lo) {
  using T = typename S::T;
  const T m = hmax<S>(hi);
  return {wide_is_free<S>::value ? m : -hmax<S>(S::sub(S::set(T(0)), lo)), m};
}

// The terms of a short row held in v, its max m and min mn known (see short_row_terms).
template <class S, std::size_t k, bool with_max>
SOFTLIB_INLINE void short_row_terms_from(typename S::V (&v)[k + with_max], std::size_t n, typename S::T m,
                                         typename S::T mn, typename S::V& ve, double* t) {
  using T = typename S::T;
  constexpr std::size_t W = S::W;
  ve = extexp_n<S>(S::set(m));
  if constexpr (with_max) {
    v[k] = S::set(m);
    if constexpr (!has_double<S>::value) {  // with double vectors, a block of rows' at once (LogShort)
      T e[W];
      S::to_array(ve, e);
      *t = max_term_exact(m, e[0]);
    }
  }
  extexp_terms_for<S, k + with_max>(v, ve, m, mn);
  v[k - 1] = S::tail_zero(v[k - 1], n - (k - 1) * W);
}

// --------------------------------------------------------------------------------- softmax_short
// The float32 three-pass kernels for a row of at most 8 vectors, held in registers: one read (and
// one write), no loops (k = the row's vector count, a template argument; the exponentials four at a
// time). short_row_terms, their shared start: v[u] = exp(x) 2^-e for the row's k vectors (the lanes
// past the row read as x[0], which moves neither max nor min, then zeroed), and with `with_max`
// v[k] = the max's own term as they compute it and *t its exact value (max_term_exact, called before
// the exponentials so that its latency hides behind theirs); m the max, e its n. A row 4 rows on is
// prefetched (y null: x only). false: the row needs the general kernels (a non-finite or |max| >
// direct row).
template <class S, std::size_t k, bool with_max>
SOFTLIB_INLINE bool short_row_terms(const typename S::T* x, typename S::T* y, std::size_t n,
                                    typename S::V (&v)[k + with_max], typename S::T& m, typename S::V& ve,
                                    double* t = nullptr) {
  using T = typename S::T;
  using V = typename S::V;
  using L = ExtExpLimits<T>;
  constexpr std::size_t W = S::W;
  const std::size_t tail = n - (k - 1) * W;  // 1..W lanes in the last vector
  // A row of 128 floats is computed in about the latency of L3: fetch 4 rows on (measured: 37.5
  // ns a row with the next row, 35.5 with 2 to 8 rows on, 35 in L1, at 4096x128).
  prefetch_row_ahead<S, k>(x, y, 4 * n);
  for (std::size_t u = 0; u + 1 < k; ++u) v[u] = S::load(x + u * W);
  v[k - 1] = S::load_tail(x + (k - 1) * W, tail, x[0]);
  V hi = v[0], lo = v[0];
  for (std::size_t u = 1; u < k; ++u) {
    hi = S::max(hi, v[u]);
    if constexpr (!wide_is_free<S>::value) lo = S::min(lo, v[u]);
  }
  const MinMax<S> r = min_max_of<S>(hi, lo);
  m = r.max;
  if (!(std::fabs(m) <= L::direct)) return false;  // NaN, +-inf or beyond the direct range
  short_row_terms_from<S, k, with_max>(v, n, m, r.min, ve, t);
  return true;
}

// y = v / sum(v) for a short row's k vectors of terms (their lanes past n zero): the sum in double,
// the scale by 1/s held to 48 bits (times2). false, nothing written: the sum is not finite (a NaN the
// max did not show).
template <class S, std::size_t k>
SOFTLIB_INLINE bool short_row_normalise(const typename S::V (&v)[k], typename S::T* y, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  for (std::size_t u = 0; u < k; ++u) S::acc_add(acc[u % 2], v[u]);
  const double s = acc_total<S>(acc);
  if (!std::isfinite(s)) return false;
  const double c = 1.0 / s;
  const V vh = S::set(T(c)), vl = S::set(T(c - double(T(c))));
  for (std::size_t u = 0; u + 1 < k; ++u) S::store(y + u * W, times2<S>(v[u], vh, vl));
  S::store_tail(y + (k - 1) * W, n - (k - 1) * W, times2<S>(v[k - 1], vh, vl));
  return true;
}

template <class S, std::size_t k>
bool softmax_short(const typename S::T* x, typename S::T* y, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  V v[k], ve;
  T m;
  if (!short_row_terms<S, k, false>(x, y, n, v, m, ve)) return false;
  return short_row_normalise<S, k>(v, y, n);
}

// ---------------------------------------------------------------------------- short_rows_pipelined
// Whether S has 32 vector registers (S::registers), room for a row in flight and the next row's max.
template <class S, class = void>
struct has_32_registers : std::false_type {};
template <class S>
struct has_32_registers<S, std::void_t<decltype(S::registers)>> : std::bool_constant<S::registers >= 32> {};

// The max of a short row of k vectors, and its min where the exponentials' variant depends on it.
template <class S, std::size_t k>
SOFTLIB_INLINE MinMax<S> short_row_min_max(const typename S::T* x, std::size_t n) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  V hi = S::load_tail(x + (k - 1) * W, n - (k - 1) * W, x[0]), lo = hi;  // x[0] moves neither
  for (std::size_t u = 0; u + 1 < k; ++u) {
    const V a = S::load(x + u * W);
    hi = S::max(hi, a);
    if constexpr (!wide_is_free<S>::value) lo = S::min(lo, a);
  }
  return min_max_of<S>(hi, lo);
}

// The short-row kernels over `rows` rows of a strided array (row r at x + r sx, y + r sy), pipelined:
// the next row's max is found while this row's exponentials run. One row's chain (load, max,
// exponentials, sum, 1/s or log, last pass) is longer than its arithmetic, and the max heads it:
// found a row early, it leaves the chain (measured at 4096x128 on AVX-512, y off a cache line:
// softmax 45.7 -> 39.7 ns a row, log_softmax 75 -> 63). finish(v, xr, yr, m, ve, t) ends a row from
// its terms (short_row_terms_from: v, ve, and with_max v[k], t); false stops. Returns the rows done:
// it stops before a row it cannot take (non-finite, |max| > direct), for the caller's general kernel.
// y_rows: y holds rows (prefetched 4 rows on), not one scalar a row (logsumexp).
template <class S, std::size_t k, bool with_max, bool y_rows, class Finish>
SOFTLIB_INLINE std::size_t short_rows_pipelined(const typename S::T* x, std::ptrdiff_t sx, typename S::T* y,
                                                std::ptrdiff_t sy, std::size_t rows, std::size_t n, Finish&& finish) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  MinMax<S> next = short_row_min_max<S, k>(x, n);
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x + static_cast<std::ptrdiff_t>(r) * sx;
    T* yr = y + static_cast<std::ptrdiff_t>(r) * sy;
    const MinMax<S> now = next;
    if (!(std::fabs(now.max) <= ExtExpLimits<T>::direct)) return r;  // NaN, +-inf or beyond
    // 4 rows on (see short_row_terms).
    if (sx > 0) prefetch_row_ahead<S, k>(xr, nullptr, 4 * static_cast<std::size_t>(sx));
    if (y_rows && sy > 0) prefetch_row_ahead<S, k>(nullptr, yr, 4 * static_cast<std::size_t>(sy));
    V v[k + with_max], ve;
    double t = 0.0;
    for (std::size_t u = 0; u + 1 < k; ++u) v[u] = S::load(xr + u * W);
    v[k - 1] = S::load_tail(xr + (k - 1) * W, n - (k - 1) * W, xr[0]);
    short_row_terms_from<S, k, with_max>(v, n, now.max, now.min, ve, &t);
    if (r + 1 < rows) next = short_row_min_max<S, k>(xr + sx, n);
    if (!finish(v, xr, yr, now.max, ve, t)) return r;
  }
  return rows;
}
template <class S, std::size_t k>
std::size_t softmax_short_rows(const typename S::T* x, std::ptrdiff_t sx, typename S::T* y, std::ptrdiff_t sy,
                               std::size_t rows, std::size_t n) {
  return short_rows_pipelined<S, k, false, true>(
      x, sx, y, sy, rows, n,
      [n](const auto& v, const auto*, auto* yr, auto, auto, double) { return short_row_normalise<S, k>(v, yr, n); });
}

// ----------------------------------------------------------------------------- raddextexp2e_short
// The float32 log-normaliser's passes for a row of at most 8 vectors, in registers: the max m, e its
// n, s = sum_i exp(x_i) 2^-e (raddstoreextexp's terms, in double lanes) and q, the max's own term as
// those terms compute it. y: log_softmax's output, prefetched, or null. false: as softmax_short.
struct ExpSum2e {
  double m, e, s, q, t;  // t: q's exact value, e^(m - e ln 2) (left 0 where S::Double computes it)
};
// The ExpSum2e of a short row from its terms (short_row_terms_from with the max's own term).
template <class S, std::size_t k>
SOFTLIB_INLINE ExpSum2e short_row_sum2e(const typename S::V (&v)[k + 1], typename S::T m, typename S::V ve, double t) {
  using T = typename S::T;
  constexpr std::size_t W = S::W;
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  for (std::size_t u = 0; u < k; ++u) S::acc_add(acc[u % 2], v[u]);
  T q[W], e[W];
  S::to_array(v[k], q);
  S::to_array(ve, e);
  return {double(m), double(e[0]), acc_total<S>(acc), double(q[0]), t};
}
template <class S, std::size_t k>
bool raddextexp2e_short(const typename S::T* x, typename S::T* y, std::size_t n, ExpSum2e& out) {
  using T = typename S::T;
  using V = typename S::V;
  V v[k + 1], ve;
  T m;
  double t;
  if (!short_row_terms<S, k, true>(x, y, n, v, m, ve, &t)) return false;
  out = short_row_sum2e<S, k>(v, m, ve, t);
  return std::isfinite(out.s);  // false: a NaN the max did not show
}

// ------------------------------------------------------------------------------------ vsubtract2
// y_i = (x_i - hi) - lo: log-softmax from the log-normaliser hi + lo. `stream`: y written around the
// caches from its first aligned vector on, as vscaleextexp's (a 2^24-float row: 1.06 -> 0.71 ns an
// element, with the online pass before it).
template <class S, bool stream = false>
void vsubtract2(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T hi, typename S::T lo) {
  using V = typename S::V;
  constexpr std::size_t W = S::W;
  constexpr std::size_t K = 2 * U;  // two dependent subtractions each: 4 vectors in flight
  const V vh = S::set(hi), vl = S::set(lo);
  auto f = [&](V v) { return S::sub(S::sub(v, vh), vl); };
  std::size_t i = 0;
  if constexpr (stream && has_stream<S>::value) {
    if (reinterpret_cast<std::uintptr_t>(y) % sizeof(typename S::T) == 0) {
      const std::size_t head = vector_head<S>(y, n);
      if (head) S::store_tail(y, head, f(S::load_tail(x, head, 0)));
      for (i = head; i + W <= n; i += W) {
        prefetch_ahead<S, 1>(x + i);
        S::stream(y + i, f(S::load(x + i)));
      }
      S::stream_fence();
    }
  }
  for (; i + K * W <= n; i += K * W) {
    for (std::size_t u = 0; u < K; ++u) S::store(y + i + u * W, f(S::load(x + i + u * W)));
  }
  for (; i + W <= n; i += W) S::store(y + i, f(S::load(x + i)));
  if (i < n) S::store_tail(y + i, n - i, f(S::load_tail(x + i, n - i, 0)));
}

// -------------------------------------------------------------------------------------------- vexp
// y_i = exp(x_i), for x_i <= ln(max): the exp kernel on its own, for the exhaustive accuracy test.
template <class S>
void vexp(const typename S::T* x, typename S::T* y, std::size_t n) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  const V zero = S::set(T(0)), one = S::set(T(1));
  std::size_t i = 0;
  for (; i + W <= n; i += W) S::store(y + i, E::exp_scaled(S::load(x + i), zero, one));
  if (i < n) S::store_tail(y + i, n - i, E::exp_scaled(S::load_tail(x + i, n - i, 0), zero, one));
}

}  // namespace
}  // namespace softlib::mk
