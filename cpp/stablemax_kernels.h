// StableMax (Prieto et al. 2025, "Grokking at the edge of numerical stability"), generic over a vector
// type S like microkernels.h and compiled once per code path.
//
//   s(x) = x + 1 (x >= 0),  1 / (1 - x) (x < 0);   stablemax_i = s(x_i) / sum_j s(x_j)
//   log_stablemax_i = log s(x_i) - log sum_j s(x_j)
//
// s is positive and grows linearly, so no max is subtracted and nothing overflows for finite float32
// input (the sum is accumulated in double). Non-finite input, as softmax: a row holding NaN or +inf, or
// only -inf, gives NaN everywhere; -inf entries give 0 (log: -inf) since s(-inf) = 0.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "microkernels.h"

namespace softlib::mk {
namespace {

template <class S>
inline typename S::V stable_s(typename S::V x) {
  using T = typename S::T;
  const typename S::V one = S::set(T(1));
  return S::select_negative(x, S::div(one, S::sub(one, x)), S::add(x, one));
}

// sum_i s(x_i), in double (float data) or compensated double (double data).
template <class S>
double raddstablemax(const typename S::T* x, std::size_t n) {
  constexpr std::size_t W = S::W;
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) S::acc_add(acc[u], stable_s<S>(S::load(x + i + u * W)));
  }
  for (; i + W <= n; i += W) S::acc_add(acc[0], stable_s<S>(S::load(x + i)));
  if (i < n) S::acc_add(acc[1], S::tail_zero(stable_s<S>(S::load_tail(x + i, n - i, 0)), n - i));
  return acc_total<S>(acc);
}

// y_i = c s(x_i)
template <class S>
void vscalestablemax(const typename S::T* x, typename S::T* y, std::size_t n, typename S::T c) {
  constexpr std::size_t W = S::W;
  const typename S::V vc = S::set(c);
  std::size_t i = 0;
  for (; i + U * W <= n; i += U * W) {
    for (std::size_t u = 0; u < U; ++u) S::store(y + i + u * W, S::mul(stable_s<S>(S::load(x + i + u * W)), vc));
  }
  for (; i + W <= n; i += W) S::store(y + i, S::mul(stable_s<S>(S::load(x + i)), vc));
  if (i < n) S::store_tail(y + i, n - i, S::mul(stable_s<S>(S::load_tail(x + i, n - i, 0)), vc));
}

// y_i = log s(x_i) - log(sum), with log s(x) = log1p(x) (x >= 0), -log1p(-x) (x < 0): element by
// element through libm (no vector log here), in double for float data and in long double for double
// data: log(sum) is not shifted by a max, so when log s(x_i) and log(sum) nearly cancel, their
// rounding in double would be ulp(log sum), up to 16 ULP of a result near 1.
template <class S>
void vlogstablemax(const typename S::T* x, typename S::T* y, std::size_t n, double sum) {
  using T = typename S::T;
  if constexpr (sizeof(T) == 4) {
    const double L = std::log(sum);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      y[i] = T((v >= 0 ? std::log1p(v) : -std::log1p(-v)) - L);
    }
  } else {
    const long double L = std::log(static_cast<long double>(sum));
    for (std::size_t i = 0; i < n; ++i) {
      const long double v = x[i];
      y[i] = T((v >= 0 ? std::log1p(v) : -std::log1p(-v)) - L);
    }
  }
}

}  // namespace
}  // namespace softlib::mk
