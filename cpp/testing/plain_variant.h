// For measurement only: the float32 kernels without issue 3's two accuracy devices, to price them.
// Plain<S> is S with x - max formed in one rounding (no TwoSum) and the normaliser accumulated in
// float lanes (no double). softlib.book.bench times these against the real kernels; nothing else uses them.
#pragma once

#include <cstddef>

namespace softlib {

template <class S>
struct Plain : S {
  using typename S::T;
  using typename S::V;
  static constexpr bool plain = true;
  struct Acc {
    V a;
  };
  static Acc acc_zero() { return {S::set(T(0))}; }
  static void acc_add(Acc& s, V v) { s.a = S::add(s.a, v); }
  static void acc_to_array(const Acc& s, double* hi, double* lo) {
    T t[S::W];
    S::to_array(s.a, t);
    for (std::size_t i = 0; i < S::W; ++i) {
      hi[i] = t[i];
      lo[i] = 0.0;
    }
  }
  static void acc_scale(Acc& s, double f) { s.a = S::mul(s.a, S::set(T(f))); }
};

}  // namespace softlib
