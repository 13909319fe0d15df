// The blockwise attention kernel, written once over a vector type S (as the microkernels are) and
// compiled once per code path: attention_portable.cpp, x86/attention_avx2.cpp, x86/attention_avx512.cpp.
//
// For each key block [j0, j0 + bl) the block's keys are transposed into kt (d x bl), so that a query's
// scores are axpy loops over keys (vectorised without a horizontal reduction); then, per query row,
//   s = scale q kt,  m' = max(m, max s),  p = exp(s - m')  (the path's exp, with its TwoSum reduction),
//   d' = d e^{m - m'} + sum p (double),  o' = o e^{m - m'} + p v_block,
// and after the last block o / d. Scratch per thread: d * block + 2 * block elements and two numbers
// per query row, so memory is O(n (d + dv) + block d) beyond the inputs.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "attention.h"
#include "microkernels.h"

namespace softlib::attn {
namespace {

template <class S>
struct Blockwise {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr std::size_t W = S::W;

  // s[j] = scale * sum_c q[c] kt[c * ld + j] for j < len: 4 vectors of keys per pass, then 1, then a
  // masked tail (no read past kt's row).
  static void scores(const T* q, const T* kt, std::size_t ld, std::size_t d, std::size_t len, T scale, T* s) {
    const V vs = S::set(scale);
    std::size_t j = 0;
    for (; j + 4 * W <= len; j += 4 * W) {
      V a0 = S::set(T(0)), a1 = a0, a2 = a0, a3 = a0;
      for (std::size_t c = 0; c < d; ++c) {
        const V qc = S::set(q[c]);
        const T* r = kt + c * ld + j;
        a0 = S::fma(qc, S::load(r), a0);
        a1 = S::fma(qc, S::load(r + W), a1);
        a2 = S::fma(qc, S::load(r + 2 * W), a2);
        a3 = S::fma(qc, S::load(r + 3 * W), a3);
      }
      S::store(s + j, S::mul(a0, vs));
      S::store(s + j + W, S::mul(a1, vs));
      S::store(s + j + 2 * W, S::mul(a2, vs));
      S::store(s + j + 3 * W, S::mul(a3, vs));
    }
    for (; j + W <= len; j += W) {
      V a = S::set(T(0));
      for (std::size_t c = 0; c < d; ++c) a = S::fma(S::set(q[c]), S::load(kt + c * ld + j), a);
      S::store(s + j, S::mul(a, vs));
    }
    if (j < len) {
      const std::size_t t = len - j;
      V a = S::set(T(0));
      for (std::size_t c = 0; c < d; ++c) a = S::fma(S::set(q[c]), S::load_tail(kt + c * ld + j, t, T(0)), a);
      S::store_tail(s + j, t, S::mul(a, vs));
    }
  }

  // o[0..dv) = alpha o + sum_{j < len} p[j] v[j * dv ..]: up to 4 vectors of o held in registers
  // while the keys stream past, then a masked tail.
  static void accumulate(T* o, std::size_t dv, T alpha, const T* p, const T* v, std::size_t len) {
    const V va = S::set(alpha);
    std::size_t c = 0;
    for (; c + 4 * W <= dv; c += 4 * W) {
      V o0 = S::mul(S::load(o + c), va), o1 = S::mul(S::load(o + c + W), va);
      V o2 = S::mul(S::load(o + c + 2 * W), va), o3 = S::mul(S::load(o + c + 3 * W), va);
      for (std::size_t j = 0; j < len; ++j) {
        const V pj = S::set(p[j]);
        const T* r = v + j * dv + c;
        o0 = S::fma(pj, S::load(r), o0);
        o1 = S::fma(pj, S::load(r + W), o1);
        o2 = S::fma(pj, S::load(r + 2 * W), o2);
        o3 = S::fma(pj, S::load(r + 3 * W), o3);
      }
      S::store(o + c, o0);
      S::store(o + c + W, o1);
      S::store(o + c + 2 * W, o2);
      S::store(o + c + 3 * W, o3);
    }
    for (; c + W <= dv; c += W) {
      V o0 = S::mul(S::load(o + c), va);
      for (std::size_t j = 0; j < len; ++j) o0 = S::fma(S::set(p[j]), S::load(v + j * dv + c), o0);
      S::store(o + c, o0);
    }
    if (c < dv) {
      const std::size_t t = dv - c;
      V o0 = S::mul(S::load_tail(o + c, t, T(0)), va);
      for (std::size_t j = 0; j < len; ++j) o0 = S::fma(S::set(p[j]), S::load_tail(v + j * dv + c, t, T(0)), o0);
      S::store_tail(o + c, t, o0);
    }
  }

  // Query rows [i0, i1) of batch entry b.
  static void rows(const AttentionArgs<T>& a, std::size_t b, std::size_t i0, std::size_t i1, std::vector<T>& kt,
                   std::vector<T>& s, std::vector<T>& p, std::vector<double>& mrow, std::vector<double>& drow) {
    const std::size_t n = a.n, m = a.m, d = a.d, dv = a.dv;
    const T* q = a.q + b * n * d;
    const T* k = a.k + b * m * d;
    const T* v = a.v + b * m * dv;
    T* o = a.out + b * n * dv;
    const std::size_t rows = i1 - i0;
    const double ninf = -std::numeric_limits<double>::infinity();
    mrow.assign(rows, ninf);
    drow.assign(rows, 0.0);
    for (std::size_t i = i0; i < i1; ++i) {
      for (std::size_t c = 0; c < dv; ++c) o[i * dv + c] = T(0);
    }
    for (std::size_t j0 = 0; j0 < m; j0 += a.block) {
      if (a.causal && j0 >= i1) break;  // every remaining key is after every row of the slice
      const std::size_t bl = std::min(a.block, m - j0);
      for (std::size_t j = 0; j < bl; ++j) {  // transpose the block: kt[c * bl + j] = k[j0 + j][c]
        const T* kr = k + (j0 + j) * d;
        for (std::size_t c = 0; c < d; ++c) kt[c * bl + j] = kr[c];
      }
      for (std::size_t i = i0; i < i1; ++i) {
        if (a.causal && i < j0) continue;
        const std::size_t len = a.causal ? std::min(bl, i + 1 - j0) : bl;
        double& mi = mrow[i - i0];
        double& di = drow[i - i0];
        if (std::isnan(di)) continue;  // already poisoned by a non-finite score
        scores(q + i * d, kt.data(), bl, d, len, a.scale, s.data());
        const double bm = mk::rmax<S>(s.data(), len);
        const double mn = bm > mi ? bm : mi;
        if (!std::isfinite(mn) || std::isnan(bm)) {  // NaN or infinite scores: the row is NaN
          di = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        const double sum = mk::raddstoreexpminusmax<S>(s.data(), p.data(), len, T(mn));
        const double alpha = mi == ninf ? 0.0 : std::exp(mi - mn);
        di = di * alpha + sum;
        mi = mn;
        accumulate(o + i * dv, dv, T(alpha), p.data(), v + j0 * dv, len);
      }
    }
    for (std::size_t i = i0; i < i1; ++i) {
      const double di = drow[i - i0];
      for (std::size_t c = 0; c < dv; ++c) o[i * dv + c] = T(double(o[i * dv + c]) / di);
    }
  }

  // Rows [begin, end) of the flattened (batch * n) queries.
  static void run(const AttentionArgs<T>& a, std::size_t begin, std::size_t end) {
    std::vector<T> kt(a.d * a.block + 1), s(a.block), p(a.block);
    std::vector<double> mrow, drow;
    std::size_t flat = begin;
    while (flat < end) {
      const std::size_t b = flat / a.n, i0 = flat % a.n;
      const std::size_t i1 = std::min(a.n, i0 + (end - flat));
      rows(a, b, i0, i1, kt, s, p, mrow, drow);
      flat += i1 - i0;
    }
  }
};

}  // namespace
}  // namespace softlib::attn
