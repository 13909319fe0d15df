// The row kernels of every code path, and the table that holds one code path's kernels.
//
// A row kernel computes one output row from one input row of n >= 1 contiguous elements. Kernels
// never check the CPU: dispatch.cpp picks a table once, from the CPU's features.
#pragma once

#include <cstddef>

#include "cpu_features.h"

namespace softlib {

template <typename T>
using RowKernel = void (*)(const T* x, T* y, std::size_t n);

template <typename T>
using RowReduction = T (*)(const T* x, std::size_t n);

template <typename T>
struct Kernels {
  RowKernel<T> softmax_three_pass;  // max; sum of exp(x - max), storing it; scale
  RowKernel<T> log_softmax;
  RowReduction<T> logsumexp;
};

struct KernelTable {
  Isa isa;
  Kernels<float> f32;
  Kernels<double> f64;
};

// One table per code path; each lives in the translation unit compiled for that path.
const KernelTable& portable_kernels();

}  // namespace softlib
