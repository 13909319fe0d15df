// Native threads for the row kernels: how many to use, and a parallel loop over an index range.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>

namespace softlib {

// Inputs smaller than this many elements run on one thread when threads=None: below it, starting a
// thread (tens of microseconds) costs more than it saves (a 2^18-element softmax takes ~100 us).
constexpr std::size_t auto_threads_min = std::size_t(1) << 18;
// A row at least this long may be split across threads (online (m, d) merge) when rows < threads.
constexpr std::size_t split_row_min = std::size_t(1) << 16;

int hardware_threads();

// threads > 0: that many (capped at 256); threads <= 0 (None in Python): all cores when the input
// has at least auto_threads_min elements, else 1.
int thread_count(int threads, std::size_t elements);

// f(begin, end, t) on `threads` contiguous slices of [0, count), slice t on thread t (slice 0 on the
// calling thread). Slices of row ranges never split a row; exceptions are not expected from f.
void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t, std::size_t, int)>& f);

// exp(a - b), with a - b carried exactly (TwoSum) and exp taken in long double, for merging (m, d) pairs.
inline double exp_difference(double a, double b) {
  const double hi = a - b;
  if (!std::isfinite(hi)) return std::exp(hi);
  const double ap = hi + b, bpp = hi - ap;
  const double lo = (a - ap) - (b + bpp);
  return static_cast<double>(std::exp(static_cast<long double>(hi)) * (1.0L + static_cast<long double>(lo)));
}

// exp(a - b) in long double, a - b carried exactly (TwoSum): for results rounded once to double.
inline long double expl_difference(double a, double b) {
  const double hi = a - b;
  if (!std::isfinite(hi)) return std::exp(static_cast<long double>(hi));
  const double ap = hi + b, bpp = hi - ap;
  const double lo = (a - ap) - (b + bpp);
  return std::exp(static_cast<long double>(hi)) * (1.0L + static_cast<long double>(lo));
}

}  // namespace softlib
