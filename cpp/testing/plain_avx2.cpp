// The avx2 path's float32 kernels without the accuracy devices (plain_variant.h): bench only.
#include "row_kernels.h"
#include "x86/simd_avx2.h"
#include "testing/plain_tables.h"
#include "testing/plain_variant.h"

namespace softlib::testing {

const Kernels<float>& plain_f32_avx2() {
  static const Kernels<float> table = rows::RowKernels<Plain<avx2::F32>>::table();
  return table;
}

}  // namespace softlib::testing
