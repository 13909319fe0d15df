// Blockwise attention on the portable path: attention_kernel.h over one float or double at a time.
#include "attention_kernel.h"
#include "simd_portable.h"

namespace softlib {

void attention_rows_portable(const AttentionArgs<float>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<portable::F32>::run(a, begin, end);
}
void attention_rows_portable(const AttentionArgs<double>& a, std::size_t begin, std::size_t end) {
  attn::Blockwise<portable::F64>::run(a, begin, end);
}

}  // namespace softlib
