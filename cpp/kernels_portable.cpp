// The portable code path: plain C++ for the target's baseline, which the compiler may vectorise.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace softlib {
namespace {

template <typename T>
T row_max(const T* x, std::size_t n) {
  T m = x[0];
  for (std::size_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// Sum of exp(x - m) accumulated in double, so that the error does not grow with the row length.
template <typename T>
double sum_exp_store(const T* x, T* y, std::size_t n, T m) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::exp(static_cast<double>(x[i]) - static_cast<double>(m));
    y[i] = static_cast<T>(e);
    s += e;
  }
  return s;
}

template <typename T>
void softmax_three_pass(const T* x, T* y, std::size_t n) {
  const T m = row_max(x, n);
  const double s = sum_exp_store(x, y, n, m);
  const double inv = 1.0 / s;
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = static_cast<T>(std::exp(static_cast<double>(x[i]) - static_cast<double>(m)) * inv);
  }
}

// The max used as a shift by the log-domain kernels: a non-finite max is replaced by 0, so that rows
// holding +inf give +inf sums and rows of -inf give zero sums, as in scipy.special.
template <typename T>
T finite_shift(const T* x, std::size_t n) {
  const T m = row_max(x, n);
  return std::isfinite(m) ? m : T(0);
}

template <typename T>
T logsumexp(const T* x, std::size_t n) {
  const T m = finite_shift(x, n);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - static_cast<double>(m));
  return static_cast<T>(static_cast<double>(m) + std::log(s));
}

template <typename T>
void log_softmax(const T* x, T* y, std::size_t n) {
  const T m = finite_shift(x, n);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - static_cast<double>(m));
  const double ls = std::log(s);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = static_cast<T>((static_cast<double>(x[i]) - static_cast<double>(m)) - ls);
  }
}

}  // namespace

const KernelTable& portable_kernels() {
  static const KernelTable table{
      Isa::portable,
      {softmax_three_pass<float>, log_softmax<float>, logsumexp<float>},
      {softmax_three_pass<double>, log_softmax<double>, logsumexp<double>},
  };
  return table;
}

}  // namespace softlib
