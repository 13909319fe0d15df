// softlib._core_testing: test-only and bench-only entry points, built only with the CMake option
// SOFTLIB_TESTING (on by default, so `make setup` builds it and `make test` covers it; a wheel built
// with -DSOFTLIB_TESTING=OFF ships softlib._core alone). Its code paths are the same kernels as
// softlib._core's (the same object files); the active path follows SOFTLIB_ISA (softlib/_dispatch.py).
//   run_kernel(name, x, out)   one named kernel of cpp/kernel_list.h alone (tests/test_kernels.py)
//   exp, row_max               one path's exp and max kernels alone
//   vector_log                 the AVX-512 double vector log alone (tests/test_kernels.py)
//   exp_f32_ulp_scan           every float32 through the exp kernels (tests/test_accuracy.py)
//   softmax_plain              float32 softmax without the accuracy devices (softlib.book.bench)
#include <cstring>

#include "bindings_common.h"
#include "kernel_registry.h"
#include "testing/log_kernels.h"
#include "testing/plain_tables.h"
#include "threads.h"

namespace py = pybind11;
using namespace softlib::bindings;
using softlib::KernelTable;

namespace {

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
template <typename T>
T row_max(const py::array_t<T, 0>& x, const std::string& isa) {
  if (x.ndim() != 1 || x.shape(0) < 1 || (x.shape(0) > 1 && x.strides(0) != sizeof(T))) {
    throw std::invalid_argument("expected a contiguous, non-empty 1-D array");
  }
  return kernels_of<T>(table_named(isa)).row_max(x.data(), static_cast<std::size_t>(x.shape(0)));
}

// One named kernel alone over x (C-contiguous; 1-D, or 2-D for kinds `rows` and `reduce_rows`, which
// take its rows together): kinds `row` and `rows` write out (same shape and dtype); kind `reduce`
// returns the scalar, `reduce_rows` one a row (a float for 1-D x; out ignored, may be None).
bool c_contiguous(const py::array& a) {
  py::ssize_t stride = a.itemsize();
  for (py::ssize_t d = a.ndim() - 1; d >= 0; --d) {
    if (a.shape(d) > 1 && a.strides(d) != stride) return false;
    stride *= a.shape(d);
  }
  return true;
}
py::object run_kernel(const std::string& name, const py::array& x, py::object out) {
  const softlib::NamedKernel& k = softlib::kernel_named(name);
  const bool rows = k.kind == "rows" || k.kind == "reduce_rows";
  if (!(x.ndim() == 1 || (rows && x.ndim() == 2)) || !c_contiguous(x)) {
    throw std::invalid_argument(rows ? "expected a contiguous 1-D or 2-D array" : "expected a contiguous 1-D array");
  }
  if (static_cast<std::size_t>(x.itemsize()) != k.itemsize || !(is_f32(x) || is_f64(x))) {
    throw std::invalid_argument(name + " takes " + (k.itemsize == 4 ? "float32" : "float64"));
  }
  const std::size_t n = static_cast<std::size_t>(x.shape(x.ndim() - 1));
  const std::size_t m = x.ndim() == 2 ? static_cast<std::size_t>(x.shape(0)) : 1;
  if (n < 1) throw std::invalid_argument("the kernels take n >= 1");
  if (k.kind == "reduce") {
    if (k.itemsize == 4) return py::float_(k.reduce_f32(static_cast<const float*>(x.data()), n));
    return py::float_(k.reduce_f64(static_cast<const double*>(x.data()), n));
  }
  if (k.kind == "reduce_rows") {  // one value a row: a float for 1-D x, an array for 2-D
    const auto sn = static_cast<std::ptrdiff_t>(n);
    if (k.itemsize == 4) {
      py::array_t<float> r(static_cast<py::ssize_t>(m));
      k.rows_f32(static_cast<const float*>(x.data()), sn, r.mutable_data(), 1, m, n);
      return x.ndim() == 1 ? py::object(py::float_(r.at(0))) : py::object(r);
    }
    py::array_t<double> r(static_cast<py::ssize_t>(m));
    k.rows_f64(static_cast<const double*>(x.data()), sn, r.mutable_data(), 1, m, n);
    return x.ndim() == 1 ? py::object(py::float_(r.at(0))) : py::object(r);
  }
  py::array y = out.cast<py::array>();
  check_dtypes(x, y);
  bool same_shape = y.ndim() == x.ndim();
  for (py::ssize_t d = 0; same_shape && d < x.ndim(); ++d) same_shape = y.shape(d) == x.shape(d);
  if (!same_shape || !y.writeable() || !c_contiguous(y)) {
    throw std::invalid_argument("out must be a writable contiguous array of x's shape");
  }
  const auto sn = static_cast<std::ptrdiff_t>(n);
  {
    py::gil_scoped_release release;
    if (k.itemsize == 4) {
      const auto* xp = static_cast<const float*>(x.data());
      auto* yp = static_cast<float*>(y.mutable_data());
      rows ? k.rows_f32(xp, sn, yp, sn, m, n) : k.row_f32(xp, yp, n);
    } else {
      const auto* xp = static_cast<const double*>(x.data());
      auto* yp = static_cast<double*>(y.mutable_data());
      rows ? k.rows_f64(xp, sn, yp, sn, m, n) : k.row_f64(xp, yp, n);
    }
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_core_testing, m, py::mod_gil_not_used()) {
  m.doc() = "Test-only and bench-only kernels of softlib (built with SOFTLIB_TESTING).";
  m.def("select_isa", &softlib::select_isa, py::arg("name"), "Make `name` the active code path here.");
  m.def("isa", [] { return std::string(softlib::isa_name(softlib::active_kernels().isa)); });
  m.def("run_kernel", &run_kernel, py::arg("name"), py::arg("x"), py::arg("out") = py::none(),
        "One named kernel (softlib._core.kernels()) alone over a contiguous 1-D array (2-D: kind rows).");
  m.def(
      "softmax_plain",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        check_dtypes(x, out);
        if (!is_f32(x)) throw std::invalid_argument("softmax_plain takes float32 arrays");
        const softlib::KernelTable& t = table_named(isa);
        elementwise<float>(Op::softmax, x, out, algorithm, threads, softlib::testing::plain_f32(t.isa), t.isa);
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = 0, py::arg("threads") = 0, py::arg("isa") = "",
      "Bench only: float32 softmax without TwoSum and double accumulation, to price them.");
  m.def("row_max", &row_max<float>, py::arg("x").noconvert(), py::arg("isa") = "");
  m.def("row_max", &row_max<double>, py::arg("x").noconvert(), py::arg("isa") = "");
  m.def("exp", &exp_kernel, py::arg("x"), py::arg("isa") = "", "The exp kernel of a code path alone.");
  m.def(
      "vector_log",
      [](const py::array_t<double, py::array::c_style>& x) {
        if (x.ndim() != 1) throw std::invalid_argument("expected a 1-D float64 array");
#if defined(SOFTLIB_X86)
        table_named("avx512");  // throws, as for the kernels, where the path is not built or cannot run
        py::array_t<double> y(x.shape(0));
        softlib::testing::log_f64_avx512(x.data(), y.mutable_data(), static_cast<std::size_t>(x.shape(0)));
        return y;
#else
        throw std::runtime_error("the vector log is AVX-512's (x86-64 only)");
#endif
      },
      py::arg("x"), "Test only: the AVX-512 double vector log (microkernels.h, Log) of positive normal x.");
  m.def("exp_f32_ulp_scan", &exp_f32_ulp_scan, py::arg("lo"), py::arg("hi"), py::arg("isas"), py::arg("threads") = 2,
        py::arg("ref_isa") = "",
        "Test only: the largest ULP error of each path's float32 exp over every float in [lo, hi].");
}
