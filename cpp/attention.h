// Blockwise softmax attention: o = softmax(scale q k^T) v computed one key block at a time with the
// online normaliser's (m, d) merge, never forming the (n, m) score matrix (FlashAttention's schedule
// on a CPU). One instantiation per code path (attention_kernel.h over that path's vectors), chosen in
// attention.cpp from the same dispatch as the row kernels.
#pragma once

#include <cstddef>

#include "cpu_features.h"

namespace softlib {

// Contiguous (batch, n, d) queries, (batch, m, d) keys, (batch, m, dv) values, (batch, n, dv) output.
template <typename T>
struct AttentionArgs {
  const T* q;
  const T* k;
  const T* v;
  T* out;
  std::size_t batch, n, m, d, dv, block;
  bool causal;
  T scale;
};

// Rows [begin, end) of the flattened (batch * n) queries, on the calling thread.
void attention_rows_portable(const AttentionArgs<float>& a, std::size_t begin, std::size_t end);
void attention_rows_portable(const AttentionArgs<double>& a, std::size_t begin, std::size_t end);
#if defined(SOFTLIB_X86)
void attention_rows_avx2(const AttentionArgs<float>& a, std::size_t begin, std::size_t end);
void attention_rows_avx2(const AttentionArgs<double>& a, std::size_t begin, std::size_t end);
void attention_rows_avx512(const AttentionArgs<float>& a, std::size_t begin, std::size_t end);
void attention_rows_avx512(const AttentionArgs<double>& a, std::size_t begin, std::size_t end);
#endif

// The whole problem on `threads` threads (<= 0: automatic) with the code path `isa` ("" = active).
template <typename T>
void attention_blockwise(const AttentionArgs<T>& a, int threads, Isa isa);

}  // namespace softlib
