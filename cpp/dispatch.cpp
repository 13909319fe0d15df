#include "dispatch.h"

#include <stdexcept>

namespace softlib {
namespace {

const KernelTable* table_for(Isa isa) {
  switch (isa) {
    case Isa::portable: return &portable_kernels();
#if defined(SOFTLIB_X86)
    case Isa::avx2: return &avx2_kernels();
    case Isa::avx512: return &avx512_kernels();
#endif
    default: return nullptr;  // not built into this module (the x86 paths on arm64)
  }
}

// The best path that is both supported by the CPU and built into this module.
const KernelTable* best_table() {
  const auto isas = supported_isas();
  for (auto it = isas.rbegin(); it != isas.rend(); ++it) {
    if (const KernelTable* t = table_for(*it)) return t;
  }
  return &portable_kernels();
}

const KernelTable* active = nullptr;

}  // namespace

bool built(Isa isa) { return table_for(isa) != nullptr; }

const KernelTable& active_kernels() {
  if (active == nullptr) active = best_table();
  return *active;
}

const KernelTable& kernels_for(const std::string& name) {
  for (Isa isa : supported_isas()) {
    if (name == isa_name(isa)) {
      const KernelTable* t = table_for(isa);
      if (t == nullptr) throw std::invalid_argument("code path '" + name + "' is not built into softlib");
      return *t;
    }
  }
  if (name == "portable" || name == "avx2" || name == "avx512") {
    throw std::invalid_argument("SOFTLIB_ISA / isa: this CPU cannot run the '" + name + "' code path (it supports: " +
                                [] {
                                  std::string s;
                                  for (Isa i : supported_isas())
                                    s += (s.empty() ? "" : ", ") + std::string(isa_name(i));
                                  return s;
                                }() +
                                ")");
  }
  throw std::invalid_argument("unknown code path '" + name + "': use portable, avx2 or avx512");
}

void select_isa(const std::string& name) { active = &kernels_for(name); }

}  // namespace softlib
