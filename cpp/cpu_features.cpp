#include "cpu_features.h"

#if defined(SOFTLIB_X86)
#include <cpuid.h>
#include <cstdint>
#endif

namespace softlib {

const char* isa_name(Isa isa) {
  switch (isa) {
#define SOFTLIB_ISA_NAME(name, lanes) \
  case Isa::name: return #name;
    SOFTLIB_ISAS(SOFTLIB_ISA_NAME)
#undef SOFTLIB_ISA_NAME
  }
  return "unknown";
}

#if defined(SOFTLIB_X86)
namespace {

// XCR0 says which register states the OS saves on a context switch; a CPU flag alone is not enough.
std::uint64_t read_xcr0() {
  std::uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

std::vector<Isa> detect_isas() {
  std::vector<Isa> isas{Isa::portable};
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return isas;
  const bool fma = ecx & (1u << 12);
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  if (!osxsave || !avx) return isas;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool zmm_saved = (xcr0 & 0xE6) == 0xE6;   // plus opmask and both halves of ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return isas;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  if (ymm_saved && avx2 && fma) isas.push_back(Isa::avx2);
  if (zmm_saved && avx512f && avx2 && fma) isas.push_back(Isa::avx512);
  return isas;
}

}  // namespace
#else
namespace {
std::vector<Isa> detect_isas() { return {Isa::portable}; }
}  // namespace
#endif

// Read once: CPUID traps to the hypervisor in a virtual machine (about 5 us each here), and a call
// naming its code path (isa=...) asks for this list.
const std::vector<Isa>& supported_isas() {
  static const std::vector<Isa> isas = detect_isas();
  return isas;
}

}  // namespace softlib
