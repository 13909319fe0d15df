// Shared by the two modules' bindings (bindings.cpp: softlib._core; testing/bindings_testing.cpp:
// softlib._core_testing): the checks that turn NumPy arrays into the operators layer's row views,
// and the calls into it with the GIL released. Header-only, inline: each module has its own copy.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "operators.h"

namespace softlib::bindings {

namespace py = pybind11;
using operators::Op;
using operators::Rows;

template <typename T>
inline const Kernels<T>& kernels_of(const KernelTable& t) {
  if constexpr (sizeof(T) == 4) {
    return t.f32;
  } else {
    return t.f64;
  }
}

inline const KernelTable& table_named(const std::string& isa) {
  return isa.empty() ? active_kernels() : kernels_for(isa);
}

inline std::vector<std::string> algorithm_names() {
  return {
#define SOFTLIB_ALGORITHM_NAME(name) #name,
      SOFTLIB_ALGORITHMS(SOFTLIB_ALGORITHM_NAME)
#undef SOFTLIB_ALGORITHM_NAME
  };
}

inline std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (Isa isa : supported_isas()) {
    if (built(isa)) names.emplace_back(isa_name(isa));
  }
  return names;
}

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
  using U = std::remove_const_t<T>;
  T* p = static_cast<T*>(const_cast<void*>(a.data()));
  return {p, static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)),
          a.strides(0) / static_cast<py::ssize_t>(sizeof(U))};
}

inline void check_dtypes(const py::array& x, const py::array& out) {
  if (!x.dtype().is(out.dtype())) throw std::invalid_argument("x and out must have the same dtype");
}

inline bool is_f32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }
inline bool is_f64(const py::array& a) { return a.dtype().is(py::dtype::of<double>()); }

template <typename T>
void elementwise(Op op, const py::array& xa, py::array& ya, int algorithm, int threads, const Kernels<T>& k, Isa isa) {
  if (algorithm < operators::auto_choice || algorithm >= n_algorithms) throw std::invalid_argument("unknown algorithm");
  const Rows<const T> x = rows_of<const T>(xa, false, "x");
  const Rows<T> y = rows_of<T>(ya, true, "out");
  if (x.rows != y.rows || x.n != y.n) throw std::invalid_argument("input and output shapes differ");
  if (x.n < 1) throw std::invalid_argument("rows must have at least one element");
  py::gil_scoped_release release;
  operators::elementwise<T>(op, k, isa, x, y, algorithm, threads);
}

inline void run_elementwise(Op op, const py::array& x, py::array out, int algorithm, int threads,
                            const KernelTable& t) {
  check_dtypes(x, out);
  if (is_f32(x)) return elementwise<float>(op, x, out, algorithm, threads, t.f32, t.isa);
  if (is_f64(x)) return elementwise<double>(op, x, out, algorithm, threads, t.f64, t.isa);
  throw std::invalid_argument("the kernels take float32 or float64 arrays");
}

// softlib.ops' fast path, checked here rather than in Python (where the same checks cost about
// 1.5 us a call): x a C-contiguous float32/float64 array with at least one element; out None (a new
// array is returned) or a writable C-contiguous array of x's shape and dtype that is x itself or does
// not overlap it. Returns the output, or None when the call needs ops.py's general path.
inline py::object fast_elementwise(Op op, const py::array& x, const py::object& out, int threads) {
  const bool f32 = is_f32(x);
  if (!(f32 || is_f64(x)) || x.ndim() < 1 || x.size() == 0 || !(x.flags() & py::array::c_style)) return py::none();
  py::array y;
  if (out.is_none()) {
    y = py::array(x.dtype(), std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  } else {
    y = py::reinterpret_borrow<py::array>(out);
    if (!y.dtype().is(x.dtype()) || y.ndim() != x.ndim() || !std::equal(x.shape(), x.shape() + x.ndim(), y.shape()) ||
        !(y.flags() & py::array::c_style) || !y.writeable()) {
      return py::none();
    }
    const auto* xp = static_cast<const char*>(x.data());
    const auto* yp = static_cast<const char*>(y.data());
    const auto bytes = static_cast<std::ptrdiff_t>(x.nbytes());
    if (xp != yp && xp < yp + bytes && yp < xp + bytes) return py::none();  // overlapping, not in place
  }
  const std::size_t n = static_cast<std::size_t>(x.shape(x.ndim() - 1));
  const std::size_t rows = static_cast<std::size_t>(x.size()) / n;
  const KernelTable& t = active_kernels();
  {
    py::gil_scoped_release release;
    if (f32) {
      operators::elementwise<float>(op, t.f32, t.isa, {static_cast<const float*>(x.data()), rows, n, std::ptrdiff_t(n)},
                                    {static_cast<float*>(y.mutable_data()), rows, n, std::ptrdiff_t(n)}, -1, threads);
    } else {
      operators::elementwise<double>(op, t.f64, t.isa,
                                     {static_cast<const double*>(x.data()), rows, n, std::ptrdiff_t(n)},
                                     {static_cast<double*>(y.mutable_data()), rows, n, std::ptrdiff_t(n)}, -1, threads);
    }
  }
  return std::move(y);
}

template <typename T>
void run_logsumexp(const py::array& xa, py::array& ya, int threads, const KernelTable& t) {
  const Rows<const T> x = rows_of<const T>(xa, false, "x");
  if (ya.ndim() != 1 || static_cast<std::size_t>(ya.shape(0)) != x.rows) {
    throw std::invalid_argument("expected x of shape (rows, n) and out of shape (rows,)");
  }
  if (x.n < 1) throw std::invalid_argument("rows must have at least one element");
  if (!ya.writeable()) throw std::invalid_argument("out is read-only");
  if (ya.strides(0) % static_cast<py::ssize_t>(sizeof(T)) != 0) {
    throw std::invalid_argument("out has a stride that is not a whole element");
  }
  T* out = static_cast<T*>(ya.mutable_data());
  const std::ptrdiff_t out_stride = ya.strides(0) / static_cast<py::ssize_t>(sizeof(T));
  py::gil_scoped_release release;
  operators::logsumexp<T>(kernels_of<T>(t), x, out, out_stride, threads);
}

template <typename T>
void run_softmax_topk(const py::array& xa, std::size_t kk, py::array& pa, py::array& ia, int threads,
                      const KernelTable& t) {
  const Rows<const T> x = rows_of<const T>(xa, false, "x");
  const Rows<T> p = rows_of<T>(pa, true, "probs");
  const Rows<std::int64_t> ix = rows_of<std::int64_t>(ia, true, "indices");
  if (kk < 1 || kk > x.n) throw std::invalid_argument("k must be in [1, n]");
  if (p.rows != x.rows || ix.rows != x.rows || p.n != kk || ix.n != kk) {
    throw std::invalid_argument("probs and indices must have shape (rows, k)");
  }
  py::gil_scoped_release release;
  operators::softmax_topk<T>(kernels_of<T>(t), x, kk, p, ix, threads);
}

}  // namespace softlib::bindings
