// softlib._core: the compiled kernels, exposed to Python over 2-D C-contiguous arrays (rows, n).
// softlib/softmax.py handles axes, strides, dtypes and edge cases before calling in here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"

namespace py = pybind11;
using softlib::KernelTable;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style>;

template <typename T>
void check_rows(const Array<T>& x, const Array<T>& y) {
  if (x.ndim() != 2 || y.ndim() != 2) throw std::invalid_argument("expected 2-D arrays (rows, n)");
  if (x.shape(0) != y.shape(0) || x.shape(1) != y.shape(1)) {
    throw std::invalid_argument("input and output shapes differ");
  }
  if (x.shape(1) < 1) throw std::invalid_argument("rows must have at least one element");
}

template <typename T>
const softlib::Kernels<T>& kernels_of(const KernelTable& t);
template <>
const softlib::Kernels<float>& kernels_of<float>(const KernelTable& t) { return t.f32; }
template <>
const softlib::Kernels<double>& kernels_of<double>(const KernelTable& t) { return t.f64; }

template <typename T, typename Pick>
void map_rows(const Array<T>& x, Array<T>& y, Pick pick) {
  check_rows(x, y);
  const auto kernel = pick(kernels_of<T>(softlib::active_kernels()));
  const std::size_t rows = x.shape(0), n = x.shape(1);
  const T* px = x.data();
  T* py_ = y.mutable_data();
  py::gil_scoped_release release;
  for (std::size_t r = 0; r < rows; ++r) kernel(px + r * n, py_ + r * n, n);
}

template <typename T>
void softmax(const Array<T>& x, Array<T>& y) {
  map_rows(x, y, [](const softlib::Kernels<T>& k) { return k.softmax_three_pass; });
}

template <typename T>
void log_softmax(const Array<T>& x, Array<T>& y) {
  map_rows(x, y, [](const softlib::Kernels<T>& k) { return k.log_softmax; });
}

template <typename T>
void logsumexp(const Array<T>& x, Array<T>& y) {
  if (x.ndim() != 2 || y.ndim() != 1 || y.shape(0) != x.shape(0)) {
    throw std::invalid_argument("expected x of shape (rows, n) and out of shape (rows,)");
  }
  if (x.shape(1) < 1) throw std::invalid_argument("rows must have at least one element");
  const auto kernel = kernels_of<T>(softlib::active_kernels()).logsumexp;
  const std::size_t rows = x.shape(0), n = x.shape(1);
  const T* px = x.data();
  T* py_ = y.mutable_data();
  py::gil_scoped_release release;
  for (std::size_t r = 0; r < rows; ++r) py_[r] = kernel(px + r * n, n);
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  const std::string active = softlib::isa_name(softlib::active_kernels().isa);
  for (softlib::Isa isa : softlib::supported_isas()) {
    try {
      softlib::select_isa(softlib::isa_name(isa));
      names.emplace_back(softlib::isa_name(isa));
    } catch (const std::invalid_argument&) {
      // supported by the CPU but not built into this module
    }
  }
  softlib::select_isa(active);
  return names;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "softlib's compiled kernels; use the functions of the softlib package instead.";

  m.def("isa", [] { return std::string(softlib::isa_name(softlib::active_kernels().isa)); },
        "The active code path.");
  m.def("isas", &available_isas, "The code paths this CPU supports and this module has, baseline first.");
  m.def("select_isa", &softlib::select_isa, py::arg("name"), "Make `name` the active code path.");

  m.def("softmax", &softmax<float>, py::arg("x").noconvert(), py::arg("out").noconvert());
  m.def("softmax", &softmax<double>, py::arg("x").noconvert(), py::arg("out").noconvert());
  m.def("log_softmax", &log_softmax<float>, py::arg("x").noconvert(), py::arg("out").noconvert());
  m.def("log_softmax", &log_softmax<double>, py::arg("x").noconvert(), py::arg("out").noconvert());
  m.def("logsumexp", &logsumexp<float>, py::arg("x").noconvert(), py::arg("out").noconvert());
  m.def("logsumexp", &logsumexp<double>, py::arg("x").noconvert(), py::arg("out").noconvert());

  // SOFTLIB_ISA forces a code path for the whole process.
  if (const char* forced = std::getenv("SOFTLIB_ISA"); forced != nullptr && *forced != '\0') {
    softlib::select_isa(forced);
  }
}
