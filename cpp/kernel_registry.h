// The named kernels of kernel_list.h, looked up by name: for softlib._core.kernels() (the list) and
// softlib._core_testing.run_kernel (one kernel alone, for the per-kernel tests).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels.h"

namespace softlib {

struct NamedKernel {
  const char* name;       // f32_softmax_two_pass__avx2
  Isa isa;                // the code path whose table holds it
  std::size_t itemsize;   // 4 (f32) or 8 (f64)
  std::string kind;       // `row` (y = f(x)), `reduce` (a scalar of x), `rows`, `reduce_rows` (over many rows)
  std::string op;         // softmax, log_softmax, logsumexp, row_max, exp, stablemax, log_stablemax
  std::string algorithm;  // the algorithm of softmax and log_softmax, else empty
  std::size_t lanes;      // elements per vector on its path
  // Exactly one of these is set, by itemsize and kind.
  RowKernel<float> row_f32 = nullptr;
  RowKernel<double> row_f64 = nullptr;
  RowsKernel<float> rows_f32 = nullptr;    // kinds rows and reduce_rows
  RowsKernel<double> rows_f64 = nullptr;  // kinds rows and reduce_rows
  float (*reduce_f32)(const float*, std::size_t) = nullptr;
  double (*reduce_f64)(const double*, std::size_t) = nullptr;
};

// Every kernel of kernel_list.h whose path is built into this module, in the list's order (the
// paths this CPU cannot run included: callers filter with supported_isas()).
const std::vector<NamedKernel>& kernel_registry();

// The kernel named `name`; throws std::invalid_argument for an unknown name or a path this CPU
// cannot run.
const NamedKernel& kernel_named(const std::string& name);

}  // namespace softlib
