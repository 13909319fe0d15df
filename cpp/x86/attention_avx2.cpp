// Blockwise attention on the avx2 path: attention_kernel.h over avx2's vectors. This file alone is
// compiled with the avx2 flags (CMakeLists.txt); it runs only when dispatch.cpp chose that path.
#include "attention_kernel.h"
#include "x86/simd_avx2.h"

namespace softlib {

void attention_rows_avx2(const AttentionArgs<float>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<avx2::F32>::run(a, begin, end);
}
void attention_rows_avx2(const AttentionArgs<double>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<avx2::F64>::run(a, begin, end);
}

}  // namespace softlib
