// The operators layer (operators.h): thread splitting and the merges of split rows, over one code
// path's row kernels. Instantiated below for float and double.
#include "operators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "threads.h"

namespace softlib::operators {
namespace {

// One long row split across threads: per-piece online (m, d), merged. Returns false when some
// piece is not usable (non-finite input): the caller runs the row whole.
template <typename T>
bool split_row_normaliser(const Kernels<T>& k, const T* x, std::size_t n, int threads, double& m, double& d) {
  std::vector<OnlineSum> parts(static_cast<std::size_t>(threads));
  parallel_for(n, threads, [&](std::size_t b, std::size_t e, int t) {
    parts[static_cast<std::size_t>(t)] = e > b ? k.online_sum(x + b, e - b) : OnlineSum{0, 0, false, 0, 0};
  });
  m = -INFINITY;
  for (const auto& p : parts) {
    if (!p.usable) return false;
    m = std::max(m, p.m);
  }
  d = 0.0;
  for (const auto& p : parts) d += p.d * exp_difference(p.m, m);
  return std::isfinite(d) && d > 0.0;
}

// Whether rows are split into pieces: fewer rows than threads, and long enough to pay.
bool split_rows(int nt, std::size_t rows, std::size_t n) {
  return nt > 1 && rows < static_cast<std::size_t>(nt) && n >= split_row_min;
}

// StableMax of one long row split across threads: the pieces' sums of s(x), added, then the pass.
template <typename T>
void stablemax_split_row(Op op, const Kernels<T>& k, const T* x, T* y, std::size_t n, int nt) {
  std::vector<double> parts(static_cast<std::size_t>(nt), 0.0);
  parallel_for(n, nt, [&](std::size_t b, std::size_t e, int t) {
    if (e > b) parts[static_cast<std::size_t>(t)] = k.stablemax_sum(x + b, e - b);
  });
  double sum = 0.0;
  for (double p : parts) sum += p;
  if (!std::isfinite(sum)) {  // NaN or +inf in the row, or a float64 sum past DBL_MAX: the row kernel knows
    (op == Op::stablemax ? k.stablemax : k.log_stablemax)(x, y, n);
    return;
  }
  parallel_for(n, nt, [&](std::size_t b, std::size_t e, int) {
    if (e <= b) return;
    (op == Op::stablemax ? k.stablemax_scale : k.log_stablemax_apply)(x + b, y + b, e - b, sum);
  });
}

// One long row split across threads, by the Two-Pass algorithm: per-piece (s, e) pairs, sum exp(x) =
// s 2^e, merged (exact powers of two). False when some piece is not usable: the caller runs the row whole.
template <typename T>
bool split_row_extexp(const Kernels<T>& k, const T* x, std::size_t n, int threads, double& s, double& e) {
  std::vector<ExtExpSum> parts(static_cast<std::size_t>(threads), ExtExpSum{0, 0, false});
  parallel_for(n, threads, [&](std::size_t b, std::size_t end, int t) {
    if (end > b) parts[static_cast<std::size_t>(t)] = k.extexp_sum(x + b, end - b);
  });
  e = -INFINITY;
  for (const auto& p : parts) {
    if (!p.usable) return false;
    e = std::max(e, p.e);
  }
  s = 0.0;
  for (const auto& p : parts) s += std::ldexp(p.s, static_cast<int>(std::fmax(p.e - e, -2000.0)));
  return std::isfinite(s) && s > 0.0;
}

// softmax of one long row split across threads: the Two-Pass algorithm, as `auto` runs such a row on
// one thread (its pieces merged, then its second pass). log_softmax: merged (m, d), then y = (x - m) -
// log d.
template <typename T>
void softmax_split_row(Op op, const Kernels<T>& k, const T* x, T* y, std::size_t n, int nt) {
  if (op == Op::softmax) {
    double s, e;
    if (!split_row_extexp(k, x, n, nt, s, e)) return k.softmax[three_pass](x, y, n);
    parallel_for(n, nt, [&](std::size_t b, std::size_t end, int) {
      if (end > b) k.scale_extexp(x + b, y + b, end - b, T(1.0 / s), T(e));
    });
    return;
  }
  double m, d;
  // A row the pieces cannot normalise (non-finite input), or one dominated by its max (log d near 0
  // must come from log1p of the other terms: row_kernels.h), runs whole on this thread.
  if (!split_row_normaliser(k, x, n, nt, m, d) || d < dominated_below<T>) return k.log_softmax[three_pass](x, y, n);
  const double ld = std::log(d);
  parallel_for(n, nt, [&](std::size_t b, std::size_t e, int) {
    // (x - m) - log d: m is a value of T, and log d >= 0 is kept whole (as the row kernels do).
    if (e > b) k.subtract2(x + b, y + b, e - b, T(m), T(ld));
  });
}

// softmax_topk of one row: the fused pass (split across `nt` threads for a long row, the pieces'
// (m, d) and candidates merged), then k exponentials. kk <= n.
template <typename T>
void topk_row(const Kernels<T>& k, const T* x, std::size_t n, std::size_t kk, T* probs, std::int64_t* idx, int nt) {
  auto before = [x](std::int64_t a, std::int64_t b) {  // value descending, ties to the lower index
    return x[a] > x[b] || (x[a] == x[b] && a < b);
  };
  const bool split = nt > 1 && n >= split_row_min;
  const std::size_t pieces = split ? static_cast<std::size_t>(nt) : 1;
  std::vector<T> vals(pieces * kk);
  std::vector<std::int64_t> cand(pieces * kk, -1);
  std::vector<OnlineSum> sums(pieces);
  constexpr std::size_t fused_max_k = 64;  // beyond, insertion into the sorted list costs too much
  const bool fused = kk <= fused_max_k;
  if (!fused) {
    sums[0] = k.online_sum(x, n);
    std::vector<std::int64_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::int64_t>(i);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), order.end(), before);
    std::copy(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), cand.begin());
  } else {
    parallel_for(n, static_cast<int>(pieces), [&](std::size_t b, std::size_t e, int t) {
      const std::size_t kt = std::min(kk, e - b);
      T* v = vals.data() + static_cast<std::size_t>(t) * kk;
      std::int64_t* ix = cand.data() + static_cast<std::size_t>(t) * kk;
      sums[static_cast<std::size_t>(t)] =
          e > b ? k.online_topk(x + b, e - b, kt, v, ix, static_cast<std::int64_t>(b)) : OnlineSum{0, 0, false, 0, 0};
    });
  }
  const std::size_t used = fused ? pieces : 1;
  // Merge the pieces: (m, d) as the online normaliser does; candidates by value, then index.
  double m = -INFINITY, d = 0.0;
  bool usable = true;
  for (std::size_t t = 0; t < used; ++t) {
    usable = usable && sums[t].usable;
    if (sums[t].usable) m = std::max(m, sums[t].m);
  }
  if (usable) {
    for (std::size_t t = 0; t < used; ++t) d += sums[t].d * exp_difference(sums[t].m, m);
    usable = std::isfinite(d) && d > 0.0;
  }
  if (!usable) {  // NaN or +inf in the row, or only -inf: the softmax is all NaN, ties to lower index
    for (std::size_t j = 0; j < kk; ++j) {
      probs[j] = std::numeric_limits<T>::quiet_NaN();
      idx[j] = static_cast<std::int64_t>(j);
    }
    return;
  }
  // float64: the normaliser again in long double from each piece's own reference (m_ref, d_ref),
  // free of the rescalings' roundings to double, so a probability is rounded once (<= 3 ULP).
  long double d_ld = 0.0L;
  if constexpr (sizeof(T) == 8) {
    for (std::size_t t = 0; t < used; ++t) {
      if (sums[t].d_ref > 0.0) d_ld += static_cast<long double>(sums[t].d_ref) * expl_difference(sums[t].m_ref, m);
    }
  }
  std::vector<std::int64_t> all;
  for (std::int64_t c : cand) {
    if (c >= 0) all.push_back(c);
  }
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kk), all.end(), before);
  for (std::size_t j = 0; j < kk; ++j) {
    const std::int64_t c = all[j];
    idx[j] = c;
    if constexpr (sizeof(T) == 4) {
      probs[j] = T(std::exp(double(x[c]) - m) / d);
    } else {
      probs[j] = T(expl_difference(x[c], m) / d_ld);
    }
  }
}

}  // namespace

template <typename T>
void elementwise(Op op, const Kernels<T>& k, Isa isa, const Rows<const T>& x, const Rows<T>& y, int algorithm,
                 int threads) {
  if (algorithm == auto_choice) algorithm = auto_algorithm(op, x.n, sizeof(T), isa);
  if (algorithm < 0 || algorithm >= n_algorithms) throw std::invalid_argument("unknown algorithm");
  if (op == Op::logsumexp) throw std::invalid_argument("logsumexp is not elementwise");
  const int nt = thread_count(threads, x.rows * x.n);
  const bool stable = op == Op::stablemax || op == Op::log_stablemax;
  if (split_rows(nt, x.rows, x.n)) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      if (stable) {
        stablemax_split_row(op, k, x.row(r), y.row(r), x.n, nt);
      } else {
        softmax_split_row(op, k, x.row(r), y.row(r), x.n, nt);
      }
    }
    return;
  }
  if (op == Op::softmax || op == Op::log_softmax) {  // the rows kernels: short rows pipelined
    RowsKernel<T> rows = op == Op::softmax ? k.softmax_rows[algorithm] : k.log_softmax_rows[algorithm];
    parallel_for(x.rows, nt,
                 [&](std::size_t b, std::size_t e, int) { rows(x.row(b), x.stride, y.row(b), y.stride, e - b, x.n); });
    return;
  }
  RowKernel<T> kernel = op == Op::stablemax ? k.stablemax : k.log_stablemax;
  parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) kernel(x.row(r), y.row(r), x.n);
  });
}

template <typename T>
void logsumexp(const Kernels<T>& k, const Rows<const T>& x, T* out, std::ptrdiff_t out_stride, int threads) {
  const int nt = thread_count(threads, x.rows * x.n);
  if (split_rows(nt, x.rows, x.n)) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      double m, d;
      const bool whole = !split_row_normaliser(k, x.row(r), x.n, nt, m, d) || d < dominated_below<T>;
      out[static_cast<std::ptrdiff_t>(r) * out_stride] = whole ? k.logsumexp(x.row(r), x.n) : T(m + std::log(d));
    }
    return;
  }
  parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    k.logsumexp_rows(x.row(b), x.stride, out + static_cast<std::ptrdiff_t>(b) * out_stride, out_stride, e - b, x.n);
  });
}

template <typename T>
void softmax_topk(const Kernels<T>& k, const Rows<const T>& x, std::size_t kk, const Rows<T>& probs,
                  const Rows<std::int64_t>& indices, int threads) {
  const int nt = thread_count(threads, x.rows * x.n);
  if (nt > 1 && x.rows < static_cast<std::size_t>(nt)) {
    for (std::size_t r = 0; r < x.rows; ++r) topk_row(k, x.row(r), x.n, kk, probs.row(r), indices.row(r), nt);
    return;
  }
  parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) topk_row(k, x.row(r), x.n, kk, probs.row(r), indices.row(r), 1);
  });
}

#define SOFTLIB_INSTANTIATE(T)                                                                              \
  template void elementwise<T>(Op, const Kernels<T>&, Isa, const Rows<const T>&, const Rows<T>&, int, int); \
  template void logsumexp<T>(const Kernels<T>&, const Rows<const T>&, T*, std::ptrdiff_t, int);             \
  template void softmax_topk<T>(const Kernels<T>&, const Rows<const T>&, std::size_t, const Rows<T>&,       \
                                const Rows<std::int64_t>&, int);
SOFTLIB_INSTANTIATE(float)
SOFTLIB_INSTANTIATE(double)
#undef SOFTLIB_INSTANTIATE

}  // namespace softlib::operators
