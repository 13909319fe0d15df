// softlib._core: the compiled kernels, exposed to Python over 2-D arrays of rows (rows, n) whose
// elements are contiguous within a row (any row stride). softlib/ops.py handles axes, dtypes and
// edge cases before calling in here. Every entry point releases the GIL while the kernels run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "threads.h"

namespace py = pybind11;
using softlib::Kernels;
using softlib::KernelTable;

namespace {

template <typename T>
using Array = py::array_t<T, 0>;  // no forcecast: float32 and float64 arrive as they are, any strides

template <typename T>
const Kernels<T>& kernels_of(const KernelTable& t) {
  if constexpr (sizeof(T) == 4) {
    return t.f32;
  } else {
    return t.f64;
  }
}

const KernelTable& table_named(const std::string& isa) {
  return isa.empty() ? softlib::active_kernels() : softlib::kernels_for(isa);
}

// A 2-D view of rows: base pointer, row count, row length, row stride in elements.
template <typename T>
struct Rows {
  T* data;
  std::size_t rows, n;
  std::ptrdiff_t stride;
  T* row(std::size_t r) const { return data + static_cast<std::ptrdiff_t>(r) * stride; }
};

template <typename T>
Rows<T> rows_of(const py::array& a, bool writable, const char* what) {
  if (a.ndim() != 2) throw std::invalid_argument(std::string(what) + " must be 2-D (rows, n)");
  if (a.shape(1) > 1 && a.strides(1) != static_cast<py::ssize_t>(sizeof(T))) {
    throw std::invalid_argument(std::string(what) + " must be contiguous along its last axis");
  }
  if (a.strides(0) % static_cast<py::ssize_t>(sizeof(T)) != 0) {
    throw std::invalid_argument(std::string(what) + " has a row stride that is not a whole element");
  }
  if (writable && !a.writeable()) throw std::invalid_argument(std::string(what) + " is read-only");
  T* p = static_cast<T*>(const_cast<void*>(a.data()));
  return {p, static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)),
          a.strides(0) / static_cast<py::ssize_t>(sizeof(T))};
}

template <typename T>
void check_same_shape(const Rows<T>& x, const Rows<T>& y) {
  if (x.rows != y.rows || x.n != y.n) throw std::invalid_argument("input and output shapes differ");
  if (x.n < 1) throw std::invalid_argument("rows must have at least one element");
}

// One long row split across threads: per-piece online (m, d), merged; then the elementwise pass.
// Returns false when some piece is not usable (non-finite input): the caller runs the row whole.
template <typename T>
bool split_row_normaliser(const Kernels<T>& k, const T* x, std::size_t n, int threads, double& m, double& d) {
  std::vector<softlib::OnlineSum> parts(static_cast<std::size_t>(threads));
  softlib::parallel_for(n, threads, [&](std::size_t b, std::size_t e, int t) {
    parts[static_cast<std::size_t>(t)] = e > b ? k.online_sum(x + b, e - b) : softlib::OnlineSum{0, 0, false, 0, 0};
  });
  m = -INFINITY;
  for (const auto& p : parts) {
    if (!p.usable) return false;
    m = std::max(m, p.m);
  }
  d = 0.0;
  for (const auto& p : parts) d += p.d * softlib::exp_difference(p.m, m);
  return std::isfinite(d) && d > 0.0;
}

enum class Op { softmax, log_softmax, stablemax, log_stablemax };

template <typename T>
void elementwise(Op op, const py::array& xa, py::array& ya, int algorithm, int threads, const std::string& isa,
                 bool plain = false) {
  if (algorithm < 0 || algorithm >= softlib::n_algorithms) throw std::invalid_argument("unknown algorithm");
  const Rows<T> x = rows_of<T>(xa, false, "x"), y = rows_of<T>(ya, true, "out");
  check_same_shape(x, y);
  const Kernels<T>* kp = &kernels_of<T>(table_named(isa));
  if constexpr (sizeof(T) == 4) {
    if (plain) kp = &table_named(isa).f32_plain;
  }
  const Kernels<T>& k = *kp;
  const int nt = softlib::thread_count(threads, x.rows * x.n);
  py::gil_scoped_release release;
  const bool stable = op == Op::stablemax || op == Op::log_stablemax;
  if (stable && nt > 1 && x.rows < static_cast<std::size_t>(nt) && x.n >= softlib::split_row_min) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      const T* xr = x.row(r);
      T* yr = y.row(r);
      std::vector<double> parts(static_cast<std::size_t>(nt), 0.0);
      softlib::parallel_for(x.n, nt, [&](std::size_t b, std::size_t e, int t) {
        if (e > b) parts[static_cast<std::size_t>(t)] = k.stablemax_sum(xr + b, e - b);
      });
      double sum = 0.0;
      for (double p : parts) sum += p;
      if (!std::isfinite(sum)) {  // NaN or +inf in the row, or a float64 sum past DBL_MAX: the row kernel knows
        (op == Op::stablemax ? k.stablemax : k.log_stablemax)(xr, yr, x.n);
        continue;
      }
      softlib::parallel_for(x.n, nt, [&](std::size_t b, std::size_t e, int) {
        if (e <= b) return;
        (op == Op::stablemax ? k.stablemax_scale : k.log_stablemax_apply)(xr + b, yr + b, e - b, sum);
      });
    }
    return;
  }
  if (stable) {
    const auto kernel = op == Op::stablemax ? k.stablemax : k.log_stablemax;
    softlib::parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
      for (std::size_t r = b; r < e; ++r) kernel(x.row(r), y.row(r), x.n);
    });
    return;
  }
  if (nt > 1 && x.rows < static_cast<std::size_t>(nt) && x.n >= softlib::split_row_min) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      const T* xr = x.row(r);
      T* yr = y.row(r);
      double m, d;
      // A row the pieces cannot normalise (non-finite input), or one dominated by its max (log d
      // near 0 must come from log1p of the other terms: row_kernels.h), runs whole on this thread.
      if (!split_row_normaliser(k, xr, x.n, nt, m, d) ||
          (op == Op::log_softmax && d < softlib::dominated_below<T>)) {
        (op == Op::softmax ? k.softmax[softlib::three_pass] : k.log_softmax[softlib::three_pass])(xr, yr, x.n);
        continue;
      }
      const double ld = std::log(d);
      softlib::parallel_for(x.n, nt, [&](std::size_t b, std::size_t e, int) {
        if (e <= b) return;
        if (op == Op::softmax) {
          k.scale_exp_minus_max(xr + b, yr + b, e - b, T(m), T(1.0 / d));
        } else {
          // (x - m) - log d: m is a value of T, and log d >= 0 is kept whole (as the row kernels do).
          k.subtract2(xr + b, yr + b, e - b, T(m), T(ld));
        }
      });
    }
    return;
  }
  const auto kernel = op == Op::softmax ? k.softmax[algorithm] : k.log_softmax[algorithm];
  softlib::parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) kernel(x.row(r), y.row(r), x.n);
  });
}

template <typename T>
void logsumexp(const py::array& xa, py::array& ya, int threads, const std::string& isa) {
  const Rows<T> x = rows_of<T>(xa, false, "x");
  if (ya.ndim() != 1 || static_cast<std::size_t>(ya.shape(0)) != x.rows) {
    throw std::invalid_argument("expected x of shape (rows, n) and out of shape (rows,)");
  }
  if (x.n < 1) throw std::invalid_argument("rows must have at least one element");
  if (!ya.writeable()) throw std::invalid_argument("out is read-only");
  T* out = static_cast<T*>(ya.mutable_data());
  const std::ptrdiff_t out_stride = ya.strides(0) / static_cast<py::ssize_t>(sizeof(T));
  const Kernels<T>& k = kernels_of<T>(table_named(isa));
  const int nt = softlib::thread_count(threads, x.rows * x.n);
  py::gil_scoped_release release;
  if (nt > 1 && x.rows < static_cast<std::size_t>(nt) && x.n >= softlib::split_row_min) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      double m, d;
      const bool whole = !split_row_normaliser(k, x.row(r), x.n, nt, m, d) || d < softlib::dominated_below<T>;
      out[static_cast<std::ptrdiff_t>(r) * out_stride] = whole ? k.logsumexp(x.row(r), x.n) : T(m + std::log(d));
    }
    return;
  }
  softlib::parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) out[static_cast<std::ptrdiff_t>(r) * out_stride] = k.logsumexp(x.row(r), x.n);
  });
}

template <typename T>
void dispatch_elementwise(Op op, const py::array& x, py::array& out, int algorithm, int threads,
                          const std::string& isa) {
  elementwise<T>(op, x, out, algorithm, threads, isa);
}

void check_dtypes(const py::array& x, const py::array& out) {
  if (!x.dtype().is(out.dtype())) throw std::invalid_argument("x and out must have the same dtype");
}

bool is_f32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }
bool is_f64(const py::array& a) { return a.dtype().is(py::dtype::of<double>()); }

void run_elementwise(Op op, const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
  check_dtypes(x, out);
  if (is_f32(x)) return elementwise<float>(op, x, out, algorithm, threads, isa);
  if (is_f64(x)) return elementwise<double>(op, x, out, algorithm, threads, isa);
  throw std::invalid_argument("the kernels take float32 or float64 arrays");
}

// The exp kernel of a code path, alone (for the accuracy tests).
py::array exp_kernel(const py::array& x, const std::string& isa) {
  if (x.ndim() != 1 || (x.shape(0) > 1 && x.strides(0) != static_cast<py::ssize_t>(x.itemsize()))) {
    throw std::invalid_argument("expected a contiguous 1-D array");
  }
  const KernelTable& t = table_named(isa);
  const std::size_t n = static_cast<std::size_t>(x.shape(0));
  if (is_f32(x)) {
    py::array_t<float> y(x.shape(0));
    if (n) t.f32.exp(static_cast<const float*>(x.data()), y.mutable_data(), n);
    return std::move(y);
  }
  if (is_f64(x)) {
    py::array_t<double> y(x.shape(0));
    if (n) t.f64.exp(static_cast<const double*>(x.data()), y.mutable_data(), n);
    return std::move(y);
  }
  throw std::invalid_argument("the kernels take float32 or float64 arrays");
}

// Every float32 in [lo, hi] through the exp kernel of each path in `isas`, against exp in double from
// the double-precision kernel of `ref_isa` (itself within 1 ULP of double: 2^-29 of a float ULP; the
// tests check it against libm). Returns, per path, the largest error in float ULPs of the reference,
// the input where it occurs, and the number of inputs. Split across threads; the GIL is released.
py::dict exp_f32_ulp_scan(float lo, float hi, const std::vector<std::string>& isas, int threads,
                          const std::string& ref_isa) {
  std::vector<const KernelTable*> tables;
  for (const auto& name : isas) tables.push_back(&softlib::kernels_for(name));
  const KernelTable& ref_table = table_named(ref_isa);
  // Walk the float lattice from lo to hi through an order-preserving integer map.
  auto key = [](float f) {
    std::int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  auto unkey = [](std::int32_t k) {
    std::int32_t i = k < 0 ? ((-k) | static_cast<std::int32_t>(0x80000000)) : k;
    float f;
    std::memcpy(&f, &i, 4);
    return f;
  };
  const std::int64_t k0 = key(lo), k1 = key(hi);
  const std::size_t count = static_cast<std::size_t>(k1 - k0 + 1);
  const int nt = std::max(1, threads);
  const std::size_t np_ = tables.size();
  std::vector<double> worst(static_cast<std::size_t>(nt) * np_, 0.0);
  std::vector<float> where(static_cast<std::size_t>(nt) * np_, 0.0f);
  {
    py::gil_scoped_release release;
    softlib::parallel_for(count, nt, [&](std::size_t b, std::size_t e, int t) {
      constexpr std::size_t chunk = 4096;
      std::vector<float> xs(chunk), ys(chunk);
      std::vector<double> xd(chunk), ref(chunk), inv_ulp(chunk);
      for (std::size_t s = b; s < e; s += chunk) {
        const std::size_t m = std::min(chunk, e - s);
        for (std::size_t i = 0; i < m; ++i) {
          xs[i] = unkey(static_cast<std::int32_t>(k0 + static_cast<std::int64_t>(s + i)));
          xd[i] = xs[i];
        }
        ref_table.f64.exp(xd.data(), ref.data(), m);
        for (std::size_t i = 0; i < m; ++i) {
          // 1 / ulp(ref as float) = 2^(23 - exponent), built from the float's exponent bits.
          const float rf = static_cast<float>(ref[i]);
          std::uint32_t bits;
          std::memcpy(&bits, &rf, 4);
          const std::int64_t ex = std::max<std::int64_t>((bits >> 23) & 0xff, 1) - 127;
          const std::uint64_t inv = static_cast<std::uint64_t>(23 - ex + 1023) << 52;
          std::memcpy(&inv_ulp[i], &inv, 8);
        }
        for (std::size_t j = 0; j < np_; ++j) {
          tables[j]->f32.exp(xs.data(), ys.data(), m);
          double w = worst[static_cast<std::size_t>(t) * np_ + j];
          std::size_t at = chunk;
          for (std::size_t i = 0; i < m; ++i) {
            const double err = std::fabs(static_cast<double>(ys[i]) - ref[i]) * inv_ulp[i];
            if (err > w) {
              w = err;
              at = i;
            }
          }
          if (at != chunk) {
            worst[static_cast<std::size_t>(t) * np_ + j] = w;
            where[static_cast<std::size_t>(t) * np_ + j] = xs[at];
          }
        }
      }
    });
  }
  py::dict result;
  for (std::size_t j = 0; j < np_; ++j) {
    double w = 0.0;
    float at = 0.0f;
    for (int t = 0; t < nt; ++t) {
      if (worst[static_cast<std::size_t>(t) * np_ + j] >= w) {
        w = worst[static_cast<std::size_t>(t) * np_ + j];
        at = where[static_cast<std::size_t>(t) * np_ + j];
      }
    }
    result[py::str(isas[j])] = py::make_tuple(w, at, count);
  }
  return result;
}

// softmax_topk of one row: the fused pass (split across `nt` threads for a long row, the pieces'
// (m, d) and candidates merged), then k exponentials. k <= n.
template <typename T>
void topk_row(const Kernels<T>& k, const T* x, std::size_t n, std::size_t kk, T* probs, std::int64_t* idx, int nt) {
  auto before = [x](std::int64_t a, std::int64_t b) {  // value descending, ties to the lower index
    return x[a] > x[b] || (x[a] == x[b] && a < b);
  };
  const bool split = nt > 1 && n >= softlib::split_row_min;
  const std::size_t pieces = split ? static_cast<std::size_t>(nt) : 1;
  std::vector<T> vals(pieces * kk);
  std::vector<std::int64_t> cand(pieces * kk, -1);
  std::vector<softlib::OnlineSum> sums(pieces);
  constexpr std::size_t fused_max_k = 64;  // beyond, insertion into the sorted list costs too much
  if (kk > fused_max_k) {
    sums[0] = k.online_sum(x, n);
    std::vector<std::int64_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::int64_t>(i);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), order.end(), before);
    std::copy(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), cand.begin());
  } else {
    softlib::parallel_for(n, static_cast<int>(pieces), [&](std::size_t b, std::size_t e, int t) {
      const std::size_t kt = std::min(kk, e - b);
      T* v = vals.data() + static_cast<std::size_t>(t) * kk;
      std::int64_t* ix = cand.data() + static_cast<std::size_t>(t) * kk;
      sums[static_cast<std::size_t>(t)] = e > b ? k.online_topk(x + b, e - b, kt, v, ix, static_cast<std::int64_t>(b))
                                                : softlib::OnlineSum{0, 0, false, 0, 0};
    });
  }
  // Merge the pieces: (m, d) as the online normaliser does; candidates by value, then index.
  double m = -INFINITY, d = 0.0;
  bool usable = true;
  for (std::size_t t = 0; t < pieces; ++t) {
    if (kk > fused_max_k && t > 0) break;
    usable = usable && sums[t].usable;
    if (sums[t].usable) m = std::max(m, sums[t].m);
  }
  if (usable) {
    for (std::size_t t = 0; t < (kk > fused_max_k ? 1 : pieces); ++t) d += sums[t].d * softlib::exp_difference(sums[t].m, m);
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
    for (std::size_t t = 0; t < (kk > fused_max_k ? 1 : pieces); ++t) {
      if (sums[t].d_ref > 0.0) d_ld += static_cast<long double>(sums[t].d_ref) * softlib::expl_difference(sums[t].m_ref, m);
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
      probs[j] = T(softlib::expl_difference(x[c], m) / d_ld);
    }
  }
}

template <typename T>
void softmax_topk(const py::array& xa, std::size_t kk, py::array& pa, py::array& ia, int threads, const std::string& isa) {
  const Rows<T> x = rows_of<T>(xa, false, "x");
  const Rows<T> p = rows_of<T>(pa, true, "probs");
  const Rows<std::int64_t> ix = rows_of<std::int64_t>(ia, true, "indices");
  if (kk < 1 || kk > x.n) throw std::invalid_argument("k must be in [1, n]");
  if (p.rows != x.rows || ix.rows != x.rows || p.n != kk || ix.n != kk) {
    throw std::invalid_argument("probs and indices must have shape (rows, k)");
  }
  const Kernels<T>& k = kernels_of<T>(table_named(isa));
  const int nt = softlib::thread_count(threads, x.rows * x.n);
  py::gil_scoped_release release;
  if (nt > 1 && x.rows < static_cast<std::size_t>(nt)) {
    for (std::size_t r = 0; r < x.rows; ++r) topk_row(k, x.row(r), x.n, kk, p.row(r), ix.row(r), nt);
    return;
  }
  softlib::parallel_for(x.rows, nt, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) topk_row(k, x.row(r), x.n, kk, p.row(r), ix.row(r), 1);
  });
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (softlib::Isa isa : softlib::supported_isas()) {
    if (softlib::built(isa)) names.emplace_back(softlib::isa_name(isa));
  }
  return names;
}

template <typename T>
T row_max(const py::array_t<T, 0>& x, const std::string& isa) {
  if (x.ndim() != 1 || x.shape(0) < 1 || (x.shape(0) > 1 && x.strides(0) != sizeof(T))) {
    throw std::invalid_argument("expected a contiguous, non-empty 1-D array");
  }
  return kernels_of<T>(table_named(isa)).row_max(x.data(), static_cast<std::size_t>(x.shape(0)));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "softlib's compiled kernels; use the functions of the softlib package instead.";

  m.def("isa", [] { return std::string(softlib::isa_name(softlib::active_kernels().isa)); },
        "The active code path.");
  m.def("isas", &available_isas, "The code paths this CPU supports and this module has, baseline first.");
  m.def("select_isa", &softlib::select_isa, py::arg("name"), "Make `name` the active code path.");
  m.def("cpu_count", &softlib::hardware_threads, "The number of threads threads=None may use.");
  m.def("algorithms", [] {
    return std::vector<std::string>{"three_pass", "three_pass_recompute", "two_pass", "online"};
  }, "The algorithm names, in the order of the `algorithm` index.");

  m.def(
      "softmax",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        run_elementwise(Op::softmax, x, out, algorithm, threads, isa);
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = 0, py::arg("threads") = 0, py::arg("isa") = "",
      "out = softmax of each row of x (2-D, rows contiguous). threads <= 0: automatic.");
  m.def(
      "log_softmax",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        run_elementwise(Op::log_softmax, x, out, algorithm, threads, isa);
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = 0, py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "logsumexp",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        check_dtypes(x, out);
        if (is_f32(x)) return logsumexp<float>(x, out, threads, isa);
        if (is_f64(x)) return logsumexp<double>(x, out, threads, isa);
        throw std::invalid_argument("the kernels take float32 or float64 arrays");
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "stablemax",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        run_elementwise(Op::stablemax, x, out, 0, threads, isa);
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "log_stablemax",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        run_elementwise(Op::log_stablemax, x, out, 0, threads, isa);
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "softmax_topk",
      [](const py::array& x, std::size_t k, py::array probs, py::array indices, int threads, const std::string& isa) {
        check_dtypes(x, probs);
        if (!indices.dtype().is(py::dtype::of<std::int64_t>())) throw std::invalid_argument("indices must be int64");
        if (is_f32(x)) return softmax_topk<float>(x, k, probs, indices, threads, isa);
        if (is_f64(x)) return softmax_topk<double>(x, k, probs, indices, threads, isa);
        throw std::invalid_argument("the kernels take float32 or float64 arrays");
      },
      py::arg("x"), py::arg("k"), py::arg("probs"), py::arg("indices"), py::arg("threads") = 0, py::arg("isa") = "",
      "probs, indices (rows, k) = the k largest softmax entries of each row, descending, ties to the lower index.");
  m.def(
      "softmax_plain",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        check_dtypes(x, out);
        if (!is_f32(x)) throw std::invalid_argument("softmax_plain takes float32 arrays");
        elementwise<float>(Op::softmax, x, out, algorithm, threads, isa, true);
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = 0, py::arg("threads") = 0, py::arg("isa") = "",
      "Bench only: float32 softmax without TwoSum and double accumulation, to price them.");
  m.def("row_max", &row_max<float>, py::arg("x").noconvert(), py::arg("isa") = "");
  m.def("row_max", &row_max<double>, py::arg("x").noconvert(), py::arg("isa") = "");
  m.def("exp", &exp_kernel, py::arg("x"), py::arg("isa") = "", "The exp kernel of a code path alone.");
  m.def("exp_f32_ulp_scan", &exp_f32_ulp_scan, py::arg("lo"), py::arg("hi"), py::arg("isas"),
        py::arg("threads") = 2, py::arg("ref_isa") = "",
        "Test only: the largest ULP error of each path's float32 exp over every float in [lo, hi].");
  // SOFTLIB_ISA is applied by softlib/_dispatch.py right after this import, so that a bad value is a
  // plain ValueError naming the paths this CPU supports.

  // Blockwise softmax attention (cpp/attention.cpp).
  void softlib_bind_attention(py::module_ & m);
  softlib_bind_attention(m);
}
