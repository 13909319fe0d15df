// The AVX2+FMA code path: the generic kernels over 8 floats / 4 doubles (simd_avx2.h). This file alone
// is compiled with -mavx2 -mfma (CMakeLists.txt); it runs only when dispatch.cpp found AVX2 and FMA.
#include "row_kernels.h"
#include "x86/simd_avx2.h"

namespace softlib {

const KernelTable& avx2_kernels() {
  static const KernelTable table{
      Isa::avx2,
      rows::RowKernels<avx2::F32>::table(),
      rows::RowKernels<avx2::F64>::table(),
  };
  return table;
}

}  // namespace softlib
