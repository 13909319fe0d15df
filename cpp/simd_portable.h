// The portable "vectors": one float or double, plain C++ with no intrinsics, for any target (x86-64
// baseline, arm64). fma here is a multiply then an add (two roundings; no hardware FMA is assumed),
// and rounding to an integer uses the 1.5 * 2^p magic number, so no libm call sits in a loop.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "exp_constants.h"

namespace softlib::portable {

namespace detail {
template <typename T>
struct Bits;
template <>
struct Bits<float> {
  using U = std::uint32_t;
  static constexpr int mantissa = 23;
};
template <>
struct Bits<double> {
  using U = std::uint64_t;
  static constexpr int mantissa = 52;
};
}  // namespace detail

template <typename TT>
struct Scalar {
  using T = TT;
  using V = T;
  static constexpr std::size_t W = 1;
  static constexpr const char* isa = "portable";
  using C = ExpConstants<T>;

  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V load_tail(const T* p, std::size_t k, T fill) { return k > 0 ? *p : fill; }
  static void store_tail(T* p, std::size_t k, V v) {
    if (k > 0) *p = v;
  }
  static V tail_zero(V v, std::size_t k) { return k > 0 ? v : T(0); }

  static V set(T a) { return a; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V div(V a, V b) { return a / b; }
  static V select_negative(V x, V a, V b) { return x < T(0) ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }  // NaN in either -> b, as the x86 instruction
  static V min(V a, V b) { return a < b ? a : b; }  // NaN in either -> b, as the x86 instruction
  // Nearest integer for |v| < 2^(p-1); larger |v| only occur in rows the kernels send to a fallback.
  static V round(V v) {
    return (v + C::round_magic) - C::round_magic;  // not folded: no -ffast-math
  }
  static V exp2i(V n) {
    const T biased = n + C::exp2_magic;
    typename detail::Bits<T>::U u;
    std::memcpy(&u, &biased, sizeof u);
    u <<= detail::Bits<T>::mantissa;
    T r;
    std::memcpy(&r, &u, sizeof r);
    return r;
  }
  static V ldexp_normal(V v, V n) { return v * exp2i(n); }
  static V ldexp(V v, V n) {
    n = max(T(2 * C::exp2_min), n);
    const V n1 = max(T(C::exp2_min), n);
    return v * exp2i(n1) * exp2i(n - n1);
  }
  static V zero_if_less(V v, V a, T b) { return a < b ? T(0) : v; }
  static bool any_greater(V a, V b) { return a > b; }
  static T reduce_max(V v) { return v; }
  static void to_array(V v, T* out) { *out = v; }
  static V from_array(const T* p) { return *p; }

  // float: plain double sums; double: compensated (TwoSum) hi + lo.
  struct Acc {
    double hi, lo;
  };
  static Acc acc_zero() { return {0.0, 0.0}; }
  static void acc_add(Acc& a, V v) {
    if constexpr (sizeof(T) == 4) {
      a.hi += static_cast<double>(v);
    } else {
      const double s = a.hi + v;
      const double bp = s - a.hi;
      a.lo += (a.hi - (s - bp)) + (v - bp);
      a.hi = s;
    }
  }
  static void acc_to_array(const Acc& a, double* hi, double* lo) {
    *hi = a.hi;
    *lo = a.lo;
  }
  static Acc acc_from_array(const double* hi, const double* lo) { return {*hi, *lo}; }
  static void acc_scale(Acc& a, double f) {
    a.hi *= f;
    a.lo *= f;
  }
  static double acc_total2(const Acc& a, const Acc& b) {
    if constexpr (sizeof(T) == 4) {
      return a.hi + b.hi;
    } else {  // compensated: TwoSum of the two high parts, low parts added
      const double s = a.hi + b.hi, bp = s - a.hi;
      return s + (((a.hi - (s - bp)) + (b.hi - bp)) + (a.lo + b.lo));
    }
  }
};

using F32 = Scalar<float>;
using F64 = Scalar<double>;

}  // namespace softlib::portable
