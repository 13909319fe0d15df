// Blockwise attention: the choice of code path, the threads, and the Python binding
// (softlib._core.attention_blockwise, called by softlib.attention.blockwise_attention).
#include "attention.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "dispatch.h"
#include "threads.h"

namespace softlib {

namespace {

template <typename T>
void rows_on(Isa isa, const AttentionArgs<T>& a, std::size_t begin, std::size_t end) {
  switch (isa) {
#if defined(SOFTLIB_X86)
    case Isa::avx2: return attention_rows_avx2(a, begin, end);
    case Isa::avx512: return attention_rows_avx512(a, begin, end);
#endif
    default: return attention_rows_portable(a, begin, end);
  }
}

}  // namespace

template <typename T>
void attention_blockwise(const AttentionArgs<T>& a, int threads, Isa isa) {
  const std::size_t rows = a.batch * a.n;
  if (rows == 0 || a.dv == 0) return;
  // Work is about n m (d + dv) per batch entry: threads when that passes the row kernels' threshold.
  const int nt = thread_count(threads, rows * a.m * (a.d + a.dv + 1) / 64);
  // Whole query slices per thread; at least 16 rows each so that a key block is reused.
  const int use = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(nt, (rows + 15) / 16)));
  parallel_for(rows, use, [&](std::size_t b, std::size_t e, int) {
    if (e > b) rows_on(isa, a, b, e);
  });
}

template void attention_blockwise<float>(const AttentionArgs<float>&, int, Isa);
template void attention_blockwise<double>(const AttentionArgs<double>&, int, Isa);

}  // namespace softlib

namespace {

namespace py = pybind11;

template <typename T>
using Array = py::array_t<T, 0>;  // no forcecast: a dtype mismatch is a TypeError from the overloads

template <typename T>
const T* data_3d(const Array<T>& a, const char* what) {
  if (a.ndim() != 3) throw std::invalid_argument(std::string(what) + " must be 3-D (batch, rows, features)");
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(std::string(what) + " must be C-contiguous");
  return a.data();
}

template <typename T>
void attention_blockwise_py(const Array<T>& q, const Array<T>& k, const Array<T>& v, Array<T>& out,
                            std::size_t block, bool causal, double scale, int threads, const std::string& isa) {
  softlib::AttentionArgs<T> a{data_3d(q, "q"), data_3d(k, "k"), data_3d(v, "v"), nullptr, 0, 0, 0, 0, 0, block,
                              causal, static_cast<T>(scale)};
  data_3d(out, "out");
  if (!out.writeable()) throw std::invalid_argument("out is read-only");
  a.out = out.mutable_data();
  a.batch = static_cast<std::size_t>(q.shape(0));
  a.n = static_cast<std::size_t>(q.shape(1));
  a.d = static_cast<std::size_t>(q.shape(2));
  a.m = static_cast<std::size_t>(k.shape(1));
  a.dv = static_cast<std::size_t>(v.shape(2));
  if (k.shape(0) != q.shape(0) || v.shape(0) != q.shape(0) || out.shape(0) != q.shape(0)) {
    throw std::invalid_argument("q, k, v and out must have the same batch size");
  }
  if (static_cast<std::size_t>(k.shape(2)) != a.d) throw std::invalid_argument("q and k must share d");
  if (static_cast<std::size_t>(v.shape(1)) != a.m) throw std::invalid_argument("k and v must have the same m");
  if (static_cast<std::size_t>(out.shape(1)) != a.n || static_cast<std::size_t>(out.shape(2)) != a.dv) {
    throw std::invalid_argument("out must have shape (batch, n, dv)");
  }
  if (block < 1) throw std::invalid_argument("block must be at least 1");
  if (a.m < 1) throw std::invalid_argument("attention needs at least one key");
  if (causal && a.n != a.m) throw std::invalid_argument("causal attention needs n == m");
  const softlib::Isa path = isa.empty() ? softlib::active_kernels().isa : softlib::kernels_for(isa).isa;
  py::gil_scoped_release release;
  softlib::attention_blockwise(a, threads, path);
}

}  // namespace

// Called from the module definition in bindings.cpp.
void softlib_bind_attention(py::module_& m) {
  const char* doc =
      "out (batch, n, dv) = softmax(scale q k^T) v, one key block at a time (online (m, d) merge), "
      "float32 or float64, contiguous 3-D arrays; threads <= 0: automatic; isa '' = the active path.";
  m.def("attention_blockwise", &attention_blockwise_py<float>, py::arg("q").noconvert(), py::arg("k").noconvert(),
        py::arg("v").noconvert(), py::arg("out").noconvert(), py::arg("block"), py::arg("causal"), py::arg("scale"),
        py::arg("threads") = 0, py::arg("isa") = "", doc);
  m.def("attention_blockwise", &attention_blockwise_py<double>, py::arg("q").noconvert(), py::arg("k").noconvert(),
        py::arg("v").noconvert(), py::arg("out").noconvert(), py::arg("block"), py::arg("causal"), py::arg("scale"),
        py::arg("threads") = 0, py::arg("isa") = "", doc);
}
