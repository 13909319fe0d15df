// Blockwise attention on the avx512 path: attention_kernel.h over avx512's vectors. This file alone is
// compiled with the avx512 flags (CMakeLists.txt); it runs only when dispatch.cpp chose that path.
#include "attention_kernel.h"
#include "x86/simd_avx512.h"

namespace softlib {

void attention_rows_avx512(const AttentionArgs<float>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<avx512::F32>::run(a, begin, end);
}
void attention_rows_avx512(const AttentionArgs<double>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<avx512::F64>::run(a, begin, end);
}

}  // namespace softlib
