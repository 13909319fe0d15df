// The row algorithms, composed from the microkernels, and the table of one code path.
//
//   three_pass            rmax; y = exp(x - m) stored while summed; y *= 1/s           (XNNPACK's operator)
//                         float32: y = exp(x) 2^-e, e the max's binary exponent (no x - m, no
//                         rescaling), rows of <= 8 vectors in registers; the next row prefetched
//   three_pass_recompute  rmax; s = sum exp(x - m); y = exp(x - m) / s
//   two_pass              (s, e) = sum of (p, n) pairs; y = p 2^(n - e) / s             (Dukhan & Ablavatski)
//   online                (m, d) in one pass; y = exp(x - m) / d                        (Milakov & Gimelshein)
//
// Non-finite input follows scipy.special element for element. The fast kernels handle -inf entries
// themselves (exp gives 0); a row holding NaN or +inf, or only -inf, shows up as a non-finite max or
// sum, and such rows take the scalar paths below (softmax: all NaN, as scipy's inf - inf and NaN give;
// log_softmax, logsumexp: scipy's formula with a non-finite max replaced by 0). Rows the Two-Pass and
// online kernels cannot represent (all entries below -2048, say) go to the three-pass kernel.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "kernels.h"
#include "microkernels.h"
#include "operators.h"
#include "softmax_topk_kernels.h"
#include "stablemax_kernels.h"

namespace softlib::rows {
namespace {

template <class S>
struct RowKernels {
  using T = typename S::T;
  static constexpr T nan = std::numeric_limits<T>::quiet_NaN();

  // --- scipy.special's results for rows with NaN, +inf, or only -inf
  static void fill_nan(T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = nan;
  }
  // scipy's shift: the max, or 0 when the max is not finite (NaN anywhere makes it NaN).
  static double scipy_shift(const T* x, std::size_t n) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(x[i])) return 0.0;
      if (x[i] > m) m = x[i];
    }
    return std::isfinite(m) ? m : 0.0;
  }
  static double scipy_log_sum(const T* x, std::size_t n, double shift) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - shift);
    return std::log(s);
  }
  static void log_softmax_scipy(const T* x, T* y, std::size_t n) {
    const double shift = scipy_shift(x, n);
    const double ls = scipy_log_sum(x, n, shift);
    for (std::size_t i = 0; i < n; ++i) y[i] = T((double(x[i]) - shift) - ls);
  }
  static T logsumexp_scipy(const T* x, std::size_t n) {
    const double shift = scipy_shift(x, n);
    return T(scipy_log_sum(x, n, shift) + shift);
  }

  // --- softmax
  static void softmax_three_pass(const T* x, T* y, std::size_t n) {
    if constexpr (sizeof(T) == 4 && !mk::is_plain<S>::value) {
      if (n <= 8 * S::W && short_row(x, y, n)) return;
      const mk::MinMax<S> r = row_min_max(x, n);
      if (!std::isfinite(r.max)) return fill_nan(y, n);
      if (std::fabs(r.max) <= mk::ExtExpLimits<T>::direct) return softmax_three_pass_extexp(x, y, n, r);
      return softmax_three_pass_classic(x, y, n, r.max);
    } else {
      const T m = mk::rmax<S>(x, n);
      if (!std::isfinite(m)) return fill_nan(y, n);
      softmax_three_pass_classic(x, y, n, m);
    }
  }
  // softmax and log_softmax three_pass over rows: float32 rows of <= 8 vectors through the pipelined
  // short kernels where the registers hold them (microkernels.h, short_rows_pipelined; a row they
  // stop at, non-finite or beyond the direct range, takes the general kernel), the rest row by row.
  // AVX2's 16 registers spilled the pipelined row (4096x32: 20 -> 33 ns a row): row by row there.
  template <template <std::size_t> class Short, void (*row)(const T*, T*, std::size_t)>
  static void three_pass_rows(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) {
      if constexpr (sizeof(T) == 4 && !mk::is_plain<S>::value && mk::has_32_registers<S>::value) {
        if (n <= 8 * S::W) {
          const auto at = static_cast<std::ptrdiff_t>(r);
          r += short_rows_of<Short>(x + at * sx, sx, y + at * sy, sy, rows - r, n);
          if (r == rows) return;
        }
      }
      row(x + static_cast<std::ptrdiff_t>(r) * sx, y + static_cast<std::ptrdiff_t>(r) * sy, n);
    }
  }
  // The short kernel for rows of k = ceil(n / W) vectors.
  template <template <std::size_t> class F>
  static std::size_t short_rows_of(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows,
                                   std::size_t n) {
    switch ((n + S::W - 1) / S::W) {
      case 1: return F<1>::run(x, sx, y, sy, rows, n);
      case 2: return F<2>::run(x, sx, y, sy, rows, n);
      case 3: return F<3>::run(x, sx, y, sy, rows, n);
      case 4: return F<4>::run(x, sx, y, sy, rows, n);
      case 5: return F<5>::run(x, sx, y, sy, rows, n);
      case 6: return F<6>::run(x, sx, y, sy, rows, n);
      case 7: return F<7>::run(x, sx, y, sy, rows, n);
      default: return F<8>::run(x, sx, y, sy, rows, n);
    }
  }
  template <std::size_t k>
  struct SoftmaxShort {
    static std::size_t run(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows, std::size_t n) {
      return mk::softmax_short_rows<S, k>(x, sx, y, sy, rows, n);
    }
  };
  // log_softmax (y = x - log Z) and logsumexp (*y = log Z: y = out, sy its stride) from the terms'
  // ExpSum2e and log_z_of_sum, as short_log_z. With double vectors (S::Double) the rows wait in
  // blocks for the vector exp and log (log_d_block): libm's exp and log, a row at a time, took 15 of
  // the 60 ns of a 128-float row. log_softmax writes a block's rows when it ends, rereading x: 32
  // rows of up to 4 vectors (8 KiB), 16 of more, so that x and y stay in L1 (4096x128: 16 rows
  // 48-50 ns a row, 32 rows 50-53).
  template <std::size_t k, bool lse>
  struct LogShort {
    static void write(const T* xr, T* yr, std::size_t n, double m, double log_d) {
      if constexpr (lse) {
        *yr = T(m + log_d);
      } else {
        mk::vsubtract2<S>(xr, yr, n, T(m), T(log_d));
      }
    }
    static std::size_t run(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows, std::size_t n) {
      if constexpr (mk::has_double<S>::value) {
        constexpr std::size_t B = lse || k <= 4 ? 32 : 16;
        mk::ExpSum2e p[B];
        const T* xs[B];
        T* ys[B];
        std::size_t waiting = 0;
        const auto flush = [&] {
          double log_d[B];
          log_d_block<B>(p, xs, waiting, n, log_d);
          for (std::size_t j = 0; j < waiting; ++j) write(xs[j], ys[j], n, p[j].m, log_d[j]);
          waiting = 0;
        };
        const std::size_t done = mk::short_rows_pipelined<S, k, true, !lse>(
            x, sx, y, sy, rows, n, [&](const auto& v, const T* xr, T* yr, T m, typename S::V ve, double t) {
              p[waiting] = mk::short_row_sum2e<S, k>(v, m, ve, t);
              if (!std::isfinite(p[waiting].s)) return false;  // a NaN the max did not show
              xs[waiting] = xr;
              ys[waiting] = yr;
              if (++waiting == B) flush();
              return true;
            });
        if (waiting) flush();
        return done;
      } else {
        return mk::short_rows_pipelined<S, k, true, !lse>(
            x, sx, y, sy, rows, n, [n](const auto& v, const T* xr, T* yr, T m, typename S::V ve, double t) {
              const mk::ExpSum2e p = mk::short_row_sum2e<S, k>(v, m, ve, t);
              if (!std::isfinite(p.s)) return false;  // a NaN the max did not show
              write(xr, yr, n, p.m, log_z_of_sum(xr, n, p).lo);
              return true;
            });
      }
    }
  };
  template <std::size_t k>
  using LogSoftmaxShort = LogShort<k, false>;
  template <std::size_t k>
  using LogsumexpShort = LogShort<k, true>;
  static void logsumexp_into(const T* x, T* out, std::size_t n) { *out = logsumexp(x, n); }
  static void logsumexp_rows(const T* x, std::ptrdiff_t sx, T* out, std::ptrdiff_t so, std::size_t rows,
                             std::size_t n) {
    // auto's normaliser (log_z_auto): three_pass for the rows the short kernels take.
    three_pass_rows<LogsumexpShort, logsumexp_into>(x, sx, out, so, rows, n);
  }
  static void softmax_three_pass_rows(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows,
                                      std::size_t n) {
    three_pass_rows<SoftmaxShort, softmax_three_pass>(x, sx, y, sy, rows, n);
  }
  static void log_softmax_three_pass_rows(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows,
                                          std::size_t n) {
    three_pass_rows<LogSoftmaxShort, log_softmax_three_pass>(x, sx, y, sy, rows, n);
  }
  // A row kernel over rows, one at a time.
  template <void (*f)(const T*, T*, std::size_t)>
  static void rows_of(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) {
      f(x + static_cast<std::ptrdiff_t>(r) * sx, y + static_cast<std::ptrdiff_t>(r) * sy, n);
    }
  }
  // The max, and the min where it picks the narrow variant of the float32 exponentials (with a
  // one-instruction ldexp the wide one costs the same, and the min is not looked for).
  static mk::MinMax<S> row_min_max(const T* x, std::size_t n) {
    if constexpr (mk::wide_is_free<S>::value) {
      return {-std::numeric_limits<T>::infinity(), mk::rmax<S>(x, n)};
    } else {
      return mk::rminmax<S>(x, n);
    }
  }
  // Rows of up to 8 vectors in registers (microkernels.h, softmax_short); false: the general path.
  static bool short_row(const T* x, T* y, std::size_t n) {
    switch ((n + S::W - 1) / S::W) {
      case 1: return mk::softmax_short<S, 1>(x, y, n);
      case 2: return mk::softmax_short<S, 2>(x, y, n);
      case 3: return mk::softmax_short<S, 3>(x, y, n);
      case 4: return mk::softmax_short<S, 4>(x, y, n);
      case 5: return mk::softmax_short<S, 5>(x, y, n);
      case 6: return mk::softmax_short<S, 6>(x, y, n);
      case 7: return mk::softmax_short<S, 7>(x, y, n);
      default: return mk::softmax_short<S, 8>(x, y, n);
    }
  }
  // float32 rows (|max| <= 1024): exp(x) 2^-e stored while summed (microkernels.h, raddstoreextexp),
  // then one multiplication by 1/s carried to 48 bits.
  static void softmax_three_pass_extexp(const T* x, T* y, std::size_t n, mk::MinMax<S> r) {
    const T e = max_exponent(r.max);
    const bool narrow = r.min >= r.max - mk::ExtExpLimits<T>::narrow;  // false for a NaN min
    const double s = narrow ? mk::raddstoreextexp<S, false>(x, y, n, e) : mk::raddstoreextexp<S, true>(x, y, n, e);
    if (!std::isfinite(s)) return fill_nan(y, n);
    const double c = 1.0 / s;
    const T c_hi = T(c);
    mk::vscale2<S>(y, n, c_hi, T(c - double(c_hi)));
  }
  // exp(x - m) with x - m carried exactly (TwoSum): float64 rows, and float32 rows beyond +-1024.
  static void softmax_three_pass_classic(const T* x, T* y, std::size_t n, T m) {
    const double s = mk::raddstoreexpminusmax<S>(x, y, n, m);
    if (!std::isfinite(s)) return fill_nan(y, n);
    if constexpr (sizeof(T) == 4) {
      mk::vscale<S>(y, n, T(1.0 / s));
    } else {
      mk::vdivide<S>(y, n, s);
    }
  }
  static void softmax_three_pass_recompute(const T* x, T* y, std::size_t n) {
    const T m = mk::rmax<S>(x, n);
    if (!std::isfinite(m)) return fill_nan(y, n);
    const double s = mk::raddexpminusmax<S>(x, n, m);
    if (!std::isfinite(s)) return fill_nan(y, n);
    mk::vscaleexpminusmax<S>(x, y, n, m, T(1.0 / s));
  }
  static void softmax_two_pass(const T* x, T* y, std::size_t n) {
    const ExtExpSum p = mk::raddextexp<S>(x, n);
    if (!p.usable) return softmax_three_pass(x, y, n);
    scale_extexp(x, y, n, T(1.0 / p.s), T(p.e));
  }
  // The Two-Pass second pass; from 4 MiB of output on (twice the bench machine's L2), y is streamed
  // past the caches. A row of 2^24 floats (measured): 0.84 -> 0.62 ns an element on one thread, 0.47
  // -> 0.34 split across two.
  static constexpr std::size_t stream_min_bytes = std::size_t(1) << 22;
  static void scale_extexp(const T* x, T* y, std::size_t n, T c, T e) {
    if (n * sizeof(T) >= stream_min_bytes) return mk::vscaleextexp<S, true>(x, y, n, c, e);
    mk::vscaleextexp<S>(x, y, n, c, e);
  }
  static void softmax_online(const T* x, T* y, std::size_t n) {
    const OnlineSum p = mk::raddonline<S>(x, n);
    if (!p.usable) return softmax_three_pass(x, y, n);
    // The pass's own reference: exp(x - m_ref) <= e^64 (float) / e^512 (double), and d_ref carries
    // no rescaling to the true max (whose rounding would add up to an ULP in double).
    mk::vscaleexpminusmax<S>(x, y, n, T(p.m_ref), T(1.0 / p.d_ref));
  }

  // --- the log-normaliser log sum exp(x) = hi + lo, by each algorithm's first pass(es)
  // hi is the row's max m (a value of T, so x - hi is formed in T without losing x's bits) and lo is
  // log d >= 0, d = sum exp(x - m) >= 1: log-probabilities (x - m) - log d are then never above 0,
  // and with both terms of one sign each keeps its relative accuracy. For float data hi + lo is
  // added in double (logsumexp); a float32 hi = m + log d in double would lose log d once |m| > 2^29.
  struct LogZ {
    double hi, lo;
    bool ok;
  };
  // log d, accurate relative to itself also when d is near 1 (a row dominated by its max, where
  // log d ~ d - 1 is a log-probability near 0 or a logsumexp near m): then t = d - 1 is summed again
  // without the max's own term (a second pass, for such rows only) and log d = log1p(t). Below the
  // threshold, d's rounding (2^-53 relative, from 1 + t) would show in log d: float32 data need it
  // for t < 2^-12 (one float ULP of t is 2^-35 there), float64 data for d < 2.
  static double log_d_of(const T* x, std::size_t n, double m, double d) {
    return d >= dominated_below<T> ? std::log(d) : log1p_others(x, n, m, d);
  }
  // log1p(sum of exp(x_i - m) over every i but the first maximum): the second pass.
  static double log1p_others(const T* x, std::size_t n, double m, double d) {
    std::size_t i = 0;
    while (i < n && !(double(x[i]) == m)) ++i;
    if (i == n) return std::log(d);
    const T tm = T(m);
    const double t = mk::raddexpminusmax<S>(x, i, tm) + mk::raddexpminusmax<S>(x + i + 1, n - i - 1, tm);
    return std::log1p(t);
  }
  // The max's own n = round(max log2 e), by the kernels' arithmetic (every entry's n is at most it).
  static T max_exponent(T m) {
    T ev[S::W];
    S::to_array(mk::extexp_n<S>(S::set(m)), ev);
    return ev[0];
  }
  // The Two-Pass normaliser's rows: below this s, a row may be dominated by its max (log_z_two_pass).
  static constexpr double two_pass_s_min = 4.0;
  // log Z = e ln 2 + log s as hi + lo, e ln 2 = e ln2_hi (exact) + e ln2_lo. The max is at most
  // (e + 1/2) ln 2, so for s >= 4 d = sum / e^max >= s / sqrt 2 > 2.8: every log-probability is below -1.
  static LogZ log_z_of_pair(double s, double e) {
    using C = ExpConstants<double>;
    const double e_hi = e * C::ln2_hi;
    const double rest = e * C::ln2_lo + std::log(s);
    if constexpr (sizeof(T) == 4) {
      const double v = e_hi + rest;  // |e| <= 2800: v keeps 2^-40 of rest
      const double hi = double(T(v));
      return {hi, (e_hi - hi) + rest, true};
    } else {
      return {e_hi, rest, true};
    }
  }
  // The log-normaliser of the three-pass algorithms: the max, then sum exp(x - m) with x - m carried
  // exactly (TwoSum); float32 rows with |max| <= 1024 sum exp(x) 2^-e instead (log_z_three_pass_extexp).
  static LogZ log_z_three_pass(const T* x, std::size_t n) { return log_z_three_pass_for(x, nullptr, n); }
  // y: where log_softmax will write, for the float32 pass to prefetch the next row's (or null).
  static LogZ log_z_three_pass_for(const T* x, T* y, std::size_t n) {
    if constexpr (sizeof(T) == 4 && !mk::is_plain<S>::value) {
      LogZ z;
      if (n <= 8 * S::W && short_log_z(x, y, n, z)) return z;
      const mk::MinMax<S> r = row_min_max(x, n);
      if (!std::isfinite(r.max)) return {0, 0, false};
      if (std::fabs(r.max) <= mk::ExtExpLimits<T>::direct) return log_z_three_pass_extexp(x, y, n, r);
    }
    const T m = mk::rmax<S>(x, n);
    if (!std::isfinite(m)) return {0, 0, false};
    if constexpr (sizeof(T) == 8) {
      // float64: the compensated lanes give d = hi + lo, so t = d - 1 = (hi - 1) + lo (exact
      // subtraction for hi in [1/2, 2]) without a second pass, unless t < 2^-40 (then it is summed
      // again: 2^-106 of d would be too much of t).
      const mk::DD dd = mk::raddexpminusmax_dd<S>(x, n, m);
      const double s = dd.hi + dd.lo;
      if (!(std::isfinite(s) && s > 0.0)) return {0, 0, false};
      if (s < dominated_below<T>) {
        const double t = (dd.hi - 1.0) + dd.lo;
        if (t >= 0x1p-40) return {double(m), std::log1p(t), true};
      }
      return {double(m), log_d_of(x, n, m, s), true};
    } else {
      const double s = mk::raddexpminusmax<S>(x, n, m);
      if (!(std::isfinite(s) && s > 0.0)) return {0, 0, false};
      return {double(m), log_d_of(x, n, m, s), true};
    }
  }
  // float32 rows with |max| <= 1024: sum_i exp(x_i) 2^-e from x itself (no x - m), e the max's n, as
  // the softmax kernel does. The max's own term q carries the exp kernel's rounding (2^-24), too much
  // of a log d near 0, so it is swapped for its exact value t = e^(max - e ln 2) (in double):
  // d - 1 = (s - q) / t. s - q is exact (q is one of s's terms); rows with d - 1 below 2^-12 sum the
  // others again (log1p_others), as log_d_of does. (libm's log1p took 29 ns a call here, log 7.)
  // These rows are longer than the short kernels' (n > 8 vectors): their t and log d come from libm.
  // One row alone in the vector lanes (log_d_block<1>) waits about 55 ns for its exp -> log chain;
  // AVX-512, paired, 8192x256: log_softmax 1.75 -> 1.15 times the softmax, logsumexp 1.63 -> 1.01.
  // `store_diff`: the summing pass also writes y = x - m (log_softmax_three_pass).
  template <bool store_diff = false>
  static LogZ log_z_three_pass_extexp(const T* x, T* y, std::size_t n, mk::MinMax<S> r) {
    const T m = r.max, e = max_exponent(m);
    const double t = mk::max_term_exact(m, e);
    const bool narrow = r.min >= m - mk::ExtExpLimits<T>::narrow;  // false for a NaN min
    const double s = narrow ? mk::raddextexp2e<S, false, store_diff>(x, y, n, e, m)
                            : mk::raddextexp2e<S, true, store_diff>(x, y, n, e, m);
    if (!(std::isfinite(s) && s > 0.0)) return {0, 0, false};
    typename S::V vm[1] = {S::set(m)};
    mk::extexp_terms<S, false, 1>(vm, 1, S::set(e));
    T q[S::W];
    S::to_array(vm[0], q);
    return log_z_of_sum<false>(x, n, {double(m), double(e), s, double(q[0]), t});
  }
  // log Z from a row's ExpSum2e. `lanes` (short rows, with double vectors): in one lane of the
  // vector exp and log, as the rows kernels' blocks do, so that a row gives the same bits alone and
  // among others; otherwise by libm (p.t then holds the max's exact term). Inlined by force: out of
  // line, the AVX2 summing loop of its caller spilled differently (logsumexp 1024x32000: 0.45 -> 0.53
  // ns an element).
  template <bool lanes = mk::has_double<S>::value>
  SOFTLIB_INLINE static LogZ log_z_of_sum(const T* x, std::size_t n, mk::ExpSum2e p) {
    if constexpr (lanes) {
      double log_d;
      log_d_block<1>(&p, &x, 1, n, &log_d);
      return {p.m, log_d, true};
    } else {
      using C = ExpConstants<double>;
      const double r = (p.m - p.e * C::ln2_hi) - p.e * C::ln2_lo, t = p.t;
      const double others = std::fmax(0.0, p.s - p.q);  // (d - 1) t
      return {p.m, log_d_given(x, n, p.m, t, others, std::log(t + others) - r), true};
    }
  }
  // log d from t, the max's own term, others = (d - 1) t and v = log(t + others) - r. For log d >=
  // 2^-12, |r| <= 0.35 keeps both roundings of v below 2^-40 of log d (a chain of one exp and one
  // log: no division, no log1p); rows dominated by their max sum the other terms again.
  static double log_d_given(const T* x, std::size_t n, double m, double t, double others, double v) {
    return others < (dominated_below<T> - 1.0) * t ? log1p_others(x, n, m, 1.0 + others / t) : v;
  }
  // log_z_of_sum's log d for count <= B rows at once: t = e^r and log(t + others) - r by the vector
  // exp and log (microkernels.h, Log), the same arithmetic in every lane. The chain of one exp and
  // one log is about 170 cycles, too long for the out-of-order window to hide behind the next
  // rows: a block of 8 rows cost 6 ns a row, of 16 or 32 rows (two or four vectors in flight) 2-3.
  template <std::size_t B>
  static void log_d_block(const mk::ExpSum2e* p, const T* const* xs, std::size_t count, std::size_t n, double* log_d) {
    using D = typename S::Double;
    using C = ExpConstants<double>;
    using DV = typename D::V;
    constexpr std::size_t W = D::W, L = (B + W - 1) / W * W;  // whole vectors
    double m[L] = {}, e[L] = {}, others[L] = {}, t[L], v[L];
    for (std::size_t j = 0; j < count; ++j) {
      m[j] = p[j].m;
      e[j] = p[j].e;
      others[j] = std::fmax(0.0, p[j].s - p[j].q);  // (d - 1) t; lanes past count: m = e = 0, log 1
    }
    for (std::size_t b = 0; b < L / W; ++b) {  // whole, independent vectors: their chains overlap
      const DV ve = D::from_array(e + b * W);
      const DV r =
          D::sub(D::sub(D::from_array(m + b * W), D::mul(ve, D::set(C::ln2_hi))), D::mul(ve, D::set(C::ln2_lo)));
      const DV vt = mk::Exp<D>::exp_scaled(r, D::set(0.0), D::set(1.0));
      D::to_array(vt, t + b * W);
      D::to_array(D::sub(mk::Log<D>::of(D::add(vt, D::from_array(others + b * W))), r), v + b * W);
    }
    for (std::size_t j = 0; j < count; ++j) log_d[j] = log_d_given(xs[j], n, m[j], t[j], others[j], v[j]);
  }
  // Rows of up to 8 vectors in registers (microkernels.h, raddextexp2e_short); false: the general path.
  static bool short_log_z(const T* x, T* y, std::size_t n, LogZ& z) {
    mk::ExpSum2e p;
    bool ok;
    switch ((n + S::W - 1) / S::W) {
      case 1: ok = mk::raddextexp2e_short<S, 1>(x, y, n, p); break;
      case 2: ok = mk::raddextexp2e_short<S, 2>(x, y, n, p); break;
      case 3: ok = mk::raddextexp2e_short<S, 3>(x, y, n, p); break;
      case 4: ok = mk::raddextexp2e_short<S, 4>(x, y, n, p); break;
      case 5: ok = mk::raddextexp2e_short<S, 5>(x, y, n, p); break;
      case 6: ok = mk::raddextexp2e_short<S, 6>(x, y, n, p); break;
      case 7: ok = mk::raddextexp2e_short<S, 7>(x, y, n, p); break;
      default: ok = mk::raddextexp2e_short<S, 8>(x, y, n, p); break;
    }
    if (ok) z = log_z_of_sum(x, n, p);
    return ok;
  }
  static LogZ log_z_two_pass(const T* x, std::size_t n) {
    const ExtExpSum p = mk::raddextexp<S>(x, n);
    // s small: the row may be dominated by one entry (log d near 0), which e ln 2 + log s cannot give
    // relative to itself (nor always >= the max): such rows take the three-pass normaliser.
    // The terms p 2^(n - e) carry the exp kernel's rounding (no term is exactly 1, unlike exp(max -
    // max)), so log s is off by about an ULP of 1 (2^-23 float, 2^-52 double) absolutely: within an
    // ULP or two of log d only when log d >= 1. d >= s / sqrt 2, so rows with s < 4 (d possibly below
    // 2.83) fall back (tests/test_fuzz.py checks the 3-ULP bound).
    if (!p.usable || p.s < two_pass_s_min) return log_z_three_pass(x, n);
    return log_z_of_pair(p.s, p.e);
  }
  static constexpr double online_d_min = sizeof(T) == 4 ? 1.5 : 2.0;
  static LogZ log_z_online(const T* x, std::size_t n) {
    const OnlineSum p = mk::raddonline<S>(x, n);
    if (!p.usable) return log_z_three_pass(x, n);
    // When the pass ended on a reference below the max, the max's own term exp(max - m_ref) carries
    // the exp kernel's rounding (2^-24 for float data) into d: log d is then off by ~2^-24 / d, too
    // much of a log d below ln 2, so such rows sum the other terms again.
    // The threshold (1.5 float, 2 double) keeps that error within an ULP or so of log d.
    if (p.m_ref != p.m && p.d < online_d_min) return {p.m, log1p_others(x, n, p.m, p.d), true};
    return {p.m, log_d_of(x, n, p.m, p.d), true};
  }

  template <LogZ (*log_z)(const T*, std::size_t)>
  static void log_softmax(const T* x, T* y, std::size_t n) {
    log_softmax_given(x, y, n, log_z(x, n));
  }
  // float32 rows of at least this many elements write y = x - m in the summing pass, then subtract
  // log d in place: y's cache misses overlap the exponentials, as the softmax's stored terms do.
  // The same two roundings, the same bits. Times the softmax (AVX-512, C++, one thread): 1024x32000
  // 1.20 -> 1.03, 2048x2048 1.17 -> 1.03; 1024 floats a tie; 512 floats slower (1.15 -> 1.20).
  static constexpr std::size_t store_diff_min = 1024;
  // The float32 pass prefetches the next row's x and y while it computes, as the softmax kernel does.
  // (Its own range test, beside log_z_three_pass_for's: routing the stored variant through that
  // function changed the AVX2 code of logsumexp's summing loop, 0.51 -> 0.54 ns at 1024x32000.)
  static void log_softmax_three_pass(const T* x, T* y, std::size_t n) {
    if constexpr (sizeof(T) == 4 && !mk::is_plain<S>::value) {
      if (n >= store_diff_min) {
        const mk::MinMax<S> r = row_min_max(x, n);
        if (std::isfinite(r.max) && std::fabs(r.max) <= mk::ExtExpLimits<T>::direct) {
          const LogZ z = log_z_three_pass_extexp<true>(x, y, n, r);
          if (!z.ok) return log_softmax_scipy(x, y, n);  // a NaN the max did not show
          return mk::vsubtract2<S>(y, y, n, T(0), T(z.lo));  // (x - m) - 0 - log d: as below
        }
      }
    }
    log_softmax_given(x, y, n, log_z_three_pass_for(x, y, n));
  }
  static void log_softmax_given(const T* x, T* y, std::size_t n, LogZ z) {
    if (!z.ok) return log_softmax_scipy(x, y, n);
    subtract2(x, y, n, T(z.hi), T(z.lo));
  }
  // The normaliser pass for log_softmax's "auto" and for logsumexp: the three-pass max + sum while the
  // row stays in cache (one exp per element, no rescaling bookkeeping), the online pass beyond (one read).
  // The choice is operators::auto_algorithm's, the one `auto` rule (operators.h).
  static LogZ log_z_auto(const T* x, std::size_t n) {
    return operators::auto_algorithm(operators::Op::logsumexp, n, sizeof(T), Isa::portable) == three_pass
               ? log_z_three_pass(x, n)
               : log_z_online(x, n);
  }
  static T logsumexp(const T* x, std::size_t n) {
    const LogZ z = log_z_auto(x, n);
    if (!z.ok) return logsumexp_scipy(x, n);
    return T(z.hi + z.lo);
  }

  static T row_max(const T* x, std::size_t n) { return mk::rmax<S>(x, n); }
  static void exp(const T* x, T* y, std::size_t n) { mk::vexp<S>(x, y, n); }
  static OnlineSum online_sum(const T* x, std::size_t n) { return mk::raddonline<S>(x, n); }
  // log_softmax's last pass, y = (x - hi) - lo; from stream_min_bytes of output on, y is streamed.
  static void subtract2(const T* x, T* y, std::size_t n, T hi, T lo) {
    if (n * sizeof(T) >= stream_min_bytes) return mk::vsubtract2<S, true>(x, y, n, hi, lo);
    mk::vsubtract2<S>(x, y, n, hi, lo);
  }

  // --- StableMax. `sum` is sum_j s(x_j) of the whole row (possibly merged from pieces).
  static bool stablemax_usable(double sum) { return std::isfinite(sum) && sum > 0.0; }
  static void stablemax_scale(const T* x, T* y, std::size_t n, double sum) {
    if (!stablemax_usable(sum)) return fill_nan(y, n);
    const double c = 1.0 / sum;
    if (c >= double(std::numeric_limits<T>::min()) * 0x1p24) return mk::vscalestablemax<S>(x, y, n, T(c));
    // A sum so large (float32 rows near 3e38) that 1/sum loses precision in T: divide in double.
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      y[i] = T((v >= 0 ? v + 1.0 : 1.0 / (1.0 - v)) / sum);
    }
  }
  static void log_stablemax_apply(const T* x, T* y, std::size_t n, double sum) {
    if (!stablemax_usable(sum)) return fill_nan(y, n);
    mk::vlogstablemax<S>(x, y, n, sum);
  }
  // sum s(x) without overflow: float32 sums fit in double; a float64 row whose sum overflows is
  // summed again scaled by 2^-600 (and the log of the scale added back by the callers via log).
  static double stablemax_sum(const T* x, std::size_t n) { return mk::raddstablemax<S>(x, n); }
  static void stablemax(const T* x, T* y, std::size_t n) {
    const double sum = stablemax_sum(x, n);
    if (!std::isfinite(sum) && sizeof(T) == 8) return stablemax_huge(x, y, n, false);
    stablemax_scale(x, y, n, sum);
  }
  static void log_stablemax(const T* x, T* y, std::size_t n) {
    const double sum = stablemax_sum(x, n);
    if (!std::isfinite(sum) && sizeof(T) == 8) return stablemax_huge(x, y, n, true);
    log_stablemax_apply(x, y, n, sum);
  }
  // float64 rows with entries near DBL_MAX (or NaN/+inf, which give NaN rows): sum s(x) 2^-600.
  static void stablemax_huge(const T* x, T* y, std::size_t n, bool log) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      if (std::isnan(v) || v == std::numeric_limits<double>::infinity()) return fill_nan(y, n);
      sum += (v >= 0 ? std::ldexp(v, -600) + 0x1p-600 : std::ldexp(1.0 / (1.0 - v), -600));
    }
    const double log_sum = std::log(sum) + 600 * 0.69314718055994530942;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i];
      if (log) {
        y[i] = T((v >= 0 ? std::log1p(v) : -std::log1p(-v)) - log_sum);
      } else {
        y[i] = T((v >= 0 ? std::ldexp(v, -600) + 0x1p-600 : std::ldexp(1.0 / (1.0 - v), -600)) / sum);
      }
    }
  }

  static Kernels<T> table() {
    return Kernels<T>{
        {softmax_three_pass, softmax_three_pass_recompute, softmax_two_pass, softmax_online},
        {softmax_three_pass_rows, rows_of<softmax_three_pass_recompute>, rows_of<softmax_two_pass>,
         rows_of<softmax_online>},
        {log_softmax_three_pass, log_softmax_three_pass, log_softmax<log_z_two_pass>, log_softmax<log_z_online>},
        {log_softmax_three_pass_rows, log_softmax_three_pass_rows, rows_of<log_softmax<log_z_two_pass>>,
         rows_of<log_softmax<log_z_online>>},
        logsumexp,
        logsumexp_rows,
        row_max,
        exp,
        mk::raddextexp<S>,
        scale_extexp,
        online_sum,
        subtract2,
        stablemax,
        log_stablemax,
        stablemax_sum,
        stablemax_scale,
        log_stablemax_apply,
        mk::raddonline_topk<S>,
    };
  }
};

}  // namespace
}  // namespace softlib::rows
