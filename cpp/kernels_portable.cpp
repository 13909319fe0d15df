// The portable code path: the generic kernels over one float or double at a time (simd_portable.h),
// compiled for the target's baseline (x86-64 or arm64); the compiler may vectorise what it can.
#include "row_kernels.h"
#include "simd_portable.h"

namespace softlib {

const KernelTable& portable_kernels() {
  static const KernelTable table{
      Isa::portable,
      rows::RowKernels<portable::F32>::table(),
      rows::RowKernels<portable::F64>::table(),
  };
  return table;
}

}  // namespace softlib
