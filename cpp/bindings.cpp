// softlib._core: the shipping module's Python bindings, and nothing else: array checks (dims,
// strides, dtypes, shapes, writability), then a call into the operators layer (operators.h) with the
// GIL released. softlib/ops.py handles axes, dtypes and edge cases before calling in here.
// Test-only and bench-only entry points live in softlib._core_testing (cpp/testing/).
#include "bindings_common.h"

#include <string>
#include <vector>

#include "kernel_registry.h"
#include "threads.h"

namespace py = pybind11;
using namespace softlib::bindings;
using softlib::operators::Op;

namespace {

// The named kernels (kernel_list.h) this CPU can run: name, path, dtype, op, algorithm, lanes.
py::list kernels() {
  py::list out;
  const auto paths = softlib::supported_isas();
  for (const softlib::NamedKernel& k : softlib::kernel_registry()) {
    if (std::find(paths.begin(), paths.end(), k.isa) == paths.end()) continue;
    py::dict d;
    d["name"] = k.name;
    d["isa"] = softlib::isa_name(k.isa);
    d["dtype"] = k.itemsize == 4 ? "float32" : "float64";
    d["op"] = k.op;
    d["algorithm"] = k.algorithm;
    d["kind"] = k.kind;
    d["lanes"] = k.lanes;
    out.append(d);
  }
  return out;
}

std::string auto_algorithm(const std::string& op, std::size_t n, std::size_t itemsize, const std::string& isa) {
  const Op o = op == "softmax"         ? Op::softmax
               : op == "log_softmax"   ? Op::log_softmax
               : op == "logsumexp"     ? Op::logsumexp
               : op == "stablemax"     ? Op::stablemax
               : op == "log_stablemax" ? Op::log_stablemax
                                       : throw std::invalid_argument("unknown op '" + op + "'");
  if (itemsize != 4 && itemsize != 8) throw std::invalid_argument("itemsize must be 4 or 8");
  softlib::Isa path = softlib::active_kernels().isa;
  bool found = isa.empty();
#define SOFTLIB_PATH_NAMED(name, lanes) \
  if (isa == #name) {                   \
    path = softlib::Isa::name;          \
    found = true;                       \
  }
  SOFTLIB_ISAS(SOFTLIB_PATH_NAMED)
#undef SOFTLIB_PATH_NAMED
  if (!found) throw std::invalid_argument("unknown code path '" + isa + "'");
  return algorithm_names()[softlib::operators::auto_algorithm(o, n, itemsize, path)];
}

}  // namespace

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
  m.doc() = "softlib's compiled kernels; use the functions of the softlib package instead.";

  m.def("isa", [] { return std::string(softlib::isa_name(softlib::active_kernels().isa)); }, "The active code path.");
  m.def("isas", &available_isas, "The code paths this CPU supports and this module has, baseline first.");
  m.def("select_isa", &softlib::select_isa, py::arg("name"), "Make `name` the active code path.");
  m.def("cpu_count", &softlib::hardware_threads, "The number of threads threads=None may use.");
  m.def("algorithms", &algorithm_names, "The algorithm names, in the order of the `algorithm` index.");
  m.def("kernels", &kernels, "The named kernels (cpp/kernel_list.h) this CPU can run, as dicts.");
  m.def("auto_algorithm", &auto_algorithm, py::arg("op"), py::arg("n"), py::arg("itemsize"), py::arg("isa") = "",
        "The algorithm algorithm='auto' (index -1) runs for rows of n elements: the one rule (operators.h).");

  m.def(
      "softmax",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        run_elementwise(Op::softmax, x, out, algorithm, threads, table_named(isa));
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = -1, py::arg("threads") = 0, py::arg("isa") = "",
      "out = softmax of each row of x (2-D, rows contiguous). algorithm -1: auto; threads <= 0: automatic.");
  m.def(
      "log_softmax",
      [](const py::array& x, py::array out, int algorithm, int threads, const std::string& isa) {
        run_elementwise(Op::log_softmax, x, out, algorithm, threads, table_named(isa));
      },
      py::arg("x"), py::arg("out"), py::arg("algorithm") = -1, py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "logsumexp",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        check_dtypes(x, out);
        if (is_f32(x)) return run_logsumexp<float>(x, out, threads, table_named(isa));
        if (is_f64(x)) return run_logsumexp<double>(x, out, threads, table_named(isa));
        throw std::invalid_argument("the kernels take float32 or float64 arrays");
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "stablemax",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        run_elementwise(Op::stablemax, x, out, 0, threads, table_named(isa));
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  m.def(
      "log_stablemax",
      [](const py::array& x, py::array out, int threads, const std::string& isa) {
        run_elementwise(Op::log_stablemax, x, out, 0, threads, table_named(isa));
      },
      py::arg("x"), py::arg("out"), py::arg("threads") = 0, py::arg("isa") = "");
  // softlib.ops' fast path: the output (new, or out), or None when the call needs the general path.
  m.def("softmax_fast", [](const py::array& x, const py::object& out, int threads) {
    return fast_elementwise(Op::softmax, x, out, threads);
  });
  m.def("log_softmax_fast", [](const py::array& x, const py::object& out, int threads) {
    return fast_elementwise(Op::log_softmax, x, out, threads);
  });
  m.def("stablemax_fast", [](const py::array& x, const py::object& out, int threads) {
    return fast_elementwise(Op::stablemax, x, out, threads);
  });
  m.def("log_stablemax_fast", [](const py::array& x, const py::object& out, int threads) {
    return fast_elementwise(Op::log_stablemax, x, out, threads);
  });
  m.def(
      "softmax_topk",
      [](const py::array& x, std::size_t k, py::array probs, py::array indices, int threads, const std::string& isa) {
        check_dtypes(x, probs);
        if (!indices.dtype().is(py::dtype::of<std::int64_t>())) throw std::invalid_argument("indices must be int64");
        if (is_f32(x)) return run_softmax_topk<float>(x, k, probs, indices, threads, table_named(isa));
        if (is_f64(x)) return run_softmax_topk<double>(x, k, probs, indices, threads, table_named(isa));
        throw std::invalid_argument("the kernels take float32 or float64 arrays");
      },
      py::arg("x"), py::arg("k"), py::arg("probs"), py::arg("indices"), py::arg("threads") = 0, py::arg("isa") = "",
      "probs, indices (rows, k) = the k largest softmax entries of each row, descending, ties to the lower index.");
  // SOFTLIB_ISA is applied by softlib/_dispatch.py right after this import, so that a bad value is a
  // plain ValueError naming the paths this CPU supports.

  // Blockwise softmax attention (cpp/attention.cpp).
  void softlib_bind_attention(py::module_ & m);
  softlib_bind_attention(m);
}
