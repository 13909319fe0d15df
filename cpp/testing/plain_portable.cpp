// The portable path's float32 kernels without the accuracy devices (plain_variant.h): bench only.
#include "row_kernels.h"
#include "simd_portable.h"
#include "testing/plain_tables.h"
#include "testing/plain_variant.h"

namespace softlib::testing {

const Kernels<float>& plain_f32_portable() {
  static const Kernels<float> table = rows::RowKernels<Plain<portable::F32>>::table();
  return table;
}

}  // namespace softlib::testing
