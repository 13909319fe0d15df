// The AVX-512F code path: the generic kernels over 16 floats / 8 doubles (simd_avx512.h). This file
// alone is compiled with -mavx512f -mfma (CMakeLists.txt); it runs only when dispatch.cpp found
// AVX-512F and the OS saves the ZMM and mask registers (XCR0).
#include "row_kernels.h"
#include "x86/simd_avx512.h"

namespace softlib {

const KernelTable& avx512_kernels() {
  static const KernelTable table{
      Isa::avx512,
      rows::RowKernels<avx512::F32>::table(),
      rows::RowKernels<avx512::F64>::table(),
  };
  return table;
}

}  // namespace softlib
