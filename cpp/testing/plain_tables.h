// For measurement only (softlib._core_testing): each path's float32 kernels without the accuracy
// devices (plain_variant.h), one translation unit per path, compiled with that path's flags.
#pragma once

#include "kernels.h"

namespace softlib::testing {

const Kernels<float>& plain_f32_portable();
#if defined(SOFTLIB_X86)
const Kernels<float>& plain_f32_avx2();
const Kernels<float>& plain_f32_avx512();
#endif

// The plain table of `isa` (must be built).
inline const Kernels<float>& plain_f32(Isa isa) {
#if defined(SOFTLIB_X86)
  if (isa == Isa::avx2) return plain_f32_avx2();
  if (isa == Isa::avx512) return plain_f32_avx512();
#endif
  (void)isa;
  return plain_f32_portable();
}

}  // namespace softlib::testing
