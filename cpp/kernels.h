// The row kernels of one code path, gathered in a table. Each code path's table is built in the
// translation unit compiled for it (kernels_portable.cpp, x86/kernels_avx2.cpp,
// x86/kernels_avx512.cpp) from the generic microkernels (microkernels.h) and row algorithms
// (row_kernels.h). dispatch.cpp picks one table, once, from the CPU's features; kernels never check.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu_features.h"
#include "kernel_list.h"

namespace softlib {

// The softmax algorithms of issue 3, in the order of the tables below (kernel_list.h).
#define SOFTLIB_ALGORITHM_ENUM(name) name,
enum Algorithm : int { SOFTLIB_ALGORITHMS(SOFTLIB_ALGORITHM_ENUM) n_algorithms };
#undef SOFTLIB_ALGORITHM_ENUM

// The online normaliser of a row, or of a piece of one: max_i x_i and sum_i exp(x_i - max).
struct OnlineSum {
  double m;      // max_i x_i
  double d;      // sum_i exp(x_i - m)
  bool usable;   // m finite, d finite and positive; otherwise the row needs the careful path
  double m_ref;  // the reference the pass ended with (m_ref <= m, within the headroom) ...
  double d_ref;  // ... and sum_i exp(x_i - m_ref), free of the final rescaling's rounding
};

// The Two-Pass normaliser of a row, or of a piece of one: sum_i exp(x_i) = s 2^e.
struct ExtExpSum {
  double s;     // with s >= 1/sqrt(2) when the row is finite
  double e;     // the largest n_i of the pairs exp(x_i) = p_i 2^n_i
  bool usable;  // finite, nonzero, and e in the range where the reduction is exact
};

// d = sum exp(x - max) below which a row counts as dominated by its max: its log d is then taken as
// log1p of the sum of the other terms, summed on its own (row_kernels.h, log_d_of).
template <typename T>
constexpr double dominated_below = sizeof(T) == 4 ? 1.0 + 0x1p-12 : 2.0;

template <typename T>
using RowKernel = void (*)(const T* x, T* y, std::size_t n);

// Rows r = 0..rows-1 at x + r sx, y + r sy, each y = f(x) over n elements (a reduction writes its
// scalar to y[0]: y is then the output array and sy its stride).
template <typename T>
using RowsKernel = void (*)(const T* x, std::ptrdiff_t sx, T* y, std::ptrdiff_t sy, std::size_t rows, std::size_t n);

template <typename T>
struct Kernels {
  RowKernel<T> softmax[n_algorithms];
  // softmax[a] over many rows: three_pass's short float32 rows pipelined across rows (microkernels.h,
  // short_rows_pipelined), the others row by row.
  RowsKernel<T> softmax_rows[n_algorithms];
  RowKernel<T> log_softmax[n_algorithms];  // three_pass and three_pass_recompute coincide here
  RowsKernel<T> log_softmax_rows[n_algorithms];  // as softmax_rows
  T (*logsumexp)(const T* x, std::size_t n);
  RowsKernel<T> logsumexp_rows;  // out[r so] = logsumexp(row r), as softmax_rows
  T (*row_max)(const T* x, std::size_t n);
  RowKernel<T> exp;  // y = exp(x), x <= ln(max): the exp kernel alone, for the accuracy tests
  // The pieces that split one long row across threads, merged by the caller: per-piece (s, e) of
  // the Two-Pass algorithm (softmax), per-piece (m, d) (log_softmax, logsumexp, the fused top-k).
  ExtExpSum (*extexp_sum)(const T* x, std::size_t n);
  void (*scale_extexp)(const T* x, T* y, std::size_t n, T c, T e);  // y = c exp(x) 2^-e
  OnlineSum (*online_sum)(const T* x, std::size_t n);
  void (*subtract2)(const T* x, T* y, std::size_t n, T hi, T lo);          // y = (x - hi) - lo
  // StableMax (stablemax_kernels.h): whole rows, and the pieces for splitting a long row.
  RowKernel<T> stablemax;
  RowKernel<T> log_stablemax;
  double (*stablemax_sum)(const T* x, std::size_t n);                       // sum s(x)
  void (*stablemax_scale)(const T* x, T* y, std::size_t n, double sum);     // y = s(x) / sum
  void (*log_stablemax_apply)(const T* x, T* y, std::size_t n, double sum); // y = log s(x) - log sum
  // Fused softmax + top-k pass (softmax_topk_kernels.h): (m, d) of x[0..n) and its k <= n largest
  // entries, sorted descending, ties to the lower index, indices offset by `base`.
  OnlineSum (*online_topk)(const T* x, std::size_t n, std::size_t k, T* val, std::int64_t* idx, std::int64_t base);
};

struct KernelTable {
  Isa isa;
  Kernels<float> f32;
  Kernels<double> f64;
};

// One per code path of kernel_list.h's SOFTLIB_ISAS, each defined in the translation unit compiled
// for it (the x86 ones only on x86-64).
const KernelTable& portable_kernels();
#if defined(SOFTLIB_X86)
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
#endif

}  // namespace softlib
