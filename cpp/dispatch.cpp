#include "dispatch.h"

#include <algorithm>
#include <stdexcept>

namespace softlib {
namespace {

const KernelTable* table_for(Isa isa) {
  switch (isa) {
    case Isa::portable: return &portable_kernels();
    default: return nullptr;  // not built yet: the SIMD paths come with the C++ core
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

const KernelTable& active_kernels() {
  if (active == nullptr) active = best_table();
  return *active;
}

void select_isa(const std::string& name) {
  for (Isa isa : supported_isas()) {
    if (name == isa_name(isa)) {
      const KernelTable* t = table_for(isa);
      if (t == nullptr) throw std::invalid_argument("code path '" + name + "' is not built into softlib");
      active = t;
      return;
    }
  }
  if (name == "portable" || name == "avx2" || name == "avx512") {
    throw std::invalid_argument("this CPU cannot run the '" + name + "' code path");
  }
  throw std::invalid_argument("unknown code path '" + name + "': use portable, avx2 or avx512");
}

}  // namespace softlib
