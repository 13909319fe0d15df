// The operators layer: whole operations over 2-D arrays of rows, built from one code path's row
// kernels (kernels.h). Everything between a Python call and a row kernel lives here: the `auto`
// rule, the thread splitting (rows across threads, or one long row split into pieces), the merges
// of the pieces' online normalisers, StableMax's split sum and softmax_topk's candidate merge.
// No Python here: bindings.cpp checks the arrays, releases the GIL and calls these.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace softlib::operators {

// A 2-D view of rows: base pointer, row count, row length, row stride in elements.
template <typename T>
struct Rows {
  T* data;
  std::size_t rows, n;
  std::ptrdiff_t stride;
  T* row(std::size_t r) const { return data + static_cast<std::ptrdiff_t>(r) * stride; }
};

enum class Op { softmax, log_softmax, stablemax, log_stablemax, logsumexp };

// algorithm = -1 in the calls below means `auto`.
constexpr int auto_choice = -1;

// The `auto` rule, the only one: the algorithm `auto` runs for rows of n elements of `itemsize`
// bytes on code path `isa`. What decides is whether one row (input and output) stays in the L2 cache
// between passes (half of a 1 MiB L2: 2 n itemsize <= 512 KiB), not the size of the whole array.
// - In cache the arithmetic decides: three_pass does one exp per element (two_pass and online two).
// - Out of cache, the passes over memory decide: softmax takes two_pass (reads twice, writes once:
//   12 bytes per element, three_pass moves 20); the log ops and logsumexp need only the
//   log-normaliser, from the online (m, d) pass, which reads the row once.
// - The portable path is bound by its scalar arithmetic everywhere: softmax is three_pass there.
// Measured with softlib.book.bench (AVX-512, float32, one thread): see softlib.ops.auto_algorithm.
constexpr std::size_t in_cache_row_bytes = std::size_t(1) << 19;
constexpr Algorithm auto_algorithm(Op op, std::size_t n, std::size_t itemsize, Isa isa) {
  if (2 * n * itemsize <= in_cache_row_bytes) return three_pass;
  if (op != Op::softmax) return online;
  return isa == Isa::portable ? three_pass : two_pass;
}

// y = op(x) row by row (softmax, log_softmax, stablemax, log_stablemax); x and y of the same shape,
// n >= 1; `algorithm` (or auto_choice) for softmax and log_softmax only. threads <= 0: automatic.
// Each thread's block of rows goes to one rows kernel (softmax_rows, log_softmax_rows), which
// pipelines short rows; long rows are split across threads when there are fewer rows than threads.
template <typename T>
void elementwise(Op op, const Kernels<T>& k, Isa isa, const Rows<const T>& x, const Rows<T>& y, int algorithm,
                 int threads);

// out[r * out_stride] = log sum_i exp(x[r, i]); n >= 1.
template <typename T>
void logsumexp(const Kernels<T>& k, const Rows<const T>& x, T* out, std::ptrdiff_t out_stride, int threads);

// probs, indices (rows, kk) = the kk largest softmax entries of each row, descending, ties to the
// lower index; 1 <= kk <= n.
template <typename T>
void softmax_topk(const Kernels<T>& k, const Rows<const T>& x, std::size_t kk, const Rows<T>& probs,
                  const Rows<std::int64_t>& indices, int threads);

}  // namespace softlib::operators
