// Fused softmax + top-k (Milakov & Gimelshein 2018, section 5): one pass over x keeps the online
// normaliser (m, d) and the k largest entries; only the k winners are then exponentiated (by the
// caller, in bindings.cpp: k scalar exponentials in double). Generic over a vector type S like
// microkernels.h, compiled once per code path.
//
// The winners are kept sorted by value, descending, ties to the lower index (an entry replaces the
// k-th only when strictly larger, and entries arrive in index order). The vector loop tests a whole
// vector against the current k-th value and falls to a scalar insertion only when some lane beats it:
// after the first few hundred entries of a random row that is rare.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "microkernels.h"

namespace softlib::mk {
namespace {

template <typename T>
struct TopK {
  T* val;             // k slots, sorted descending
  std::int64_t* idx;  // their indices
  std::size_t k, count;
  // Insert (v, i) if it belongs (caller guarantees i is larger than every index seen so far).
  void offer(T v, std::int64_t i) {
    if (count == k) {
      if (!(v > val[k - 1])) return;  // also rejects NaN
      --count;
    }
    std::size_t p = count;
    while (p > 0 && v > val[p - 1]) {  // after all entries >= v: ties keep the lower index first
      val[p] = val[p - 1];
      idx[p] = idx[p - 1];
      --p;
    }
    val[p] = v;
    idx[p] = i;
    ++count;
  }
};

// The online (m, d) of x[0..n) and its k largest entries (indices offset by `base`), in one pass.
// k <= n. NaN entries are never kept (the caller treats rows with NaN as all-NaN rows anyway).
template <class S>
OnlineSum raddonline_topk(const typename S::T* x, std::size_t n, std::size_t k, typename S::T* val, std::int64_t* idx,
                          std::int64_t base) {
  using T = typename S::T;
  using V = typename S::V;
  using E = Exp<S>;
  constexpr std::size_t W = S::W;
  TopK<T> top{val, idx, k, 0};
  // The first k entries fill the list (all of them, -inf included, so that rows with fewer than k
  // finite entries still name k indices).
  for (std::size_t i = 0; i < k; ++i) {
    if (std::isnan(x[i])) {
      top.val[top.count] = x[i];  // placeholder; the row's NaN makes it a NaN row
      top.idx[top.count] = base + static_cast<std::int64_t>(i);
      ++top.count;
      continue;
    }
    top.offer(x[i], base + static_cast<std::int64_t>(i));
  }
  const T headroom = ExtExpLimits<T>::headroom;
  T m = std::isfinite(x[0]) ? x[0] : T(0);
  V vm = S::set(m), vlimit = S::set(m + headroom), one = S::set(T(1));
  V xmax = S::set(-std::numeric_limits<T>::infinity());
  V vthr = S::set(top.val[k - 1]);
  typename S::Acc acc[U] = {S::acc_zero(), S::acc_zero()};

  auto step = [&](V xv, std::size_t i0, std::size_t lanes) {
    if (S::any_greater(xv, vthr)) {  // some lane beats the k-th largest: insert those, in order
      T lane[W];
      S::to_array(xv, lane);
      for (std::size_t j = 0; j < lanes; ++j) {
        if (i0 + j >= k) top.offer(lane[j], base + static_cast<std::int64_t>(i0 + j));
      }
      vthr = S::set(top.val[k - 1]);
    }
    if (S::any_greater(xv, vlimit)) {
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
    for (std::size_t u = 0; u < U; ++u) S::acc_add(acc[u], step(S::load(x + i + u * W), i + u * W, W));
  }
  for (; i + W <= n; i += W) S::acc_add(acc[0], step(S::load(x + i), i, W));
  if (i < n) {
    S::acc_add(acc[1], S::tail_zero(step(S::load_tail(x + i, n - i, x[0]), i, 0), n - i));
    // The tail's lanes past n hold x[0]: offer only the real ones.
    for (std::size_t j = i; j < n; ++j) {
      if (j >= k && x[j] > top.val[k - 1]) top.offer(x[j], base + static_cast<std::int64_t>(j));
    }
  }
  const double d = acc_total<S>(acc);
  const double top_m = hmax<S>(xmax);
  const double d_top = d * exp_diff<T>(m, top_m);
  const bool usable = std::isfinite(top_m) && std::isfinite(d_top) && d_top > 0.0 && std::isfinite(d);
  return {top_m, d_top, usable, double(m), d};
}

}  // namespace
}  // namespace softlib::mk
